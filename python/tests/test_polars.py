"""Polars reads through the driver: `read_database` on a connection, `read_database_uri` with
engine="adbc" (which imports adbc_driver_athena.dbapi for an athena:// URI)."""

from __future__ import annotations

import datetime
import decimal
import urllib.parse

import polars as pl
from polars.testing import assert_frame_equal


def test_read_database_on_a_connection(conn):
    frame = pl.read_database("SELECT a, CAST(a AS VARCHAR) AS s FROM many_rows WHERE a < 4 ORDER BY a", connection=conn)
    expected = pl.DataFrame({"a": [0, 1, 2, 3], "s": ["0", "1", "2", "3"]}, schema={"a": pl.Int32, "s": pl.String})
    assert_frame_equal(frame, expected)


def test_read_database_keeps_types(unload_conn):
    frame = pl.read_database("SELECT col_decimal, col_date, col_timestamp, col_array FROM one_row_complex", connection=unload_conn)
    expected = pl.DataFrame(
        {
            "col_decimal": [decimal.Decimal("0.1")],
            "col_date": [datetime.date(2017, 1, 2)],
            "col_timestamp": [datetime.datetime(2017, 1, 1)],
            "col_array": [[1, 2]],
        },
        schema={
            "col_decimal": pl.Decimal(10, 1),
            "col_date": pl.Date,
            "col_timestamp": pl.Datetime("ms"),
            "col_array": pl.List(pl.Int32),
        },
    )
    assert_frame_equal(frame, expected)


def test_read_database_uri(endpoint):
    query = urllib.parse.urlencode(
        {
            "region": "us-east-1",
            "s3_staging_dir": "s3://athena-results/polars/",
            "endpoint_url": endpoint.url,
            "access_key_id": "test",
            "secret_access_key": "test",
        }
    )
    frame = pl.read_database_uri("SELECT a FROM many_rows WHERE a < 3 ORDER BY a", f"athena://?{query}", engine="adbc")
    assert_frame_equal(frame, pl.DataFrame({"a": [0, 1, 2]}, schema={"a": pl.Int32}))


def test_fetch_polars(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT CAST(NULL AS VARCHAR) AS n, '' AS e")
        frame = cur.fetch_polars()
    assert frame.to_dicts() == [{"n": None, "e": ""}]
