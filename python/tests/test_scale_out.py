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


def expected(url: str, sql: str) -> pa.Table:
    with dbapi.connect(**kwargs(url, unload=False)) as c, c.cursor() as cur:
        cur.execute(sql)
        return cur.fetch_arrow_table()


def sorted_by_id(t: pa.Table) -> pa.Table:
    return t.sort_by("id")


def gets(log: pathlib.Path, since: int):
    """(path, range) of each S3 GET logged after byte `since` of the log."""
    with open(log, "rb") as f:
        f.seek(since)
        lines = f.read().decode().splitlines()
    return [tuple(line.split(" ", 2)[1:]) for line in lines if line.startswith("GET ")]


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
    assert df.rdd.getNumPartitions() == ROWS // ROWS_PER_FILE
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


def test_spark_pushes_the_filters_athena_evaluates_alike(spark, scale_endpoint):
    url, _ = scale_endpoint
    df = spark_reader(spark, url, table="bench").load()
    assert df.where("id < 10").count() == 10
    # `%` is left to Spark; the comparison reaches Athena.
    assert df.where("id % 1000 = 0 AND id >= 30000").count() == 30


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
    for p in plan.partitions:
        assert sum(b.num_rows for b in _partitions.read(p, kwargs(url))) >= 0
    single = gets(log, since)
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
    df = spark_reader(spark, url, query=sql, unload="false", csv_partition_bytes="300000").load()
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
