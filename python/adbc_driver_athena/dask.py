"""Athena results as a Dask DataFrame, one partition per result partition (one per UNLOAD data
file), built with ``dask.dataframe.from_map`` and its ``meta`` from the result's schema.

::

    from adbc_driver_athena.dask import read_athena
    df = read_athena("SELECT * FROM events", s3_staging_dir="s3://bucket/athena/", unload=True)

The query runs once, in the calling process; each Dask task reads its own partition.
"""

from __future__ import annotations

import typing

import dask.dataframe as dd
import pyarrow as pa

from adbc_driver_athena import _partitions


def _read(partition: bytes, connect_kwargs: typing.Mapping[str, typing.Any], schema: pa.Schema):
    batches = list(_partitions.read(partition, connect_kwargs))
    return pa.Table.from_batches(batches, schema=schema).to_pandas(types_mapper=_types_mapper)


def _types_mapper(t: pa.DataType):
    # Strings stay pandas' Arrow-backed strings, so NULL and "" stay apart.
    import pandas as pd

    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return pd.StringDtype("pyarrow")
    # Decimals stay Arrow decimals: as Python objects, Dask's string conversion would make them
    # text.
    if pa.types.is_decimal(t):
        return pd.ArrowDtype(t)
    return None


def read_athena(query: str, **connect_kwargs: typing.Any) -> dd.DataFrame:
    """Runs `query` and returns its result as a Dask DataFrame (one partition per result
    partition); `connect_kwargs` are :func:`adbc_driver_athena.dbapi.connect`'s keywords."""
    plan = _partitions.plan(query, connect_kwargs)
    meta = plan.schema.empty_table().to_pandas(types_mapper=_types_mapper)
    if not plan.partitions:
        return dd.from_pandas(meta, npartitions=1)
    return dd.from_map(_read, plan.partitions, connect_kwargs=connect_kwargs, schema=plan.schema, meta=meta)
