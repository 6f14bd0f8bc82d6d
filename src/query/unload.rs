//! UNLOAD as SQL: which queries are wrapped, the `UNLOAD ... TO` statement, the `LIMIT 0` probe
//! that tells a query's columns, and the plan that renames or retypes what UNLOAD cannot write.
//! Reading the files back is [`crate::results`]' part.

use std::sync::Arc;

use crate::config::compression::UnloadCompression;
use crate::decode::schema::{ColumnInfo, strip_parameters};
use crate::error::{Error, ErrorKind};
use crate::results::unload::UnloadColumns;

/// The first word of `sql` after comments and opening parentheses, upper case.
fn first_keyword(sql: &str) -> String {
    let mut s = sql.trim_start();
    loop {
        if let Some(rest) = s.strip_prefix("--") {
            s = rest.split_once('\n').map_or("", |(_, r)| r).trim_start();
        } else if let Some(rest) = s.strip_prefix("/*") {
            s = rest.split_once("*/").map_or("", |(_, r)| r).trim_start();
        } else if let Some(rest) = s.strip_prefix('(') {
            s = rest.trim_start();
        } else {
            break;
        }
    }
    s.chars().take_while(|c| c.is_ascii_alphabetic()).collect::<String>().to_ascii_uppercase()
}

/// Whether `sql` is a query UNLOAD can wrap (SELECT or WITH, after comments).
pub(crate) fn is_select(sql: &str) -> bool {
    matches!(first_keyword(sql).as_str(), "SELECT" | "WITH")
}

/// Whether `sql` is a query, whose columns a `LIMIT 0` probe describes (SELECT, WITH, VALUES,
/// TABLE); `Err` names the statement's first word otherwise.
pub(crate) fn is_query(sql: &str) -> std::result::Result<(), String> {
    match first_keyword(sql).as_str() {
        "SELECT" | "WITH" | "VALUES" | "TABLE" => Ok(()),
        "" => Err("(empty)".into()),
        word => Err(word.to_owned()),
    }
}

/// `sql` without surrounding blanks and its final `;`, to be nested in another statement (on
/// lines of its own, so that a trailing `-- comment` cannot swallow what follows).
pub(crate) fn body(sql: &str) -> &str {
    sql.trim().trim_end_matches(';').trim_end()
}

/// The UNLOAD statement for `sql` into a fresh prefix under `staging`.
pub(crate) fn unload_sql(sql: &str, staging: &str, compression: UnloadCompression) -> String {
    let prefix = format!("{}/unload/{}/", staging.trim_end_matches('/'), uuid::Uuid::new_v4());
    format!("UNLOAD (\n{}\n) TO '{prefix}' WITH (format = 'PARQUET', compression = '{compression}')", body(sql))
}

/// The query that tells the columns of `sql` (names and types) without computing a row.
pub(crate) fn probe_sql(sql: &str) -> String {
    format!("SELECT * FROM (\n{}\n) LIMIT 0", body(sql))
}

/// How a column UNLOAD cannot write as it is gets written: its text, as Athena's CSV gives it.
fn text_expr(column: &str, type_name: &str) -> Option<String> {
    match strip_parameters(type_name).as_str() {
        "json" => Some(format!("json_format({column})")),
        "time"
        | "time with time zone"
        | "timestamp with time zone"
        | "interval year to month"
        | "interval day to second"
        | "uuid"
        | "ipaddress"
        | "unknown" => Some(format!("CAST({column} AS varchar)")),
        _ => None,
    }
}

/// Whether `name` is Athena's name for an unnamed column (`_col0`, `_col1`, ...).
fn unnamed(name: &str) -> bool {
    name.is_empty() || name.strip_prefix("_col").is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// How a query is unloaded, decided before submission from the columns of its `LIMIT 0` probe.
///
/// The rule: a query whose columns UNLOAD can write is unloaded as it is. Otherwise it is
/// wrapped so that every column has a name UNLOAD accepts (`c1`, `c2`, ... through a derived
/// table's column aliases: unnamed and duplicate names) and every column of a type UNLOAD cannot
/// write (time, time/timestamp with time zone, interval, json, uuid, ipaddress, unknown) is
/// written as its text (`CAST(c AS varchar)`, `json_format(c)` for json). Reading restores the
/// names and turns the text back into the column's Arrow type, so the result is the same as the
/// CSV source's; the field metadata keeps the original Athena type.
#[derive(Debug, Clone)]
pub(crate) struct UnloadPlan {
    /// How the columns are written, for reading them back.
    pub columns: Arc<UnloadColumns>,
    /// The query UNLOAD runs.
    pub select: String,
}

impl UnloadPlan {
    pub(crate) fn new(sql: &str, columns: Vec<ColumnInfo>) -> Self {
        let mut seen = std::collections::HashSet::new();
        let rename = columns.iter().any(|c| unnamed(&c.name) || !seen.insert(c.name.to_ascii_lowercase()));
        let texts: Vec<Option<String>> =
            (1..=columns.len()).zip(&columns).map(|(i, c)| text_expr(&format!("\"c{i}\""), &c.type_name)).collect();
        let as_text: Vec<bool> = texts.iter().map(Option::is_some).collect();
        if !rename && !as_text.contains(&true) {
            return Self {
                columns: Arc::new(UnloadColumns { columns, as_text, rewritten: false, copied_to: None }),
                select: sql.to_owned(),
            };
        }
        let exprs: Vec<String> = texts
            .into_iter()
            .enumerate()
            .map(|(i, text)| match text {
                Some(expr) => format!("{expr} AS \"c{}\"", i + 1),
                None => format!("\"c{}\"", i + 1),
            })
            .collect();
        let aliases: Vec<String> = (1..=columns.len()).map(|i| format!("\"c{i}\"")).collect();
        let select = format!("SELECT {} FROM (\n{}\n) AS \"t\" ({})", exprs.join(", "), body(sql), aliases.join(", "));
        Self { columns: Arc::new(UnloadColumns { columns, as_text, rewritten: true, copied_to: None }), select }
    }
}

/// Whether a failed UNLOAD was refused for what it writes (a type or a column name UNLOAD
/// cannot write), so that the query as written can still run: a failed query of kind
/// Unsupported or InvalidArgument.
pub(crate) fn is_unload_refusal(e: &Error) -> bool {
    matches!(e, Error::QueryFailed { .. }) && matches!(e.kind(), ErrorKind::Unsupported | ErrorKind::InvalidArgument)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_only_queries() {
        assert!(is_select("-- c\n  WITH x AS (SELECT 1) SELECT * FROM x"));
        assert!(is_select("(SELECT 1)"));
        assert!(!is_select("SHOW TABLES"));
        assert!(!is_select("INSERT INTO t SELECT 1"));
        let sql = unload_sql("SELECT 1 AS a;", "s3://b/p/", UnloadCompression::Snappy);
        assert!(
            sql.starts_with("UNLOAD (\nSELECT 1 AS a\n) TO 's3://b/p/unload/")
                && sql.ends_with("/' WITH (format = 'PARQUET', compression = 'SNAPPY')"),
            "{sql}"
        );
        assert_eq!(probe_sql("SELECT 1 -- c\n;"), "SELECT * FROM (\nSELECT 1 -- c\n) LIMIT 0");
    }

    fn col(name: &str, type_name: &str) -> ColumnInfo {
        ColumnInfo { name: name.into(), type_name: type_name.into(), precision: 0, scale: 0 }
    }

    #[test]
    fn plans_text_columns_and_names() {
        let plan = UnloadPlan::new("SELECT a, b FROM t", vec![col("a", "integer"), col("b", "array")]);
        assert!(!plan.columns.rewritten);
        assert_eq!(plan.select, "SELECT a, b FROM t");
        let plan = UnloadPlan::new(
            "SELECT ...",
            vec![
                col("a", "time(3)"),
                col("_col1", "integer"),
                col("a", "json"),
                col("z", "timestamp(3) with time zone"),
                col("n", "unknown"),
            ],
        );
        assert!(plan.columns.rewritten);
        assert_eq!(plan.columns.as_text, [true, false, true, true, true]);
        assert_eq!(
            plan.select,
            "SELECT CAST(\"c1\" AS varchar) AS \"c1\", \"c2\", json_format(\"c3\") AS \"c3\", CAST(\"c4\" AS varchar) AS \"c4\", \
             CAST(\"c5\" AS varchar) AS \"c5\" FROM (\nSELECT ...\n) AS \"t\" (\"c1\", \"c2\", \"c3\", \"c4\", \"c5\")"
        );
        // Duplicate names alone (case-insensitive, as Athena's) are enough to rename.
        assert!(UnloadPlan::new("SELECT 1 AS a, 2 AS A", vec![col("a", "integer"), col("A", "integer")]).columns.rewritten);
    }

    /// The rewriting keeps any query a query: whatever names, literals, comments and trailing
    /// `;` the query has, its probe and its rewritten SELECT parse whenever the query does, and
    /// the UNLOAD wraps exactly the query's text.
    #[cfg(feature = "datafusion")]
    mod properties {
        use datafusion::sql::sqlparser::dialect::GenericDialect;
        use datafusion::sql::sqlparser::parser::Parser;
        use proptest::prelude::*;

        use super::super::*;
        use crate::decode::schema::ColumnInfo;

        fn parses(sql: &str) -> bool {
            Parser::parse_sql(&GenericDialect {}, sql).is_ok_and(|s| s.len() == 1)
        }

        fn ident() -> impl Strategy<Value = String> {
            prop_oneof![
                "[a-z_][a-z0-9_]{0,6}",
                // Quoted, with quotes, blanks, dots and dashes inside.
                "[a-zA-Z0-9 .\\-\"]{1,8}".prop_map(|n| format!("\"{}\"", n.replace('"', "\"\""))),
            ]
        }

        fn literal() -> impl Strategy<Value = String> {
            prop_oneof![
                "[0-9]{1,6}",
                // Strings holding quotes, `--`, `/*`, `;`, parentheses and newlines.
                "[a-z ';()\n/*-]{0,12}".prop_map(|t| format!("'{}'", t.replace('\'', "''"))),
            ]
        }

        fn query() -> impl Strategy<Value = String> {
            let column = (prop_oneof![ident(), literal()], proptest::option::of(ident())).prop_map(|(e, alias)| match alias {
                Some(a) => format!("{e} AS {a}"),
                None => e,
            });
            let tail = prop_oneof![Just(""), Just(";"), Just(" ;\n"), Just(" -- done; ) x"), Just("\n-- c\n;"), Just(" /* c */")];
            (proptest::collection::vec(column, 1..5), ident(), proptest::option::of((ident(), literal())), tail).prop_map(
                |(columns, table, filter, tail)| {
                    let filter = filter.map(|(c, v)| format!(" WHERE {c} = {v}")).unwrap_or_default();
                    format!("SELECT {} FROM {table}{filter}{tail}", columns.join(", "))
                },
            )
        }

        fn type_name() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("integer"),
                Just("varchar"),
                Just("json"),
                Just("time(3)"),
                Just("timestamp(3) with time zone"),
                Just("interval day to second"),
                Just("uuid"),
                Just("unknown"),
                Just("array"),
                Just("decimal")
            ]
            .prop_map(str::to_owned)
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

            #[test]
            fn rewritten_queries_stay_valid(sql in query(), names in proptest::collection::vec(("_col[0-9]|[a-c]|", type_name()), 1..6)) {
                prop_assume!(parses(&sql));
                prop_assert!(parses(&probe_sql(&sql)), "probe of {:?}: {:?}", sql, probe_sql(&sql));
                let columns: Vec<ColumnInfo> =
                    names.into_iter().map(|(name, type_name)| ColumnInfo { name, type_name, precision: 0, scale: 0 }).collect();
                let plan = UnloadPlan::new(&sql, columns.clone());
                prop_assert!(parses(&plan.select), "rewrite of {:?}: {:?}", sql, plan.select);
                prop_assert_eq!(plan.columns.columns.len(), columns.len());
                let unload = unload_sql(&sql, "s3://b/p/", UnloadCompression::Snappy);
                let body = sql.trim().trim_end_matches(';').trim_end();
                let expected_head = format!("UNLOAD (\n{body}\n) TO 's3://b/p/unload/");
                prop_assert!(unload.starts_with(&expected_head), "{}", unload);
            }
        }
    }
}
