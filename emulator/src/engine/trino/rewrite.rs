//! Trino SQL -> DataFusion: parsing (syntax errors become MALFORMED_QUERY), classifying
//! statements as Athena does, and rewriting Trino forms DataFusion spells differently.

use std::collections::HashSet;
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::*;
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;

/// A syntax error, with Athena's `line L:C: ` prefix.
#[derive(Debug, Clone, thiserror::Error)]
#[error("line {line}:{column}: {message}")]
pub struct SyntaxError {
    pub line: u64,
    pub column: u64,
    pub message: String,
}

/// Stack of the threads that parse, plan and run statements. Deeply nested SQL (hundreds of
/// `UNION ALL` branches, `+` or `||` terms, `AND`/`OR` chains) recurses that deep in the
/// parser's AST visitors, DataFusion's planner and the AST's own drop; a debug build's frames
/// are large. Only touched pages are ever allocated.
pub const STACK_BYTES: usize = 256 << 20;

/// Parses, classifies and rewrites `sql` on a thread of [`STACK_BYTES`] stack; the statement is
/// handed back to be run (and dropped) on the engine's threads, which have the same stack.
pub fn prepare(sql: &str) -> Result<(Statement, Kind), SyntaxError> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("athena-parse".into())
            .stack_size(STACK_BYTES)
            .spawn_scoped(scope, || {
                let mut statement = parse(sql)?;
                let returning = match &statement {
                    Statement::Insert(i) => i.returning.is_some(),
                    Statement::Update(u) => u.returning.is_some(),
                    Statement::Delete(d) => d.returning.is_some(),
                    _ => false,
                };
                if returning {
                    // Trino has no RETURNING clause.
                    return Err(SyntaxError { line: 1, column: 1, message: "mismatched input 'RETURNING'. Expecting: <EOF>".into() });
                }
                let kind = classify(&statement);
                rewrite(&mut statement);
                Ok((statement, kind))
            })
            .map_err(|e| SyntaxError { line: 1, column: 1, message: format!("cannot start the parser: {e}") })?
            .join()
            .unwrap_or_else(|_| Err(SyntaxError { line: 1, column: 1, message: "the statement is too complex to parse".into() }))
    })
}

/// A statement ready to run: Trino SQL (rewritten for DataFusion) or Hive DDL.
#[derive(Debug, Clone)]
pub enum Prepared {
    Sql(Statement),
    Hive(crate::hive::HiveStatement),
}

/// As [`prepare`], Hive DDL first (Athena runs DDL on Hive, not on Trino).
pub fn prepare_any(sql: &str) -> Result<(Prepared, Kind), SyntaxError> {
    if let Some(hive) = crate::hive::parse(sql) {
        let hive = hive?;
        let (statement_type, substatement_type) = hive.kind();
        return Ok((Prepared::Hive(hive), kind(statement_type, substatement_type)));
    }
    let (statement, kind) = prepare(sql)?;
    Ok((Prepared::Sql(statement), kind))
}

/// StatementType and SubstatementType, as GetQueryExecution reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    pub statement_type: &'static str,
    pub substatement_type: &'static str,
}

const fn kind(statement_type: &'static str, substatement_type: &'static str) -> Kind {
    Kind { statement_type, substatement_type }
}

/// Parses one statement of Trino SQL (after [`preprocess`]).
pub fn parse(sql: &str) -> Result<Statement, SyntaxError> {
    let text = preprocess(sql);
    let dialect = GenericDialect {};
    let mut statements = Parser::parse_sql(&dialect, &text).map_err(|e| syntax_error(&e.to_string()))?;
    match statements.len() {
        1 => Ok(statements.remove(0)),
        0 => Err(SyntaxError { line: 1, column: 1, message: "mismatched input '<EOF>'. Expecting: 'SELECT', 'WITH', ...".into() }),
        _ => Err(SyntaxError { line: 1, column: 1, message: "mismatched input ';'. Expecting: <EOF>".into() }),
    }
}

fn syntax_error(msg: &str) -> SyntaxError {
    // sqlparser: "sql parser error: Expected: ..., found: x at Line: 1, Column: 7"
    let msg = msg.trim_start_matches("sql parser error: ");
    let (message, line, column) = match msg.rsplit_once(" at Line: ") {
        Some((m, pos)) => {
            let (l, c) = pos.split_once(", Column: ").unwrap_or((pos, "1"));
            (m.to_owned(), l.trim().parse().unwrap_or(1), c.trim().parse().unwrap_or(1))
        }
        None => (msg.to_owned(), 1, 1),
    };
    SyntaxError { line, column, message: format!("mismatched input. {message}") }
}

/// How Athena classifies a statement.
pub fn classify(stmt: &Statement) -> Kind {
    match stmt {
        Statement::Query(_) => kind("DML", "SELECT"),
        Statement::Explain { .. } => kind("DML", "EXPLAIN"),
        Statement::Insert(_) => kind("DML", "INSERT"),
        Statement::Update(_) => kind("DML", "UPDATE"),
        Statement::Delete(_) => kind("DML", "DELETE"),
        Statement::Merge(_) => kind("DML", "MERGE"),
        Statement::Unload { .. } => kind("DML", "UNLOAD"),
        Statement::CreateTable(ct) if ct.query.is_some() => kind("DDL", "CREATE_TABLE_AS_SELECT"),
        Statement::CreateTable(_) => kind("DDL", "CREATE_TABLE"),
        Statement::CreateView(_) => kind("DDL", "CREATE_VIEW"),
        Statement::CreateDatabase { .. } | Statement::CreateSchema { .. } => kind("DDL", "CREATE_DATABASE"),
        Statement::Drop { object_type: ObjectType::Table, .. } => kind("DDL", "DROP_TABLE"),
        Statement::Drop { object_type: ObjectType::View, .. } => kind("DDL", "DROP_VIEW"),
        Statement::Drop { object_type: ObjectType::Schema | ObjectType::Database, .. } => kind("DDL", "DROP_DATABASE"),
        Statement::Drop { .. } => kind("DDL", "DROP_TABLE"),
        Statement::AlterTable(_) => kind("DDL", "ALTER_TABLE"),
        Statement::ShowTables { .. } => kind("UTILITY", "SHOW_TABLES"),
        Statement::ShowDatabases { .. } | Statement::ShowSchemas { .. } => kind("UTILITY", "SHOW_DATABASES"),
        Statement::ShowColumns { .. } => kind("UTILITY", "SHOW_COLUMNS"),
        Statement::ShowCreate { .. } => kind("UTILITY", "SHOW_CREATE_TABLE"),
        Statement::ExplainTable { .. } => kind("UTILITY", "DESCRIBE_TABLE"),
        _ => kind("UTILITY", "UNKNOWN"),
    }
}

/// Text-level rewrites sqlparser cannot parse otherwise: Trino's `ROW(a T, b U)` *type* becomes
/// `STRUCT<a T, b U>`. String literals, quoted identifiers and comments are left untouched.
pub fn preprocess(sql: &str) -> String {
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut i = 0;
    let mut prev_word = String::new();
    // Depth stack of parens that were opened as ROW( types and must close with '>'.
    let mut row_parens: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\'' | b'"' => {
                let end = skip_quoted(b, i);
                out.push_str(&sql[i..end]);
                i = end;
                prev_word.clear();
                continue;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                let end = b[i..].iter().position(|&x| x == b'\n').map_or(b.len(), |p| i + p);
                out.push_str(&sql[i..end]);
                i = end;
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = sql[i + 2..].find("*/").map_or(b.len(), |p| i + 2 + p + 2);
                out.push_str(&sql[i..end]);
                i = end;
                continue;
            }
            _ if c.is_ascii_alphabetic() || c == b'_' => {
                let end = b[i..].iter().position(|x| !(x.is_ascii_alphanumeric() || *x == b'_')).map_or(b.len(), |p| i + p);
                let word = &sql[i..end];
                let next = sql[end..].trim_start();
                let in_type = prev_word.eq_ignore_ascii_case("as") || !row_parens.is_empty();
                if word.eq_ignore_ascii_case("row") && next.starts_with('(') && in_type && !prev_word.eq_ignore_ascii_case("cast") {
                    out.push_str("STRUCT<");
                    let paren = end + (sql[end..].len() - next.len());
                    i = paren + 1;
                    depth += 1;
                    row_parens.push(depth);
                    prev_word.clear();
                    continue;
                }
                out.push_str(word);
                prev_word = word.to_owned();
                i = end;
                continue;
            }
            b'(' => depth += 1,
            b')' => {
                if row_parens.last() == Some(&depth) {
                    row_parens.pop();
                    depth -= 1;
                    out.push('>');
                    i += 1;
                    continue;
                }
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
        if !c.is_ascii_whitespace() {
            prev_word.clear();
        }
        let ch_len = sql[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&sql[i..i + ch_len]);
        i += ch_len;
    }
    out
}

fn skip_quoted(b: &[u8], start: usize) -> usize {
    let q = b[start];
    let mut i = start + 1;
    while i < b.len() {
        if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

fn parse_expr(text: &str) -> Expr {
    Parser::new(&GenericDialect {})
        .try_with_sql(text)
        .and_then(|mut p| p.parse_expr())
        .unwrap_or_else(|e| panic!("internal rewrite produced invalid SQL {text:?}: {e}"))
}

fn cast(expr: Expr, data_type: DataType) -> Expr {
    Expr::Cast { kind: CastKind::Cast, expr: Box::new(expr), data_type, array: false, format: None }
}

fn function_args(f: &Function) -> Option<Vec<&Expr>> {
    match &f.args {
        FunctionArguments::List(list) => list
            .args
            .iter()
            .map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
                _ => None,
            })
            .collect(),
        FunctionArguments::None => Some(vec![]),
        FunctionArguments::Subquery(_) => None,
    }
}

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
                .and_then(crate::text::Zone::try_parse)
                .map(|zone| zoned(&format!("CAST({timestamp} AS TIMESTAMP(3) WITH TIME ZONE)"), "Millisecond", &zone)),
            _ => None,
        };
        if let Some(r) = replacement {
            *expr = r;
        }
        ControlFlow::Continue(())
    }
}

fn literal_text(v: &ValueWithSpan) -> Option<&str> {
    match &v.value {
        Value::SingleQuotedString(s) => Some(s),
        _ => None,
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
        Some(z) => crate::text::Zone::try_parse(z)?,
        None if with_time_zone => crate::text::Zone::parse("UTC"),
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

/// `expr` (a count of `unit` since the epoch, or a timestamp) as `timestamp with time zone` in `zone`.
fn zoned(expr: &str, unit: &str, zone: &crate::text::Zone) -> Expr {
    parse_expr(&format!("arrow_cast({expr}, 'Timestamp({unit}, \"{}\")')", zone.arrow_name()))
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

/// `x -> body` as sqlparser's generic dialect reads it (a JSON arrow whose left operand is the
/// parameter, binding tighter than the body's operators) as a lambda.
fn lambda_of(e: &Expr) -> Option<Expr> {
    fn take_param(e: &mut Expr) -> Option<Ident> {
        match e {
            Expr::BinaryOp { left, op: BinaryOperator::Arrow, right } => match left.as_ref() {
                Expr::Identifier(id) => {
                    let id = id.clone();
                    *e = (**right).clone();
                    Some(id)
                }
                _ => None,
            },
            Expr::BinaryOp { left, .. } => take_param(left),
            Expr::IsNull(inner) | Expr::IsNotNull(inner) => take_param(inner),
            _ => None,
        }
    }
    let mut body = e.clone();
    let param = take_param(&mut body)?;
    Some(Expr::Lambda(LambdaFunction {
        params: OneOrManyWithParens::One(LambdaFunctionParameter { name: param, data_type: None }),
        body: Box::new(body),
        syntax: LambdaSyntax::Arrow,
    }))
}

/// An integer literal's value (through the INTEGER casts this rewriter puts on them, and `-`).
fn int_literal(e: &Expr) -> Option<i32> {
    match e {
        Expr::Value(ValueWithSpan { value: Value::Number(n, _), .. }) => n.parse().ok(),
        Expr::Cast { expr, .. } | Expr::Nested(expr) => int_literal(expr),
        Expr::UnaryOp { op: UnaryOperator::Minus, expr } => int_literal(expr).map(|v| -v),
        _ => None,
    }
}

/// A string literal's text.
fn string_literal(e: &Expr) -> Option<&str> {
    match e {
        Expr::Value(v) => literal_text(v),
        _ => None,
    }
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

fn rewrite_function(f: &Function) -> Option<Expr> {
    let name = f.name.to_string().to_ascii_lowercase();
    let args = function_args(f)?;
    match (name.as_str(), args.as_slice()) {
        ("if", [c, a]) => Some(parse_expr(&format!("CASE WHEN {c} THEN {a} END"))),
        ("if", [c, a, b]) => Some(parse_expr(&format!("CASE WHEN {c} THEN {a} ELSE {b} END"))),
        // Trino's from_unixtime(double [, zone | hours, minutes]) -> timestamp(3) with time zone.
        ("from_unixtime", [x]) => Some(from_unixtime(x, &crate::text::Zone::parse("UTC"))),
        ("from_unixtime", [x, z]) => Some(from_unixtime(x, &crate::text::Zone::try_parse(string_literal(z)?)?)),
        ("from_unixtime", [x, h, m]) => {
            let (h, m) = (int_literal(h)?, int_literal(m)?);
            let secs = h * 3600 + if h < 0 { -m.abs() } else { m } * 60;
            let (sign, abs) = if secs < 0 { ('-', -secs) } else { ('+', secs) };
            Some(from_unixtime(x, &crate::text::Zone::try_parse(&format!("{sign}{:02}:{:02}", abs / 3600, abs / 60 % 60))?))
        }
        // Lambdas: `filter(a, x -> x > 1)` (sqlparser reads `x -> ...` as a JSON arrow).
        ("filter" | "transform" | "any_match", [_, body]) => {
            let lambda = lambda_of(body)?;
            let target = match name.as_str() {
                "filter" => "array_filter",
                "transform" => "array_transform",
                _ => "array_any_match",
            };
            let mut g = f.clone();
            g.name = ObjectName::from(vec![Ident::new(target)]);
            if let FunctionArguments::List(list) = &mut g.args {
                list.args[1] = FunctionArg::Unnamed(FunctionArgExpr::Expr(lambda));
            }
            Some(Expr::Function(g))
        }
        // Trino names DataFusion spells otherwise.
        ("contains", [a, x]) => Some(parse_expr(&format!("array_has({a}, {x})"))),
        // regexp_extract(s, p [, group]): the first match (or its group); NULL without a match.
        ("regexp_extract", [s, p]) => Some(parse_expr(&format!("regexp_match({s}, '(' || {p} || ')')[1]"))),
        ("regexp_extract", [s, p, g]) => Some(parse_expr(&format!("regexp_match({s}, '(' || {p} || ')')[{} + 1]", g))),
        ("split", [s, d]) => Some(parse_expr(&format!("string_to_array({s}, {d})"))),
        ("arbitrary", [x]) => Some(parse_expr(&format!("any_value({x})"))),
        ("approx_percentile", [x, p]) => Some(parse_expr(&format!("approx_percentile_cont({x}, {p})"))),
        ("date_parse", [s, f]) => {
            let f = mysql_to_chrono(string_literal(f)?)?;
            Some(parse_expr(&format!("CAST(to_timestamp({s}, '{f}') AS TIMESTAMP(3))")))
        }
        ("date_format", [ts, f]) => {
            let f = mysql_to_chrono(string_literal(f)?)?;
            Some(parse_expr(&format!("to_char({ts}, '{f}')")))
        }
        // date_add('day', 3, ts), with a literal unit and amount.
        ("date_add", [unit, n, ts]) => {
            let unit = string_literal(unit)?.to_ascii_lowercase();
            let n = int_literal(n)?;
            let (n, unit) = match unit.as_str() {
                "millisecond" => (n, "millisecond"),
                "second" | "minute" | "hour" | "day" | "month" | "year" => (n, unit.as_str()),
                "week" => (n * 7, "day"),
                "quarter" => (n * 3, "month"),
                _ => return None,
            };
            Some(parse_expr(&format!("({ts} + INTERVAL '{n} {unit}')")))
        }
        // date_diff('day', a, b): whole units from a to b, truncated toward zero.
        ("date_diff", [unit, a, b]) => {
            let unit = string_literal(unit)?.to_ascii_lowercase();
            // Milliseconds since the epoch (a timestamp(3) cast to bigint).
            let millis = |e: &Expr| format!("CAST(CAST({e} AS TIMESTAMP(3)) AS BIGINT)");
            let per = match unit.as_str() {
                "millisecond" => 1,
                "second" => 1000,
                "minute" => 60_000,
                "hour" => 3_600_000,
                "day" => 86_400_000,
                "week" => 604_800_000,
                "month" | "quarter" | "year" => {
                    let months = format!(
                        "((date_part('year', {b}) - date_part('year', {a})) * 12 + date_part('month', {b}) - date_part('month', {a}))"
                    );
                    let div = match unit.as_str() {
                        "month" => 1,
                        "quarter" => 3,
                        _ => 12,
                    };
                    return Some(parse_expr(&format!("CAST(trunc({months} / {div}) AS BIGINT)")));
                }
                _ => return None,
            };
            Some(parse_expr(&format!("CAST(trunc((({}) - ({})) / {per}.0) AS BIGINT)", millis(b), millis(a))))
        }
        // with_timezone(timestamp, zone): the wall clock read in that zone.
        ("with_timezone", [ts, z]) => {
            let zone = crate::text::Zone::try_parse(string_literal(z)?)?;
            Some(zoned(&format!("CAST({ts} AS TIMESTAMP(3))"), "Millisecond", &zone))
        }
        ("row", _) => {
            let list: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            Some(parse_expr(&format!("struct({})", list.join(", "))))
        }
        _ => None,
    }
}

/// MySQL-style formats of date_parse/date_format (`%Y-%m-%d %H:%i:%s`) as chrono's; `None` for
/// specifiers chrono has no equivalent of.
fn mysql_to_chrono(f: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = f.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            if c == '\'' {
                out.push_str("''");
            } else {
                out.push(c);
            }
            continue;
        }
        let spec = match chars.next()? {
            'Y' => "%Y",
            'y' => "%y",
            'm' => "%m",
            'c' => "%-m",
            'd' => "%d",
            'e' => "%-d",
            'H' | 'k' => "%H",
            'h' | 'I' => "%I",
            'l' => "%-I",
            'i' => "%M",
            's' | 'S' => "%S",
            'f' => "%6f",
            'p' => "%p",
            'T' => "%H:%M:%S",
            'r' => "%I:%M:%S %p",
            'M' => "%B",
            'b' => "%b",
            'W' => "%A",
            'a' => "%a",
            'j' => "%j",
            '%' => "%%",
            _ => return None,
        };
        out.push_str(spec);
    }
    Some(out)
}

fn from_unixtime(x: &Expr, zone: &crate::text::Zone) -> Expr {
    zoned(&format!("CAST(round(CAST({x} AS DOUBLE) * 1000) AS BIGINT)"), "Millisecond", zone)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(sql: &str) -> String {
        let mut s = parse(sql).unwrap();
        rewrite(&mut s);
        s.to_string()
    }

    #[test]
    fn classifies_like_athena() {
        let k = |sql: &str| {
            let k = classify(&parse(sql).unwrap());
            (k.statement_type, k.substatement_type)
        };
        assert_eq!(k("SELECT 1"), ("DML", "SELECT"));
        assert_eq!(k("-- c\nWITH a AS (SELECT 1) SELECT * FROM a"), ("DML", "SELECT"));
        assert_eq!(k("VALUES (1), (2)"), ("DML", "SELECT"));
        assert_eq!(k("EXPLAIN SELECT 1"), ("DML", "EXPLAIN"));
        assert_eq!(k("INSERT INTO t VALUES (1)"), ("DML", "INSERT"));
        assert_eq!(k("CREATE TABLE t AS SELECT 1 AS a"), ("DDL", "CREATE_TABLE_AS_SELECT"));
        assert_eq!(k("SHOW TABLES"), ("UTILITY", "SHOW_TABLES"));
        assert_eq!(k("SHOW DATABASES"), ("UTILITY", "SHOW_DATABASES"));
        assert_eq!(k("DESCRIBE one_row"), ("UTILITY", "DESCRIBE_TABLE"));
        assert_eq!(k("UNLOAD (SELECT 1 AS a) TO 's3://b/p/' WITH (format = 'PARQUET')"), ("DML", "UNLOAD"));
    }

    #[test]
    fn syntax_errors_carry_position() {
        let e = parse("SELEC 1").unwrap_err();
        assert_eq!((e.line, e.column), (1, 1));
        assert!(e.to_string().starts_with("line 1:1: mismatched input"), "{e}");
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
            rewritten("SELECT * FROM (SELECT a, b + 1, 2 AS c FROM t)"),
            "SELECT * FROM (SELECT a, b + CAST(1 AS INTEGER) AS _col1, CAST(2 AS INTEGER) AS c FROM t)"
        );
        assert_eq!(preprocess("SELECT 'AS ROW(' , CAST(x AS row(a int))"), "SELECT 'AS ROW(' , CAST(x AS STRUCT<a int>)");
    }
}
