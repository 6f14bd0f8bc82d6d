//! DDL: databases, views and DROP (Trino statements), and the Hive DDL Athena runs outside
//! Trino (CREATE [EXTERNAL] TABLE, partitions, TBLPROPERTIES, MSCK REPAIR, VACUUM/OPTIMIZE).

use datafusion::sql::sqlparser::ast::{ObjectType, Statement};

use crate::catalog::files::{dir_has_files, discovered_partitions};
use crate::catalog::{Column, Partition, Table, WAREHOUSE_BUCKET, split_s3_uri};
use crate::engine::{last_ident, schema_of};
use crate::failure::Failure;
use crate::statements::hive::ast::{CreateTable, HiveStatement};
use crate::statements::{Executor, Job, Outcome};
use crate::types::{hive_to_field, hive_type};

impl Executor {
    /// The Trino DDL statements: CREATE DATABASE/SCHEMA/VIEW, DROP; others are NOT_SUPPORTED.
    pub(crate) async fn run_ddl(&self, job: &Job, statement: &Statement) -> Result<Outcome, Failure> {
        match statement {
            Statement::CreateDatabase { db_name, if_not_exists, .. } => {
                self.catalog().create_database(&last_ident(db_name), *if_not_exists)?;
                self.ddl_done(job)
            }
            Statement::CreateSchema { schema_name, if_not_exists, .. } => {
                self.catalog().create_database(&schema_name.to_string(), *if_not_exists)?;
                self.ddl_done(job)
            }
            Statement::CreateView(view) => {
                // The view keeps its text as written (SHOW CREATE VIEW formats it).
                let query_sql = view_body(&job.sql).unwrap_or_else(|| view.query.to_string());
                let table = Table { view_sql: Some(query_sql), ..Table::new(&last_ident(&view.name), vec![], String::new()) };
                // Plan it once, in its own database, so that a broken view fails at creation, as
                // in Athena.
                let mut table = table;
                let db = schema_of(&view.name).unwrap_or_else(|| job.database.clone());
                let ctx = self.engine.session(&db);
                let df = ctx.sql(&view.query.to_string()).await.map_err(|e| crate::engine::errors::df_failure(&job.sql, e))?;
                table.columns = df.schema().fields().iter().map(|f| Column::new(f.name(), &hive_type(f))).collect();
                if view.or_replace {
                    let _ = self.catalog().drop_table(&db, &table.name, true);
                }
                self.catalog().create_table(&db, table, false)?;
                self.ddl_done(job)
            }
            Statement::Drop { object_type, if_exists, names, .. } => {
                for name in names {
                    match object_type {
                        ObjectType::Schema | ObjectType::Database => self.catalog().drop_database(&name.to_string(), *if_exists)?,
                        _ => {
                            let db = schema_of(name).unwrap_or_else(|| job.database.clone());
                            let table = self.catalog().table(&db, &last_ident(name)).ok();
                            self.catalog().drop_table(&db, &last_ident(name), *if_exists)?;
                            // An Iceberg table's data, and that of a table the endpoint placed in
                            // its warehouse, go with it; an external table's files stay.
                            if let Some(t) = table.filter(|t| {
                                !t.is_view() && (t.is_iceberg() || t.location.starts_with(&format!("s3://{WAREHOUSE_BUCKET}/")))
                            }) {
                                let _ = std::fs::remove_dir_all(self.catalog().data_dir(&t));
                            }
                        }
                    }
                }
                self.ddl_done(job)
            }
            // The forms Athena runs are Hive DDL (statements::hive); what reaches here is not one.
            Statement::AlterTable(_) => Err(Failure::user(
                "NOT_SUPPORTED",
                "this ALTER TABLE form is not supported: Athena takes ADD/DROP PARTITION, ADD/REPLACE COLUMNS, CHANGE COLUMN, SET LOCATION, SET TBLPROPERTIES, and RENAME TO and DROP COLUMN of Iceberg tables",
            )),
            other => Err(Failure::user(
                "NOT_SUPPORTED",
                format!(
                    "statement not supported by the local endpoint: {}",
                    crate::statements::classify::classify(other).substatement_type
                ),
            )),
        }
    }

    /// `[db, table]` or `[table]` -> the database and the table, or TABLE_NOT_FOUND.
    pub(crate) fn hive_table(&self, job: &Job, parts: &[String]) -> Result<(String, Table), Failure> {
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
                self.catalog().update_table(&db, t)?;
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
                self.catalog().update_table(&db, t)?;
                self.ddl_done(job)
            }
            // OPTIMIZE rewrites an Iceberg table's files as one; VACUUM expires old snapshots and
            // orphan files, of which this endpoint keeps none (a row change replaces the files).
            HiveStatement::Maintenance { table, optimize } => {
                let (db, t) = self.hive_table(job, table)?;
                if !t.is_iceberg() {
                    return Err(Failure::user("NOT_SUPPORTED", format!("'{db}.{}' is not an Iceberg table", t.name)));
                }
                if *optimize {
                    self.compact(job, &db, &t).await?;
                }
                self.ddl_done(job)
            }
            HiveStatement::SetProperties { table, properties } => {
                let (db, mut t) = self.hive_table(job, table)?;
                t.properties.extend(properties.clone());
                self.catalog().update_table(&db, t)?;
                self.ddl_done(job)
            }
            HiveStatement::AddColumns { table, columns, replace } => {
                let (db, mut t) = self.hive_table(job, table)?;
                not_a_view(&t)?;
                for c in columns {
                    hive_to_field(&c.name, &c.type_name).map_err(|e| Failure::user("NOT_SUPPORTED", e.to_string()))?;
                }
                if *replace {
                    if t.is_iceberg() {
                        return Err(Failure::user(
                            "NOT_SUPPORTED",
                            "REPLACE COLUMNS is not supported for Iceberg tables: use ADD COLUMNS, DROP COLUMN or CHANGE COLUMN",
                        ));
                    }
                    t.columns.clear();
                }
                for c in columns {
                    if t.columns.iter().chain(&t.partition_keys).any(|k| k.name.eq_ignore_ascii_case(&c.name)) {
                        return Err(Failure::user("ALREADY_EXISTS", format!("Column '{}' already exists", c.name)));
                    }
                    t.columns.push(Column { name: c.name.to_ascii_lowercase(), ..c.clone() });
                }
                self.catalog().update_table(&db, t)?;
                self.ddl_done(job)
            }
            HiveStatement::ChangeColumn { table, old, new } => {
                let (db, mut t) = self.hive_table(job, table)?;
                not_a_view(&t)?;
                hive_to_field(&new.name, &new.type_name).map_err(|e| Failure::user("NOT_SUPPORTED", e.to_string()))?;
                let Some(at) = t.columns.iter().position(|c| c.name.eq_ignore_ascii_case(old)) else {
                    return Err(Failure::user("COLUMN_NOT_FOUND", format!("Column '{old}' does not exist")));
                };
                if !new.name.eq_ignore_ascii_case(old)
                    && t.columns.iter().chain(&t.partition_keys).any(|k| k.name.eq_ignore_ascii_case(&new.name))
                {
                    return Err(Failure::user("ALREADY_EXISTS", format!("Column '{}' already exists", new.name)));
                }
                t.columns[at] = Column { name: new.name.to_ascii_lowercase(), ..new.clone() };
                self.catalog().update_table(&db, t)?;
                self.ddl_done(job)
            }
            HiveStatement::SetLocation { table, location } => {
                let (db, mut t) = self.hive_table(job, table)?;
                not_a_view(&t)?;
                if t.is_iceberg() {
                    return Err(Failure::user("NOT_SUPPORTED", "SET LOCATION is not supported for Iceberg tables"));
                }
                if split_s3_uri(location).is_none() {
                    return Err(Failure::user("INVALID_INPUT", format!("LOCATION must be an s3://bucket/prefix/ location: {location}")));
                }
                t.location = location.clone();
                self.catalog().update_table(&db, t)?;
                self.ddl_done(job)
            }
            HiveStatement::Rename { table, to } => {
                let (db, t) = self.hive_table(job, table)?;
                if !t.is_iceberg() {
                    return Err(Failure::user(
                        "NOT_SUPPORTED",
                        format!(
                            "ALTER TABLE RENAME TO is not supported for Hive table '{db}.{}': Athena renames only Iceberg tables (CREATE TABLE AS SELECT a copy under the new name)",
                            t.name
                        ),
                    ));
                }
                let (new_db, new_name) = db_and_name(job, to);
                let renamed = Table { name: new_name, ..t.clone() };
                self.catalog().create_table(&new_db, renamed, false)?;
                self.catalog().drop_table(&db, &t.name, false)?;
                self.ddl_done(job)
            }
            HiveStatement::DropColumn { table, column } => {
                let (db, mut t) = self.hive_table(job, table)?;
                if !t.is_iceberg() {
                    return Err(Failure::user(
                        "NOT_SUPPORTED",
                        format!(
                            "DROP COLUMN is not supported for Hive table '{db}.{}': use REPLACE COLUMNS with the columns to keep",
                            t.name
                        ),
                    ));
                }
                let before = t.columns.len();
                t.columns.retain(|c| !c.name.eq_ignore_ascii_case(column));
                if t.columns.len() == before {
                    return Err(Failure::user("COLUMN_NOT_FOUND", format!("Column '{column}' does not exist")));
                }
                self.catalog().update_table(&db, t)?;
                self.ddl_done(job)
            }
            HiveStatement::MsckRepair { table } => {
                let (db, mut t) = self.hive_table(job, table)?;
                let mut lines = Vec::new();
                for (values, dir) in discovered_partitions(&t, &self.catalog().data_dir(&t)) {
                    if t.partitions.iter().any(|p| p.values == values) || !dir_has_files(&dir) {
                        continue;
                    }
                    lines.push(format!("Repair: Added partition to metastore {}:{}", t.name, t.partition_name(&values)));
                    t.partitions.push(Partition { location: t.partition_location(&values), values });
                }
                self.catalog().update_table(&db, t)?;
                let mut outcome = self.write_txt(job, &lines)?;
                outcome.api_rows = Some(self.write_api_rows(job, None, &[])?);
                Ok(outcome)
            }
            HiveStatement::ShowPartitions { .. } | HiveStatement::ShowCreate { .. } | HiveStatement::ShowTblProperties { .. } => {
                self.run_hive_show(job, statement)
            }
        }
    }

    fn create_hive_table(&self, job: &Job, ct: &CreateTable) -> Result<Outcome, Failure> {
        let (db, name) = db_and_name(job, &ct.name);
        for c in ct.columns.iter().chain(&ct.partition_keys) {
            hive_to_field(&c.name, &c.type_name).map_err(|e| Failure::user("NOT_SUPPORTED", e.to_string()))?;
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
        self.catalog().create_table(&db, table, ct.if_not_exists)?;
        self.ddl_done(job)
    }
}

/// Views take no column or location changes.
fn not_a_view(t: &Table) -> Result<(), Failure> {
    match t.is_view() {
        true => Err(Failure::user("NOT_SUPPORTED", format!("'{}' is a view: recreate it with CREATE OR REPLACE VIEW", t.name))),
        false => Ok(()),
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

/// The query of `CREATE [OR REPLACE] VIEW name AS <query>` as written.
fn view_body(sql: &str) -> Option<String> {
    let tokens_end = |s: &str| s.trim().trim_end_matches(';').trim().to_owned();
    let lower = sql.to_ascii_lowercase();
    let at = lower.find("view")?;
    // The first ` AS ` (any whitespace around it) after the view's name, outside quotes.
    let b = sql.as_bytes();
    let mut i = at + 4;
    let mut quote: Option<u8> = None;
    while i + 2 < b.len() {
        match quote {
            Some(q) if b[i] == q => quote = None,
            Some(_) => {}
            None if matches!(b[i], b'"' | b'`' | b'\'') => quote = Some(b[i]),
            None if b[i].is_ascii_whitespace()
                && lower[i + 1..].starts_with("as")
                && b.get(i + 3).is_some_and(|c| c.is_ascii_whitespace() || *c == b'(') =>
            {
                return Some(tokens_end(&sql[i + 3..]));
            }
            None => {}
        }
        i += 1;
    }
    None
}
