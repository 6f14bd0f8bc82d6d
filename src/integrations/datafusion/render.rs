//! DataFusion expressions as Trino SQL, for the filters a scan pushes into Athena: comparisons,
//! `AND`/`OR`/`NOT`, `IN`, `BETWEEN`, `IS [NOT] NULL`, `LIKE`, arithmetic and casts over columns
//! and literals, with Trino's quoting and typed literals. What it cannot render exactly stays
//! with DataFusion (`None`).

use ::datafusion::arrow::datatypes::{DataType, TimeUnit};
use ::datafusion::common::ScalarValue;
use ::datafusion::logical_expr::{Between, BinaryExpr, Cast, Expr, Like, Operator, expr::InList};

/// `name` as a Trino identifier: `"name"`, embedded quotes doubled.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `text` as a Trino string literal: `'it''s'`.
fn quote_str(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The Trino SQL of a filter, or `None` when it has a part Trino would evaluate differently or
/// that has no Trino spelling here.
pub fn render(expr: &Expr) -> Option<String> {
    Some(match expr {
        Expr::Column(c) => quote_ident(&c.name),
        Expr::Literal(v, _) => literal(v)?,
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => format!("({} {} {})", render(left)?, operator(op)?, render(right)?),
        Expr::Not(e) => format!("(NOT {})", render(e)?),
        Expr::IsNull(e) => format!("({} IS NULL)", render(e)?),
        Expr::IsNotNull(e) => format!("({} IS NOT NULL)", render(e)?),
        Expr::IsTrue(e) => format!("({} IS TRUE)", render(e)?),
        Expr::IsFalse(e) => format!("({} IS FALSE)", render(e)?),
        Expr::InList(InList { expr, list, negated }) => {
            let items = list.iter().map(render).collect::<Option<Vec<_>>>()?;
            format!("({} {}IN ({}))", render(expr)?, if *negated { "NOT " } else { "" }, items.join(", "))
        }
        Expr::Between(Between { expr, negated, low, high }) => {
            format!("({} {}BETWEEN {} AND {})", render(expr)?, if *negated { "NOT " } else { "" }, render(low)?, render(high)?)
        }
        Expr::Like(Like { negated, expr, pattern, escape_char, case_insensitive: false }) => {
            let escape = match escape_char {
                Some(c) => format!(" ESCAPE {}", quote_str(&c.to_string())),
                None => String::new(),
            };
            format!("({} {}LIKE {}{escape})", render(expr)?, if *negated { "NOT " } else { "" }, render(pattern)?)
        }
        Expr::Cast(Cast { expr, field }) => format!("CAST({} AS {})", render(expr)?, trino_type(field.data_type())?),
        _ => return None,
    })
}

fn operator(op: &Operator) -> Option<&'static str> {
    Some(match op {
        Operator::Eq => "=",
        Operator::NotEq => "<>",
        Operator::Lt => "<",
        Operator::LtEq => "<=",
        Operator::Gt => ">",
        Operator::GtEq => ">=",
        Operator::And => "AND",
        Operator::Or => "OR",
        Operator::Plus => "+",
        Operator::Minus => "-",
        Operator::Multiply => "*",
        Operator::StringConcat => "||",
        Operator::IsDistinctFrom => "IS DISTINCT FROM",
        Operator::IsNotDistinctFrom => "IS NOT DISTINCT FROM",
        // Division and modulo of integers differ in rounding and by-zero behaviour: kept local.
        _ => return None,
    })
}

/// The Trino type a DataFusion cast goes to, where the two agree.
fn trino_type(t: &DataType) -> Option<String> {
    Some(match t {
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int8 => "TINYINT".into(),
        DataType::Int16 => "SMALLINT".into(),
        DataType::Int32 => "INTEGER".into(),
        DataType::Int64 => "BIGINT".into(),
        DataType::Float32 => "REAL".into(),
        DataType::Float64 => "DOUBLE".into(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "VARCHAR".into(),
        DataType::Date32 => "DATE".into(),
        DataType::Timestamp(unit, None) => format!("TIMESTAMP({})", digits(*unit)),
        DataType::Decimal128(p, s) => format!("DECIMAL({p}, {s})"),
        _ => return None,
    })
}

fn digits(unit: TimeUnit) -> u32 {
    match unit {
        TimeUnit::Second => 0,
        TimeUnit::Millisecond => 3,
        TimeUnit::Microsecond => 6,
        TimeUnit::Nanosecond => 9,
    }
}

/// A literal with its Trino type: `DATE '2020-01-02'`, `TIMESTAMP '2020-01-02 03:04:05.000'`,
/// `DECIMAL '1.50'`, `1.5E0` (double), `'text'`.
fn literal(v: &ScalarValue) -> Option<String> {
    if v.is_null() {
        return Some("NULL".into());
    }
    Some(match v {
        ScalarValue::Boolean(Some(b)) => b.to_string(),
        ScalarValue::Int8(Some(n)) => n.to_string(),
        ScalarValue::Int16(Some(n)) => n.to_string(),
        ScalarValue::Int32(Some(n)) => n.to_string(),
        ScalarValue::Int64(Some(n)) => n.to_string(),
        ScalarValue::UInt8(Some(n)) => n.to_string(),
        ScalarValue::UInt16(Some(n)) => n.to_string(),
        ScalarValue::UInt32(Some(n)) => n.to_string(),
        ScalarValue::UInt64(Some(n)) if *n <= i64::MAX as u64 => n.to_string(),
        ScalarValue::Float32(Some(f)) if f.is_finite() => format!("REAL '{f}'"),
        ScalarValue::Float64(Some(f)) if f.is_finite() => format!("{f:e}"),
        ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => quote_str(s),
        ScalarValue::Date32(Some(d)) => {
            let date = chrono::NaiveDate::from_num_days_from_ce_opt(*d + 719_163)?;
            format!("DATE '{}'", date.format("%Y-%m-%d"))
        }
        ScalarValue::TimestampSecond(Some(v), None) => timestamp(*v, TimeUnit::Second)?,
        ScalarValue::TimestampMillisecond(Some(v), None) => timestamp(*v, TimeUnit::Millisecond)?,
        ScalarValue::TimestampMicrosecond(Some(v), None) => timestamp(*v, TimeUnit::Microsecond)?,
        ScalarValue::TimestampNanosecond(Some(v), None) => timestamp(*v, TimeUnit::Nanosecond)?,
        ScalarValue::Decimal128(Some(v), _, s) => {
            let s = *s as usize;
            let digits = v.unsigned_abs().to_string();
            let digits = format!("{digits:0>width$}", width = s + 1);
            let (int, frac) = digits.split_at(digits.len() - s);
            let sign = if *v < 0 { "-" } else { "" };
            if s == 0 { format!("DECIMAL '{sign}{int}'") } else { format!("DECIMAL '{sign}{int}.{frac}'") }
        }
        _ => return None,
    })
}

fn timestamp(v: i64, unit: TimeUnit) -> Option<String> {
    let per_sec: i64 = match unit {
        TimeUnit::Second => 1,
        TimeUnit::Millisecond => 1_000,
        TimeUnit::Microsecond => 1_000_000,
        TimeUnit::Nanosecond => 1_000_000_000,
    };
    let (secs, sub) = (v.div_euclid(per_sec), v.rem_euclid(per_sec));
    let t = chrono::DateTime::from_timestamp(secs, (sub * (1_000_000_000 / per_sec)) as u32)?;
    let d = digits(unit) as usize;
    let text = t.format("%Y-%m-%d %H:%M:%S").to_string();
    Some(if d == 0 { format!("TIMESTAMP '{text}'") } else { format!("TIMESTAMP '{text}.{:0>d$}'", sub) })
}

#[cfg(test)]
mod tests {
    use ::datafusion::logical_expr::{col, lit};

    use super::*;

    #[test]
    fn filters_render_as_trino_sql() {
        let ts = ScalarValue::TimestampMillisecond(Some(1_577_934_245_006), None);
        let cases: Vec<(Expr, Option<&str>)> = vec![
            (col("a").eq(lit(1i32)), Some(r#"("a" = 1)"#)),
            (col("a").gt_eq(lit(5i64)).and(col("b").lt(lit("x"))), Some(r#"(("a" >= 5) AND ("b" < 'x'))"#)),
            (col("s").eq(lit("it's")), Some(r#"("s" = 'it''s')"#)),
            (col("Weird\"Name").is_null(), Some(r#"("Weird""Name" IS NULL)"#)),
            (col("a").in_list(vec![lit(1), lit(2)], true), Some(r#"("a" NOT IN (1, 2))"#)),
            (col("a").between(lit(1), lit(3)), Some(r#"("a" BETWEEN 1 AND 3)"#)),
            (col("s").like(lit("a%")), Some(r#"("s" LIKE 'a%')"#)),
            (col("s").ilike(lit("a%")), None),
            (!col("f"), Some(r#"(NOT "f")"#)),
            (col("d").eq(lit(ScalarValue::Date32(Some(18_263)))), Some(r#"("d" = DATE '2020-01-02')"#)),
            (col("t").lt(lit(ts)), Some(r#"("t" < TIMESTAMP '2020-01-02 03:04:05.006')"#)),
            (col("x").eq(lit(ScalarValue::Decimal128(Some(-150), 5, 2))), Some(r#"("x" = DECIMAL '-1.50')"#)),
            (col("x").eq(lit(ScalarValue::Decimal128(Some(5), 3, 2))), Some(r#"("x" = DECIMAL '0.05')"#)),
            (col("y").gt(lit(1.5f64)), Some(r#"("y" > 1.5e0)"#)),
            (col("y").gt(lit(f64::NAN)), None),
            (col("a").eq(lit(ScalarValue::Int32(None))), Some(r#"("a" = NULL)"#)),
            (Expr::Cast(Cast::new(Box::new(col("a")), DataType::Int64)).eq(lit(3i64)), Some(r#"(CAST("a" AS BIGINT) = 3)"#)),
            ((col("a") / lit(2)).eq(lit(1)), None),
        ];
        for (expr, want) in cases {
            assert_eq!(render(&expr).as_deref(), want, "{expr}");
        }
    }
}
