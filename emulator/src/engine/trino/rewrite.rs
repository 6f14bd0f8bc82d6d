//! Trino forms rewritten in place so that DataFusion plans them with Athena's result types:
//! literal types, casts, `LIKE ... ESCAPE`, `AT TIME ZONE`, subquery column names.

use std::collections::HashSet;
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::*;

use crate::engine::trino::ast::{cast, function_args, literal_text, parse_expr, string_literal, zoned};
use crate::engine::trino::functions::rewrite_function;
use crate::formats::value_text::Zone;

/// Rewrites Trino forms in place so that DataFusion plans them with Athena's result types.
pub fn rewrite(stmt: &mut Statement) {
    let mut r = Rewriter { keep: HashSet::new(), depth: 0 };
    let _ = stmt.visit(&mut r);
}

struct Rewriter {
    /// Addresses of literals that must stay as written (ordinals in ORDER BY / GROUP BY, LIMIT).
    keep: HashSet<usize>,
    /// Nesting of the query being visited (1 = the statement's own query).
    depth: usize,
}

impl Rewriter {
    fn keep(&mut self, e: &Expr) {
        self.keep.insert(e as *const Expr as usize);
    }
}

impl VisitorMut for Rewriter {
    type Break = ();

    /// Window frame offsets (`ROWS BETWEEN 5 PRECEDING`) must stay integer literals.
    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let Expr::Function(Function { over: Some(WindowType::WindowSpec(spec)), .. }) = expr
            && let Some(frame) = &spec.window_frame
        {
            for bound in std::iter::once(&frame.start_bound).chain(frame.end_bound.as_ref()) {
                if let WindowFrameBound::Preceding(Some(e)) | WindowFrameBound::Following(Some(e)) = bound {
                    self.keep(e);
                }
            }
        }
        ControlFlow::Continue(())
    }

    /// Trino names the columns of a VALUES in a FROM clause `_col0`, `_col1`, ... (DataFusion:
    /// `column1`, ...) unless its alias names them.
    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        if let TableFactor::Derived { subquery, alias, .. } = factor
            && let SetExpr::Values(values) = subquery.body.as_ref()
            && alias.as_ref().is_none_or(|a| a.columns.is_empty())
        {
            let width = values.rows.first().map_or(0, |row| row.content.len());
            let columns = (0..width).map(|i| TableAliasColumnDef::from_name(format!("_col{i}"))).collect();
            match alias {
                Some(a) => a.columns = columns,
                None => *alias = Some(TableAlias { explicit: true, name: Ident::new("_values"), columns, at: None }),
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        self.depth += 1;
        // Trino names a subquery's unnamed columns `_col0`, `_col1`, ... (by position), so an
        // outer query sees those names (the statement's own query is named after planning,
        // where wildcards are expanded).
        if self.depth > 1
            && let SetExpr::Select(select) = query.body.as_mut()
            && select.projection.iter().all(|item| matches!(item, SelectItem::UnnamedExpr(_) | SelectItem::ExprWithAlias { .. }))
        {
            for (i, item) in select.projection.iter_mut().enumerate() {
                if let SelectItem::UnnamedExpr(expr) = item
                    && !matches!(expr, Expr::Identifier(_) | Expr::CompoundIdentifier(_))
                {
                    *item = SelectItem::ExprWithAlias { expr: expr.clone(), alias: Ident::new(format!("_col{i}")) };
                }
            }
        }
        if let Some(OrderBy { kind: OrderByKind::Expressions(items), .. }) = &query.order_by {
            for item in items {
                self.keep(&item.expr);
            }
        }
        match &query.limit_clause {
            Some(LimitClause::LimitOffset { limit, offset, .. }) => {
                if let Some(l) = limit {
                    self.keep(l);
                }
                if let Some(o) = offset {
                    self.keep(&o.value);
                }
            }
            Some(LimitClause::OffsetCommaLimit { offset, limit }) => {
                self.keep(offset);
                self.keep(limit);
            }
            None => {}
        }
        if let SetExpr::Select(select) = query.body.as_ref()
            && let GroupByExpr::Expressions(exprs, _) = &select.group_by
        {
            for e in exprs {
                self.keep(e);
            }
        }
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _query: &mut Query) -> ControlFlow<()> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        let addr = expr as *const Expr as usize;
        let replacement = match expr {
            // Trino: an integer literal is INTEGER when it fits 32 bits (DataFusion: BIGINT).
            Expr::Value(ValueWithSpan { value: Value::Number(n, _), .. }) if !self.keep.contains(&addr) && n.parse::<i32>().is_ok() => {
                Some(cast(expr.clone(), DataType::Integer(None)))
            }
            Expr::TypedString(ts) => typed_literal(ts),
            Expr::Cast { expr: inner, data_type, .. } => rewrite_cast(inner, data_type),
            Expr::Function(f) => rewrite_function(f),
            // `LIKE p ESCAPE '#'`: DataFusion takes only `\` as escape; the pattern is rewritten.
            Expr::Like { negated, any: false, expr: e, pattern, escape_char: Some(esc) }
                if literal_text(esc).is_some_and(|c| c != "\\" && c.chars().count() == 1) =>
            {
                let esc = literal_text(esc).unwrap_or_default().replace('\'', "''");
                let not = if *negated { "NOT " } else { "" };
                Some(parse_expr(&format!("{e} {not}LIKE athena_like_pattern({pattern}, '{esc}')")))
            }
            // `ts AT TIME ZONE 'Asia/Tokyo'`: the same instant shown in that zone (a timestamp
            // without zone is in the session zone, UTC); DataFusion would read it as local time.
            Expr::AtTimeZone { timestamp, time_zone } => string_literal(time_zone)
                .and_then(Zone::try_parse)
                .map(|zone| zoned(&format!("CAST({timestamp} AS TIMESTAMP(3) WITH TIME ZONE)"), "Millisecond", &zone)),
            _ => None,
        };
        if let Some(r) = replacement {
            *expr = r;
        }
        ControlFlow::Continue(())
    }
}

/// `DECIMAL '1.50'` -> decimal(3,2); `TIMESTAMP '... .123'` -> timestamp(3); as Trino types them.
fn typed_literal(ts: &TypedString) -> Option<Expr> {
    let text = literal_text(&ts.value)?.trim().to_owned();
    let lit = Expr::value(Value::SingleQuotedString(text.clone()));
    match &ts.data_type {
        DataType::Decimal(ExactNumberInfo::None) | DataType::Numeric(ExactNumberInfo::None) => {
            let digits = text.trim_start_matches(['-', '+']);
            let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
            let int = int.trim_start_matches('0');
            let scale = frac.len() as u64;
            let precision = (int.len() as u64 + scale).max(1);
            Some(cast(lit, DataType::Decimal(ExactNumberInfo::PrecisionAndScale(precision, scale as i64))))
        }
        DataType::Timestamp(None, tz) => {
            if let Some(zoned) = zoned_timestamp_literal(&text, *tz != TimezoneInfo::None && *tz != TimezoneInfo::WithoutTimeZone) {
                return Some(zoned);
            }
            Some(cast(lit, DataType::Timestamp(Some(fraction_precision(&text)), *tz)))
        }
        _ => None,
    }
}

/// Trino's precision of a timestamp literal: its fraction digits rounded up to 0, 3, 6 or 9.
fn fraction_precision(text: &str) -> u64 {
    let frac = text.split_once('.').map_or(0, |(_, f)| f.chars().take_while(char::is_ascii_digit).count());
    match frac {
        0 => 0,
        1..=3 => 3,
        4..=6 => 6,
        _ => 9,
    }
}

/// `TIMESTAMP '2020-01-01 00:00:00 Asia/Tokyo'` (or `+09:00`, `UTC`; or any timestamp text cast to
/// `timestamp with time zone`, which without a zone is in the session zone, UTC): a
/// `timestamp(p) with time zone` literal of that instant, carrying its zone. `None` when the
/// text has no zone and `with_time_zone` is false, or is not a timestamp (left to the engine).
fn zoned_timestamp_literal(text: &str, with_time_zone: bool) -> Option<Expr> {
    let (local, zone) = split_zone(text);
    let zone = match zone {
        Some(z) => Zone::try_parse(z)?,
        None if with_time_zone => Zone::parse("UTC"),
        None => return None,
    };
    let naive = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(local, f).ok())
        .or_else(|| chrono::NaiveDate::parse_from_str(local, "%Y-%m-%d").ok().map(|d| d.and_time(chrono::NaiveTime::MIN)))?;
    let instant = zone.instant_of(naive)?;
    let precision = fraction_precision(local);
    let (value, unit) = match precision {
        0 => (instant.timestamp(), "Second"),
        3 => (instant.timestamp_millis(), "Millisecond"),
        6 => (instant.timestamp_micros(), "Microsecond"),
        _ => (instant.timestamp_nanos_opt()?, "Nanosecond"),
    };
    Some(zoned(&format!("CAST({value} AS BIGINT)"), unit, &zone))
}

/// `2020-01-01 00:00:00 Asia/Tokyo` -> (`2020-01-01 00:00:00`, `Asia/Tokyo`); also `...00+09:00`.
fn split_zone(text: &str) -> (&str, Option<&str>) {
    let text = text.trim();
    if let Some((local, zone)) = text.rsplit_once(' ')
        && local.len() >= 10
        && zone.chars().next().is_some_and(|c| !c.is_ascii_digit())
    {
        return (local.trim_end(), Some(zone));
    }
    // An offset right after the clock: `2020-01-01 00:00:00+09:00` / `...Z`.
    if text.len() > 19
        && let Some(at) = text.get(11..).and_then(|clock| clock.find(['+', '-', 'Z'])).map(|p| p + 11)
    {
        return (&text[..at], Some(&text[at..]));
    }
    (text, None)
}

fn rewrite_cast(inner: &Expr, data_type: &DataType) -> Option<Expr> {
    match data_type {
        // Text cast to `timestamp with time zone`: the instant of its own zone (UTC without one).
        DataType::Timestamp(_, TimezoneInfo::WithTimeZone | TimezoneInfo::Tz)
            if let Some(zoned) = string_literal(inner).and_then(|t| zoned_timestamp_literal(t, true)) =>
        {
            Some(zoned)
        }
        // VARBINARY (and BINARY) is DataFusion's BYTEA (text casts to its UTF-8 bytes).
        DataType::Varbinary(_) | DataType::Binary(_) => Some(cast(inner.clone(), DataType::Bytea)),
        // Trino's default timestamp precision is 3 (DataFusion's is 9); a timestamp cast to
        // `timestamp with time zone` is in the session zone (UTC, the session's time_zone).
        DataType::Timestamp(None, tz) => Some(cast(inner.clone(), DataType::Timestamp(Some(3), *tz))),
        DataType::JSON => Some(parse_expr(&format!("athena_json({inner})"))),
        // Trino's text of times, zones and intervals (DataFusion's cast writes ISO forms).
        DataType::Varchar(_) | DataType::String(_) => Some(parse_expr(&format!("athena_varchar({inner})"))),
        // CAST(ROW(1, 2) AS ROW(a INTEGER, b INTEGER)): name the fields.
        DataType::Struct(fields, _) => {
            let args: Vec<&Expr> = match inner {
                Expr::Function(f) if matches!(f.name.to_string().to_ascii_lowercase().as_str(), "row" | "struct") => function_args(f)?,
                Expr::Struct { values, .. } => values.iter().collect(),
                _ => return None,
            };
            if args.len() != fields.len() {
                return None;
            }
            let parts: Vec<String> = fields
                .iter()
                .zip(args)
                .map(|(fd, a)| {
                    let n = fd.field_name.as_ref().map_or_else(String::new, |i| i.value.clone());
                    // A nested ROW(...) gets its field names the same way.
                    let value = rewrite_cast(a, &fd.field_type).unwrap_or_else(|| cast(a.clone(), fd.field_type.clone()));
                    format!("'{}', {}", n.replace('\'', "''"), value)
                })
                .collect();
            Some(parse_expr(&format!("named_struct({})", parts.join(", "))))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::trino::parse::parse;

    fn rewritten(sql: &str) -> String {
        let mut s = parse(sql).unwrap();
        rewrite(&mut s);
        s.to_string()
    }

    #[test]
    fn rewrites_trino_forms() {
        assert_eq!(rewritten("SELECT 1 ORDER BY 1 LIMIT 5"), "SELECT CAST(1 AS INTEGER) ORDER BY 1 LIMIT 5");
        assert_eq!(rewritten("SELECT 3000000000"), "SELECT 3000000000");
        assert_eq!(rewritten("SELECT IF(true, 'a', 'b')"), "SELECT CASE WHEN true THEN 'a' ELSE 'b' END");
        assert_eq!(rewritten("SELECT DECIMAL '0.1'"), "SELECT CAST('0.1' AS DECIMAL(1,1))");
        assert_eq!(rewritten("SELECT DECIMAL '-12.50'"), "SELECT CAST('-12.50' AS DECIMAL(4,2))");
        assert_eq!(rewritten("SELECT CAST(x AS TIMESTAMP)"), "SELECT CAST(x AS TIMESTAMP(3))");
        assert_eq!(
            rewritten("SELECT CAST(ROW(1, 2) AS ROW(a INTEGER, b INTEGER))"),
            "SELECT named_struct('a', CAST(CAST(1 AS INTEGER) AS INTEGER), 'b', CAST(CAST(2 AS INTEGER) AS INTEGER))"
        );
        assert_eq!(rewritten("SELECT CAST(a AS JSON)"), "SELECT athena_json(a)");
        assert_eq!(rewritten("SELECT CAST(a AS VARCHAR)"), "SELECT athena_varchar(a)");
        assert_eq!(
            rewritten("SELECT * FROM (VALUES (1, 'a')) AS t"),
            "SELECT * FROM (VALUES (CAST(1 AS INTEGER), 'a')) AS t (_col0, _col1)"
        );
        assert_eq!(
            rewritten("SELECT * FROM (SELECT a, b + 1, 2 AS c FROM t)"),
            "SELECT * FROM (SELECT a, b + CAST(1 AS INTEGER) AS _col1, CAST(2 AS INTEGER) AS c FROM t)"
        );
    }
}
