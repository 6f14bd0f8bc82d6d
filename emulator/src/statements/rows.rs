//! Row-level changes of Iceberg tables (DELETE, UPDATE, MERGE INTO): the table's files
//! rewritten from a query of its rows, the changed rows counted for UpdateCount.

use std::collections::BTreeMap;

use datafusion::sql::sqlparser::ast as sqlast;

use crate::catalog::Table;
use crate::catalog::files::data_files;
use crate::engine::errors::df_failure;
use crate::engine::trino::parse::parse;
use crate::engine::{last_ident, schema_of};
use crate::failure::Failure;
use crate::statements::tables::write_table_file;
use crate::statements::{Executor, Job, Outcome};

impl Executor {
    /// `DELETE FROM t [WHERE c]` of an Iceberg table: its files rewritten without the rows.
    pub(crate) async fn run_delete(&self, job: &Job, delete: &sqlast::Delete) -> Result<Outcome, Failure> {
        let from = match &delete.from {
            sqlast::FromTable::WithFromKeyword(t) | sqlast::FromTable::WithoutKeyword(t) => t,
        };
        let name = single_table(from.first())?;
        let table = self.iceberg_table(job, &name)?;
        let condition = delete.selection.as_ref().map_or_else(|| "true".to_owned(), |e| e.to_string());
        let quoted = self.quoted(job, &name);
        self.rewrite_rows(job, &table, &quoted, &condition, &format!("SELECT * FROM {quoted} WHERE NOT coalesce(({condition}), false)"))
            .await
    }

    /// `UPDATE t SET c = v [WHERE c]` of an Iceberg table: its files rewritten with the values.
    pub(crate) async fn run_update(&self, job: &Job, update: &sqlast::Update) -> Result<Outcome, Failure> {
        let name = single_table(Some(&update.table))?;
        let table = self.iceberg_table(job, &name)?;
        let condition = update.selection.as_ref().map_or_else(|| "true".to_owned(), |e| e.to_string());
        let mut set: BTreeMap<String, String> = BTreeMap::new();
        for a in &update.assignments {
            let sqlast::AssignmentTarget::ColumnName(col) = &a.target else {
                return Err(Failure::user("NOT_SUPPORTED", "UPDATE of a tuple of columns"));
            };
            let col = last_ident(col);
            if !table.columns.iter().any(|c| c.name == col) {
                return Err(Failure::user("COLUMN_NOT_FOUND", format!("line 1:1: Column '{col}' cannot be resolved")));
            }
            set.insert(col, a.value.to_string());
        }
        let columns: Vec<String> = table
            .columns
            .iter()
            .map(|c| match set.get(&c.name) {
                Some(v) => format!("CASE WHEN coalesce(({condition}), false) THEN {v} ELSE \"{0}\" END AS \"{0}\"", c.name),
                None => format!("\"{}\"", c.name),
            })
            .collect();
        let quoted = self.quoted(job, &name);
        self.rewrite_rows(job, &table, &quoted, &condition, &format!("SELECT {} FROM {quoted}", columns.join(", "))).await
    }

    /// `MERGE INTO t [AS a] USING s [AS b] ON c WHEN MATCHED [AND p] THEN UPDATE SET ... | DELETE
    /// WHEN NOT MATCHED [AND p] THEN INSERT [(cols)] VALUES (...)` of an Iceberg table: the
    /// table rewritten from a left join of its rows with the source, plus the inserted rows.
    pub(crate) async fn run_merge(&self, job: &Job, merge: &sqlast::Merge) -> Result<Outcome, Failure> {
        let sqlast::TableFactor::Table { name, alias, .. } = &merge.table else {
            return Err(Failure::user("NOT_SUPPORTED", "MERGE INTO names a table"));
        };
        let table = self.iceberg_table(job, name)?;
        let alias_of = |alias: &Option<sqlast::TableAlias>, name: &sqlast::ObjectName| {
            alias.as_ref().map_or_else(|| last_ident(name), |a| a.name.value.clone())
        };
        let target_alias = alias_of(alias, name);
        let (source, source_alias) = match &merge.source {
            sqlast::TableFactor::Table { name, alias, .. } => (format!("SELECT * FROM {}", self.quoted(job, name)), alias_of(alias, name)),
            sqlast::TableFactor::Derived { subquery, alias: Some(alias), .. } => (subquery.to_string(), alias.name.value.clone()),
            _ => return Err(Failure::user("NOT_SUPPORTED", "MERGE USING a table or an aliased subquery")),
        };
        let on = merge.on.to_string();
        let quoted = self.quoted(job, name);
        let matched = format!("\"{source_alias}\".__athena_matched");
        let mut updates: Vec<(String, BTreeMap<String, String>)> = Vec::new();
        let mut deletes: Vec<String> = Vec::new();
        let mut inserts: Vec<String> = Vec::new();
        for clause in &merge.clauses {
            let when = clause.predicate.as_ref().map_or_else(|| "true".to_owned(), |p| format!("coalesce(({p}), false)"));
            match (&clause.clause_kind, &clause.action) {
                (sqlast::MergeClauseKind::Matched, sqlast::MergeAction::Update(u)) => {
                    let mut set = BTreeMap::new();
                    for a in &u.assignments {
                        let sqlast::AssignmentTarget::ColumnName(col) = &a.target else {
                            return Err(Failure::user("NOT_SUPPORTED", "UPDATE of a tuple of columns"));
                        };
                        set.insert(last_ident(col), a.value.to_string());
                    }
                    updates.push((when, set));
                }
                (sqlast::MergeClauseKind::Matched, sqlast::MergeAction::Delete { .. }) => deletes.push(when),
                (sqlast::MergeClauseKind::NotMatched | sqlast::MergeClauseKind::NotMatchedByTarget, sqlast::MergeAction::Insert(ins)) => {
                    let sqlast::MergeInsertKind::Values(values) = &ins.kind else {
                        return Err(Failure::user("NOT_SUPPORTED", "MERGE ... INSERT needs VALUES"));
                    };
                    let [row] = values.rows.as_slice() else {
                        return Err(Failure::user("NOT_SUPPORTED", "MERGE ... INSERT VALUES takes one row"));
                    };
                    let cols: Vec<String> = if ins.columns.is_empty() {
                        table.columns.iter().map(|c| c.name.clone()).collect()
                    } else {
                        ins.columns.iter().map(crate::engine::last_ident).collect()
                    };
                    let exprs: Vec<String> = table
                        .columns
                        .iter()
                        .map(|c| match cols.iter().position(|n| n == &c.name).and_then(|i| row.get(i)) {
                            Some(e) => format!("{e} AS \"{}\"", c.name),
                            None => format!("NULL AS \"{}\"", c.name),
                        })
                        .collect();
                    inserts.push(format!(
                        "SELECT {} FROM ({source}) AS \"{source_alias}\" WHERE {when} AND NOT EXISTS (SELECT 1 FROM {quoted} AS \"{target_alias}\" WHERE {on})",
                        exprs.join(", ")
                    ));
                }
                _ => return Err(Failure::user("NOT_SUPPORTED", "this MERGE clause is not supported by the local endpoint")),
            }
        }
        let columns: Vec<String> = table
            .columns
            .iter()
            .map(|c| {
                let mut e = format!("\"{target_alias}\".\"{}\"", c.name);
                for (when, set) in updates.iter().rev() {
                    if let Some(v) = set.get(&c.name) {
                        e = format!("CASE WHEN {matched} IS NOT NULL AND {when} THEN {v} ELSE {e} END");
                    }
                }
                format!("{e} AS \"{}\"", c.name)
            })
            .collect();
        let keep: Vec<String> = deletes.iter().map(|d| format!("NOT ({matched} IS NOT NULL AND {d})")).collect();
        let mut rows_sql = format!(
            "SELECT {} FROM {quoted} AS \"{target_alias}\" LEFT JOIN (SELECT *, true AS __athena_matched FROM ({source}) AS __athena_source) AS \"{source_alias}\" ON {on}{}",
            columns.join(", "),
            if keep.is_empty() { String::new() } else { format!(" WHERE {}", keep.join(" AND ")) }
        );
        for i in &inserts {
            rows_sql.push_str(" UNION ALL ");
            rows_sql.push_str(i);
        }
        let mut changed = 0;
        if !updates.is_empty() || !deletes.is_empty() {
            changed += self
                .count(job, &format!("SELECT count(*) FROM {quoted} AS \"{target_alias}\" JOIN ({source}) AS \"{source_alias}\" ON {on}"))
                .await?;
        }
        for i in &inserts {
            changed += self.count(job, &format!("SELECT count(*) FROM ({i}) AS __athena_inserted")).await?;
        }
        self.replace_rows(job, &table, &rows_sql, changed).await
    }

    /// The table of a row-level change: Iceberg tables only, as in Athena.
    fn iceberg_table(&self, job: &Job, name: &sqlast::ObjectName) -> Result<Table, Failure> {
        let table = self.lookup_table(job, name)?;
        if !table.is_iceberg() {
            return Err(Failure::user("NOT_SUPPORTED", "Modifying Hive table rows is only supported for transactional tables"));
        }
        Ok(table)
    }

    /// The value of a `SELECT count(*) ...`.
    async fn count(&self, job: &Job, sql: &str) -> Result<i64, Failure> {
        let statement = parse(sql).map_err(|e| Failure::user("SYNTAX_ERROR", e.to_string()))?;
        let planned = self.plan(job, statement).await?;
        let batches =
            datafusion::physical_plan::collect(planned.physical, planned.ctx.task_ctx()).await.map_err(|e| df_failure(&job.sql, e))?;
        batches
            .iter()
            .find(|b| b.num_rows() > 0)
            .and_then(|b| b.column(0).as_any().downcast_ref::<arrow::array::Int64Array>().map(|a| a.value(0)))
            .ok_or_else(|| Failure::system(format!("{sql} gave no count")))
    }

    fn quoted(&self, job: &Job, name: &sqlast::ObjectName) -> String {
        let db = schema_of(name).unwrap_or_else(|| job.database.clone());
        format!("\"{db}\".\"{}\"", last_ident(name))
    }

    /// Replaces an Iceberg table's files by the rows of `rows_sql`; UpdateCount is the number of
    /// rows matching `condition`.
    async fn rewrite_rows(&self, job: &Job, table: &Table, quoted: &str, condition: &str, rows_sql: &str) -> Result<Outcome, Failure> {
        let matched = self.count(job, &format!("SELECT count(*) FROM {quoted} WHERE coalesce(({condition}), false)")).await?;
        self.replace_rows(job, table, rows_sql, matched).await
    }

    /// Rewrites an Iceberg table's files as one file of the same rows (OPTIMIZE).
    pub(crate) async fn compact(&self, job: &Job, db: &str, table: &Table) -> Result<Outcome, Failure> {
        self.replace_rows(job, table, &format!("SELECT * FROM \"{db}\".\"{}\"", table.name), 0).await
    }

    /// Replaces an Iceberg table's files by the rows of `rows_sql`; UpdateCount `changed`.
    async fn replace_rows(&self, job: &Job, table: &Table, rows_sql: &str, changed: i64) -> Result<Outcome, Failure> {
        let statement = parse(rows_sql).map_err(|e| Failure::user("SYNTAX_ERROR", e.to_string()))?;
        let dir = self.catalog().data_dir(table);
        let old_files = data_files(&dir, true);
        let planned = self.plan(job, statement).await?;
        let mapping: Vec<Option<usize>> = (0..table.columns.len()).map(Some).collect();
        write_table_file(&planned, table, &mapping, dir, &self.tmp_dir(), job, self.seal_of(job)).await?;
        for f in old_files {
            std::fs::remove_file(f)?;
        }
        let mut outcome = self.row_count_outcome(job, changed as usize, &planned)?;
        outcome.update_count = Some(changed);
        Ok(outcome)
    }
}

fn single_table(t: Option<&sqlast::TableWithJoins>) -> Result<sqlast::ObjectName, Failure> {
    match t.map(|t| &t.relation) {
        Some(sqlast::TableFactor::Table { name, .. }) => Ok(name.clone()),
        _ => Err(Failure::user("NOT_SUPPORTED", "DELETE and UPDATE name one table")),
    }
}
