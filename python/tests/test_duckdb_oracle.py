"""The endpoint's DuckDB engine against real DuckDB (the `duckdb` package): for every query of a
corpus covering every type the endpoint computes, NULLs, nested values and edge values, the
endpoint's type names, its text of each value (GetQueryResults) and the Arrow schema and values
of its result stream (GetQueryResultStream) equal what DuckDB itself gives for the same query.

The endpoint is called over its HTTP API, signed with botocore, so that this checks the endpoint
and nothing of our client."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import duckdb
import pyarrow as pa
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

CORPUS = [
    "SELECT true AS b, false AS f, 1::TINYINT AS t, (-128)::TINYINT AS tmin, 2::SMALLINT AS s, 3 AS i, "
    "2147483647 AS imax, 2147483648 AS big, 4::BIGINT AS bi, 9223372036854775807 AS bmax, "
    "170141183460469231731687303715884105727::HUGEINT AS h, 255::UTINYINT AS ut, 65535::USMALLINT AS us, "
    "4294967295::UINTEGER AS ui, 18446744073709551615::UBIGINT AS ub",
    "SELECT 1.5::FLOAT AS f, 0.1::DOUBLE AS d, 1e20::DOUBLE AS d2, 'inf'::DOUBLE AS d3, -0.0::DOUBLE AS d5, "
    "123456789.123::DOUBLE AS d6, 1e-7::DOUBLE AS d7, 0.1::FLOAT AS f3, 1e16 AS e16, 1e15 AS e15",
    "SELECT 1.50::DECIMAL(10,2) AS a, 12345678901234567890.123::DECIMAL(38,3) AS b, -0.05::DECIMAL(4,2) AS c, "
    "1.5 AS lit, 0.5 AS half, 123.456 AS wide",
    "SELECT 'hé' AS v, ''::VARCHAR AS e, 'a,b\"c' AS q, 'line' || chr(10) || 'two' AS nl, '\\x00ab'::BLOB AS bl, "
    "'abc'::BLOB AS b2, '550e8400-E29B-41d4-a716-446655440000'::UUID AS u, '{\"a\": 1}'::JSON AS j",
    "SELECT DATE '2026-01-02' AS d, DATE '0001-01-01' AS d1, TIME '12:34:56.789' AS t, TIME '01:02:03' AS t2, "
    "TIMESTAMP '2026-01-02 03:04:05.123456' AS ts, TIMESTAMP '2026-01-02 03:04:05' AS ts2, "
    "'2026-01-02 03:04:05'::TIMESTAMP_S AS s, '2026-01-02 03:04:05.123'::TIMESTAMP_MS AS ms, "
    "'2026-01-02 03:04:05.123456789'::TIMESTAMP_NS AS ns, TIMESTAMPTZ '2026-01-02 03:04:05+02' AS tz, "
    "TIMESTAMP '1969-12-31 23:59:59.999999' AS pre",
    "SELECT INTERVAL 1 YEAR AS y, INTERVAL 3 DAY AS d, INTERVAL 90 MINUTE AS m, INTERVAL 0 DAY AS z",
    "SELECT [1, 2, NULL] AS l, ['a', 'b c', NULL, '', 'x, y', 'NULL'] AS ls, [1, 2, 3]::INTEGER[3] AS arr, "
    "{'a': 1, 'b': 'x'} AS st, MAP {'k': 1, 'j': 2} AS m, [[1], [2, 3]] AS ll, [{'a': [1]}] AS ls2, "
    "{'k y': 'v''s'} AS sk, [DATE '2026-01-01', NULL] AS ld, [TIMESTAMP '2026-01-01 01:02:03'] AS lt",
    "SELECT 'x'::ENUM('x', 'y') AS e",
    "SELECT NULL AS n, NULL::INTEGER AS ni, NULL::VARCHAR AS nv, [NULL::VARCHAR] AS ln",
    "SELECT * FROM (VALUES (1, 'a'), (2, NULL), (NULL, '')) t(i, s) ORDER BY i NULLS LAST",
    "SELECT 5 / 2 AS q, 7 // 2 AS iq, 1 + 1, 'a' || 'b' AS c, 3 * 4",
    "SELECT count(*) AS n, avg(x) AS a, min(x) AS lo, max(x) AS hi FROM (VALUES (1), (2), (4)) t(x)",
]


class Api:
    def __init__(self, url: str):
        self.url = url.rstrip("/") + "/"
        self.auth = SigV4Auth(Credentials("test", "test"), "athena", "us-east-1")

    def raw(self, operation: str, body: dict, headers: dict | None = None):
        data = json.dumps(body).encode()
        req = AWSRequest(
            method="POST",
            url=self.url,
            data=data,
            headers={"X-Amz-Target": f"AmazonAthena.{operation}", "Content-Type": "application/x-amz-json-1.1", **(headers or {})},
        )
        self.auth.add_auth(req)
        request = urllib.request.Request(self.url, data=data, headers=dict(req.headers.items()), method="POST")
        try:
            with urllib.request.urlopen(request) as resp:
                return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()

    def call(self, operation: str, body: dict) -> dict:
        status, _, data = self.raw(operation, body)
        assert status == 200, (operation, status, data)
        return json.loads(data)

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
    status, headers, body = api.raw("GetQueryResultStream", {"QueryExecutionId": qid})
    assert status == 200, body
    assert headers["content-type"] == "application/vnd.apache.arrow.stream"
    got = pa.ipc.open_stream(body).read_all()
    assert got.schema.remove_metadata() == table.schema.remove_metadata(), f"\n{got.schema}\n!=\n{table.schema}"
    assert got.to_pylist() == table.to_pylist()


def test_stream_ranges_are_served_as_decided(api):
    qid = api.run("SELECT x, 'row ' || x AS s FROM range(5000) t(x)")
    status, headers, whole = api.raw("GetQueryResultStream", {"QueryExecutionId": qid})
    assert status == 200 and headers["accept-ranges"] == "bytes"
    total = len(whole)
    status, headers, part = api.raw("GetQueryResultStream", {"QueryExecutionId": qid}, {"Range": "bytes=0-99"})
    assert (status, headers["content-range"], part) == (206, f"bytes 0-99/{total}", whole[:100])
    status, headers, rest = api.raw("GetQueryResultStream", {"QueryExecutionId": qid}, {"Range": "bytes=100-"})
    assert (status, headers["content-range"], rest) == (206, f"bytes 100-{total - 1}/{total}", whole[100:])
    status, headers, _ = api.raw("GetQueryResultStream", {"QueryExecutionId": qid}, {"Range": f"bytes={total}-"})
    assert (status, headers["content-range"]) == (416, f"bytes */{total}")
    status, _, err = api.raw("GetQueryResultStream", {"QueryExecutionId": qid}, {"Range": "bytes=-5"})
    assert status == 400 and json.loads(err)["__type"] == "InvalidRequestException"
