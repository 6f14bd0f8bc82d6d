"""Athena results as a Ray Dataset, one read task per partition (one per UNLOAD data file).

::

    from adbc_driver_athena.ray import read_athena
    ds = read_athena("SELECT * FROM events", s3_staging_dir="s3://bucket/athena/", unload=True)

The query runs once, in the calling process; its schema is known before any task runs; each
task reads its own partition as Arrow tables, in whatever worker Ray places it. Credentials come
from each worker's environment; partitions and tasks carry none, unless
``credentials_to_workers=True`` is passed (explicit keys then travel in every task).
"""

from __future__ import annotations

import typing

import pyarrow as pa
from ray.data import Dataset, Datasource, ReadTask, read_datasource
from ray.data.block import BlockMetadata

from adbc_driver_athena import _partitions


class AthenaDatasource(Datasource):
    """The partitions of one finished query's result."""

    def __init__(self, query: str, connect_kwargs: typing.Mapping[str, typing.Any]) -> None:
        kwargs, send = _partitions.split_credentials(connect_kwargs)
        self.plan = _partitions.plan(query, kwargs)
        # What the read tasks (and this instance, which Ray serializes) keep.
        self.connect_kwargs = _partitions.worker_kwargs(kwargs, send)

    def estimate_inmemory_data_size(self) -> typing.Optional[int]:
        return None

    def get_read_tasks(self, parallelism: int, per_task_row_limit=None, data_context=None) -> typing.List[ReadTask]:
        kwargs = self.connect_kwargs
        tasks = []
        for partition in self.plan.partitions:

            def read(partition: bytes = partition) -> typing.Iterator[pa.Table]:
                for batch in _partitions.read(partition, kwargs):
                    yield pa.Table.from_batches([batch])

            metadata = BlockMetadata(num_rows=None, size_bytes=None, exec_stats=None, input_files=None)
            tasks.append(ReadTask(read, metadata, schema=self.plan.schema))
        return tasks

    def get_name(self) -> str:
        return "Athena"


def read_athena(query: str, **connect_kwargs: typing.Any) -> Dataset:
    """Runs `query` and returns its result as a ``ray.data.Dataset`` (one read task per
    partition); `connect_kwargs` are :func:`adbc_driver_athena.dbapi.connect`'s keywords, and
    ``credentials_to_workers`` (default False)."""
    source = AthenaDatasource(query, connect_kwargs)
    if not source.plan.partitions:
        import ray.data

        return ray.data.from_arrow(source.plan.schema.empty_table())
    return read_datasource(source)
