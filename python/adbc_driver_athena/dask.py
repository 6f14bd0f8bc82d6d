"""Athena results as a Dask DataFrame, one partition per result partition (one per UNLOAD data
file), built with ``dask.dataframe.from_map`` and its ``meta`` from the result's schema.

::

    from adbc_driver_athena.dask import read_athena
    df = read_athena("SELECT * FROM events", s3_staging_dir="s3://bucket/athena/", unload=True)

The query runs once, in the calling process; each Dask task reads its own partition. Every
column is Arrow-backed (``pd.ArrowDtype``; strings ``string[pyarrow]``): each Athena type keeps its
values and its NULLs exactly, and ``meta`` has the dtypes the partitions have.
"""

from __future__ import annotations

import typing

import dask.dataframe as dd
import pyarrow as pa

from adbc_driver_athena import _partitions


def _read(partition: bytes, connect_kwargs: typing.Mapping[str, typing.Any], schema: pa.Schema):
    batches = list(_partitions.read(partition, connect_kwargs))
    return to_pandas(pa.Table.from_batches(batches, schema=schema))


def _types_mapper(t: pa.DataType):
    """Every column Arrow-backed: integers next to NULLs stay integers (NumPy's float64 would turn
    2**53 + 1 into 9007199254740992.0), decimals stay decimals, NULL and "" stay apart, and
    ``meta`` (from the schema) has exactly the dtypes the partitions have."""
    import pandas as pd

    if pa.types.is_string(t) or pa.types.is_large_string(t):
        # pandas' own Arrow-backed string dtype, the one Dask's string handling expects.
        return pd.StringDtype("pyarrow")
    return pd.ArrowDtype(t)


def to_pandas(table: pa.Table):
    """`table` as pandas with every column Arrow-backed (see ``_types_mapper``)."""
    return table.to_pandas(types_mapper=_types_mapper)


def read_athena(query: str, **connect_kwargs: typing.Any) -> dd.DataFrame:
    """Runs `query` and returns its result as a Dask DataFrame (one partition per result
    partition); `connect_kwargs` are :func:`adbc_driver_athena.dbapi.connect`'s keywords, and
    ``credentials_to_workers`` (default False: workers use their own environment's credentials;
    True sends explicit keys in every task)."""
    connect_kwargs, send = _partitions.split_credentials(connect_kwargs)
    plan = _partitions.plan(query, connect_kwargs)
    meta = to_pandas(plan.schema.empty_table())
    if not plan.partitions:
        return dd.from_pandas(meta, npartitions=1)
    workers = _partitions.worker_kwargs(connect_kwargs, send)
    return dd.from_map(_read, plan.partitions, connect_kwargs=workers, schema=plan.schema, meta=meta)
