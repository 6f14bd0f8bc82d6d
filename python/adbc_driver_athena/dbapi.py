"""PEP 249 (DB-API 2.0) for Athena, through ``adbc_driver_manager.dbapi``.

A PyAthena user changes one import::

    # from pyathena import connect
    from adbc_driver_athena.dbapi import connect

    conn = connect(s3_staging_dir="s3://bucket/path/", region_name="us-east-1")
    cur = conn.cursor()
    cur.execute("SELECT * FROM many_rows WHERE a < ?", (10,))
    cur.fetchall()              # rows as tuples
    cur.fetch_arrow_table()     # or: fetch_record_batch() (streaming), fetch_df(), fetch_polars()

Parameters use the ``qmark`` style and travel as Athena's ExecutionParameters. Errors follow
PyAthena's classes: ``ProgrammingError`` for SQL that Athena refuses (syntax, unknown tables),
``OperationalError`` for credentials, unreachable endpoints, cancelled and timed-out queries.

The connection and cursor wrap adbc_driver_manager's (made by its public ``connect``): every
method and attribute of theirs is theirs, reached through the wrapper, with one change to what
they raise (credentials refused become ``OperationalError``) and two additions
(``Cursor.query_id``, ``Cursor.read_partition``).
"""

from __future__ import annotations

import typing

import adbc_driver_manager
import adbc_driver_manager.dbapi
from adbc_driver_manager import AdbcStatusCode
from adbc_driver_manager.dbapi import (  # noqa: F401  (PEP 249 names of this module)
    BINARY,
    DATETIME,
    NUMBER,
    ROWID,
    STRING,
    DatabaseError,
    DataError,
    Date,
    DateFromTicks,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    Time,
    TimeFromTicks,
    Timestamp,
    TimestampFromTicks,
    Warning,
    apilevel,
    paramstyle,
    threadsafety,
)

import adbc_driver_athena
from adbc_driver_athena._options import StatementOptions, database_kwargs, statement_kwargs

__all__ = ["Connection", "Cursor", "connect"]

# adbc_driver_manager files "who is calling is not accepted" under ProgrammingError; PyAthena
# (and PEP 249's wording) make credentials an OperationalError.
_OPERATIONAL = {AdbcStatusCode.UNAUTHENTICATED, AdbcStatusCode.UNAUTHORIZED}


class _Translated:
    """Re-raises adbc_driver_manager's credential errors as OperationalError."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, tb) -> bool:
        if isinstance(exc, ProgrammingError) and exc.status_code in _OPERATIONAL:
            raise OperationalError(
                str(exc), status_code=exc.status_code, vendor_code=exc.vendor_code, sqlstate=exc.sqlstate, details=exc.details
            ) from exc
        return False


def _translating(method: typing.Callable) -> typing.Callable:
    def call(*args, **kwargs):
        with _Translated():
            return method(*args, **kwargs)

    call.__name__ = getattr(method, "__name__", "call")
    call.__doc__ = getattr(method, "__doc__", None)
    return call


class _Wrapper:
    """Reaches the wrapped object's attributes; its methods raise translated errors."""

    def __init__(self, inner: typing.Any) -> None:
        object.__setattr__(self, "_inner", inner)

    def __getattr__(self, name: str) -> typing.Any:
        value = getattr(self._inner, name)
        return _translating(value) if callable(value) and not isinstance(value, type) else value

    def __setattr__(self, name: str, value: typing.Any) -> None:
        setattr(self._inner, name, value)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()


class Cursor(_Wrapper):
    """A DB-API cursor whose results are Arrow streams from Athena."""

    def __iter__(self):
        return self

    def __next__(self):
        with _Translated():
            return next(self._inner)

    @property
    def query_id(self) -> typing.Optional[str]:
        """The QueryExecutionId of the last query this cursor ran (as PyAthena's cursors give it)."""
        try:
            value = self._inner.adbc_statement.get_option(StatementOptions.LAST_QUERY_ID.value)
        except adbc_driver_manager.Error:
            return None
        return value or None

    def read_partition(self, partition: bytes):
        """Read one partition from :meth:`adbc_execute_partitions` (in this process or any other
        with read access to the result); returns a streaming ``pyarrow.RecordBatchReader``."""
        with _Translated():
            self._inner.adbc_read_partition(partition)
            return self._inner.fetch_record_batch()


class Connection(_Wrapper):
    """A DB-API connection to Athena (autocommit: Athena has no transactions)."""

    def cursor(self, *, adbc_stmt_kwargs: typing.Optional[typing.Mapping[typing.Any, typing.Any]] = None) -> Cursor:
        """A new cursor; ``adbc_stmt_kwargs`` takes :class:`StatementOptions` keys (the per-query
        settings: unload, its compression, result reuse minutes, query timeout seconds)."""
        with _Translated():
            return Cursor(self._inner.cursor(adbc_stmt_kwargs=statement_kwargs(adbc_stmt_kwargs)))


def connect(
    uri: typing.Optional[str] = None,
    *,
    db_kwargs: typing.Optional[typing.Mapping[typing.Any, typing.Any]] = None,
    conn_kwargs: typing.Optional[typing.Mapping[str, str]] = None,
    **pyathena_kwargs: typing.Any,
) -> Connection:
    """Connect to Athena (PEP 249).

    Parameters
    ----------
    uri
        ``athena://?region=us-east-1&s3_staging_dir=s3://bucket/path/`` (optional; also what
        ``polars.read_database_uri(..., engine="adbc")`` passes).
    db_kwargs
        ADBC database options (``adbc.athena.*`` keys or :class:`~adbc_driver_athena.DatabaseOptions`).
    conn_kwargs
        ADBC connection options.
    **pyathena_kwargs
        PyAthena's keywords (``s3_staging_dir``, ``region_name``, ``work_group``,
        ``schema_name``, ``catalog_name``, ``endpoint_url``, ``profile_name``,
        ``aws_access_key_id``, ``aws_secret_access_key``, ``aws_session_token``, ``role_arn``,
        ``role_session_name``, ``external_id``, ``duration_seconds``, ``poll_interval``
        (seconds), ``result_reuse_enable``, ``result_reuse_minutes``, ``unload``) and the keys
        of the driver's other settings (``query_timeout_seconds``, ``unload_compression``).
        ``kill_on_interrupt`` (default True) as PyAthena's: Ctrl-C while a query runs stops it on
        Athena, or with False leaves it running (the cursor's ``query_id`` names it); either way
        the call raises ``OperationalError`` (CANCELLED), as adbc_driver_manager answers Ctrl-C.
        ``cursor_class`` is refused, with what to use instead (every cursor gives rows and Arrow).
    """
    kwargs = database_kwargs(uri, db_kwargs, pyathena_kwargs)
    with _Translated():
        inner = adbc_driver_manager.dbapi.connect(
            driver=adbc_driver_athena.driver_path(),
            entrypoint=adbc_driver_athena.ENTRYPOINT,
            db_kwargs=kwargs,
            conn_kwargs=conn_kwargs,
            autocommit=True,
        )
    return Connection(inner)
