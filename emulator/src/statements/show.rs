//! SHOW and DESCRIBE: what each shows of the catalog, in Hive's layout (fields padded to 20
//! characters where Hive pads them), as UTILITY results.

use datafusion::sql::sqlparser::ast::Statement;

use crate::catalog::files::{dir_has_files, discovered_partitions};
use crate::catalog::{CATALOG, Column, Table};
use crate::engine::trino::parse::parse;
use crate::failure::Failure;
use crate::statements::hive::ast::HiveStatement;
use crate::statements::{Executor, Job, Outcome};

impl Executor {
    /// SHOW TABLES, SHOW DATABASES/SCHEMAS, SHOW COLUMNS, DESCRIBE.
    pub(crate) fn run_show(&self, job: &Job, statement: &Statement) -> Result<Outcome, Failure> {
        match statement {
            Statement::ShowTables { .. } => {
                let tables = self.catalog().tables(&job.database)?;
                let rows = tables.iter().map(|t| vec![t.name.clone()]).collect();
                self.utility(job, &["tab_name"], rows)
            }
            Statement::ShowDatabases { .. } | Statement::ShowSchemas { .. } => {
                let rows = self.catalog().databases().into_iter().map(|d| vec![d]).collect();
                self.utility(job, &["database_name"], rows)
            }
            Statement::ShowColumns { show_options, .. } => {
                let name = show_options
                    .show_in
                    .as_ref()
                    .and_then(|s| s.parent_name.as_ref())
                    .ok_or_else(|| Failure::user("INVALID_INPUT", "SHOW COLUMNS needs a table"))?;
                let table = self.lookup_table(job, name)?;
                let rows = table.columns.iter().chain(&table.partition_keys).map(|c| vec![pad20(&c.name)]).collect();
                self.utility(job, &["field"], rows)
            }
            Statement::ExplainTable { table_name, .. } => {
                let table = self.lookup_table(job, table_name)?;
                self.utility(job, &["col_name", "data_type", "comment"], describe_rows(&table))
            }
            other => unreachable!("not a SHOW statement: {other}"),
        }
    }

    /// Hive's SHOW PARTITIONS, SHOW CREATE TABLE/VIEW and SHOW TBLPROPERTIES.
    pub(crate) fn run_hive_show(&self, job: &Job, statement: &HiveStatement) -> Result<Outcome, Failure> {
        match statement {
            HiveStatement::ShowPartitions { table } => {
                let (_, t) = self.hive_table(job, table)?;
                if t.partition_keys.is_empty() {
                    return Err(Failure::user("NOT_SUPPORTED", format!("Table {} is not partitioned", t.name)));
                }
                let mut names: Vec<String> = t.partitions.iter().map(|p| t.partition_name(&p.values)).collect();
                for (values, dir) in discovered_partitions(&t, &self.catalog().data_dir(&t)) {
                    if dir_has_files(&dir) {
                        names.push(t.partition_name(&values));
                    }
                }
                names.sort();
                names.dedup();
                self.utility(job, &["partition"], names.into_iter().map(|n| vec![n]).collect())
            }
            HiveStatement::ShowCreate { table, view } => {
                let (db, t) = self.hive_table(job, table)?;
                let lines = match (&t.view_sql, view) {
                    (Some(sql), true) => {
                        let mut lines = vec![format!("CREATE VIEW {db}.{} AS", t.name)];
                        lines.extend(format_view_query(sql));
                        lines
                    }
                    (None, false) => show_create_table(&db, &t),
                    (Some(_), false) => {
                        return Err(Failure::user("NOT_SUPPORTED", format!("Relation '{CATALOG}.{db}.{}' is a view, not a table", t.name)));
                    }
                    (None, true) => {
                        return Err(Failure::user("NOT_SUPPORTED", format!("Relation '{CATALOG}.{db}.{}' is a table, not a view", t.name)));
                    }
                };
                self.utility(job, &["createtab_stmt"], lines.into_iter().map(|l| vec![l]).collect())
            }
            HiveStatement::ShowTblProperties { table, key } => {
                let (_, t) = self.hive_table(job, table)?;
                let props = t.shown_properties();
                match key {
                    Some(k) => {
                        let value = props.get(k).cloned().unwrap_or_else(|| format!("Table {} does not have property: {k}", t.name));
                        self.utility(job, &["prpt_value"], vec![vec![value]])
                    }
                    None => self.utility(job, &["prpt_name", "prpt_value"], props.into_iter().map(|(k, v)| vec![k, v]).collect()),
                }
            }
            other => unreachable!("not a SHOW statement: {other:?}"),
        }
    }
}

pub(crate) fn pad20(s: &str) -> String {
    format!("{s:<20}")
}

/// Hive DESCRIBE rows: columns, then the partition section when the table has one.
pub fn describe_rows(t: &Table) -> Vec<Vec<String>> {
    let row = |c: &Column| vec![pad20(&c.name), pad20(&c.type_name), pad20(c.comment.as_deref().unwrap_or(""))];
    let mut rows: Vec<Vec<String>> = t.columns.iter().chain(&t.partition_keys).map(row).collect();
    if !t.partition_keys.is_empty() {
        rows.push(vec![String::new(), String::new(), String::new()]);
        rows.push(vec![pad20("# Partition Information"), pad20(""), pad20("")]);
        rows.push(vec![pad20("# col_name"), pad20("data_type"), pad20("comment")]);
        rows.push(vec![String::new(), String::new(), String::new()]);
        rows.extend(t.partition_keys.iter().map(row));
    }
    rows
}

/// A view's query as Trino's formatter prints it for SHOW CREATE VIEW (`SELECT a\nFROM\n  t`),
/// for the plain SELECTs it can lay out; other queries as written.
pub fn format_view_query(sql: &str) -> Vec<String> {
    use datafusion::sql::sqlparser::ast::{SetExpr, Statement};
    let plain = || sql.lines().map(str::to_owned).collect();
    let Ok(Statement::Query(q)) = parse(sql) else { return plain() };
    let SetExpr::Select(select) = q.body.as_ref() else { return plain() };
    if q.with.is_some() || select.from.len() != 1 {
        return plain();
    }
    let items: Vec<String> = select.projection.iter().map(|p| p.to_string()).collect();
    let mut lines = vec![format!("SELECT {}", items.join(", ")), "FROM".to_owned(), format!("  {}", select.from[0])];
    if let Some(w) = &select.selection {
        lines.push(format!("WHERE {w}"));
    }
    if let datafusion::sql::sqlparser::ast::GroupByExpr::Expressions(exprs, _) = &select.group_by
        && !exprs.is_empty()
    {
        lines.push(format!("GROUP BY {}", exprs.iter().map(|e| e.to_string()).collect::<Vec<_>>().join(", ")));
    }
    if let Some(order) = &q.order_by {
        lines.push(order.to_string());
    }
    if let Some(limit) = &q.limit_clause {
        lines.push(limit.to_string().trim().to_owned());
    }
    lines
}

/// `SHOW CREATE TABLE` text in Hive's layout (the layout is Hive's; it was not compared line by
/// line with Athena's output).
pub fn show_create_table(db: &str, table: &Table) -> Vec<String> {
    let quote = |s: &str| s.replace('\'', "\\'");
    let mut lines = vec![format!("CREATE EXTERNAL TABLE `{db}`.`{}`(", table.name)];
    let cols: Vec<String> = table
        .columns
        .iter()
        .map(|c| match &c.comment {
            Some(comment) => format!("  `{}` {} COMMENT '{}'", c.name, c.type_name, quote(comment)),
            None => format!("  `{}` {}", c.name, c.type_name),
        })
        .collect();
    let n = cols.len();
    for (i, c) in cols.into_iter().enumerate() {
        lines.push(if i + 1 < n { format!("{c},") } else { format!("{c})") });
    }
    if let Some(c) = &table.comment {
        lines.push(format!("COMMENT '{}'", quote(c)));
    }
    if !table.partition_keys.is_empty() {
        lines.push("PARTITIONED BY ( ".into());
        let n = table.partition_keys.len();
        for (i, c) in table.partition_keys.iter().enumerate() {
            lines.push(format!("  `{}` {}{}", c.name, c.type_name, if i + 1 < n { "," } else { ")" }));
        }
    }
    let storage = table.storage();
    lines.push("ROW FORMAT SERDE ".into());
    lines.push(format!("  '{}' ", storage.serde));
    let params: Vec<_> =
        storage.serde_params.iter().filter(|(k, _)| k.as_str() != "serialization.format" || storage.serde_params.len() > 1).collect();
    if !params.is_empty() {
        lines.push("WITH SERDEPROPERTIES ( ".into());
        let n = params.len();
        for (i, (k, v)) in params.into_iter().enumerate() {
            let v = v.replace('\t', "\\t").replace('\n', "\\n");
            lines.push(format!("  '{k}'='{v}'{}", if i + 1 < n { ", " } else { ") " }));
        }
    }
    lines.push("STORED AS INPUTFORMAT ".into());
    lines.push(format!("  '{}' ", storage.input_format));
    lines.push("OUTPUTFORMAT ".into());
    lines.push(format!("  '{}'", storage.output_format));
    lines.push("LOCATION".into());
    lines.push(format!("  '{}'", table.location.trim_end_matches('/')));
    lines.push("TBLPROPERTIES (".into());
    let props: Vec<String> = table.properties.iter().map(|(k, v)| format!("  '{k}'='{}'", quote(v))).collect();
    let n = props.len();
    for (i, p) in props.into_iter().enumerate() {
        lines.push(if i + 1 < n { format!("{p},") } else { format!("{p})") });
    }
    if n == 0 {
        lines.push(")".into());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::storage::Storage;

    #[test]
    fn show_create_table_closes_what_it_opens() {
        let t = Table { storage: Some(Storage::parquet()), ..Table::new("t", vec![Column::new("a", "int")], "s3://b/t/".into()) };
        let text = show_create_table("db", &t).join("\n");
        assert_eq!(text.matches('(').count(), text.matches(')').count(), "{text}");
        assert!(!text.contains("SERDEPROPERTIES"), "only serialization.format=1: nothing to show\n{text}");
        assert!(text.ends_with("LOCATION\n  's3://b/t'\nTBLPROPERTIES (\n)"), "{text}");
    }
}
