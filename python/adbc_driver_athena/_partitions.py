"""What the scale-out integrations share: one query run on the driver (the process that plans),
its result cut into partitions (one per UNLOAD data file, byte ranges of the result CSV, or one for a DuckDB
stream), and a partition read in any process with the same connection keywords. Partitions hold
S3 locations, sizes and ETags, never credentials; an object changed since the query fails the
read instead of being read again.

Credentials: the driver runs the query with every keyword it is given; workers get the keywords
without credentials (:func:`worker_kwargs`) and resolve their own from their environment (instance
or task roles, ``AWS_*`` variables, profiles), unless the caller passes
``credentials_to_workers=True``, which sends the explicit keys in every task."""

from __future__ import annotations

import bisect
import itertools
import json
import os
import threading
import time
import typing

import pyarrow as pa

from adbc_driver_athena import _options, dbapi


#: Keywords (PyAthena's and the table's keys) that hold credentials: the table's secrets, and the
#: access key ids that go with them.
CREDENTIAL_KEYWORDS = frozenset(
    {"aws_access_key_id", "access_key_id"}
    | {name for s in _options._TABLE["settings"] if s["secret"] for name in (s["key"], s["pyathena"]) if name}
)


#: The role a web identity token signs in to: it goes with the token.
#: What a token signs in to (the role; with trusted identity propagation, the Identity Center
#: application and the access role too): dropped with a literal token.
_WEB_IDENTITY_ROLE = frozenset({"role_arn", "role_session_name", "duration_seconds", "identity_center_application_arn", "access_role_arn"})


def _is_reference(value: typing.Any) -> bool:
    """A web identity token given as ``file:PATH`` or ``env:NAME``: each worker reads its own."""
    return isinstance(value, str) and value.strip().startswith(("file:", "env:"))


def _is_credential(key: str, value: typing.Any) -> bool:
    if key == "web_identity_token":
        return not _is_reference(value)
    return key in CREDENTIAL_KEYWORDS


def _name(key: typing.Any) -> str:
    """A keyword, or a ``db_kwargs`` key (an option string or a ``DatabaseOptions`` member)."""
    return str(getattr(key, "value", key)).removeprefix("adbc.athena.")


def _strip(options: typing.Mapping[typing.Any, typing.Any]) -> typing.Dict[typing.Any, typing.Any]:
    token = next((v for k, v in options.items() if _name(k) == "web_identity_token"), None)
    # A token's own text stays with the driver, and so does the role it signs in to.
    drop_role = token is not None and not _is_reference(token)
    return {k: v for k, v in options.items() if not _is_credential(_name(k), v) and not (drop_role and _name(k) in _WEB_IDENTITY_ROLE)}


def split_credentials(connect_kwargs: typing.Mapping[str, typing.Any]) -> typing.Tuple[typing.Dict[str, typing.Any], bool]:
    """`connect_kwargs` without ``credentials_to_workers``, and its value (default False)."""
    kwargs = dict(connect_kwargs)
    send = kwargs.pop("credentials_to_workers", False)
    if isinstance(send, str):
        send = send.strip().lower() in ("true", "1", "yes", "on")
    return kwargs, bool(send)


def worker_kwargs(connect_kwargs: typing.Mapping[str, typing.Any], credentials_to_workers: bool = False) -> typing.Dict[str, typing.Any]:
    """The keywords a worker connects with: `connect_kwargs` without credentials (keywords and
    ``db_kwargs`` options alike), unless `credentials_to_workers`. A web identity token given as
    ``file:PATH`` or ``env:NAME`` is kept (each worker reads its own token); the token's text is
    not, nor the role it signs in to."""
    if credentials_to_workers:
        return dict(connect_kwargs)
    out = _strip(connect_kwargs)
    if isinstance(out.get("db_kwargs"), typing.Mapping):
        out["db_kwargs"] = _strip(out["db_kwargs"])
    return out


class Plan(typing.NamedTuple):
    """A finished query's result: its schema, its partitions (bytes) and its query id."""

    schema: pa.Schema
    partitions: typing.List[bytes]
    query_id: str


def plan(query: str, connect_kwargs: typing.Mapping[str, typing.Any]) -> Plan:
    """Runs `query` once and lists its result's partitions (nothing is read)."""
    with dbapi.connect(**connect_kwargs) as conn, conn.cursor() as cur:
        partitions, schema = cur.adbc_execute_partitions(query)
        return Plan(schema, list(partitions), cur.query_id or "")


def describe(partition: bytes) -> str:
    """``partition <object> of query <id>``, for errors raised on a worker."""
    try:
        p = json.loads(partition)
    except (TypeError, ValueError):
        return "an unreadable partition"
    location = p.get("location") or {}
    where = location.get("uri") or location.get("kind", "?")
    if location.get("range"):
        start, end = location["range"]
        where = f"{where} bytes {start}-{end}"
    return f"partition {where} of query {p.get('query_id', '?')}"


class PartitionError(RuntimeError):
    """Reading one partition failed on a worker; the message names the partition and query."""


_worker_connections = threading.local()


def _connection(connect_kwargs: typing.Mapping[str, typing.Any]):
    """This worker thread's connection for `connect_kwargs`, opened once and kept: a worker
    process reads many partitions (Spark reuses its Python workers, Ray and Dask their workers'
    threads), and each would otherwise open a connection (the SDK configuration, the credential
    chain) for one file. Kept per thread (an ADBC connection is not shared between threads) and
    per process (a forked worker opens its own)."""
    key = (os.getpid(), json.dumps(connect_kwargs, sort_keys=True, default=str))
    cache = getattr(_worker_connections, "by_key", None)
    if cache is None:
        cache = _worker_connections.by_key = {}
    conn = cache.get(key)
    if conn is None:
        conn = cache[key] = dbapi.connect(**connect_kwargs)
    return conn


#: A directory to which each partition read appends one line of JSON with its timings (see
#: :func:`read`); unset (the default), nothing is written. For the scale-out bench and for users
#: profiling their own cluster: set it in the workers' environment.
TIMINGS_ENV = "ATHENA_TASK_TIMINGS"


def read(
    partition: bytes,
    connect_kwargs: typing.Mapping[str, typing.Any],
    convert: typing.Optional[typing.Callable[[pa.RecordBatch], typing.Any]] = None,
) -> typing.Iterator[typing.Any]:
    """Streams the record batches of one partition (in any process), on the worker's kept
    connection for `connect_kwargs`, each passed through `convert` when given (an engine's own
    types).

    Where the time goes is measured on the way, in seconds from the call: ``connect`` (the kept
    connection, or a new one), ``open`` (the partition's reader), ``first_batch``, ``read`` (in
    the reader: fetching and decoding), ``convert``, ``hand_over`` (suspended at ``yield`` while
    the engine takes each batch) and ``total``; with :data:`TIMINGS_ENV` set they are appended
    to a file of that directory."""
    clock = time.perf_counter
    start = clock()
    t = {"connect": 0.0, "open": 0.0, "first_batch": 0.0, "read": 0.0, "convert": 0.0, "hand_over": 0.0}
    rows = 0
    try:
        conn = _connection(connect_kwargs)
        t["connect"] = clock() - start
        with conn.cursor() as cur:
            mark = clock()
            reader = cur.read_partition(partition)
            t["open"] = clock() - mark
            batches = iter(reader)
            while True:
                mark = clock()
                batch = next(batches, None)
                now = clock()
                t["read"] += now - mark
                if batch is None:
                    break
                if rows == 0:
                    t["first_batch"] = now - start
                rows += batch.num_rows
                if convert is not None:
                    batch = convert(batch)
                    t["convert"] += clock() - now
                mark = clock()
                yield batch
                t["hand_over"] += clock() - mark
    except PartitionError:
        raise
    except Exception as e:  # noqa: BLE001 - re-raised with the partition's name
        raise PartitionError(f"reading {describe(partition)}: {e}") from e
    t["total"] = clock() - start
    _record("partition", rows=rows, **t)


def _record(kind: str, **fields: typing.Any) -> None:
    """Appends one timing record to this process's file under :data:`TIMINGS_ENV`, if set."""
    directory = os.environ.get(TIMINGS_ENV)
    if directory:
        record = {"kind": kind, "pid": os.getpid(), "thread": threading.get_ident(), "ended": time.time(), **fields}
        with open(os.path.join(directory, f"{os.getpid()}.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")


def size_of(partition: bytes) -> int:
    """The bytes a partition reads (its object, or its byte range of the CSV); 0 when unknown
    (GetQueryResults paging, a DuckDB stream)."""
    try:
        location = json.loads(partition).get("location") or {}
    except (TypeError, ValueError):
        return 0
    if location.get("range"):
        start, end = location["range"]
        return max(0, int(end) - int(start))
    return int(location.get("size") or 0)


#: Spark's defaults for packing files into tasks (``spark.sql.files.maxPartitionBytes`` and
#: ``spark.sql.files.openCostInBytes``): a task of small files costs about what one of this
#: many bytes does.
MAX_TASK_BYTES = 128 << 20
OPEN_COST_BYTES = 4 << 20


def group(
    partitions: typing.Sequence[bytes],
    min_tasks: int,
    max_bytes: int = MAX_TASK_BYTES,
    open_cost: int = OPEN_COST_BYTES,
) -> typing.List[typing.List[bytes]]:
    """Packs partitions into tasks as Spark packs files: each partition counts its bytes plus
    `open_cost`; a task holds at most ``min(max_bytes, max(open_cost, total / min_tasks))`` of
    them (at least one partition). Where that makes a count of tasks that is not a multiple of
    `min_tasks` (the slots that run them), the partitions are then cut into the next multiple of
    tasks of about equal bytes, so that no last wave runs on one slot while the others wait
    (5 tasks of 128 MiB on 2 slots take three task times; 6 of 107 MiB, three shorter ones).
    Partitions stay in the result's order, so tasks read in order give the result's order. Many
    small UNLOAD files then make a few tasks (a task has a cost of its own in every engine) and
    a few large ones stay one task each."""
    sizes = [size_of(p) + open_cost for p in partitions]
    if not partitions:
        return []
    slots = max(1, min_tasks)
    limit = min(max_bytes, max(open_cost, sum(sizes) // slots))
    count, used = 1, 0
    for size in sizes:
        if used and used + size > limit:
            count += 1
            used = 0
        used += size
    count = min(len(partitions), -(-count // slots) * slots)
    return _even(partitions, sizes, count)


def _even(partitions: typing.Sequence[bytes], sizes: typing.Sequence[int], count: int) -> typing.List[typing.List[bytes]]:
    """`partitions` cut into `count` runs (none empty, in order) whose bytes are closest to
    equal: each cut falls at the partition boundary nearest its share of the total."""
    ends = list(itertools.accumulate(sizes))
    total = ends[-1]
    cuts = [0]
    for k in range(1, count):
        want = total * k / count
        end = bisect.bisect_left(ends, want) + 1  # the first run's end whose bytes reach `want`
        if end - 1 > cuts[-1] and want - ends[end - 2] <= ends[end - 1] - want:
            end -= 1
        cuts.append(max(cuts[-1] + 1, min(end, len(sizes) - (count - k))))
    cuts.append(len(sizes))
    return [list(partitions[a:b]) for a, b in zip(cuts, cuts[1:])]


#: Compressed bytes of a task's later partitions read ahead while the one before is handed over
#: (at least the next partition, at most :data:`READ_AHEAD_PARTITIONS` of them).
READ_AHEAD_BYTES = 64 << 20
READ_AHEAD_PARTITIONS = 4

_read_ahead_pool: typing.Optional[typing.Any] = None
_pool_lock = threading.Lock()


def _pool():
    """The process's threads that read a task's partitions ahead (made once, on first use; a
    forked worker makes its own)."""
    global _read_ahead_pool
    with _pool_lock:
        pid, pool = _read_ahead_pool or (None, None)
        if pool is None or pid != os.getpid():
            from concurrent.futures import ThreadPoolExecutor

            pool = ThreadPoolExecutor(max_workers=READ_AHEAD_PARTITIONS, thread_name_prefix="athena-read-ahead")
            _read_ahead_pool = (os.getpid(), pool)
        return pool


def read_many(
    partitions: typing.Sequence[bytes],
    connect_kwargs: typing.Mapping[str, typing.Any],
    convert: typing.Optional[typing.Callable[[pa.RecordBatch], typing.Any]] = None,
) -> typing.Iterator[typing.Any]:
    """The batches of several partitions (one task's, see :func:`group`) in their order: one
    partition is read as :func:`read` reads it; with more, the next ones are read ahead on the
    process's read-ahead threads (each on its thread's kept connection) within
    :data:`READ_AHEAD_BYTES`, so that a task of small files waits for one first byte, not one
    per file. With :data:`TIMINGS_ENV` set, the task's own record follows its partitions':
    ``total``, ``waited`` (for partitions read ahead) and ``hand_over``."""
    clock = time.perf_counter
    start = clock()
    t = {"waited": 0.0, "hand_over": 0.0}
    if len(partitions) == 1:
        for batch in read(partitions[0], connect_kwargs, convert):
            mark = clock()
            yield batch
            t["hand_over"] += clock() - mark
        _record("task", partitions=1, total=clock() - start, **t)
        return
    pool = _pool()
    pending: typing.List[typing.Tuple[typing.Any, int]] = []
    nxt = 0

    def fill():
        nonlocal nxt
        while nxt < len(partitions) and len(pending) < READ_AHEAD_PARTITIONS:
            size = size_of(partitions[nxt])
            if pending and sum(s for _, s in pending) + size > READ_AHEAD_BYTES:
                return
            part = partitions[nxt]
            pending.append((pool.submit(lambda p=part: list(read(p, connect_kwargs, convert))), size))
            nxt += 1

    try:
        fill()
        while pending:
            future, _ = pending.pop(0)
            mark = clock()
            batches = future.result()
            t["waited"] += clock() - mark
            fill()
            for batch in batches:
                mark = clock()
                yield batch
                t["hand_over"] += clock() - mark
    finally:
        for future, _ in pending:
            future.cancel()
    _record("task", partitions=len(partitions), total=clock() - start, **t)
