//! Trino functions DataFusion lacks or spells otherwise, rewritten into DataFusion's.

use datafusion::sql::sqlparser::ast::*;

use crate::engine::trino::ast::{function_args, int_literal, lambda_of, parse_expr, string_literal, zoned};
use crate::formats::value_text::Zone;

pub fn rewrite_function(f: &Function) -> Option<Expr> {
    let name = f.name.to_string().to_ascii_lowercase();
    let args = function_args(f)?;
    match (name.as_str(), args.as_slice()) {
        ("if", [c, a]) => Some(parse_expr(&format!("CASE WHEN {c} THEN {a} END"))),
        ("if", [c, a, b]) => Some(parse_expr(&format!("CASE WHEN {c} THEN {a} ELSE {b} END"))),
        // Trino's from_unixtime(double [, zone | hours, minutes]) -> timestamp(3) with time zone.
        ("from_unixtime", [x]) => Some(from_unixtime(x, &Zone::parse("UTC"))),
        ("from_unixtime", [x, z]) => Some(from_unixtime(x, &Zone::try_parse(string_literal(z)?)?)),
        ("from_unixtime", [x, h, m]) => {
            let (h, m) = (int_literal(h)?, int_literal(m)?);
            let secs = h * 3600 + if h < 0 { -m.abs() } else { m } * 60;
            let (sign, abs) = if secs < 0 { ('-', -secs) } else { ('+', secs) };
            Some(from_unixtime(x, &Zone::try_parse(&format!("{sign}{:02}:{:02}", abs / 3600, abs / 60 % 60))?))
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
            let zone = Zone::try_parse(string_literal(z)?)?;
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

fn from_unixtime(x: &Expr, zone: &Zone) -> Expr {
    zoned(&format!("CAST(round(CAST({x} AS DOUBLE) * 1000) AS BIGINT)"), "Millisecond", zone)
}
