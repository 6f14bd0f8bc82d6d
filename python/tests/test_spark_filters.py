"""The Spark filters the ``athena`` data source pushes into Athena's WHERE, as unit tests: each
literal kind both engines read alike, and each refusal (Spark then applies the filter itself)."""

from __future__ import annotations

import datetime
import decimal

import pytest

datasource = pytest.importorskip("pyspark.sql.datasource")

from adbc_driver_athena.spark import _literal, filter_sql  # noqa: E402

F = datasource


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        (5, "5"),
        (-9223372036854775808, "-9223372036854775808"),
        (True, "true"),
        (False, "false"),
        (decimal.Decimal("12.50"), "DECIMAL '12.50'"),
        ("it's", "'it''s'"),
        ("", "''"),
        (datetime.date(2026, 12, 7), "DATE '2026-12-07'"),
    ],
)
def test_literals_both_engines_read_alike(value, literal):
    assert _literal(value) == literal


@pytest.mark.parametrize(
    "value",
    [None, 1.5, float("nan"), datetime.datetime(2026, 12, 7, 1, 2, 3), b"bytes", [1, 2], {"k": 1}],
)
def test_values_without_a_shared_literal_are_refused(value):
    assert _literal(value) is None


def test_each_filter_kind():
    col = ("id",)
    assert filter_sql(F.EqualTo(col, 5)) == '("id" = 5)'
    assert filter_sql(F.GreaterThan(col, 5)) == '("id" > 5)'
    assert filter_sql(F.GreaterThanOrEqual(col, 5)) == '("id" >= 5)'
    assert filter_sql(F.LessThan(col, 5)) == '("id" < 5)'
    assert filter_sql(F.LessThanOrEqual(col, 5)) == '("id" <= 5)'
    assert filter_sql(F.IsNull(col)) == '("id" IS NULL)'
    assert filter_sql(F.IsNotNull(col)) == '("id" IS NOT NULL)'
    assert filter_sql(F.In(col, (1, 2, 3))) == '("id" IN (1, 2, 3))'
    assert filter_sql(F.Not(F.EqualTo(col, 5))) == '(NOT ("id" = 5))'
    assert filter_sql(F.EqualTo(('we"ird',), "x")) == '("we""ird" = \'x\')'


def test_filters_athena_does_not_evaluate_alike_are_refused():
    col = ("ts",)
    # Values without a shared literal.
    assert filter_sql(F.EqualTo(col, datetime.datetime(2026, 1, 1))) is None
    assert filter_sql(F.LessThan(("x",), 0.5)) is None
    assert filter_sql(F.EqualTo(("x",), None)) is None
    assert filter_sql(F.In(("x",), (1, 0.5))) is None
    assert filter_sql(F.In(("x",), ())) is None
    assert filter_sql(F.Not(F.LessThan(("x",), 0.5))) is None
    # Nested fields.
    assert filter_sql(F.EqualTo(("s", "a"), 1)) is None
    assert filter_sql(F.IsNull(("s", "a"))) is None
    # Kinds this source does not translate (string matching: Spark's and Athena's collations).
    assert filter_sql(F.StringStartsWith(("s",), "a")) is None
    assert filter_sql(F.StringContains(("s",), "a")) is None
    assert filter_sql(F.EqualNullSafe(("s",), "a")) is None
