"""``scan_athena``: a Polars LazyFrame whose projection, filter and row limit reach Athena's
query (read from the endpoint's request log), typed as the package types results, exact whatever
part of the filter is pushed, and streaming."""

from __future__ import annotations

import datetime
import decimal

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from adbc_driver_athena import _polars_sql, dbapi
from adbc_driver_athena.polars import scan_athena, scan_sql

# ------------------------------------------------------------------------------ the translation


def sql_of(expr: pl.Expr, booleans=("flag",)):
    return _polars_sql.where(expr.meta.serialize(format="json"), booleans)


@pytest.mark.parametrize(
    ("expr", "sql"),
    [
        (pl.col("a") == 5, '("a" = 5)'),
        (pl.col("a") != -3, '("a" <> -3)'),
        (pl.col("a") < pl.lit(5, dtype=pl.Int16), '("a" < 5)'),
        (pl.col("a") <= 5, '("a" <= 5)'),
        (pl.col("a") > 5, '("a" > 5)'),
        (pl.col("a") >= 5, '("a" >= 5)'),
        (pl.lit(3) < pl.col("a"), '("a" > 3)'),
        (pl.col("s") == "it's", "(\"s\" = 'it''s')"),
        (pl.col("s") == "", "(\"s\" = '')"),
        (pl.col("d") >= datetime.date(2026, 12, 7), "(\"d\" >= DATE '2026-12-07')"),
        (pl.col("x") == decimal.Decimal("-0.05"), "(\"x\" = DECIMAL '-0.05')"),
        (pl.col("flag") == True, '("flag" = true)'),  # noqa: E712
        (pl.col("flag"), '("flag")'),
        (pl.col("a").is_in([1, 2, 3]), '("a" IN (1, 2, 3))'),
        (pl.col("s").is_in(["a", "b'c"]), "(\"s\" IN ('a', 'b''c'))"),
        (pl.col("d").is_in([datetime.date(2026, 1, 1)]), "(\"d\" IN (DATE '2026-01-01'))"),
        (pl.col("s").is_null(), '("s" IS NULL)'),
        (pl.col("s").is_not_null(), '("s" IS NOT NULL)'),
        (~(pl.col("a") > 1), '(NOT ("a" > 1))'),
        ((pl.col("a") > 1) | pl.col("s").is_null(), '(("a" > 1) OR ("s" IS NULL))'),
        ((pl.col("a") > 1) & (pl.col("a") < 9), '("a" > 1) AND ("a" < 9)'),
        (pl.col('we"ird') == 1, '("we""ird" = 1)'),
    ],
)
def test_each_translated_form(expr, sql):
    assert sql_of(expr) == (sql, True)


@pytest.mark.parametrize(
    "expr",
    [
        pl.col("f") > 0.5,
        pl.col("t") > datetime.datetime(2026, 1, 1),
        pl.col("a") == None,  # noqa: E711
        pl.col("a").eq_missing(3),
        pl.col("a").is_in([1, 2], nulls_equal=True),
        pl.col("s").is_in(["a", None]),
        pl.col("f").is_in([0.5]),
        pl.col("a").cast(pl.Int64) > 1,
        pl.col("a") + 1 > 2,
        pl.col("a") > pl.col("b"),
        pl.col("a").is_between(1, 3),
        pl.col("s").str.starts_with("a"),
        pl.col("a") == 2**70,
        pl.col("a"),  # not boolean
        (pl.col("a") > 1) | (pl.col("f") > 0.5),  # one side refused: the OR is
        ~(pl.col("f") > 0.5),
    ],
)
def test_what_is_refused_stays_with_polars(expr):
    assert sql_of(expr) == (None, False)


def test_an_and_is_pushed_in_part():
    expr = (pl.col("a") > 1) & (pl.col("f") > 0.5) & pl.col("s").is_not_null()
    assert sql_of(expr) == ('("a" > 1) AND ("s" IS NOT NULL)', False)
    sql, whole = scan_sql("SELECT * FROM bench", ["a", "f", "s"], expr, 10)
    # Part of the filter stays with Polars: the LIMIT cannot go to Athena.
    assert (sql, whole) == ('SELECT "a", "f", "s" FROM (SELECT * FROM bench) AS athena_scan WHERE ("a" > 1) AND ("s" IS NOT NULL)', False)
    sql, _ = scan_sql("SELECT * FROM bench", ["a"], pl.col("a") > 1, 10)
    assert sql == 'SELECT "a" FROM (SELECT * FROM bench) AS athena_scan WHERE ("a" > 1) LIMIT 10'


# ------------------------------------------------------------------------ against the endpoint


def expected(endpoint, sql: str, **extra) -> pl.DataFrame:
    with dbapi.connect(**endpoint.kwargs(**extra)) as c, c.cursor() as cur:
        cur.execute(sql)
        return pl.from_arrow(cur.fetch_arrow_table())


@pytest.mark.parametrize("unload", [False, True])
def test_projection_filter_and_limit_reach_athena(endpoint, unload):
    lf = scan_athena(table="bench", **endpoint.kwargs(unload=unload))
    since = endpoint.log_size()
    got = (
        lf.filter((pl.col("id") < 5000) & (pl.col("label").is_in(["alpha", "golf"]) | pl.col("label").is_null()))
        .select("id", "amount", "label")
        .collect()
        .sort("id")
    )
    calls = [c["QueryString"] for c in endpoint.athena_calls("StartQueryExecution", since)]
    scan = [q for q in calls if "athena_scan" in q and "LIMIT 0" not in q]
    assert len(scan) == 1, calls
    assert 'SELECT "id", "amount", "label" FROM (SELECT * FROM bench) AS athena_scan WHERE ("id" < 5000) AND ' in scan[0]
    assert "(\"label\" IN ('alpha', 'golf')) OR (\"label\" IS NULL)" in scan[0]
    want = expected(
        endpoint,
        "SELECT id, amount, label FROM bench WHERE id < 5000 AND (label IN ('alpha', 'golf') OR label IS NULL) ORDER BY id",
        unload=unload,
    )
    assert_frame_equal(got, want)
    # A row limit goes to Athena (Polars passes one to a source when no filter comes before it).
    since = endpoint.log_size()
    head = lf.select("id", "label").head(7).collect()
    assert head.height == 7
    scan = [c["QueryString"] for c in endpoint.athena_calls("StartQueryExecution", since) if "athena_scan" in c["QueryString"]]
    assert any('SELECT "id", "label" FROM (SELECT * FROM bench) AS athena_scan LIMIT 7' in q for q in scan), scan


def test_a_filter_athena_cannot_take_is_still_exact(endpoint):
    lf = scan_athena(table="bench", **endpoint.kwargs())
    since = endpoint.log_size()
    got = lf.filter((pl.col("x") > 0.5) & (pl.col("id") < 2000)).select("id", "x").collect().sort("id")
    want = expected(endpoint, "SELECT id, x FROM bench WHERE x > 0.5 AND id < 2000 ORDER BY id")
    assert_frame_equal(got, want)
    scan = [c["QueryString"] for c in endpoint.athena_calls("StartQueryExecution", since) if "athena_scan" in c["QueryString"]]
    # Only the part both engines evaluate alike was pushed; the float comparison Polars applied.
    assert scan and all(q.endswith('WHERE ("id" < 2000)') for q in scan), scan
    # n_rows with a filter Polars applies: enough rows are read to give them.
    assert lf.filter(pl.col("x") > 0.99).select("id").head(3).collect().height == 3


def test_schema_without_computing_a_row_and_types_as_the_source_gives_them(endpoint):
    columns = "col_decimal, col_date, col_timestamp, col_array, col_string"
    since = endpoint.log_size()
    lf = scan_athena(query=f"SELECT {columns} FROM one_row_complex", **endpoint.kwargs())
    assert lf.collect_schema() == pl.Schema(
        {"col_decimal": pl.Decimal(10, 1), "col_date": pl.Date, "col_timestamp": pl.Datetime("ms"), "col_array": pl.String, "col_string": pl.String}
    )
    # The schema came from a LIMIT 0 probe: no query of the rows ran.
    queries = [c["QueryString"] for c in endpoint.athena_calls("StartQueryExecution", since)]
    assert queries and all("LIMIT 0" in q for q in queries), queries
    # The result CSV carries nested values as Athena's text; UNLOAD's Parquet types them, from a
    # table's metadata.
    got = lf.collect()
    assert got.row(0) == (decimal.Decimal("0.1"), datetime.date(2017, 1, 2), datetime.datetime(2017, 1, 1), "[1, 2]", "a string")
    typed = scan_athena(table="one_row_complex", **endpoint.kwargs(unload=True)).select(columns.split(", "))
    assert typed.collect_schema()["col_array"] == pl.List(pl.Int32)
    assert typed.collect().row(0) == (decimal.Decimal("0.1"), datetime.date(2017, 1, 2), datetime.datetime(2017, 1, 1), [1, 2], "a string")
    # A query's nested columns have no element types until it runs: refused, saying what to use.
    with pytest.raises(ValueError, match="cannot type the nested columns col_array without running the query"):
        scan_athena(query=f"SELECT {columns} FROM one_row_complex", **endpoint.kwargs(unload=True))
    nulls = scan_athena(query="SELECT '' AS e, CAST(NULL AS VARCHAR) AS n", **endpoint.kwargs()).collect()
    assert nulls.row(0) == ("", None)


def test_a_streaming_collect_and_sink(endpoint, tmp_path):
    lf = scan_athena(table="bench", **endpoint.kwargs(unload=True))
    got = lf.filter(pl.col("id") < 300_000).select("id").collect(engine="streaming")
    assert got.height == 300_000 and got["id"].sort().to_list() == list(range(300_000))
    out = tmp_path / "ids.parquet"
    lf.filter(pl.col("id") < 50_000).select("id", "label").sink_parquet(out)
    assert pl.read_parquet(out).height == 50_000


def test_scan_needs_one_of_table_or_query(endpoint):
    with pytest.raises(ValueError, match="table= or query="):
        scan_athena(**endpoint.kwargs())
