"""Athena results as a Ray Dataset, one read task per partition (one per UNLOAD data file).

::

    from adbc_driver_athena.ray import read_athena
    ds = read_athena("SELECT * FROM events", s3_staging_dir="s3://bucket/athena/", unload=True)

The query runs once, in the calling process; its schema is known before any task runs; each
task reads its own partitions (packed into tasks as Spark packs files for the cluster's CPUs,
or for ``override_num_blocks`` where it is given) as Arrow tables, in whatever worker Ray
places it. Credentials come
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

    def __init__(self, query: str, connect_kwargs: typing.Mapping[str, typing.Any], slots: typing.Optional[int] = None) -> None:
        kwargs, send = _partitions.split_credentials(connect_kwargs)
        #: The CPUs the tasks are packed for, whatever parallelism Ray asks for (None: pack for
        #: the parallelism Ray asks for).
        self.slots = slots
        self.plan = _partitions.plan(query, kwargs)
        # What the read tasks (and this instance, which Ray serializes) keep.
        self.connect_kwargs = _partitions.worker_kwargs(kwargs, send)

    def estimate_inmemory_data_size(self) -> typing.Optional[int]:
        return None

    def get_read_tasks(self, parallelism: int, per_task_row_limit=None, data_context=None) -> typing.List[ReadTask]:
        """The partitions packed into read tasks as Spark packs files (see
        :func:`adbc_driver_athena._partitions.group`) for :attr:`slots` CPUs where it is set,
        else for `parallelism`; each task reads its own in order with the next ones read ahead.
        (Ray asks for at least 200 blocks by default, which keeps one partition per task:
        :func:`read_athena` sets the slots unless it is given ``override_num_blocks``.)"""
        kwargs = self.connect_kwargs
        tasks = []
        for task in _partitions.group(self.plan.partitions, max(1, self.slots or parallelism)):

            def read(task: typing.List[bytes] = task) -> typing.Iterator[pa.Table]:
                yield from _partitions.read_many(task, kwargs, lambda batch: pa.Table.from_batches([batch]))

            metadata = BlockMetadata(num_rows=None, size_bytes=None, exec_stats=None, input_files=None)
            tasks.append(ReadTask(read, metadata, schema=self.plan.schema))
        return tasks

    def get_name(self) -> str:
        return "Athena"


def read_athena(query: str, *, override_num_blocks: typing.Optional[int] = None, **connect_kwargs: typing.Any) -> Dataset:
    """Runs `query` and returns its result as a ``ray.data.Dataset`` (read tasks over its
    partitions, see :meth:`AthenaDatasource.get_read_tasks`); `connect_kwargs` are
    :func:`adbc_driver_athena.dbapi.connect`'s keywords, and ``credentials_to_workers`` (default
    False).

    By default the partitions are packed into tasks for the Ray cluster's CPUs as Spark packs
    files for its slots (at most 128 MiB a task, each partition counting 4 MiB more), and Ray
    gets one block per task: Ray's own default (at least 200 blocks) would make one task per
    partition, and a task costs Ray 0.14-0.16 s beside its read (measured warm on 2 cores,
    ``benches/scale_out``).
    ``override_num_blocks=N`` packs for N tasks instead; ``-1`` leaves the count to Ray."""
    slots = None
    if override_num_blocks is None:
        import ray

        ray.get_runtime_context()  # starts or connects to Ray as Ray Data would
        slots = max(1, int(ray.cluster_resources().get("CPU", 1)))
    source = AthenaDatasource(query, connect_kwargs, slots)
    if not source.plan.partitions:
        import ray.data

        return ray.data.from_arrow(source.plan.schema.empty_table())
    if slots is not None:
        override_num_blocks = len(_partitions.group(source.plan.partitions, slots))
    return read_datasource(source, override_num_blocks=override_num_blocks)
