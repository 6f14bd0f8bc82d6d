//! CREATE TABLE AS SELECT and INSERT INTO: a query's rows written as new files of a table, in
//! the table's own format (partitioned tables: one file per `k=v/` folder).

use std::collections::BTreeMap;
use std::path::PathBuf;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::error::DataFusionError;
use datafusion::physical_plan::execute_stream;
use datafusion::sql::sqlparser::ast::{self as sqlast, Statement};
use futures::StreamExt;

use crate::catalog::files::dir_has_files;
use crate::catalog::{CATALOG, Column, Partition, Table, WAREHOUSE_BUCKET, s3_to_path, split_s3_uri};
use crate::engine::errors::df_failure;
use crate::engine::{Planned, last_ident, schema_of};
use crate::failure::{Failure, locate};
use crate::formats::storage::Storage;
use crate::formats::table_files::TableFileSink;
use crate::formats::value_text::write_value;
use crate::statements::{Executor, Job, Outcome};
use crate::types::hive_type;

impl Executor {
    pub(crate) async fn run_insert(&self, job: &Job, insert: &sqlast::Insert) -> Result<Outcome, Failure> {
        let name = match &insert.table {
            sqlast::TableObject::TableName(n) => n.clone(),
            other => {
                return Err(Failure::user("NOT_SUPPORTED", format!("INSERT INTO {other}")));
            }
        };
        let table = self.lookup_table(job, &name)?;
        let Some(source) = &insert.source else {
            return Err(Failure::user("INVALID_INPUT", "INSERT without rows"));
        };
        let planned = self.plan(job, Statement::Query(source.clone())).await?;
        let schema = &planned.schema;
        // The table's columns, partition columns last, as INSERT takes them.
        let target = table.insert_schema().map_err(|e| Failure::system(e.to_string()))?;
        // INSERT INTO t (b, a): the query's columns go to the named ones, the rest are NULL.
        let mapping: Vec<Option<usize>> = if insert.columns.is_empty() {
            (0..target.fields().len()).map(Some).collect()
        } else {
            let named: Vec<String> = insert.columns.iter().map(last_ident).collect();
            for n in &named {
                if target.index_of(n).is_err() {
                    let (l, c) = locate(&job.sql, n);
                    return Err(Failure::user(
                        "COLUMN_NOT_FOUND",
                        format!("line {l}:{c}: Insert column name does not exist in target table: {n}"),
                    ));
                }
            }
            target.fields().iter().map(|f| named.iter().position(|n| n == &f.name().to_ascii_lowercase())).collect()
        };
        let expected = mapping.iter().flatten().count();
        if schema.fields().len() != expected {
            return Err(Failure::user(
                "TYPE_MISMATCH",
                format!("Insert query has mismatched column types: Table: {expected} columns, Query: {} columns", schema.fields().len()),
            ));
        }
        let rows = if table.partition_keys.is_empty() {
            write_table_file(&planned, &table, &mapping, self.catalog().data_dir(&table), &self.tmp_dir(), job, self.seal_of(job)).await?
        } else {
            let db = schema_of(&name).unwrap_or_else(|| job.database.clone());
            self.insert_partitioned(job, &db, &planned, table, &target, &mapping).await?
        };
        self.row_count_outcome(job, rows, &planned)
    }

    /// INSERT into a partitioned table: the rows of each partition into a new file of its
    /// `k=v/` folder, partitions registered as they appear.
    #[allow(clippy::too_many_arguments)]
    async fn insert_partitioned(
        &self,
        job: &Job,
        db: &str,
        planned: &Planned,
        mut table: Table,
        target: &SchemaRef,
        mapping: &[Option<usize>],
    ) -> Result<usize, Failure> {
        let data = table.data_schema().map_err(|e| Failure::system(e.to_string()))?;
        let n_data = data.fields().len();
        let mut groups: std::collections::BTreeMap<Vec<String>, Vec<RecordBatch>> = std::collections::BTreeMap::new();
        let mut stream = execute_stream(planned.physical.clone(), planned.ctx.task_ctx()).map_err(|e| df_failure(&job.sql, e))?;
        while let Some(batch) = stream.next().await {
            let batch = conform(&batch.map_err(|e| df_failure(&job.sql, e))?, target, mapping).map_err(|e| df_failure(&job.sql, e))?;
            let mut rows_of: std::collections::BTreeMap<Vec<String>, Vec<u32>> = std::collections::BTreeMap::new();
            for row in 0..batch.num_rows() {
                let values = (n_data..batch.num_columns())
                    .map(|c| {
                        let col = batch.column(c);
                        let mut v = String::new();
                        if col.is_null(row) {
                            v.push_str("__HIVE_DEFAULT_PARTITION__");
                        } else {
                            write_value(&mut v, col.as_ref(), row);
                        }
                        v
                    })
                    .collect();
                rows_of.entry(values).or_default().push(row as u32);
            }
            for (values, rows) in rows_of {
                let idx = arrow::array::UInt32Array::from(rows);
                let columns = batch.columns()[..n_data]
                    .iter()
                    .map(|c| arrow::compute::take(c.as_ref(), &idx, None))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| Failure::system(e.to_string()))?;
                let options = arrow::array::RecordBatchOptions::new().with_row_count(Some(idx.len()));
                let part =
                    RecordBatch::try_new_with_options(data.clone(), columns, &options).map_err(|e| Failure::system(e.to_string()))?;
                groups.entry(values).or_default().push(part);
            }
        }
        let mut total = 0;
        for (values, batches) in groups {
            let location = match table.partitions.iter().find(|p| p.values == values) {
                Some(p) => p.location.clone(),
                None => {
                    let location = table.partition_location(&values);
                    table.partitions.push(Partition { values: values.clone(), location: location.clone() });
                    location
                }
            };
            let dir = s3_to_path(&self.layout, &location)
                .ok_or_else(|| Failure::user("INVALID_INPUT", format!("partition location {location} is not an s3:// location")))?;
            std::fs::create_dir_all(&dir)?;
            let seal = self.seal_of(job);
            let mut sink = TableFileSink::new(&table.storage(), &table.properties, data.clone(), &dir, &self.tmp_dir(), &job.id, seal)?;
            for b in &batches {
                sink.write(b)?;
            }
            total += sink.finish()?;
        }
        self.catalog().update_table(db, table)?;
        Ok(total)
    }

    pub(crate) async fn run_create_table(&self, job: &Job, ct: &sqlast::CreateTable) -> Result<Outcome, Failure> {
        let db = schema_of(&ct.name).unwrap_or_else(|| job.database.clone());
        let name = last_ident(&ct.name);
        let comment = match &ct.comment {
            Some(sqlast::CommentDef::WithEq(c) | sqlast::CommentDef::WithoutEq(c)) => Some(c.clone()),
            _ => None,
        };
        let location = ct.location.clone().unwrap_or_default();
        if !location.is_empty() && split_s3_uri(&location).is_none() {
            return Err(Failure::user("INVALID_INPUT", format!("LOCATION must be an s3://bucket/prefix/ location: {location}")));
        }
        // CREATE TABLE without AS SELECT is Hive DDL (crate::hive); what reaches here is not.
        let Some(query) = &ct.query else {
            return Err(Failure::user(
                "NOT_SUPPORTED",
                "CREATE TABLE takes Hive's form: CREATE [EXTERNAL] TABLE [IF NOT EXISTS] name (columns) ...",
            ));
        };
        if self.catalog().table(&db, &name).is_ok() {
            if ct.if_not_exists {
                return self.ddl_done(job);
            }
            return Err(Failure::user("ALREADY_EXISTS", format!("Table '{CATALOG}.{db}.{name}' already exists")));
        }
        let planned = self.plan(job, Statement::Query(query.clone())).await?;
        let schema = &planned.schema;
        let columns: Vec<Column> = schema.fields().iter().map(|f| Column::new(f.name(), &hive_type(f))).collect();
        // CTAS: `WITH (external_location = '...', format = 'PARQUET' | 'TEXTFILE')`; without a
        // location, a new folder per query (Athena: `<results>/tables/<query id>/`), so a table
        // created again never reads an earlier one's files.
        let options = ctas_options(ct);
        let location = match options.get("external_location").or(options.get("location")) {
            Some(l) if split_s3_uri(l).is_none() => {
                return Err(Failure::user("INVALID_INPUT", format!("external_location must be an s3://bucket/prefix/ location: {l}")));
            }
            Some(l) => l.clone(),
            None if location.is_empty() => format!("s3://{WAREHOUSE_BUCKET}/tables/{}/", job.id),
            None => location,
        };
        if let Some(dir) = s3_to_path(&self.layout, &location)
            && dir_has_files(&dir)
        {
            return Err(Failure::user(
                "HIVE_PATH_ALREADY_EXISTS",
                format!("Target directory for table '{db}.{name}' already exists: {location}"),
            ));
        }
        let storage = match options.get("format").map(|f| f.to_ascii_uppercase()) {
            None => None,
            Some(f) if f == "PARQUET" => None,
            Some(f) if f == "TEXTFILE" => Some(Storage::text()),
            Some(f) => {
                return Err(Failure::user(
                    "NOT_SUPPORTED",
                    format!("CTAS format {f} is not supported by the local endpoint (PARQUET, TEXTFILE)"),
                ));
            }
        };
        let mut table = Table { comment, storage, ..Table::new(&name, columns, location) };
        if let Some(t) = options.get("table_type") {
            table.properties.insert("table_type".into(), t.to_ascii_uppercase());
        }
        self.catalog().create_table(&db, table.clone(), false)?;
        let table = self.catalog().table(&db, &name)?;
        let target = table.data_schema().map_err(|e| Failure::system(e.to_string()))?;
        let dir = self.catalog().data_dir(&table);
        let mapping: Vec<Option<usize>> = (0..target.fields().len()).map(Some).collect();
        let rows = match write_table_file(&planned, &table, &mapping, dir, &self.tmp_dir(), job, self.seal_of(job)).await {
            Ok(rows) => rows,
            Err(e) => {
                let _ = self.catalog().drop_table(&db, &name, true);
                return Err(e);
            }
        };
        self.row_count_outcome(job, rows, &planned)
    }
}

/// Writes a plan's output as one new file of the table (Parquet, or its text format) in `dir`;
/// returns the row count.
pub(crate) async fn write_table_file(
    planned: &Planned,
    table: &Table,
    mapping: &[Option<usize>],
    dir: PathBuf,
    tmp_dir: &std::path::Path,
    job: &Job,
    seal: Option<(&crate::formats::objects::ObjectLayout, &crate::formats::envelope::Seal)>,
) -> Result<usize, Failure> {
    let sql = &job.sql;
    let target = table.data_schema().map_err(|e| Failure::system(e.to_string()))?;
    let mut sink = TableFileSink::new(&table.storage(), &table.properties, target.clone(), &dir, tmp_dir, &job.id, seal)?;
    let mut stream = execute_stream(planned.physical.clone(), planned.ctx.task_ctx()).map_err(|e| df_failure(sql, e))?;
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| df_failure(sql, e))?;
        sink.write(&conform(&batch, &target, mapping).map_err(|e| df_failure(sql, e))?)?;
    }
    sink.finish()
}

/// A batch as the table's columns: target column `i` from the batch's column `mapping[i]` cast
/// to its type (INSERT coercion), or NULL where `mapping[i]` is `None`.
fn conform(batch: &RecordBatch, target: &SchemaRef, mapping: &[Option<usize>]) -> Result<RecordBatch, DataFusionError> {
    let columns = target
        .fields()
        .iter()
        .zip(mapping)
        .map(|(f, m)| match m {
            Some(i) => arrow::compute::cast(batch.column(*i), f.data_type()),
            None => Ok(arrow::array::new_null_array(f.data_type(), batch.num_rows())),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let options = arrow::array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    Ok(RecordBatch::try_new_with_options(target.clone(), columns, &options)?)
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
