"""Athena results as a PySpark data source (PySpark >= 4.0, Python Data Source API).

::

    from adbc_driver_athena import spark as athena_spark
    athena_spark.register(spark)
    df = (spark.read.format("athena")
          .option("query", "SELECT * FROM events WHERE day = DATE '2026-12-01'")
          .option("s3_staging_dir", "s3://bucket/athena/").option("unload", "true")
          .load())

Options: ``query`` (any SQL; it runs once, when the DataFrame is defined, and its schema is its
result's), or ``table`` (a table name; its schema from the table's metadata, its query run when
the DataFrame is read, with Spark's pushed filters that Athena evaluates alike in its WHERE when
``register(spark, filter_pushdown=True)``);
every other option is a setting of the driver's table, by key or PyAthena keyword
(``region_name``, ``work_group``, ``s3_staging_dir``, ``unload``, ...). The result's partitions
(one per UNLOAD data file, or byte ranges of the result CSV) are packed into tasks as Spark packs
files (``max_partition_bytes``, ``open_cost_bytes``, ``min_partitions``; see
``AthenaReader.partitions``), and each task reads its own as Arrow record batches, the next files
read ahead, with no per-row Python. Credentials come from
each executor's environment, as the AWS SDK finds them: credential options (``aws_access_key_id``,
``aws_secret_access_key``, ``aws_session_token``, ``external_id``) serve the driver's query only,
and neither partitions nor the reader sent to executors carry them, unless the option
``credentials_to_workers`` is ``true``.
"""

from __future__ import annotations

import datetime
import decimal
import typing

import pyarrow as pa
from pyspark.sql.datasource import (
    DataSource,
    DataSourceReader,
    EqualTo,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    InputPartition,
    IsNotNull,
    IsNull,
    LessThan,
    LessThanOrEqual,
    Not,
)
from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema
from pyspark.sql.types import StructType

from adbc_driver_athena import _options, _partitions

#: Options that are not connection keywords.
_QUERY_OPTIONS = ("query", "table", "credentials_to_workers", "max_partition_bytes", "min_partitions", "open_cost_bytes")


def register(spark, filter_pushdown: bool = False) -> None:
    """Registers the ``athena`` format with `spark` (a ``SparkSession``).

    ``filter_pushdown=True`` also turns on the session's filter pushdown to Python data sources
    (``spark.sql.python.filterPushdown.enabled``), which ``table`` reads then use: the filters
    Athena evaluates alike go into its WHERE. It is off by default because PySpark 4.3 keeps the
    partitions planned with one query's pushed filters on the DataFrame's data source and reuses
    them for a later query of the same DataFrame that pushes none (an ``OR``, or no filter at
    all), which then reads too few rows (tested; newer Spark keeps them per scan). With it on,
    build a new DataFrame (``spark.read...load()``) for each query."""
    # PySpark refuses a reader that implements pushFilters() while the session's pushdown is
    # off: table reads then use a reader without it.
    base = AthenaPushdownDataSource if filter_pushdown else AthenaDataSource
    # The data source is planned in a Python worker, where the session's parallelism is not
    # known: the registered class carries it (a class made here travels by value).
    source = type(f"_{base.__name__}OfSession", (base,), {"session_parallelism": _session_parallelism(spark)})
    spark.dataSource.register(source)
    if filter_pushdown:
        spark.conf.set("spark.sql.python.filterPushdown.enabled", "true")


def _session_parallelism(spark) -> typing.Optional[int]:
    """`spark`'s default parallelism (its executors' slots), or None where it is not known
    (Spark Connect has no SparkContext): then every partition is a task."""
    try:
        return max(1, int(spark.sparkContext.defaultParallelism))
    except Exception:  # noqa: BLE001 - no context to ask
        return None


def _connect_kwargs(options: typing.Mapping[str, str]) -> typing.Dict[str, typing.Any]:
    """The options that are connection settings (by key or PyAthena keyword), as the driver's
    database options: Spark hands every option over as text, which the driver parses."""
    return {"db_kwargs": _options.text_options({k: v for k, v in options.items() if k not in _QUERY_OPTIONS})}


def _whole_number(options: typing.Mapping[str, str], name: str, default: int) -> int:
    """The option `name` as a whole number (at least 1; bytes or partitions), else `default`."""
    text = options.get(name)
    if text is None or str(text).strip() == "":
        return default
    try:
        value = int(str(text).strip())
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"the athena data source option {name} must be a whole number of at least 1, not {text!r}")
    return value


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: typing.Any) -> typing.Optional[str]:
    """An Athena (Trino and DuckDB) literal of a Spark filter value, or None when there is none
    both engines read alike."""
    if value is None or isinstance(value, bool):
        return None if value is None else ("true" if value else "false")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return f"DECIMAL '{value}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, datetime.datetime) or isinstance(value, float):
        # Time zones and float rounding differ between Spark and Athena: Spark keeps these.
        return None
    if isinstance(value, datetime.date):
        return f"DATE '{value.isoformat()}'"
    return None


def _column(path: typing.Tuple[str, ...]) -> typing.Optional[str]:
    return _quote(path[0]) if len(path) == 1 else None


def filter_sql(f) -> typing.Optional[str]:
    """Athena's SQL for a Spark filter both evaluate alike, else None (Spark then applies it)."""
    comparisons = {EqualTo: "=", GreaterThan: ">", GreaterThanOrEqual: ">=", LessThan: "<", LessThanOrEqual: "<="}
    for kind, op in comparisons.items():
        if isinstance(f, kind):
            column, value = _column(f.attribute), _literal(f.value)
            return f"({column} {op} {value})" if column and value else None
    if isinstance(f, IsNull) or isinstance(f, IsNotNull):
        column = _column(f.attribute)
        return f"({column} IS {'' if isinstance(f, IsNull) else 'NOT '}NULL)" if column else None
    if isinstance(f, In):
        column = _column(f.attribute)
        values = [_literal(v) for v in f.value]
        if column and values and all(values):
            return f"({column} IN ({', '.join(values)}))"
        return None
    if isinstance(f, Not):
        inner = filter_sql(f.child)
        return f"(NOT {inner})" if inner else None
    return None


class AthenaPartition(InputPartition):
    """One task's partitions of the result (their serialised forms, no credentials)."""

    def __init__(self, value: typing.List[bytes]) -> None:
        super().__init__(value)


class AthenaDataSource(DataSource):
    """``spark.read.format("athena")``."""

    #: The registering session's default parallelism (see :func:`register`).
    session_parallelism: typing.Optional[int] = None

    def _reader_options(self) -> typing.Dict[str, str]:
        options = dict(self.options)
        if self.session_parallelism and "min_partitions" not in options:
            options["min_partitions"] = str(self.session_parallelism)
        return options

    @classmethod
    def name(cls) -> str:
        return "athena"

    def schema(self) -> StructType:
        """A ``query``'s result schema, from running it: the query runs once, here, and its
        partitions travel with this (pickled) instance to the reader; nested columns are then
        typed as its data files give them. A ``table``'s schema, from its metadata: its query
        runs later, with the filters Spark pushes."""
        options = dict(self.options)
        if "table" in options and "query" not in options:
            return from_arrow_schema(_table_schema(options["table"], _connect_kwargs(options)))
        self._plan = _partitions.plan(_query_of(options, []), _connect_kwargs(options))
        return from_arrow_schema(self._plan.schema)

    def reader(self, schema: StructType) -> "AthenaReader":
        options = self._reader_options()
        if "table" in options:
            return AthenaReader(options, schema)
        return AthenaReader(options, schema, getattr(self, "_plan", None))


class AthenaPushdownDataSource(AthenaDataSource):
    """``spark.read.format("athena")`` with filter pushdown (``register(spark, filter_pushdown=True)``)."""

    def reader(self, schema: StructType) -> "AthenaReader":
        options = self._reader_options()
        # Only a table's reader takes filters (a query's result is not rewritten).
        if "table" in options:
            return TableReader(options, schema)
        return AthenaReader(options, schema, getattr(self, "_plan", None))


def _query_of(options: typing.Mapping[str, str], where: typing.List[str]) -> str:
    if "query" in options and "table" in options:
        raise ValueError("give the athena data source either the option query or table, not both")
    if "table" in options:
        sql = f"SELECT * FROM {options['table']}"
        return sql + (" WHERE " + " AND ".join(where) if where else "")
    if "query" in options:
        return options["query"]
    raise ValueError("the athena data source needs the option query (SQL) or table (a table name)")


def _table_schema(table: str, connect_kwargs: typing.Mapping[str, typing.Any]) -> pa.Schema:
    """The Arrow schema of `table` (``name`` or ``database.name``) from its metadata."""
    from adbc_driver_athena import dbapi

    database, _, name = table.rpartition(".")
    with dbapi.connect(**connect_kwargs) as conn:
        return conn.adbc_get_table_schema(name.strip('"'), db_schema_filter=database.strip('"') or None)


class AthenaReader(DataSourceReader):
    def __init__(self, options: typing.Dict[str, str], schema: StructType, plan: typing.Optional[_partitions.Plan] = None) -> None:
        _, send = _partitions.split_credentials(options)
        # The reader is sent to the executors: it keeps the options without credentials, unless
        # they are to travel. `partitions` (on the driver) runs a table's query before that.
        self._driver_options: typing.Optional[typing.Dict[str, str]] = options
        self.options = _partitions.worker_kwargs(options, send)
        self.schema = schema
        self.where: typing.List[str] = []
        self.plan = plan

    def partitions(self) -> typing.List[AthenaPartition]:
        """The result's partitions packed into tasks as Spark packs files (see
        :func:`adbc_driver_athena._partitions.group`): the options ``max_partition_bytes``
        (default 128 MiB, as ``spark.sql.files.maxPartitionBytes``), ``open_cost_bytes`` (4 MiB,
        as ``spark.sql.files.openCostInBytes``) and ``min_partitions`` (default: the default
        parallelism of the session that registered the source, else one task per partition)."""
        options = self._driver_options if self._driver_options is not None else self.options
        plan = self.plan or _partitions.plan(_query_of(options, self.where), _connect_kwargs(options))
        tasks = _partitions.group(
            plan.partitions,
            _whole_number(options, "min_partitions", len(plan.partitions)),
            _whole_number(options, "max_partition_bytes", _partitions.MAX_TASK_BYTES),
            _whole_number(options, "open_cost_bytes", _partitions.OPEN_COST_BYTES),
        )
        return [AthenaPartition(task) for task in tasks]

    def __getstate__(self):
        # What travels to the executors: never the driver's credentials.
        state = dict(self.__dict__)
        state["_driver_options"] = None
        return state

    def read(self, partition: AthenaPartition) -> typing.Iterator[pa.RecordBatch]:
        # A result without partitions (an UNLOAD of no rows): Spark still reads one, empty.
        if partition is None or not getattr(partition, "value", None):
            return
        target = to_arrow_schema(self.schema)

        def to_spark(batch: pa.RecordBatch) -> pa.RecordBatch:
            # Spark takes Arrow in its own types (timestamps in microseconds, for one); a batch
            # already in them goes as it is.
            if batch.schema.equals(target):
                return batch
            return pa.RecordBatch.from_arrays([c if c.type == f.type else c.cast(f.type) for c, f in zip(batch.columns, target)], schema=target)

        yield from _partitions.read_many(partition.value, _connect_kwargs(self.options), to_spark)


class TableReader(AthenaReader):
    """The reader of a ``table``: Spark's filters that Athena evaluates alike go into its WHERE."""

    def pushFilters(self, filters):  # noqa: N802 - PySpark's name
        """Takes the filters Athena evaluates alike; returns the rest, which Spark applies.
        Spark calls it once per read with every filter of that read (on a fresh reader; a reader
        used again starts from none)."""
        self.where = []
        for f in filters:
            sql = filter_sql(f)
            if sql is None:
                yield f
            else:
                self.where.append(sql)
