//! Hive DDL against the catalog (CREATE EXTERNAL TABLE, partitions, SHOW CREATE TABLE, ...),
//! row-level DELETE and UPDATE of Iceberg tables, and the tables whose files are Hive text.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::catalog::TableProvider;
use datafusion::sql::sqlparser::ast as sqlast;

use crate::catalog::{Catalog, Partition, Table, WAREHOUSE_BUCKET, split_s3_uri};
use crate::engine::{CATALOG, Engine, Failure, Job, Outcome, catalog_failure, df_failure, pad20, write_table_file};
use crate::hive::{CreateTable, FileKind, HiveStatement};

impl Engine {
    /// `[db, table]` or `[table]` -> the database and the table, or TABLE_NOT_FOUND.
    fn hive_table(&self, job: &Job, parts: &[String]) -> Result<(String, Table), Failure> {
        let (db, name) = db_and_name(job, parts);
        let t = self.find_table(job, &db, &name)?;
        Ok((db, t))
    }

    pub(crate) async fn run_hive(&self, job: &Job, statement: &HiveStatement) -> Result<Outcome, Failure> {
        match statement {
            HiveStatement::CreateTable(ct) => self.create_hive_table(job, ct),
            HiveStatement::AddPartitions { table, if_not_exists, partitions } => {
                let (db, mut t) = self.hive_table(job, table)?;
                for (spec, location) in partitions {
                    let values = partition_values(&t, spec)?;
                    if t.partitions.iter().any(|p| p.values == values) {
                        if *if_not_exists {
                            continue;
                        }
                        return Err(Failure::user("ALREADY_EXISTS", format!("Partition already exists: {}", t.partition_name(&values))));
                    }
                    let location = match location {
                        Some(l) if split_s3_uri(l).is_none() => {
                            return Err(Failure::user("INVALID_INPUT", format!("LOCATION must be an s3://bucket/prefix/ location: {l}")));
                        }
                        Some(l) => l.clone(),
                        None => t.partition_location(&values),
                    };
                    t.partitions.push(Partition { values, location });
                }
                self.catalog().update_table(&db, t).map_err(catalog_failure)?;
                self.ddl_done(job)
            }
            HiveStatement::DropPartitions { table, if_exists, partitions } => {
                let (db, mut t) = self.hive_table(job, table)?;
                for spec in partitions {
                    let values = partition_values(&t, spec)?;
                    let before = t.partitions.len();
                    t.partitions.retain(|p| p.values != values);
                    if before == t.partitions.len() && !*if_exists {
                        return Err(Failure::user("PARTITION_NOT_FOUND", format!("Partition not found: {}", t.partition_name(&values))));
                    }
                }
                self.catalog().update_table(&db, t).map_err(catalog_failure)?;
                self.ddl_done(job)
            }
            // VACUUM and OPTIMIZE compact an Iceberg table's files: nothing to do here.
            HiveStatement::Maintenance { table } => {
                let (db, t) = self.hive_table(job, table)?;
                if !t.is_iceberg() {
                    return Err(Failure::user("NOT_SUPPORTED", format!("'{db}.{}' is not an Iceberg table", t.name)));
                }
                self.ddl_done(job)
            }
            HiveStatement::SetProperties { table, properties } => {
                let (db, mut t) = self.hive_table(job, table)?;
                t.properties.extend(properties.clone());
                self.catalog().update_table(&db, t).map_err(catalog_failure)?;
                self.ddl_done(job)
            }
            HiveStatement::MsckRepair { table } => {
                let (db, mut t) = self.hive_table(job, table)?;
                let mut lines = Vec::new();
                for (values, dir) in discovered_partitions(&t, &self.catalog().data_dir(&t)) {
                    if t.partitions.iter().any(|p| p.values == values) || !crate::catalog::dir_has_files(&dir) {
                        continue;
                    }
                    lines.push(format!("Repair: Added partition to metastore {}:{}", t.name, t.partition_name(&values)));
                    t.partitions.push(Partition { location: t.partition_location(&values), values });
                }
                self.catalog().update_table(&db, t).map_err(catalog_failure)?;
                let mut outcome = self.write_txt(job, &lines)?;
                outcome.api_rows = Some(self.write_api_rows(job, None, &[])?);
                Ok(outcome)
            }
            HiveStatement::ShowPartitions { table } => {
                let (_, t) = self.hive_table(job, table)?;
                if t.partition_keys.is_empty() {
                    return Err(Failure::user("NOT_SUPPORTED", format!("Table {} is not partitioned", t.name)));
                }
                let mut names: Vec<String> = t.partitions.iter().map(|p| t.partition_name(&p.values)).collect();
                for (values, dir) in discovered_partitions(&t, &self.catalog().data_dir(&t)) {
                    if crate::catalog::dir_has_files(&dir) {
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
                        lines.extend(crate::hive::format_view_query(sql));
                        lines
                    }
                    (None, false) => crate::hive::show_create_table(&db, &t),
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
                let props = table_properties(&t);
                match key {
                    Some(k) => {
                        let value = props.get(k).cloned().unwrap_or_else(|| format!("Table {} does not have property: {k}", t.name));
                        self.utility(job, &["prpt_value"], vec![vec![value]])
                    }
                    None => self.utility(job, &["prpt_name", "prpt_value"], props.into_iter().map(|(k, v)| vec![k, v]).collect()),
                }
            }
        }
    }

    fn create_hive_table(&self, job: &Job, ct: &CreateTable) -> Result<Outcome, Failure> {
        let (db, name) = db_and_name(job, &ct.name);
        for c in ct.columns.iter().chain(&ct.partition_keys) {
            crate::types::hive_to_field(&c.name, &c.type_name).map_err(|e| Failure::user("NOT_SUPPORTED", e.to_string()))?;
        }
        let location = match &ct.location {
            Some(l) if split_s3_uri(l).is_none() => {
                return Err(Failure::user("INVALID_INPUT", format!("LOCATION must be an s3://bucket/prefix/ location: {l}")));
            }
            Some(l) => l.clone(),
            None => format!("s3://{WAREHOUSE_BUCKET}/tables/{}/", job.id),
        };
        let table = Table {
            partition_keys: ct.partition_keys.clone(),
            comment: ct.comment.clone(),
            storage: Some(ct.storage.clone()),
            properties: ct.properties.clone(),
            ..Table::new(&name, ct.columns.clone(), location)
        };
        self.catalog().create_table(&db, table, ct.if_not_exists).map_err(catalog_failure)?;
        self.ddl_done(job)
    }

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
            let col = crate::engine::last_ident(col);
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
            alias.as_ref().map_or_else(|| crate::engine::last_ident(name), |a| a.name.value.clone())
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
                        set.insert(crate::engine::last_ident(col), a.value.to_string());
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
        let statement = crate::sql::parse(sql).map_err(|e| Failure::user("SYNTAX_ERROR", e.to_string()))?;
        let (ctx, physical, _) = self.plan(job, statement).await?;
        let batches = datafusion::physical_plan::collect(physical, ctx.task_ctx()).await.map_err(|e| df_failure(&job.sql, e))?;
        batches
            .iter()
            .find(|b| b.num_rows() > 0)
            .and_then(|b| b.column(0).as_any().downcast_ref::<arrow::array::Int64Array>().map(|a| a.value(0)))
            .ok_or_else(|| Failure::system(format!("{sql} gave no count")))
    }

    fn quoted(&self, job: &Job, name: &sqlast::ObjectName) -> String {
        let db = crate::engine::schema_of(name).unwrap_or_else(|| job.database.clone());
        format!("\"{db}\".\"{}\"", crate::engine::last_ident(name))
    }

    /// Replaces an Iceberg table's files by the rows of `rows_sql`; UpdateCount is the number of
    /// rows matching `condition`.
    async fn rewrite_rows(&self, job: &Job, table: &Table, quoted: &str, condition: &str, rows_sql: &str) -> Result<Outcome, Failure> {
        let matched = self.count(job, &format!("SELECT count(*) FROM {quoted} WHERE coalesce(({condition}), false)")).await?;
        self.replace_rows(job, table, rows_sql, matched).await
    }

    /// Replaces an Iceberg table's files by the rows of `rows_sql`; UpdateCount `changed`.
    async fn replace_rows(&self, job: &Job, table: &Table, rows_sql: &str, changed: i64) -> Result<Outcome, Failure> {
        let statement = crate::sql::parse(rows_sql).map_err(|e| Failure::user("SYNTAX_ERROR", e.to_string()))?;
        let dir = self.catalog().data_dir(table);
        let old_files = data_files(&dir, true);
        let (ctx, physical, _) = self.plan(job, statement).await?;
        let mapping: Vec<Option<usize>> = (0..table.columns.len()).map(Some).collect();
        write_table_file(&ctx, physical.clone(), table, &mapping, dir, &self.tmp_dir(), &job.id, &job.sql).await?;
        for f in old_files {
            std::fs::remove_file(f)?;
        }
        let mut outcome = self.row_count_outcome(job, changed as usize, &ctx, physical.as_ref())?;
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

/// `[catalog.]db.table` or `table` -> (database, table).
fn db_and_name(job: &Job, parts: &[String]) -> (String, String) {
    match parts {
        [.., db, name] => (db.clone(), name.clone()),
        [name] => (job.database.clone(), name.clone()),
        [] => (job.database.clone(), String::new()),
    }
}

/// A partition spec's values in partition-key order.
fn partition_values(t: &Table, spec: &[(String, String)]) -> Result<Vec<String>, Failure> {
    if spec.len() != t.partition_keys.len() {
        return Err(Failure::user(
            "INVALID_INPUT",
            format!(
                "Partition spec must name each partition column of {}: {:?}",
                t.name,
                t.partition_keys.iter().map(|k| &k.name).collect::<Vec<_>>()
            ),
        ));
    }
    t.partition_keys
        .iter()
        .map(|k| {
            spec.iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(&k.name))
                .map(|(_, v)| v.clone())
                .ok_or_else(|| Failure::user("INVALID_INPUT", format!("Partition column {} missing from the partition spec", k.name)))
        })
        .collect()
}

/// `k=v/k2=v2/` folders under a table's data dir, in partition-key order.
pub fn discovered_partitions(t: &Table, dir: &Path) -> Vec<(Vec<String>, PathBuf)> {
    let mut found = vec![(Vec::new(), dir.to_path_buf())];
    for key in &t.partition_keys {
        let mut next = Vec::new();
        for (values, d) in found {
            let Ok(entries) = std::fs::read_dir(&d) else { continue };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if let Some((k, v)) = name.split_once('=')
                    && k.eq_ignore_ascii_case(&key.name)
                    && e.path().is_dir()
                {
                    let mut values = values.clone();
                    values.push(percent_encoding::percent_decode_str(v).decode_utf8_lossy().into_owned());
                    next.push((values, e.path()));
                }
            }
        }
        found = next;
    }
    if t.partition_keys.is_empty() { vec![] } else { found }
}

/// Data files in `dir` (and its sub-folders when `recursive`), sorted; Hive skips names
/// starting with `_` or `.`.
pub fn data_files(dir: &Path, recursive: bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(['_', '.']) {
            continue;
        }
        let p = e.path();
        if !p.is_dir() {
            out.push(p);
        } else if recursive {
            out.extend(data_files(&p, true));
        }
    }
    out.sort();
    out
}

/// TBLPROPERTIES as Athena shows them: the user's, with `EXTERNAL` and the DDL time.
pub fn table_properties(t: &Table) -> BTreeMap<String, String> {
    let mut props = t.properties.clone();
    props.entry("EXTERNAL".into()).or_insert_with(|| "TRUE".into());
    props.entry("transient_lastDdlTime".into()).or_insert_with(|| format!("{}", t.create_time as i64));
    props
}

/// A table stored as Hive text (LazySimpleSerDe, OpenCSVSerde, JSON): its files read and
/// decoded when a query names it, partition columns from `k=v` folders and registered
/// partitions. Returns the table and the bytes of the files read.
pub fn text_table(catalog: &Catalog, table: &Table) -> Result<(Arc<dyn TableProvider>, u64), Failure> {
    let storage = table.storage();
    if storage.reader() == FileKind::Unsupported {
        return Err(Failure::user(
            "HIVE_UNSUPPORTED_FORMAT",
            format!("Unable to read table {} with SerDe {} on the local endpoint", table.name, storage.serde),
        ));
    }
    let format = crate::hivetext::TextFormat::new(&storage, &table.properties);
    let schema_error = |e: crate::types::UnknownType| Failure::system(e.to_string());
    let data_schema = table.data_schema().map_err(schema_error)?;
    let schema = table.insert_schema().map_err(schema_error)?;
    let dir = catalog.data_dir(table);
    // (partition values, folder): the table's own folder (recursively), or each partition's.
    let mut sources: Vec<(Vec<String>, PathBuf)> = Vec::new();
    if table.partition_keys.is_empty() {
        sources.push((vec![], dir));
    } else {
        sources.extend(discovered_partitions(table, &dir));
        for p in &table.partitions {
            if let Some(path) = crate::catalog::s3_to_path(catalog.layout(), &p.location)
                && !sources.iter().any(|(v, _)| v == &p.values)
            {
                sources.push((p.values.clone(), path));
            }
        }
    }
    let mut batches = Vec::new();
    let mut read = 0u64;
    for (values, folder) in sources {
        for file in data_files(&folder, table.partition_keys.is_empty()) {
            let bytes = std::fs::read(&file)?;
            read += bytes.len() as u64;
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let text = crate::hivetext::file_text(&name, &bytes).map_err(|e| Failure::user("HIVE_CURSOR_ERROR", e.to_string()))?;
            let batch = crate::hivetext::decode(&text, &data_schema, &format).map_err(|e| Failure::user("HIVE_BAD_DATA", e.to_string()))?;
            let mut columns = batch.columns().to_vec();
            for (field, v) in schema.fields()[data_schema.fields().len()..].iter().zip(&values) {
                // Hive's folder for NULL partition values.
                columns.push(if v == "__HIVE_DEFAULT_PARTITION__" {
                    arrow::array::new_null_array(field.data_type(), batch.num_rows())
                } else {
                    let text = arrow::array::StringArray::from(vec![v.as_str(); batch.num_rows()]);
                    arrow::compute::cast(&text, field.data_type())
                        .map_err(|e| Failure::user("HIVE_INVALID_PARTITION_VALUE", e.to_string()))?
                });
            }
            let options = arrow::array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
            batches.push(
                arrow::array::RecordBatch::try_new_with_options(schema.clone(), columns, &options)
                    .map_err(|e| Failure::system(e.to_string()))?,
            );
        }
    }
    let mem = datafusion::datasource::MemTable::try_new(schema, vec![batches]).map_err(|e| Failure::system(e.to_string()))?;
    Ok((Arc::new(mem), read))
}

/// `CREATE TABLE t WITH (k = v, ...) AS SELECT`: the Trino table properties, lower-case keys.
pub fn ctas_options(ct: &sqlast::CreateTable) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let sqlast::CreateTableOptions::With(options) = &ct.table_options {
        for o in options {
            if let sqlast::SqlOption::KeyValue { key, value } = o {
                let v = match value {
                    sqlast::Expr::Value(v) => match &v.value {
                        sqlast::Value::SingleQuotedString(s) => s.clone(),
                        other => other.to_string(),
                    },
                    other => other.to_string(),
                };
                out.insert(key.value.to_ascii_lowercase(), v);
            }
        }
    }
    out
}

/// Hive DESCRIBE rows: columns, then the partition section when the table has one.
pub fn describe_rows(t: &Table) -> Vec<Vec<String>> {
    let row = |c: &crate::catalog::Column| vec![pad20(&c.name), pad20(&c.type_name), pad20(c.comment.as_deref().unwrap_or(""))];
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
