"""Athena tables and queries as Polars LazyFrames: ``scan_athena`` registers an IO source
(``polars.io.plugins.register_io_source``) whose plan tells it which columns, which rows and how
many are needed, so that Athena computes and sends only those.

::

    from adbc_driver_athena.polars import scan_athena
    lf = scan_athena(table="events", s3_staging_dir="s3://bucket/athena/", unload=True)
    lf.filter(pl.col("day") >= date(2026, 12, 1)).select("kind", "n").collect()

Pushed down: the projection becomes the SELECT list, ``n_rows`` a LIMIT (when the whole
predicate is pushed), and the parts of the predicate both engines evaluate alike the WHERE
(``adbc_driver_athena._polars_sql``). The scan then applies the whole predicate to what it reads
(Polars does not apply it again), so a filter not translated costs speed, never correctness.
The schema comes without computing a row (a table's metadata; a query's ``LIMIT 0`` probe) and
is the one ``pl.from_arrow`` gives the driver's Arrow (decimals, timestamps with and without zone,
nested columns, NULL vs ""). The result is read as the driver streams it (UNLOAD files, CSV
ranges or the DuckDB stream, in parallel) and yielded in DataFrames of about ``batch_size`` rows
as they decode, so ``collect(engine="streaming")`` and ``sink_parquet`` run in bounded memory.
"""

from __future__ import annotations

import typing

import polars as pl
import pyarrow as pa
from polars.io.plugins import register_io_source

from adbc_driver_athena import _polars_sql, dbapi

#: Rows per DataFrame when Polars asks for no batch size.
DEFAULT_BATCH_ROWS = 100_000


#: Athena's nested types, which the result CSV carries as text.
_NESTED = ("array", "map", "row", "struct")


def _is_nested(field: pa.Field) -> bool:
    athena_type = (field.metadata or {}).get(b"athena.type", b"").decode()
    return athena_type in _NESTED or pa.types.is_nested(field.type)


def _flag(value: typing.Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on"))


def _arrow_schema(table: typing.Optional[str], query: typing.Optional[str], connect_kwargs: typing.Mapping[str, typing.Any]) -> pa.Schema:
    """The schema the scan's reads give, without computing a row: a table's from its metadata, a
    query's from a ``LIMIT 0`` probe. Nested columns are as the chosen source gives them: typed
    from UNLOAD's Parquet, Athena's text from the result CSV."""
    unload = _flag(connect_kwargs.get("unload", False))
    with dbapi.connect(**connect_kwargs) as conn:
        if table is not None:
            database, _, name = table.rpartition(".")
            schema = conn.adbc_get_table_schema(name.strip('"'), db_schema_filter=database.strip('"') or None)
        else:
            with conn.cursor() as cur:
                schema = cur.adbc_execute_schema(query)
    nested = [f.name for f in schema if _is_nested(f)]
    if not unload:
        return pa.schema([f.with_type(pa.string()) if f.name in nested else f for f in schema], metadata=schema.metadata)
    if query is not None and nested:
        # Athena describes a query's nested columns without their element types (its column
        # metadata says `array`, `map`, `row`): only the data files would tell, after the query ran.
        raise ValueError(
            f"scan_athena(query=..., unload=True) cannot type the nested columns {', '.join(nested)} without running the "
            "query: scan the table (table=...), whose metadata types them, or read without unload (nested values as "
            "Athena's text)"
        )
    return schema


def scan_sql(
    base: str,
    columns: typing.Sequence[str],
    predicate: typing.Optional[pl.Expr],
    n_rows: typing.Optional[int],
    booleans: typing.Container[str] = (),
) -> typing.Tuple[str, bool]:
    """The query Athena runs for a scan of `base` (a table's ``SELECT *`` or a query): the
    columns the plan needs, the translated part of `predicate`, and `n_rows` as a LIMIT when the
    whole predicate is translated; and whether the whole predicate was."""
    where, whole = (None, True)
    if predicate is not None:
        where, whole = _polars_sql.where(predicate.meta.serialize(format="json"), booleans)
    select = ", ".join(_polars_sql.quote(c) for c in columns) if columns else "*"
    sql = f"SELECT {select} FROM ({base}) AS athena_scan"
    if where:
        sql += f" WHERE {where}"
    if n_rows is not None and whole:
        sql += f" LIMIT {int(n_rows)}"
    return sql, whole


def scan_athena(table: typing.Optional[str] = None, query: typing.Optional[str] = None, **connect_kwargs: typing.Any) -> pl.LazyFrame:
    """A LazyFrame of Athena table `table` (``name`` or ``database.name``) or of the result of
    `query` (any SELECT); `connect_kwargs` are :func:`adbc_driver_athena.dbapi.connect`'s keywords.
    Nothing runs until the frame is collected (the schema comes from metadata or a ``LIMIT 0``
    probe)."""
    if (table is None) == (query is None):
        raise ValueError("scan_athena takes table= or query=, one of them")
    arrow_schema = _arrow_schema(table, query, connect_kwargs)
    schema = pl.from_arrow(arrow_schema.empty_table()).schema
    base = f"SELECT * FROM {table}" if table is not None else query
    booleans = {name for name, dtype in schema.items() if dtype == pl.Boolean}

    def source(
        with_columns: typing.Optional[typing.List[str]],
        predicate: typing.Optional[pl.Expr],
        n_rows: typing.Optional[int],
        batch_size: typing.Optional[int],
    ) -> typing.Iterator[pl.DataFrame]:
        wanted = list(with_columns) if with_columns is not None else list(schema)
        # The predicate's columns are read too: the scan applies it.
        needed = list(dict.fromkeys([*wanted, *(predicate.meta.root_names() if predicate is not None else [])]))
        sql, _ = scan_sql(base, [c for c in schema if c in needed], predicate, n_rows, booleans)
        rows = batch_size or DEFAULT_BATCH_ROWS
        remaining = n_rows
        with dbapi.connect(**connect_kwargs) as conn, conn.cursor() as cur:
            cur.execute(sql)
            reader = cur.fetch_record_batch()
            pending: typing.List[pa.RecordBatch] = []
            pending_rows = 0

            def frame(batches: typing.List[pa.RecordBatch]) -> pl.DataFrame:
                df = pl.from_arrow(pa.Table.from_batches(batches, schema=reader.schema))
                assert isinstance(df, pl.DataFrame)
                if predicate is not None:
                    df = df.filter(predicate)
                return df.select(wanted)

            for batch in reader:
                pending.append(batch)
                pending_rows += batch.num_rows
                if pending_rows < rows:
                    continue
                df = frame(pending)
                pending, pending_rows = [], 0
                if remaining is not None:
                    df = df.head(remaining)
                    remaining -= df.height
                if df.height:
                    yield df
                if remaining == 0:
                    return
            if pending or remaining is None or remaining > 0:
                df = frame(pending) if pending else pl.DataFrame(schema=schema).select(wanted)
                if remaining is not None:
                    df = df.head(remaining)
                yield df

    return register_io_source(source, schema=schema)
