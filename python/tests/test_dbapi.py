"""The driver through PEP 249 and the low-level API, against the session's local endpoint."""

from __future__ import annotations

import datetime
import decimal
import multiprocessing
import threading
import time

import pyarrow as pa
import pytest

import adbc_driver_athena
import adbc_driver_manager
from conftest import BENCH_ROWS
from adbc_driver_athena import dbapi

ONE_ROW_COMPLEX = (
    "SELECT col_boolean, col_tinyint, col_smallint, col_int, col_bigint, col_float, col_double, "
    "col_string, col_varchar, col_timestamp, col_date, col_binary, col_array, col_map, col_struct, "
    "col_decimal FROM one_row_complex"
)

SCALARS = {
    "col_boolean": (pa.bool_(), True),
    "col_tinyint": (pa.int8(), 127),
    "col_smallint": (pa.int16(), 32767),
    "col_int": (pa.int32(), 2147483647),
    "col_bigint": (pa.int64(), 9223372036854775807),
    "col_float": (pa.float32(), 0.5),
    "col_double": (pa.float64(), 0.25),
    "col_string": (pa.string(), "a string"),
    "col_varchar": (pa.string(), "varchar"),
    "col_timestamp": (pa.timestamp("ms"), datetime.datetime(2017, 1, 1, 0, 0, 0)),
    "col_date": (pa.date32(), datetime.date(2017, 1, 2)),
    "col_binary": (pa.binary(), b"123"),
    "col_decimal": (pa.decimal128(10, 1), decimal.Decimal("0.1")),
}


def check_scalars(table: pa.Table):
    assert table.num_rows == 1
    for name, (arrow_type, value) in SCALARS.items():
        column = table.column(name)
        assert column.type == arrow_type, name
        assert column[0].as_py() == value, name


def test_one_row_complex_through_the_csv(conn):
    with conn.cursor() as cur:
        cur.execute(ONE_ROW_COMPLEX)
        table = cur.fetch_arrow_table()
    check_scalars(table)
    # Through the result CSV, nested values are Athena's text (as Athena's own clients get them).
    assert table.column("col_array").type == pa.string()
    assert table.column("col_array")[0].as_py() == "[1, 2]"
    assert table.column("col_map")[0].as_py() == "{1=2, 3=4}"
    assert table.column("col_struct")[0].as_py() == "{a=1, b=2}"
    # Athena's ColumnInfo travels as field metadata.
    field = table.schema.field("col_varchar")
    assert field.metadata[b"athena.type"] == b"varchar"
    assert field.metadata[b"athena.precision"] == b"10"


def test_one_row_complex_through_unload_is_typed(unload_conn):
    with unload_conn.cursor() as cur:
        cur.execute(ONE_ROW_COMPLEX)
        table = cur.fetch_arrow_table()
    check_scalars(table)
    assert table.column("col_array").type == pa.list_(pa.int32())
    assert table.column("col_array")[0].as_py() == [1, 2]
    assert pa.types.is_map(table.column("col_map").type)
    assert table.column("col_map")[0].as_py() == [(1, 2), (3, 4)]
    assert table.column("col_struct").type == pa.struct([("a", pa.int32()), ("b", pa.int32())])
    assert table.column("col_struct")[0].as_py() == {"a": 1, "b": 2}


def test_rows_and_null_versus_empty_string(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT CAST(NULL AS VARCHAR) AS n, '' AS e, 'x' AS s")
        assert [d[0] for d in cur.description] == ["n", "e", "s"]
        assert cur.fetchall() == [(None, "", "x")]
        assert cur.query_id


def test_bound_qmark_parameters_keep_quotes_and_unicode(conn):
    value = "it's \"quoted\" 日本 \\ ; --"
    with conn.cursor() as cur:
        cur.execute("SELECT ? AS s, ? AS n, ? AS d", (value, 42, decimal.Decimal("12.34")))
        row = cur.fetchone()
    assert row[0] == value
    assert row[1] == 42
    assert row[2] == decimal.Decimal("12.34")
    with conn.cursor() as cur:
        cur.execute("SELECT a FROM many_rows WHERE a < ? ORDER BY a", (3,))
        assert cur.fetchall() == [(0,), (1,), (2,)]


def test_exceptions_by_cause(endpoint, conn):
    with conn.cursor() as cur:
        with pytest.raises(dbapi.ProgrammingError) as e:
            cur.execute("SELEC 1")
        assert e.value.sqlstate == "42601"
        with pytest.raises(dbapi.ProgrammingError) as e:
            cur.execute("SELECT * FROM no_such_table")
        assert e.value.sqlstate == "42P01"
        assert "no_such_table" in str(e.value)
    with dbapi.connect(**endpoint.kwargs(aws_secret_access_key="wrong")) as bad:
        with bad.cursor() as cur:
            with pytest.raises(dbapi.OperationalError) as e:
                cur.execute("SELECT 1")
            assert e.value.sqlstate == "28000"
    # A port nothing listens on.
    with dbapi.connect(**endpoint.kwargs(endpoint_url="http://127.0.0.1:9")) as down:
        with down.cursor() as cur:
            with pytest.raises(dbapi.OperationalError):
                cur.execute("SELECT 1")
    with pytest.raises(TypeError, match="unknown keyword argument 'no_such_option'"):
        dbapi.connect(**endpoint.kwargs(no_such_option=1))
    # A setting the builder refuses fails at connect (which closes what it opened).
    with pytest.raises(dbapi.ProgrammingError, match="s3_staging_dir"):
        dbapi.connect(**endpoint.kwargs(s3_staging_dir="not-an-s3-uri"))


def test_cancel_from_another_thread(conn):
    sql = "SELECT sum(a.a + b.a + c.a) FROM many_rows a CROSS JOIN many_rows b CROSS JOIN many_rows c"
    # The timeout guards the test: a cancel that does not work fails instead of hanging.
    with conn.cursor(adbc_stmt_kwargs={adbc_driver_athena.StatementOptions.QUERY_TIMEOUT_SECONDS: 60}) as cur:
        timer = threading.Timer(0.5, cur.adbc_cancel)
        timer.start()
        started = time.monotonic()
        with pytest.raises(dbapi.OperationalError) as e:
            cur.execute(sql)
        timer.join()
        # CANCELLED is the query's state as GetQueryExecution reported it.
        assert e.value.status_code == dbapi.adbc_driver_manager.AdbcStatusCode.CANCELLED
        assert "CANCELLED" in str(e.value) or "cancel" in str(e.value).lower()
        assert time.monotonic() - started < 30
        assert cur.query_id


@pytest.mark.parametrize("kill", [True, False])
def test_ctrl_c_stops_the_query_unless_kill_on_interrupt_is_off(tmp_path, kill):
    """PyAthena's kill_on_interrupt: Ctrl-C (SIGINT) while execute waits ends the call (with
    OperationalError CANCELLED: adbc_driver_manager answers SIGINT by cancelling the call) and
    stops the query on Athena; with kill_on_interrupt=False the query is left running."""
    import os
    import signal

    import boto3

    from conftest import start_endpoint

    # Every query takes at least 4 s on this endpoint: the interrupt lands while it runs.
    with start_endpoint(tmp_path, "--min-query-ms", "4000") as (url, _):
        kwargs = dict(
            s3_staging_dir="s3://athena-results/interrupt/",
            region_name="us-east-1",
            endpoint_url=url,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            kill_on_interrupt=kill,
        )
        athena = boto3.client("athena", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
        with dbapi.connect(**kwargs) as conn, conn.cursor() as cur:
            timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
            timer.start()
            started = time.monotonic()
            with pytest.raises(dbapi.OperationalError) as e:
                cur.execute("SELECT 1 AS one")
            timer.join()
            assert time.monotonic() - started < 3, "the call ends when interrupted, not when the query does"
            assert e.value.status_code == adbc_driver_manager.AdbcStatusCode.CANCELLED
            if not kill:
                assert "was left running on Athena (kill_on_interrupt is off)" in str(e.value)
            qid = cur.query_id
        assert qid
        deadline = time.monotonic() + 20
        while True:
            state = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]["State"]
            if state in ("SUCCEEDED", "FAILED", "CANCELLED") or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert state == ("CANCELLED" if kill else "SUCCEEDED")


def test_cursor_class_is_refused_with_what_to_use(endpoint):
    with pytest.raises(TypeError, match="cursor_class is not supported: every cursor of adbc_driver_athena gives rows"):
        dbapi.connect(cursor_class=object, **endpoint.kwargs())


def _read_partition(args):
    kwargs, partition = args
    from adbc_driver_athena import dbapi as d

    with d.connect(**kwargs) as c, c.cursor() as cur:
        table = cur.read_partition(partition).read_all()
    return table.column("id").to_pylist()


def test_partitions_read_in_other_processes(endpoint):
    kwargs = endpoint.kwargs(unload=True)
    with dbapi.connect(**kwargs) as conn, conn.cursor() as cur:
        partitions, schema = cur.adbc_execute_partitions("SELECT id FROM bench WHERE id % 7 = 0")
    assert schema.field("id").type == pa.int64()
    assert len(partitions) > 1, "the UNLOAD wrote several files"
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        parts = pool.map(_read_partition, [(kwargs, p) for p in partitions])
    ids = sorted(i for part in parts for i in part)
    assert ids == list(range(0, BENCH_ROWS, 7))


def test_get_objects_lists_the_fixture_tables(conn):
    objects = conn.adbc_get_objects(depth="all", db_schema_filter="default", table_name_filter="one_row%").read_all()
    catalogs = objects.to_pylist()
    assert [c["catalog_name"] for c in catalogs] == ["AwsDataCatalog"]
    schemas = catalogs[0]["catalog_db_schemas"]
    assert [s["db_schema_name"] for s in schemas] == ["default"]
    tables = {t["table_name"]: t for t in schemas[0]["db_schema_tables"]}
    assert sorted(tables) == ["one_row", "one_row_complex"]
    columns = [c["column_name"] for c in tables["one_row_complex"]["table_columns"]]
    assert columns[:3] == ["col_boolean", "col_tinyint", "col_smallint"]
    schema = conn.adbc_get_table_schema("one_row_complex", db_schema_filter="default")
    assert schema.field("col_decimal").type == pa.decimal128(10, 1)
    assert conn.adbc_get_table_types() == ["EXTERNAL_TABLE", "MANAGED_TABLE", "VIRTUAL_VIEW"]
    info = conn.adbc_get_info()
    assert info["vendor_name"] == "Amazon Athena"
    assert info["driver_name"] == "ADBC Driver for Amazon Athena (athena-arrow)"


def test_transactions_are_refused_clearly(conn):
    with pytest.raises(dbapi.NotSupportedError):
        conn.adbc_connection.set_autocommit(False)


def test_low_level_api(endpoint):
    import adbc_driver_manager

    uri = f"athena://?region=us-east-1&s3_staging_dir=s3%3A%2F%2Fathena-results%2Fll%2F&endpoint_url={endpoint.url}"
    with adbc_driver_athena.connect(uri, aws_access_key_id="test", aws_secret_access_key="test") as db:
        with adbc_driver_manager.AdbcConnection(db) as conn, adbc_driver_manager.AdbcStatement(conn) as stmt:
            stmt.set_sql_query("SELECT 7 AS seven")
            handle, _ = stmt.execute_query()
            table = pa.RecordBatchReader._import_from_c(handle.address).read_all()
    assert table.to_pylist() == [{"seven": 7}]


def test_pandas(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT a FROM many_rows WHERE a < 5 ORDER BY a")
        frame = cur.fetch_df()
    assert frame["a"].tolist() == [0, 1, 2, 3, 4]


def test_duckdb_engine_results_as_arrow(endpoint):
    """The DuckDB workgroup's managed result, read as an Arrow stream, with DuckDB's types."""
    from adbc_driver_athena import dbapi

    kwargs = endpoint.kwargs(work_group="duckdb")
    del kwargs["s3_staging_dir"]  # managed results: no result location of our own
    with dbapi.connect(**kwargs) as c, c.cursor() as cur:
        cur.execute("SELECT 5 / 2 AS q, 170141183460469231731687303715884105727::HUGEINT AS h, [1, NULL] AS l, 'x'::ENUM('x', 'y') AS e")
        table = cur.fetch_arrow_table()
    assert table.schema.field("q").type == pa.float64()
    assert table.schema.field("h").type == pa.decimal128(38, 0)
    assert table.schema.field("l").type == pa.list_(pa.field("l", pa.int32()))
    assert pa.types.is_dictionary(table.schema.field("e").type)
    assert table.to_pylist() == [{"q": 2.5, "h": decimal.Decimal("170141183460469231731687303715884105727"), "l": [1, None], "e": "x"}]
    with dbapi.connect(**endpoint.kwargs(engine_version="DuckDB")) as c, c.cursor() as cur:
        cur.execute("SELECT 5 / 2 AS q")
        assert cur.fetchone() == (2.5,)
    with pytest.raises(adbc_driver_manager.ProgrammingError, match=r"engine_version takes exactly"):
        dbapi.connect(**endpoint.kwargs(engine_version="duckdb"))
