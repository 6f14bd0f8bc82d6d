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

import json
import os
import threading
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


def read(partition: bytes, connect_kwargs: typing.Mapping[str, typing.Any]) -> typing.Iterator[pa.RecordBatch]:
    """Streams the record batches of one partition (in any process), on the worker's kept
    connection for `connect_kwargs`."""
    try:
        with _connection(connect_kwargs).cursor() as cur:
            reader = cur.read_partition(partition)
            for batch in reader:
                yield batch
    except PartitionError:
        raise
    except Exception as e:  # noqa: BLE001 - re-raised with the partition's name
        raise PartitionError(f"reading {describe(partition)}: {e}") from e
