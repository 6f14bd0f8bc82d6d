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
"""

from __future__ import annotations

import functools
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
from adbc_driver_athena._options import StatementOptions

__all__ = ["Connection", "Cursor", "connect"]

# adbc_driver_manager files "who is calling is not accepted" under ProgrammingError; PyAthena
# (and PEP 249's wording) make credentials an OperationalError.
_OPERATIONAL = {AdbcStatusCode.UNAUTHENTICATED, AdbcStatusCode.UNAUTHORIZED}


def _translated(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except ProgrammingError as e:
            if getattr(e, "status_code", None) not in _OPERATIONAL:
                raise
            raise OperationalError(
                str(e),
                status_code=e.status_code,
                vendor_code=e.vendor_code,
                sqlstate=e.sqlstate,
                details=e.details,
            ) from e

    return wrapper


class Cursor(adbc_driver_manager.dbapi.Cursor):
    """A DB-API cursor whose results are Arrow streams from Athena."""

    @property
    def query_id(self) -> typing.Optional[str]:
        """The QueryExecutionId of the last query this cursor ran (as PyAthena's cursors give it)."""
        try:
            value = self.adbc_statement.get_option(StatementOptions.LAST_QUERY_ID.value)
        except adbc_driver_manager.Error:
            return None
        return value or None

    def read_partition(self, partition: bytes):
        """Read one partition from :meth:`adbc_execute_partitions` (in this process or any other
        with read access to the result); returns a streaming ``pyarrow.RecordBatchReader``."""
        self.adbc_read_partition(partition)
        return self.fetch_record_batch()


for _name in (
    "execute",
    "executemany",
    "fetchone",
    "fetchmany",
    "fetchall",
    "fetch_arrow_table",
    "fetch_arrow",
    "fetch_df",
    "fetch_polars",
    "fetch_record_batch",
    "adbc_execute_partitions",
    "adbc_execute_schema",
    "adbc_read_partition",
    "adbc_cancel",
):
    setattr(Cursor, _name, _translated(getattr(adbc_driver_manager.dbapi.Cursor, _name)))


class Connection(adbc_driver_manager.dbapi.Connection):
    """A DB-API connection to Athena (autocommit: Athena has no transactions)."""

    def cursor(self, *, adbc_stmt_kwargs: typing.Optional[typing.Mapping[str, typing.Any]] = None) -> Cursor:
        """A new cursor; ``adbc_stmt_kwargs`` takes :class:`StatementOptions` keys (unload,
        result reuse minutes, query timeout seconds) for this cursor's queries."""
        stmt_kwargs = None
        if adbc_stmt_kwargs:
            stmt_kwargs = {
                (k.value if isinstance(k, StatementOptions) else k): (
                    ("true" if v else "false") if isinstance(v, bool) else str(v)
                )
                for k, v in adbc_stmt_kwargs.items()
            }
        cursor = Cursor(self, stmt_kwargs, dbapi_backend=self._backend)
        self._cursors.add(cursor)
        return cursor

    adbc_get_objects = _translated(adbc_driver_manager.dbapi.Connection.adbc_get_objects)
    adbc_get_table_schema = _translated(adbc_driver_manager.dbapi.Connection.adbc_get_table_schema)


def connect(
    uri: typing.Optional[str] = None,
    *,
    db_kwargs: typing.Optional[typing.Mapping[str, typing.Any]] = None,
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
        PyAthena's keywords: ``s3_staging_dir``, ``region_name``, ``work_group``,
        ``schema_name``, ``catalog_name``, ``endpoint_url``, ``profile_name``,
        ``aws_access_key_id``, ``aws_secret_access_key``, ``aws_session_token``, ``role_arn``,
        ``role_session_name``, ``external_id``, ``duration_seconds``, ``poll_interval``
        (seconds), ``result_reuse_enable``, ``result_reuse_minutes``, ``unload``, and our
        ``query_timeout_seconds``. ``cursor_class`` and ``kill_on_interrupt`` are accepted and
        need nothing (every cursor gives Arrow; Ctrl-C stops the query).
    """
    db = None
    conn = None
    try:
        db = adbc_driver_athena.connect(uri, db_kwargs, **pyathena_kwargs)
        conn = adbc_driver_manager.AdbcConnection(db, **(conn_kwargs or {}))
        return Connection(db, conn, conn_kwargs, autocommit=True)
    except Exception:
        if conn is not None:
            conn.close()
        if db is not None:
            db.close()
        raise
