"""ADBC driver for Amazon Athena.

Low-level use (``adbc_driver_manager``'s API)::

    import adbc_driver_athena
    import adbc_driver_manager

    db = adbc_driver_athena.connect(s3_staging_dir="s3://bucket/path/", region_name="us-east-1")
    conn = adbc_driver_manager.AdbcConnection(db)

PEP 249 (DB-API 2.0): :func:`adbc_driver_athena.dbapi.connect`.
"""

from __future__ import annotations

import importlib.machinery
import importlib.metadata
import pathlib
import typing

import adbc_driver_manager

from ._options import DatabaseOptions, StatementOptions, database_kwargs

__all__ = ["DatabaseOptions", "StatementOptions", "connect", "driver_path", "ENTRYPOINT", "__version__"]

#: The installed package's version (from its metadata).
__version__ = importlib.metadata.version("adbc-driver-athena")

#: The driver's ADBC entry point (the C symbol adbc_driver_manager calls).
ENTRYPOINT = "AdbcDriverAthenaInit"


def driver_path() -> str:
    """The path of the driver library this package carries."""
    here = pathlib.Path(__file__).parent
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = here / f"_adbc_driver_athena{suffix}"
        if candidate.exists():
            return str(candidate)
    raise RuntimeError(
        f"the Athena ADBC driver library is missing from {here}: "
        "the package was not built (install it with `pip install ./python`)"
    )


def connect(
    uri: typing.Optional[str] = None,
    db_kwargs: typing.Optional[typing.Mapping[str, str]] = None,
    **pyathena_kwargs: typing.Any,
) -> adbc_driver_manager.AdbcDatabase:
    """Create a low-level ADBC database for Athena.

    Parameters
    ----------
    uri
        ``athena://?region=us-east-1&s3_staging_dir=s3://bucket/path/&work_group=primary``
        (any database option key without its ``adbc.athena.`` prefix; values percent-encoded).
    db_kwargs
        ADBC database options (``adbc.athena.*`` keys, see :class:`DatabaseOptions`).
    **pyathena_kwargs
        PyAthena's connection keywords (``s3_staging_dir``, ``region_name``, ``work_group``,
        ``schema_name``, ``catalog_name``, ``profile_name``, ``role_arn``, ...).

    What neither gives comes from the environment (``AWS_REGION``, ``AWS_PROFILE``,
    ``AWS_ATHENA_S3_STAGING_DIR``, ``AWS_ATHENA_WORK_GROUP``, the credential chain, ...).
    """
    kwargs = database_kwargs(uri, db_kwargs, pyathena_kwargs)
    return adbc_driver_manager.AdbcDatabase(driver=driver_path(), entrypoint=ENTRYPOINT, **kwargs)
