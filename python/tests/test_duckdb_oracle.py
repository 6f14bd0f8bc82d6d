"""The endpoint's DuckDB engine against real DuckDB (the `duckdb` package): for every query of a
corpus covering every type the endpoint computes, NULLs, nested values and edge values, the
endpoint's type names, its text of each value (GetQueryResults) and the Arrow schema and values
of its result stream (GetQueryResultStream) equal what DuckDB itself gives for the same query.

The endpoint is called through boto3 (the pinned version, whose model binds GetQueryResultStream
in `rest-json`), so that this checks the endpoint and nothing of our client."""

from __future__ import annotations

import json
import pathlib
import time

import boto3
import duckdb
import pyarrow as pa
import pytest
from botocore.exceptions import ClientError

#: Every type the endpoint computes, NULLs, nested and edge values: the one corpus of the DuckDB
#: tests (tests/it/duckdb.rs reads it too).
CORPUS = json.loads((pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "duckdb-corpus.json").read_text())


class Api:
    """Athena through boto3: `call` answers the operation's output, `stream` the result stream's
    status, headers and body, or the error's status, code and message."""

    def __init__(self, url: str):
        self.client = boto3.client(
            "athena", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
        )

    def call(self, operation: str, body: dict) -> dict:
        name = "".join("_" + c.lower() if c.isupper() else c for c in operation).lstrip("_")
        return getattr(self.client, name)(**body)

    def error(self, operation: str, body: dict) -> tuple[int, str, str]:
        with pytest.raises(ClientError) as e:
            self.call(operation, body)
        r = e.value.response
        return r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"], r["Error"]["Message"]

    def stream(self, qid: str, range_: str | None = None):
        try:
            out = self.client.get_query_result_stream(QueryExecutionId=qid, **({"Range": range_} if range_ else {}))
        except ClientError as e:
            r = e.response
            return r["ResponseMetadata"]["HTTPStatusCode"], r["ResponseMetadata"]["HTTPHeaders"], r["Error"]
        return out["ResponseMetadata"]["HTTPStatusCode"], out["ResponseMetadata"]["HTTPHeaders"], out["Body"].read()

    def run(self, sql: str, workgroup: str = "duckdb") -> str:
        qid = self.call("StartQueryExecution", {"QueryString": sql, "WorkGroup": workgroup})["QueryExecutionId"]
        deadline = time.monotonic() + 60
        while True:
            status = self.call("GetQueryExecution", {"QueryExecutionId": qid})["QueryExecution"]["Status"]
            if status["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
                assert status["State"] == "SUCCEEDED", (sql, status)
                return qid
            assert time.monotonic() < deadline, f"{sql} still {status['State']}"
            time.sleep(0.02)

    def results(self, qid: str):
        columns, rows, token = None, [], None
        while True:
            body = {"QueryExecutionId": qid, **({"NextToken": token} if token else {})}
            page = self.call("GetQueryResults", body)
            columns = page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
            rows += [[d.get("VarCharValue") for d in r["Data"]] for r in page["ResultSet"]["Rows"]]
            token = page.get("NextToken")
            if not token:
                return columns, rows


def duckdb_answer(sql: str):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    rel = con.sql(sql)
    names, types = rel.columns, [str(t) for t in rel.types]
    table = rel.arrow().read_all()
    casts = ", ".join(f'CAST("{c}" AS VARCHAR)' for c in names)
    texts = [list(r) for r in con.sql(f"SELECT {casts} FROM ({sql})").fetchall()]
    return names, types, texts, table


@pytest.fixture(scope="module")
def api(endpoint):
    return Api(endpoint.url)


@pytest.mark.parametrize("sql", CORPUS)
def test_endpoint_answers_as_duckdb(api, sql):
    names, types, texts, table = duckdb_answer(sql)
    qid = api.run(sql)
    columns, rows = api.results(qid)
    assert [c["Name"] for c in columns] == names
    assert [c["Type"] for c in columns] == types
    # The first row names the columns, as engine version 3's does; then DuckDB's text of each value.
    assert rows[0] == names
    assert rows[1:] == texts
    status, headers, body = api.stream(qid)
    assert status == 200, body
    assert headers["content-type"] == "application/vnd.apache.arrow.stream"
    got = pa.ipc.open_stream(body).read_all()
    assert got.schema.remove_metadata() == table.schema.remove_metadata(), f"\n{got.schema}\n!=\n{table.schema}"
    assert got.to_pylist() == table.to_pylist()


def test_stream_ranges_are_served_as_the_model_binds_them(api):
    qid = api.run("SELECT x, 'row ' || x AS s FROM range(5000) t(x)")
    status, headers, whole = api.stream(qid)
    assert status == 200 and headers["accept-ranges"] == "bytes"
    total = len(whole)
    status, headers, part = api.stream(qid, "bytes=0-99")
    assert (status, headers["content-range"], part) == (206, f"bytes 0-99/{total}", whole[:100])
    status, headers, rest = api.stream(qid, "bytes=100-")
    assert (status, headers["content-range"], rest) == (206, f"bytes 100-{total - 1}/{total}", whole[100:])
    status, headers, err = api.stream(qid, f"bytes={total}-")
    assert (status, headers["content-range"], err["Code"]) == (416, f"bytes */{total}", "RangeNotSatisfiableException")
    # botocore does not check the model's pattern of Range: the endpoint refuses what it breaks.
    status, _, err = api.stream(qid, "bytes=-5")
    assert (status, err["Code"]) == (400, "InvalidRequestException")


def test_what_the_stream_refuses(api, endpoint):
    def refused(qid):
        status, _, err = api.stream(qid)
        return status, err["Code"], err["Message"]

    status, kind, message = refused("no-such-id")
    assert (status, kind, message) == (400, "InvalidRequestException", "QueryExecution no-such-id was not found")
    v3 = api.run("SELECT 1 AS one", workgroup="primary")
    assert refused(v3)[2] == (
        f"GetQueryResultStream is only available for queries run on the DuckDB engine; query {v3} ran on Athena engine version 3"
    )
    bucket = api.run("SELECT 1 AS one", workgroup="duckdb-bucket")
    assert refused(bucket)[2].startswith("GetQueryResultStream is only available for managed query results")
    failed = api.call("StartQueryExecution", {"QueryString": "SELEC 1", "WorkGroup": "duckdb"})["QueryExecutionId"]
    status = api.call("GetQueryExecution", {"QueryExecutionId": failed})["QueryExecution"]["Status"]
    assert status["State"] == "FAILED"
    assert (status["AthenaError"]["ErrorCategory"], status["AthenaError"]["ErrorType"]) == (2, 1006)
    assert status["AthenaError"]["ErrorMessage"] == 'Parser Error: syntax error at or near "SELEC"'
    assert refused(failed)[2] == "Query did not finish successfully. Final query state: FAILED"
    # Result reuse is refused at submission.
    status, _, message = api.error(
        "StartQueryExecution",
        {"QueryString": "SELECT 1", "WorkGroup": "duckdb", "ResultReuseConfiguration": {"ResultReuseByAgeConfiguration": {"Enabled": True}}},
    )
    assert (status, message) == (400, "Query result reuse is not supported by the DuckDB engine")


def test_workgroups_select_duckdb(api):
    versions = api.call("ListEngineVersions", {})["EngineVersions"]
    assert [v["SelectedEngineVersion"] for v in versions] == ["Athena engine version 3", "DuckDB"]
    api.call("CreateWorkGroup", {"Name": "duck-new", "Configuration": {"EngineVersion": {"SelectedEngineVersion": "DuckDB"}}})
    config = api.call("GetWorkGroup", {"WorkGroup": "duck-new"})["WorkGroup"]["Configuration"]
    assert config["EngineVersion"] == {"SelectedEngineVersion": "DuckDB", "EffectiveEngineVersion": "DuckDB"}
    assert config["ManagedQueryResultsConfiguration"] == {"Enabled": True}
    status, _, message = api.error(
        "CreateWorkGroup",
        {"Name": "duck-role", "Configuration": {"EngineVersion": {"SelectedEngineVersion": "DuckDB"}, "ExecutionRole": "arn:aws:iam::1:role/r"}},
    )
    assert (status, message) == (400, "ExecutionRole is not supported for workgroups that use the DuckDB engine")
    qid = api.run("SELECT 42 AS answer", workgroup="duck-new")
    assert api.results(qid)[1] == [["answer"], ["42"]]
    api.call("DeleteWorkGroup", {"WorkGroup": "duck-new"})
    assert api.error("GetWorkGroup", {"WorkGroup": "duck-new"})[0] == 400


def test_managed_results_expire(tmp_path):
    from conftest import start_endpoint

    with start_endpoint(tmp_path, "--managed-result-ttl-seconds", "0") as (url, _):
        short = Api(url)
        qid = short.run("SELECT 1 AS one")
        # Kept 0 seconds: expired as soon as the clock moves past the query's completion.
        deadline = time.monotonic() + 10
        while True:
            status, _, data = short.stream(qid)
            if status != 200 or time.monotonic() > deadline:
                break
        assert (status, data["Message"]) == (400, f"The results of query {qid} have expired")
