"""One result read by many workers: Spark (local[2], the Python Data Source API), Ray Data (a local
Ray with 2 CPUs) and Dask (threaded and process schedulers) read a many-file UNLOAD result
through its partitions: every row exactly once with its exact type, each object fetched by one
reader only (from the endpoint's request log), empty and CSV results, failures with Athena's
message."""

from __future__ import annotations

import collections
import decimal
import json
import os
import pathlib
import sys
import typing

import pyarrow as pa
import pytest

from adbc_driver_athena import _partitions, dbapi

ROWS = 60_000
#: UNLOAD writes files of this many rows: 12 files for the whole table.
ROWS_PER_FILE = 5_000


@pytest.fixture(scope="module")
def scale_endpoint(tmp_path_factory):
    from conftest import start_endpoint

    data = tmp_path_factory.mktemp("scale-data")
    log = tmp_path_factory.mktemp("scale-log") / "requests.log"
    args = ("--bench-rows", str(ROWS), "--unload-rows-per-file", str(ROWS_PER_FILE), "--request-log", str(log))
    with start_endpoint(data, *args) as (url, _):
        yield url, log


@pytest.fixture(scope="module", autouse=True)
def workers_environment():
    """The workers' credentials come from their environment (as on a cluster, from instance or
    task roles): the engines' workers start with these variables, while the driver connects with
    explicit keys (``kwargs``), which are not sent to the workers."""
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION")}
    os.environ.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_REGION="us-east-1")
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def kwargs(url: str, **extra):
    base = dict(
        s3_staging_dir="s3://athena-results/scale/",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        unload=True,
    )
    base.update(extra)
    return base


def expected(url: str, sql: str, unload: bool = False) -> pa.Table:
    with dbapi.connect(**kwargs(url, unload=unload)) as c, c.cursor() as cur:
        cur.execute(sql)
        return cur.fetch_arrow_table()


def sorted_by_id(t: pa.Table) -> pa.Table:
    return t.sort_by("id")


def gets(log: pathlib.Path, since: int):
    """(path, range) of each S3 GET logged after byte `since` of the log (`GET path range bytes`)."""
    with open(log, "rb") as f:
        f.seek(since)
        lines = f.read().decode().splitlines()
    return [tuple(line.split(" ")[1:3]) for line in lines if line.startswith("GET ")]


def per_object(requests, prefix: str) -> collections.Counter:
    return collections.Counter(path for path, _ in requests if path.startswith(prefix))


# ---------------------------------------------------------------------------------------- Spark


@pytest.fixture(scope="module")
def spark():
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    from adbc_driver_athena import spark as athena_spark

    session = (
        SparkSession.builder.master("local[2]")
        .appName("athena-arrow tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    athena_spark.register(session)
    yield session
    session.stop()


def spark_reader(spark, url, **options):
    reader = spark.read.format("athena")
    for k, v in kwargs(url).items():
        reader = reader.option(k, str(v).lower() if isinstance(v, bool) else v)
    for k, v in options.items():
        reader = reader.option(k, v)
    return reader


def test_spark_reads_every_row_once_with_its_type(spark, scale_endpoint):
    url, log = scale_endpoint
    sql = "SELECT * FROM bench"
    df = spark_reader(spark, url, query=sql).load()
    # 12 small files packed into tasks as Spark packs files, for its 2 slots (4 tasks of 3).
    files = _partitions.plan(sql, kwargs(url)).partitions
    assert len(files) == ROWS // ROWS_PER_FILE
    assert df.rdd.getNumPartitions() == len(_partitions.group(files, 2)) == 4
    rows = df.collect()
    assert len(rows) == ROWS
    assert sorted(r["id"] for r in rows) == list(range(ROWS))
    want = sorted_by_id(expected(url, sql))
    by_id = {r["id"]: r for r in rows}
    for i in (0, 1, 4999, 5000, 31337, ROWS - 1):
        r, w = by_id[i], want.slice(i, 1).to_pylist()[0]
        assert r["amount"] == w["amount"] and isinstance(r["amount"], (decimal.Decimal, type(None)))
        assert r["label"] == w["label"]
        assert r["day"] == w["day"]
        assert (r["ts"] is None) == (w["ts"] is None)
        if w["ts"] is not None:
            assert r["ts"].replace(tzinfo=None) == w["ts"].replace(tzinfo=None) or r["ts"].timestamp() == w["ts"].timestamp()
    schema = {f.name: f.dataType.simpleString() for f in df.schema.fields}
    assert schema["amount"] == "decimal(12,2)" and schema["id"] == "bigint" and schema["day"] == "date"


def test_spark_nested_and_null_versus_empty(spark, scale_endpoint):
    url, _ = scale_endpoint
    df = spark_reader(spark, url, query="SELECT 'x' AS s, '' AS e, CAST(NULL AS VARCHAR) AS n, ARRAY[1, 2] AS a, MAP(ARRAY['k'], ARRAY[1]) AS m").load()
    (row,) = df.collect()
    assert (row["s"], row["e"], row["n"], row["a"], row["m"]) == ("x", "", None, [1, 2], {"k": 1})


def pushed_wheres(log: pathlib.Path, since: int) -> typing.List[typing.Optional[str]]:
    """The WHERE of each query of `bench` Athena was asked to run (UNLOAD wraps it) after byte
    `since` of the request log: None for a query without one."""
    with open(log, "rb") as f:
        f.seek(since)
        lines = f.read().decode().splitlines()
    prefix = "ATHENA StartQueryExecution "
    queries = [json.loads(line[len(prefix) :])["QueryString"] for line in lines if line.startswith(prefix)]
    out = []
    for q in queries:
        if not q.startswith("UNLOAD ("):
            continue  # the LIMIT 0 probe of the same query
        inner = q.split("\n")[1]
        assert inner.startswith("SELECT * FROM bench"), q
        out.append(inner.split(" WHERE ", 1)[1] if " WHERE " in inner else None)
    return out


@pytest.fixture()
def pushdown(spark):
    """Filter pushdown on for one test (``register(spark, filter_pushdown=True)``)."""
    from adbc_driver_athena import spark as athena_spark

    athena_spark.register(spark, filter_pushdown=True)
    yield
    spark.conf.set("spark.sql.python.filterPushdown.enabled", "false")
    athena_spark.register(spark)


def test_spark_pushes_the_filters_athena_evaluates_alike(spark, scale_endpoint, pushdown):
    url, log = scale_endpoint
    # A new DataFrame per query (see register()'s note on PySpark 4.3).
    table = lambda: spark_reader(spark, url, table="bench").load()  # noqa: E731
    since = log.stat().st_size
    assert table().where("id < 10").count() == 10
    assert pushed_wheres(log, since) == ['("id" IS NOT NULL) AND ("id" < 10)']
    # `%` is left to Spark; the comparison reaches Athena.
    since = log.stat().st_size
    assert table().where("id % 1000 = 0 AND id >= 30000").count() == 30
    assert pushed_wheres(log, since) == ['("id" IS NOT NULL) AND ("id" >= 30000)']
    # An OR is Spark's to apply (no filter of it is pushed): the count is still Athena's.
    since = log.stat().st_size
    condition = "label IN ('a', 'b''c') OR label IS NULL"
    want = expected(url, f"SELECT count(*) AS n FROM bench WHERE {condition}").column("n")[0].as_py()
    assert table().where(condition).count() == want
    assert pushed_wheres(log, since) == [None]


def test_spark_without_pushdown_reads_a_reused_dataframe_exactly(spark, scale_endpoint):
    """The default (no pushdown): one DataFrame queried three ways gives Athena's answer each
    time (with pushdown on, PySpark 4.3 answers the third with the second's rows)."""
    url, log = scale_endpoint
    df = spark_reader(spark, url, table="bench").load()
    since = log.stat().st_size
    assert df.where("id < 10").count() == 10
    assert df.where("id % 1000 = 0 AND id >= 30000").count() == 30
    condition = "label IN ('a', 'b''c') OR label IS NULL"
    want = expected(url, f"SELECT count(*) AS n FROM bench WHERE {condition}").column("n")[0].as_py()
    assert df.where(condition).count() == want
    assert set(pushed_wheres(log, since)) == {None}


@pytest.mark.parametrize("zone", ["UTC", "America/Los_Angeles", "Asia/Kolkata"])
def test_spark_timestamps_keep_their_wall_clock_in_any_session_zone(spark, scale_endpoint, zone):
    """Athena's timestamps have no zone: a Spark session in any zone shows the same wall clock,
    and filters on them (which Spark applies) select the same rows."""

    url, _ = scale_endpoint
    assert spark_reader(spark, url, query="SELECT ts FROM bench WHERE id < 1").load().schema["ts"].dataType.simpleString() == "timestamp_ntz"
    previous = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", zone)
    try:
        sql = "SELECT id, ts FROM bench WHERE id < 200"
        df = spark_reader(spark, url, query=sql).load()
        want = {r["id"]: r["ts"] for r in expected(url, sql).to_pylist()}
        got = {r["id"]: r["ts"] for r in df.collect()}
        assert {i: (t.replace(tzinfo=None) if t else None) for i, t in got.items()} == {
            i: (t.replace(tzinfo=None) if t else None) for i, t in want.items()
        }
        cut = sorted(t for t in want.values() if t is not None)[len(want) // 3].replace(tzinfo=None)
        expected_ids = sorted(i for i, t in want.items() if t is not None and t.replace(tzinfo=None) < cut)
        # A timestamp without a zone is compared with one (TIMESTAMP_NTZ): the same rows in every zone.
        filtered = df.where(f"ts < TIMESTAMP_NTZ '{cut.isoformat(sep=' ')}'").select("id").collect()
        assert sorted(r["id"] for r in filtered) == expected_ids
    finally:
        spark.conf.set("spark.sql.session.timeZone", previous)


def test_spark_empty_csv_and_failed_results(spark, scale_endpoint):
    url, _ = scale_endpoint
    empty = spark_reader(spark, url, query="SELECT * FROM bench WHERE id < 0").load()
    assert empty.count() == 0 and [f.name for f in empty.schema.fields][:2] == ["id", "n"]
    csv = spark_reader(spark, url, query="SELECT id FROM bench WHERE id < 100", unload="false").load()
    assert csv.rdd.getNumPartitions() == 1 and csv.count() == 100
    with pytest.raises(Exception, match="TABLE_NOT_FOUND"):
        spark_reader(spark, url, query="SELECT * FROM no_such_table").load().collect()


def test_spark_tasks_read_only_their_own_objects(spark, scale_endpoint):
    url, log = scale_endpoint
    sql = "SELECT id, label FROM bench WHERE n IS NOT NULL"
    # In one process: how often each data file is fetched to plan and read the result once.
    since = log.stat().st_size
    plan = _partitions.plan(sql, kwargs(url))
    rows = sum(b.num_rows for p in plan.partitions for b in _partitions.read(p, kwargs(url)))
    single = gets(log, since)
    assert rows == expected(url, "SELECT count(*) AS n FROM bench WHERE n IS NOT NULL").column("n")[0].as_py() > 0
    prefix = _common_prefix([path for path, _ in single if "/unload/" in path])
    alone = per_object(single, prefix)
    # The same through Spark's tasks.
    since = log.stat().st_size
    spark_reader(spark, url, query=sql).load().count()
    spread = gets(log, since)
    other = _common_prefix([path for path, _ in spread if "/unload/" in path])
    assert len(alone) == ROWS // ROWS_PER_FILE
    assert sorted(per_object(spread, other).values()) == sorted(alone.values())


def _common_prefix(paths):
    """The UNLOAD prefix of one query's files (`/bucket/.../unload/<uuid>/`)."""
    assert paths, "no UNLOAD files were read"
    first = paths[0]
    return first[: first.index("/unload/") + len("/unload/") + 37]


def test_credentials_stay_with_the_driver_unless_sent(spark, ray_local, scale_endpoint):
    """What each engine sends its workers holds no credential keyword by default, and holds the
    explicit keys when ``credentials_to_workers`` is set."""
    import pickle

    import cloudpickle

    from adbc_driver_athena import dask as athena_dask
    from adbc_driver_athena import ray as athena_ray
    from adbc_driver_athena import spark as athena_spark

    url, _ = scale_endpoint
    sql = "SELECT id FROM bench WHERE id < 10"
    secret = b"aws_secret_access_key"
    for send in (False, True):
        extra = {"credentials_to_workers": True} if send else {}
        df = athena_dask.read_athena(sql, **kwargs(url), **extra)
        assert (secret in cloudpickle.dumps(dict(df.dask))) == send
        source = athena_ray.AthenaDatasource(sql, {**kwargs(url), **extra})
        tasks = source.get_read_tasks(2)
        assert (secret in cloudpickle.dumps((source, tasks))) == send
        options = {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in {**kwargs(url), **extra, "query": sql}.items()}
        reader = athena_spark.AthenaReader(options, None)
        assert (secret in pickle.dumps(reader)) == send
    # Read by workers that have only their environment's credentials: every row.
    default = athena_dask.read_athena(sql, **kwargs(url))
    assert sorted(default.compute(scheduler="processes")["id"].tolist()) == list(range(10))


# ------------------------------------------------------------------------------------------ Ray


@pytest.fixture(scope="module")
def ray_local():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_reads_every_row_once(ray_local, scale_endpoint):
    from adbc_driver_athena.ray import read_athena

    url, _ = scale_endpoint
    ds = read_athena("SELECT * FROM bench", **kwargs(url))
    # Known before any task runs.
    assert ds.schema().names[:3] == ["id", "n", "x"]
    table = pa.concat_tables([pa.Table.from_pandas(b) if not isinstance(b, pa.Table) else b for b in ds.iter_batches(batch_format="pyarrow", batch_size=None)])
    assert table.num_rows == ROWS
    assert sorted(table.column("id").to_pylist()) == list(range(ROWS))
    assert table.schema.field("amount").type == pa.decimal128(12, 2)
    want = sorted_by_id(expected(url, "SELECT * FROM bench"))
    assert sorted_by_id(table).select(["id", "amount", "label", "day"]).equals(want.select(["id", "amount", "label", "day"]))
    empty = read_athena("SELECT * FROM bench WHERE id < 0", **kwargs(url))
    assert empty.count() == 0


def test_ray_packs_partitions_for_the_clusters_cpus_by_default(ray_local, scale_endpoint):
    from adbc_driver_athena.ray import AthenaDatasource, read_athena

    url, _ = scale_endpoint
    # 12 small files, each counting 4 MiB more, packed for the fixture's 2 CPUs as Spark packs
    # them (at most half the total a task: 3 tasks, evened out to 4 of 3 files for 2 slots),
    # one block each; Ray's own request (200 blocks) would keep one file per task.
    partitions = _partitions.plan("SELECT id FROM bench", kwargs(url)).partitions
    assert [len(t) for t in _partitions.group(partitions, 2)] == [3, 3, 3, 3]
    assert len(AthenaDatasource("SELECT id FROM bench", kwargs(url)).get_read_tasks(200)) == 12
    assert len(AthenaDatasource("SELECT id FROM bench", kwargs(url), slots=2).get_read_tasks(200)) == 4
    packed = read_athena("SELECT id FROM bench", **kwargs(url)).materialize()
    assert packed.num_blocks() == 4
    ids = pa.concat_tables(ray_local.get(packed.to_arrow_refs())).column("id").to_pylist()
    assert sorted(ids) == list(range(ROWS))
    # -1 leaves the count to Ray (one task per file, outputs split further).
    assert read_athena("SELECT id FROM bench", override_num_blocks=-1, **kwargs(url)).materialize().num_blocks() >= ROWS // ROWS_PER_FILE


def test_ray_reads_fewer_larger_tasks_in_order(ray_local, scale_endpoint):
    from adbc_driver_athena.ray import read_athena

    url, _ = scale_endpoint
    ds = read_athena("SELECT id, label FROM bench", override_num_blocks=2, **kwargs(url))
    table = pa.concat_tables(list(ds.iter_batches(batch_format="pyarrow", batch_size=None)))
    assert table.num_rows == ROWS
    assert sorted(table.column("id").to_pylist()) == list(range(ROWS))


def test_ray_errors_name_the_query(ray_local, scale_endpoint):
    from adbc_driver_athena.ray import read_athena

    url, _ = scale_endpoint
    with pytest.raises(Exception, match="TABLE_NOT_FOUND"):
        read_athena("SELECT * FROM no_such_table", **kwargs(url))


# ----------------------------------------------------------------------------------------- Dask


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_dask_reads_every_row_once(scale_endpoint, scheduler):
    from adbc_driver_athena.dask import read_athena

    url, _ = scale_endpoint
    df = read_athena("SELECT * FROM bench", **kwargs(url))
    assert df.npartitions == ROWS // ROWS_PER_FILE
    assert list(df.columns[:3]) == ["id", "n", "x"]
    pdf = df.compute(scheduler=scheduler)
    assert len(pdf) == ROWS
    assert sorted(pdf["id"].tolist()) == list(range(ROWS))
    import pandas as pd

    labels = {i: (None if pd.isna(v) else v) for i, v in zip(pdf["id"], pdf["label"])}
    want = expected(url, "SELECT id, label FROM bench WHERE id < 50")
    assert {i: labels[i] for i in want.column("id").to_pylist()} == dict(zip(want.column("id").to_pylist(), want.column("label").to_pylist()))


#: One row of every type, and one of NULLs, as Athena computes them.
EVERY_TYPE = (
    "SELECT * FROM (VALUES "
    "(1, CAST(9007199254740993 AS BIGINT), 2147483647, CAST(-32768 AS SMALLINT), CAST(-128 AS TINYINT), "
    "0.1E0, REAL '1.5', DECIMAL '12345678901234567.89', true, 'x', '', DATE '2026-12-07', "
    "TIMESTAMP '2026-12-07 01:02:03.456', X'00ff', ARRAY[1, 2], MAP(ARRAY['k'], ARRAY[1]), CAST(ROW(1, 'a') AS ROW(i INTEGER, s VARCHAR))), "
    "(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"
    ") AS t(k, big, i, small, tiny, d, r, dec, b, s, e, day, ts, bin, arr, m, st) ORDER BY k"
)


@pytest.mark.parametrize("unload", [True, False])
def test_dask_keeps_every_type_exact(scale_endpoint, unload):
    """meta has the dtypes of every computed partition, and values of every type, NULLs included,
    come back as Athena computed them (2**53 + 1 next to a NULL stays an integer)."""
    import pandas as pd

    from adbc_driver_athena.dask import read_athena

    url, _ = scale_endpoint
    df = read_athena(EVERY_TYPE, **kwargs(url, unload=unload))
    for i in range(df.npartitions):
        part = df.get_partition(i).compute(scheduler="threads")
        assert dict(part.dtypes) == dict(df._meta.dtypes), i
    got = df.compute(scheduler="threads").sort_values("k").reset_index(drop=True)
    assert dict(got.dtypes) == dict(df._meta.dtypes)
    assert got["big"].dtype == pd.ArrowDtype(pa.int64())
    assert got["big"].iloc[0] == 9007199254740993 and pd.isna(got["big"].iloc[1])
    # What the same source gives through the driver (the CSV source keeps nested values as
    # Athena's text; UNLOAD types them).
    want = expected(url, EVERY_TYPE, unload=unload).sort_by("k")
    # Every column back in Arrow, value for value (NULLs where Athena has NULL).
    back = pa.Table.from_pandas(got, preserve_index=False)
    for name in want.column_names:
        assert back.column(name).to_pylist() == want.column(name).to_pylist(), name
    assert (got["s"].iloc[0], got["e"].iloc[0], pd.isna(got["e"].iloc[1])) == ("x", "", True)


def test_dask_empty_and_csv_results(scale_endpoint):
    from adbc_driver_athena.dask import read_athena

    url, _ = scale_endpoint
    assert len(read_athena("SELECT * FROM bench WHERE id < 0", **kwargs(url)).compute(scheduler="threads")) == 0
    csv = read_athena("SELECT id FROM bench WHERE id < 100", **kwargs(url, unload=False))
    assert csv.npartitions == 1 and len(csv.compute(scheduler="threads")) == 100


def test_a_csv_result_spreads_over_byte_ranges(spark, scale_endpoint):
    """A CSV result (no UNLOAD) cut into byte ranges: Spark and Dask read every row once, each
    task only its range (and the rest of its last record)."""
    from adbc_driver_athena.dask import read_athena

    url, log = scale_endpoint
    sql = "SELECT * FROM bench"
    plan = _partitions.plan(sql, kwargs(url, unload=False, csv_partition_bytes=300_000))
    ranges = [json.loads(p)["location"]["range"] for p in plan.partitions]
    assert len(ranges) >= 4 and ranges[0][0] == 0 and all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    assert "bytes 0-" in _partitions.describe(plan.partitions[0])
    df = spark_reader(spark, url, query=sql, unload="false", csv_partition_bytes="300000", min_partitions=str(len(ranges))).load()
    assert df.rdd.getNumPartitions() == len(ranges)
    ids = [r["id"] for r in df.select("id").collect()]
    assert sorted(ids) == list(range(ROWS))
    pdf = read_athena(sql, **kwargs(url, unload=False, csv_partition_bytes=300_000))
    assert pdf.npartitions == len(ranges)
    got = pdf.compute(scheduler="processes")
    assert sorted(got["id"].tolist()) == list(range(ROWS))
    want = expected(url, "SELECT id, label, amount FROM bench WHERE id < 40")
    by_id = got.set_index("id")
    for i, label, amount in zip(*(want.column(c).to_pylist() for c in ("id", "label", "amount"))):
        assert (None if pd_isna(by_id.at[i, "label"]) else by_id.at[i, "label"]) == label
        got_amount = by_id.at[i, "amount"]
        assert (None if pd_isna(got_amount) else got_amount) == amount
        assert got_amount is None or pd_isna(got_amount) or isinstance(got_amount, decimal.Decimal), type(got_amount)


def pd_isna(v) -> bool:
    import pandas as pd

    return bool(pd.isna(v))


def test_a_worker_reads_its_partitions_on_one_connection(scale_endpoint):
    """Partitions read in one worker thread share one connection per set of keywords; another
    thread (or process) opens its own."""
    import threading

    url, _ = scale_endpoint
    plan = _partitions.plan("SELECT id FROM bench WHERE id < 20000", kwargs(url))
    assert len(plan.partitions) >= 2
    _partitions._worker_connections.__dict__.clear()
    rows = sum(b.num_rows for p in plan.partitions for b in _partitions.read(p, kwargs(url)))
    assert rows == 20000
    assert len(_partitions._worker_connections.by_key) == 1
    other = []
    thread = threading.Thread(target=lambda: other.append(sum(b.num_rows for b in _partitions.read(plan.partitions[0], kwargs(url)))))
    thread.start()
    thread.join()
    assert other == [ROWS_PER_FILE] and len(_partitions._worker_connections.by_key) == 1


@pytest.mark.parametrize("seed", range(20))
def test_packed_tasks_keep_every_partition_once_in_order_in_whole_waves(seed):
    import random

    rng = random.Random(seed)
    for _ in range(50):
        parts = [fake_partition(rng.choice([0, rng.randrange(1 << 20), rng.randrange(300 << 20)]), f"p{i}") for i in range(rng.randint(1, 80))]
        slots = rng.randint(1, 12)
        tasks = _partitions.group(parts, slots)
        assert all(tasks) and [p for t in tasks for p in t] == parts
        assert len(tasks) % slots == 0 or len(tasks) == len(parts)


def fake_partition(size: int, name: str) -> bytes:
    return json.dumps({"query_id": "q", "location": {"kind": "parquet", "uri": f"s3://b/{name}", "size": size}}).encode()


def test_partitions_are_packed_into_tasks_as_spark_packs_files():
    mib = 1 << 20
    small = [fake_partition(mib, f"s{i}") for i in range(64)]
    # 64 files of 1 MiB for 2 slots: each counts 5 MiB; tasks of at most 128 MiB: 25 files,
    # so 3 tasks, evened out to 4 (a multiple of the slots) of equal bytes.
    tasks = _partitions.group(small, 2)
    assert [len(t) for t in tasks] == [16, 16, 16, 16]
    assert [p for t in tasks for p in t] == small, "every partition once, in the result's order"
    # Many slots: at least one partition per task, never fewer tasks than the bytes allow.
    assert [len(t) for t in _partitions.group(small, 64)] == [1] * 64
    # A large file is a task of its own; unknown sizes (API paging) count the open cost only.
    mixed = [fake_partition(200 * mib, "big"), fake_partition(mib, "a"), fake_partition(mib, "b")]
    assert [len(t) for t in _partitions.group(mixed, 2)] == [1, 2]
    # Sizes unequal: the cuts fall nearest each task's share of the bytes.
    uneven = [fake_partition(n * mib, f"u{i}") for i, n in enumerate([90, 10, 10, 10, 60, 20, 30, 10])]
    assert [len(t) for t in _partitions.group(uneven, 2)] == [1, 3, 1, 3]
    assert _partitions.size_of(b'{"location": {"kind": "api"}}') == 0
    assert _partitions.group([], 2) == []
    # The CSV's byte ranges count their range.
    csv = json.dumps({"location": {"kind": "csv", "uri": "s3://b/r.csv", "size": 1000, "range": [100, 400]}}).encode()
    assert _partitions.size_of(csv) == 300


def test_packing_options_are_checked():
    from adbc_driver_athena import spark as athena_spark

    assert athena_spark._whole_number({"min_partitions": " 4 "}, "min_partitions", 1) == 4
    assert athena_spark._whole_number({}, "min_partitions", 7) == 7
    for bad in ("0", "-3", "2.5", "many"):
        with pytest.raises(ValueError, match=f"option max_partition_bytes must be a whole number of at least 1, not '{bad}'"):
            athena_spark._whole_number({"max_partition_bytes": bad}, "max_partition_bytes", 1)


def test_a_task_reads_its_partitions_in_order_with_the_next_ones_ahead(scale_endpoint, tmp_path, monkeypatch):
    url, log = scale_endpoint
    plan = _partitions.plan("SELECT id FROM bench", kwargs(url))
    one_by_one = [b for p in plan.partitions for b in _partitions.read(p, kwargs(url))]
    monkeypatch.setenv(_partitions.TIMINGS_ENV, str(tmp_path))
    since = log.stat().st_size
    together = list(_partitions.read_many(plan.partitions, kwargs(url), lambda b: b.column(0)))
    assert pa.chunked_array(together).equals(pa.chunked_array([b.column(0) for b in one_by_one]))
    # Reading partitions makes no Athena call: S3 GETs only, one per (small) file.
    with open(log, "rb") as f:
        f.seek(since)
        logged = f.read().decode().splitlines()
    assert [line.split(" ")[0] for line in logged] == ["GET"] * len(plan.partitions), logged
    # Each partition read records where its time went, and the task its own.
    records = [json.loads(line) for f in tmp_path.iterdir() for line in f.read_text().splitlines()]
    parts = [r for r in records if r["kind"] == "partition"]
    assert len(parts) == len(plan.partitions) and sum(r["rows"] for r in parts) == ROWS
    assert all(0 <= r["first_batch"] <= r["total"] and r["read"] <= r["total"] for r in parts)
    tasks = [r for r in records if r["kind"] == "task"]
    assert [t["partitions"] for t in tasks] == [len(plan.partitions)] and tasks[0]["waited"] <= tasks[0]["total"]
    # A failed read names its partition, whichever thread read it.
    broken = [*plan.partitions[:2], b"not a partition"]
    with pytest.raises(_partitions.PartitionError, match="an unreadable partition"):
        list(_partitions.read_many(broken, kwargs(url)))


def test_a_changed_object_fails_the_partition_naming_it(scale_endpoint, tmp_path):
    url, _ = scale_endpoint
    plan = _partitions.plan("SELECT * FROM bench WHERE id < 20000", kwargs(url))
    assert len(plan.partitions) >= 2
    import json

    import boto3

    uri = json.loads(plan.partitions[0])["location"]["uri"]
    bucket, key = uri[len("s3://") :].split("/", 1)
    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    s3.put_object(Bucket=bucket, Key=key, Body=b"replaced")
    with pytest.raises(_partitions.PartitionError, match=rf"reading partition {uri} of query {plan.query_id}: .*changed since"):
        list(_partitions.read(plan.partitions[0], kwargs(url)))


def test_importing_the_package_imports_no_engine():
    import subprocess

    code = "import sys, adbc_driver_athena, adbc_driver_athena.dbapi; print(sorted(m for m in ('pyspark', 'ray', 'dask') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
