"""The AWS SDK for Python against the endpoint, in whichever protocol its Athena model speaks:
`rest-json` from botocore 1.44.18 on (the pinned version of requirements-test.txt, and the newest
one pip resolves), `awsJson1_1` up to 1.44.8. run-tests.sh runs this file with each of them (this
file needs only boto3, pytest and pyarrow); the rest of the suite runs with the pinned one.

Everything here goes through boto3's own serializers and parsers: nothing of our client, and no
request shaped by hand."""

from __future__ import annotations

import time

import boto3
import botocore
import pyarrow as pa
import pytest
from botocore.exceptions import ClientError

PROTOCOL = botocore.session.get_session().get_service_model("athena").metadata["protocol"]


def client(endpoint, service: str):
    return boto3.client(
        service,
        endpoint_url=endpoint.url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


@pytest.fixture(scope="module")
def athena(endpoint):
    return client(endpoint, "athena")


@pytest.fixture(scope="module")
def sent(athena):
    """The method and path of every Athena request this module's client sends."""
    requests: list[tuple[str, str, str | None]] = []

    def record(request, **_):
        target = request.headers.get("X-Amz-Target")
        target = target.decode() if isinstance(target, bytes) else target
        requests.append((request.method, request.url.split("://", 1)[1].split("/", 1)[1], target))

    athena.meta.events.register("before-send.athena", record)
    return requests


def run(athena, sql: str, workgroup: str = "primary", **extra) -> str:
    qid = athena.start_query_execution(QueryString=sql, WorkGroup=workgroup, **extra)["QueryExecutionId"]
    deadline = time.monotonic() + 60
    while True:
        status = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]
        if status["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            assert status["State"] == "SUCCEEDED", (sql, status)
            return qid
        assert time.monotonic() < deadline, f"{sql} still {status['State']}"
        time.sleep(0.02)


def error(call) -> tuple[int, str, str, dict]:
    with pytest.raises(ClientError) as e:
        call()
    r = e.value.response
    return r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"], r["Error"]["Message"], r


def test_the_sdk_speaks_its_models_protocol(athena, sent):
    athena.list_work_groups()
    athena.get_work_group(WorkGroup="primary")
    if PROTOCOL == "rest-json":
        assert sent[-2:] == [("GET", "workgroups", None), ("GET", "workgroups/primary", None)]
    else:
        assert PROTOCOL == "json"
        assert sent[-2:] == [("POST", "", "AmazonAthena.ListWorkGroups"), ("POST", "", "AmazonAthena.GetWorkGroup")]


def test_a_query_and_its_pages(athena, sent):
    qid = run(athena, "SELECT * FROM (VALUES (1, 'a'), (2, ''), (3, NULL)) AS t(i, s) ORDER BY i")
    pages = athena.get_paginator("get_query_results").paginate(QueryExecutionId=qid, PaginationConfig={"PageSize": 2})
    rows = [[d.get("VarCharValue") for d in r["Data"]] for page in pages for r in page["ResultSet"]["Rows"]]
    assert rows == [["i", "s"], ["1", "a"], ["2", ""], ["3", None]]
    if PROTOCOL == "rest-json":
        assert ("GET", f"query-executions/{qid}/results?MaxResults=2", None) in sent
    info = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
    assert info["Status"]["State"] == "SUCCEEDED"
    assert info["ResultConfiguration"]["OutputLocation"].endswith(f"{qid}.csv")
    # Timestamps are parsed into datetimes by the SDK in either protocol.
    assert info["Status"]["CompletionDateTime"] >= info["Status"]["SubmissionDateTime"]
    stats = athena.get_query_runtime_statistics(QueryExecutionId=qid)["QueryRuntimeStatistics"]
    assert stats["Rows"]["OutputRows"] == 3
    batch = athena.batch_get_query_execution(QueryExecutionIds=[qid, "no-such-id"])
    assert [q["QueryExecutionId"] for q in batch["QueryExecutions"]] == [qid]
    assert [u["QueryExecutionId"] for u in batch["UnprocessedQueryExecutionIds"]] == ["no-such-id"]
    listed = athena.list_query_executions(WorkGroup="primary", MaxResults=50)["QueryExecutionIds"]
    assert qid in listed


def test_errors_name_their_shape(athena):
    status, code, message, r = error(lambda: athena.get_query_execution(QueryExecutionId="no-such-id"))
    assert (status, code, message) == (400, "InvalidRequestException", "QueryExecution no-such-id was not found")
    assert r["AthenaErrorCode"] == "INVALID_INPUT"
    status, code, _, _ = error(lambda: athena.start_query_execution(QueryString="SELEC 1"))
    assert (status, code) == (400, "InvalidRequestException")
    status, code, message, _ = error(lambda: athena.get_work_group(WorkGroup="no-such-wg"))
    assert (status, code, message) == (400, "InvalidRequestException", "WorkGroup no-such-wg is not found.")
    # An operation of the model the endpoint does not serve.
    status, code, _, _ = error(lambda: athena.list_named_queries())
    assert (status, code) == (404, "UnknownOperationException")
    # Wrong credentials.
    bad = boto3.client(
        "athena",
        endpoint_url=athena.meta.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="wrong",
    )
    status, code, _, _ = error(lambda: bad.list_work_groups())
    assert (status, code) == (400, "InvalidSignatureException")


def test_stop_a_running_query(athena):
    sql = "SELECT count(*) FROM many_rows a CROSS JOIN many_rows b CROSS JOIN many_rows c"
    qid = athena.start_query_execution(QueryString=sql)["QueryExecutionId"]
    athena.stop_query_execution(QueryExecutionId=qid)
    deadline = time.monotonic() + 30
    while True:
        status = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]
        if status["State"] == "CANCELLED":
            break
        assert time.monotonic() < deadline, status
        time.sleep(0.02)
    assert status["StateChangeReason"] == "Query cancelled by user"


def test_workgroups_engines_and_the_catalog(athena):
    names = [w["Name"] for w in athena.list_work_groups()["WorkGroups"]]
    assert {"primary", "duckdb"} <= set(names)
    versions = [v["SelectedEngineVersion"] for v in athena.list_engine_versions()["EngineVersions"]]
    assert versions == ["Athena engine version 3", "DuckDB"]
    athena.create_work_group(Name="boto3-wg", Configuration={"EngineVersion": {"SelectedEngineVersion": "DuckDB"}})
    assert athena.get_work_group(WorkGroup="boto3-wg")["WorkGroup"]["Configuration"]["EngineVersion"]["EffectiveEngineVersion"] == "DuckDB"
    athena.update_work_group(WorkGroup="boto3-wg", Description="from boto3")
    assert athena.get_work_group(WorkGroup="boto3-wg")["WorkGroup"]["Description"] == "from boto3"
    athena.delete_work_group(WorkGroup="boto3-wg", RecursiveDeleteOption=True)
    assert error(lambda: athena.get_work_group(WorkGroup="boto3-wg"))[1] == "InvalidRequestException"
    assert [c["CatalogName"] for c in athena.list_data_catalogs()["DataCatalogsSummary"]] == ["AwsDataCatalog"]
    assert athena.get_data_catalog(Name="AwsDataCatalog")["DataCatalog"]["Type"] == "GLUE"
    assert "default" in [d["Name"] for d in athena.list_databases(CatalogName="AwsDataCatalog")["DatabaseList"]]
    assert athena.get_database(CatalogName="AwsDataCatalog", DatabaseName="default")["Database"]["Name"] == "default"
    table = athena.get_table_metadata(CatalogName="AwsDataCatalog", DatabaseName="default", TableName="one_row")["TableMetadata"]
    assert [(c["Name"], c["Type"]) for c in table["Columns"]] == [("number_of_rows", "int")]
    pages = athena.get_paginator("list_table_metadata").paginate(
        CatalogName="AwsDataCatalog", DatabaseName="default", PaginationConfig={"PageSize": 2}
    )
    names = [t["Name"] for page in pages for t in page["TableMetadataList"]]
    assert "one_row" in names and len(names) == len(set(names))
    status, code, _, _ = error(lambda: athena.get_database(CatalogName="AwsDataCatalog", DatabaseName="no such/db"))
    assert (status, code) == (400, "MetadataException")


def test_s3_on_the_same_port(endpoint, athena):
    qid = run(athena, "SELECT 'x' AS c, CAST(NULL AS varchar) AS n, '' AS e")
    location = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["ResultConfiguration"]["OutputLocation"]
    bucket, key = location.removeprefix("s3://").split("/", 1)
    body = client(endpoint, "s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    assert body == b'"c","n","e"\n"x",,""\n'


@pytest.mark.skipif(PROTOCOL != "rest-json", reason="GetQueryResultStream is in botocore's model from 1.44.18 on")
def test_the_result_stream(athena):
    qid = run(athena, "SELECT x AS i, 'row ' || x AS s FROM range(3000) t(x)", workgroup="duckdb")
    whole = athena.get_query_result_stream(QueryExecutionId=qid)
    assert whole["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert (whole["ContentType"], whole["AcceptRanges"]) == ("application/vnd.apache.arrow.stream", "bytes")
    data = whole["Body"].read()
    table = pa.ipc.open_stream(data).read_all()
    assert table.column("i").to_pylist() == list(range(3000))
    assert table.column("s").to_pylist()[2999] == "row 2999"
    total = len(data)
    part = athena.get_query_result_stream(QueryExecutionId=qid, Range="bytes=10-109")
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert part["ContentRange"] == f"bytes 10-109/{total}"
    assert part["Body"].read() == data[10:110]
    rest = athena.get_query_result_stream(QueryExecutionId=qid, Range="bytes=110-")
    assert rest["Body"].read() == data[110:]
    status, code, message, r = error(lambda: athena.get_query_result_stream(QueryExecutionId=qid, Range=f"bytes={total}-"))
    assert (status, code) == (416, "RangeNotSatisfiableException")
    assert message == f"The range bytes={total}- starts past the end of the {total}-byte result"
    v3 = run(athena, "SELECT 1 AS one")
    status, code, message, r = error(lambda: athena.get_query_result_stream(QueryExecutionId=v3))
    assert (status, code, r["AthenaErrorCode"]) == (400, "InvalidRequestException", "INVALID_INPUT")
    assert message == f"GetQueryResultStream is only available for queries run on the DuckDB engine; query {v3} ran on Athena engine version 3"


def test_pyathena_runs_queries(endpoint):
    pyathena = pytest.importorskip("pyathena")
    from pyathena.cursor import DictCursor

    with pyathena.connect(cursor_class=DictCursor, **endpoint.kwargs()) as conn:
        cursor = conn.cursor()
        cursor.execute("SELECT 1 AS a, 'x' AS b, CAST(NULL AS varchar) AS c, DATE '2026-12-07' AS d")
        rows = cursor.fetchall()
    import datetime

    assert rows == [{"a": 1, "b": "x", "c": None, "d": datetime.date(2026, 12, 7)}]
