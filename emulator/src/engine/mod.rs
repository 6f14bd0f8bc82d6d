//! Runs one statement on DataFusion against the catalog and writes its results the way Athena
//! does: streaming from the engine into the writers, never holding a whole result in memory.

use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::catalog::{CatalogProvider, SchemaProvider, TableProvider};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder};
use datafusion::physical_plan::{ExecutionPlan, execute_stream};
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::sqlparser::ast::{self as sqlast, ObjectType, Statement};
use futures::StreamExt;
use parquet::arrow::ArrowWriter;

use crate::catalog::{Catalog, Column, Table, WAREHOUSE_BUCKET, split_s3_uri};
use crate::results::ObjectWriter;
use crate::s3::ObjectLayout;
use crate::sql::Kind;
use crate::text::{csv_header, write_csv_rows};
use crate::types::{ColumnInfo, hive_type};
use crate::unload::{UnloadOptions, write_unload};

pub const CATALOG: &str = "awsdatacatalog";

/// A query failure as Athena reports it: `CODE: message`, with its AthenaError fields.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Failure {
    pub code: &'static str,
    pub message: String,
    /// 1 system, 2 user, 3 other.
    pub category: i32,
    pub error_type: i32,
}

impl Failure {
    pub fn user(code: &'static str, message: impl Into<String>) -> Self {
        // ErrorType numbers follow Athena's error catalogue groups: 1xxx user errors.
        let error_type = match code {
            "TABLE_NOT_FOUND" | "SCHEMA_NOT_FOUND" => 1006,
            "COLUMN_NOT_FOUND" => 1004,
            "NOT_SUPPORTED" => 1101,
            "FUNCTION_NOT_FOUND" => 1008,
            "TYPE_MISMATCH" => 1005,
            _ => 1000,
        };
        Self { code, message: message.into(), category: 2, error_type }
    }

    pub fn system(message: impl Into<String>) -> Self {
        Self { code: "GENERIC_INTERNAL_ERROR", message: message.into(), category: 1, error_type: 401 }
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::system(format!("writing results: {e}"))
    }
}

/// What the query needs to know to run.
pub struct Job {
    pub id: String,
    /// The SQL with ExecutionParameters bound.
    pub sql: String,
    pub statement: crate::sql::Prepared,
    pub kind: Kind,
    pub database: String,
    /// Results location prefix `s3://bucket/prefix/`; `None` for Athena-managed results.
    pub staging: Option<String>,
}

/// Where GetQueryResults reads rows: a CSV whose first line is the header row iff `header`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ApiRows {
    pub path: PathBuf,
    pub header: bool,
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub columns: Vec<ColumnInfo>,
    pub update_count: Option<i64>,
    pub data_scanned: u64,
    /// Full `s3://` path of the result file (`<id>.csv` / `<id>.txt`), if one was written.
    pub output_location: Option<String>,
    pub manifest_location: Option<String>,
    pub api_rows: Option<ApiRows>,
    /// Rows and bytes a SELECT returned (GetQueryRuntimeStatistics' OutputRows/OutputBytes,
    /// "the number of rows returned by the query"); `None` for other statements, whose figures
    /// on Athena are not confirmed.
    pub output: Option<(u64, u64)>,
}

pub struct Engine {
    catalog: Arc<Catalog>,
    layout: ObjectLayout,
    state_dir: PathBuf,
    /// Rows an UNLOAD writes per data file before it starts the next.
    unload_rows_per_file: usize,
}

impl Engine {
    pub fn new(catalog: Arc<Catalog>, layout: ObjectLayout, state_dir: PathBuf, unload_rows_per_file: usize) -> Self {
        Self { catalog, layout, state_dir, unload_rows_per_file: unload_rows_per_file.max(1) }
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn layout(&self) -> &ObjectLayout {
        &self.layout
    }

    pub(crate) fn tmp_dir(&self) -> PathBuf {
        self.state_dir.join("tmp")
    }

    fn api_path(&self, id: &str) -> PathBuf {
        self.state_dir.join("results").join(format!("{id}.csv"))
    }

    /// A DataFusion session seeing every database of the catalog, `database` as default schema.
    /// Tables and views are looked up only when a query names them ([`LazyCatalog`]): a view
    /// is planned in its own database when read, so a stale view fails only its readers.
    pub async fn session(&self, database: &str) -> Result<SessionContext, Failure> {
        Ok(session_in(&self.catalog, database, 0, Arc::default()))
    }

    /// Runs a job to completion. Dropping the returned future stops the engine work.
    pub async fn run(&self, job: &Job) -> Result<Outcome, Failure> {
        let statement = match &job.statement {
            crate::sql::Prepared::Hive(hive) => return self.run_hive(job, hive).await,
            crate::sql::Prepared::Sql(statement) => statement,
        };
        match statement {
            Statement::Query(_) => self.run_select(job, statement).await,
            Statement::Explain { statement, .. } => self.run_explain(job, statement).await,
            Statement::Unload { query: Some(query), to, with, .. } => self.run_unload(job, query, &to.value, with).await,
            Statement::Insert(insert) => self.run_insert(job, insert).await,
            Statement::CreateTable(ct) => self.run_create_table(job, ct).await,
            Statement::CreateDatabase { db_name, if_not_exists, .. } => {
                self.catalog.create_database(&last_ident(db_name), *if_not_exists).map_err(catalog_failure)?;
                self.ddl_done(job)
            }
            Statement::CreateSchema { schema_name, if_not_exists, .. } => {
                self.catalog.create_database(&schema_name.to_string(), *if_not_exists).map_err(catalog_failure)?;
                self.ddl_done(job)
            }
            Statement::CreateView(view) => {
                // The view keeps its text as written (SHOW CREATE VIEW formats it).
                let query_sql = crate::hive::view_body(&job.sql).unwrap_or_else(|| view.query.to_string());
                let table = Table { view_sql: Some(query_sql), ..Table::new(&last_ident(&view.name), vec![], String::new()) };
                // Plan it once, in its own database, so that a broken view fails at creation, as
                // in Athena.
                let mut table = table;
                let db = schema_of(&view.name).unwrap_or_else(|| job.database.clone());
                let ctx = self.session(&db).await?;
                let df = ctx.sql(&view.query.to_string()).await.map_err(|e| df_failure(&job.sql, e))?;
                table.columns = df.schema().fields().iter().map(|f| Column::new(f.name(), &hive_type(f))).collect();
                if view.or_replace {
                    let _ = self.catalog.drop_table(&db, &table.name, true);
                }
                self.catalog.create_table(&db, table, false).map_err(catalog_failure)?;
                self.ddl_done(job)
            }
            Statement::Drop { object_type, if_exists, names, .. } => {
                for name in names {
                    match object_type {
                        ObjectType::Schema | ObjectType::Database => {
                            self.catalog.drop_database(&name.to_string(), *if_exists).map_err(catalog_failure)?
                        }
                        _ => {
                            let db = schema_of(name).unwrap_or_else(|| job.database.clone());
                            let table = self.catalog.table(&db, &last_ident(name)).ok();
                            self.catalog.drop_table(&db, &last_ident(name), *if_exists).map_err(catalog_failure)?;
                            // An Iceberg table's data, and that of a table the endpoint placed in
                            // its warehouse, go with it; an external table's files stay.
                            if let Some(t) = table.filter(|t| {
                                !t.is_view() && (t.is_iceberg() || t.location.starts_with(&format!("s3://{WAREHOUSE_BUCKET}/")))
                            }) {
                                let _ = std::fs::remove_dir_all(self.catalog.data_dir(&t));
                            }
                        }
                    }
                }
                self.ddl_done(job)
            }
            // Partitions are discovered from the `key=value/` folders of the table location.
            Statement::AlterTable(_) => self.ddl_done(job),
            Statement::Delete(delete) => self.run_delete(job, delete).await,
            Statement::Update(update) => self.run_update(job, update).await,
            Statement::Merge(merge) => self.run_merge(job, merge).await,
            Statement::ShowTables { .. } => {
                let tables = self.catalog.tables(&job.database).map_err(catalog_failure)?;
                let rows = tables.iter().map(|t| vec![t.name.clone()]).collect();
                self.utility(job, &["tab_name"], rows)
            }
            Statement::ShowDatabases { .. } | Statement::ShowSchemas { .. } => {
                let rows = self.catalog.databases().into_iter().map(|d| vec![d]).collect();
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
                self.utility(job, &["col_name", "data_type", "comment"], crate::ddl::describe_rows(&table))
            }
            other => Err(Failure::user(
                "NOT_SUPPORTED",
                format!("statement not supported by the local endpoint: {}", crate::sql::classify(other).substatement_type),
            )),
        }
    }

    pub(crate) fn lookup_table(&self, job: &Job, name: &sqlast::ObjectName) -> Result<Table, Failure> {
        self.find_table(job, &schema_of(name).unwrap_or_else(|| job.database.clone()), &last_ident(name))
    }

    /// Table `db.name`, or TABLE_NOT_FOUND pointing at the name in the job's SQL.
    pub(crate) fn find_table(&self, job: &Job, db: &str, name: &str) -> Result<Table, Failure> {
        self.catalog.table(db, name).map_err(|_| {
            let (l, c) = locate(&job.sql, name);
            Failure::user("TABLE_NOT_FOUND", format!("line {l}:{c}: Table '{CATALOG}.{db}.{name}' does not exist"))
        })
    }

    /// The result file location for this job: `<staging><id>.<ext>`.
    fn result_object(&self, job: &Job, ext: &str) -> Option<(String, String, String)> {
        let staging = job.staging.as_ref()?;
        let (bucket, prefix) = split_s3_uri(staging)?;
        let prefix = if prefix.is_empty() || prefix.ends_with('/') { prefix } else { format!("{prefix}/") };
        let key = format!("{prefix}{}.{ext}", job.id);
        Some((format!("s3://{bucket}/{key}"), bucket, key))
    }

    /// INSERT and CTAS: no rows, UpdateCount = rows written, one ColumnInfo `rows bigint`.
    pub(crate) fn row_count_outcome(
        &self,
        job: &Job,
        rows: usize,
        ctx: &SessionContext,
        physical: &dyn ExecutionPlan,
    ) -> Result<Outcome, Failure> {
        Ok(Outcome {
            columns: vec![ColumnInfo::new("rows", "bigint", 19, 0)],
            update_count: Some(rows as i64),
            data_scanned: scanned(ctx, physical),
            api_rows: Some(self.write_api_rows(job, None, &[])?),
            ..self.write_txt(job, &[])?
        })
    }

    pub(crate) fn ddl_done(&self, job: &Job) -> Result<Outcome, Failure> {
        let mut outcome = self.write_txt(job, &[])?;
        outcome.api_rows = Some(self.write_api_rows(job, None, &[])?);
        Ok(outcome)
    }

    pub(crate) fn utility(&self, job: &Job, names: &[&str], rows: Vec<Vec<String>>) -> Result<Outcome, Failure> {
        let lines: Vec<String> = rows.iter().map(|r| r.join("\t")).collect();
        let mut outcome = self.write_txt(job, &lines)?;
        // Hive-executed utility statements type their columns `string`, precision 0.
        outcome.columns = names.iter().map(|n| ColumnInfo::new(n, "string", 0, 0)).collect();
        outcome.update_count = Some(0);
        outcome.api_rows = Some(self.write_api_rows(job, None, &rows)?);
        Ok(outcome)
    }

    /// `<id>.txt`: rows joined with `\n`, no trailing newline, no header, no quoting.
    pub(crate) fn write_txt(&self, job: &Job, lines: &[String]) -> Result<Outcome, Failure> {
        let mut outcome = Outcome::default();
        if let Some((uri, bucket, key)) = self.result_object(job, "txt") {
            let mut w = ObjectWriter::object(&self.layout, &self.tmp_dir(), &bucket, &key)?;
            std::io::Write::write_all(&mut w, lines.join("\n").as_bytes())?;
            w.finish()?;
            outcome.output_location = Some(uri);
        }
        Ok(outcome)
    }

    /// The rows GetQueryResults serves for results that are not a CSV in the results location.
    pub(crate) fn write_api_rows(&self, job: &Job, header: Option<&[String]>, rows: &[Vec<String>]) -> Result<ApiRows, Failure> {
        let path = self.api_path(&job.id);
        let mut w = ObjectWriter::file(&self.tmp_dir(), path.clone())?;
        let mut buf = Vec::new();
        if let Some(h) = header {
            buf.extend_from_slice(&csv_header(h));
        }
        for row in rows {
            buf.extend_from_slice(&csv_header(row));
        }
        std::io::Write::write_all(&mut w, &buf)?;
        w.finish()?;
        Ok(ApiRows { path, header: header.is_some() })
    }

    pub(crate) async fn plan(&self, job: &Job, stmt: Statement) -> Result<(SessionContext, Arc<dyn ExecutionPlan>, SchemaRef), Failure> {
        self.plan_in(self.session(&job.database).await?, job, stmt).await
    }

    async fn plan_in(
        &self,
        ctx: SessionContext,
        job: &Job,
        stmt: Statement,
    ) -> Result<(SessionContext, Arc<dyn ExecutionPlan>, SchemaRef), Failure> {
        let plan = ctx
            .state()
            .statement_to_plan(datafusion::sql::parser::Statement::Statement(Box::new(stmt)))
            .await
            .and_then(athena_names)
            .map_err(|e| df_failure(&job.sql, e))?;
        let df = ctx.execute_logical_plan(plan).await.map_err(|e| df_failure(&job.sql, e))?;
        let schema: SchemaRef = df.schema().inner().clone();
        let physical = df.create_physical_plan().await.and_then(cooperative).map_err(|e| df_failure(&job.sql, e))?;
        Ok((ctx, physical, schema))
    }

    async fn run_select(&self, job: &Job, statement: &Statement) -> Result<Outcome, Failure> {
        let (ctx, physical, schema) = self.plan(job, statement.clone()).await?;
        let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let (mut writer, output_location, api_path) = match self.result_object(job, "csv") {
            Some((uri, bucket, key)) => {
                let path = self.layout.object_path(&bucket, &key).expect("validated key");
                (ObjectWriter::object(&self.layout, &self.tmp_dir(), &bucket, &key)?, Some(uri), path)
            }
            None => {
                let path = self.api_path(&job.id);
                (ObjectWriter::file(&self.tmp_dir(), path.clone())?, None, path)
            }
        };
        std::io::Write::write_all(&mut writer, &csv_header(&names))?;
        let stream = execute_stream(physical.clone(), ctx.task_ctx()).map_err(|e| df_failure(&job.sql, e))?;
        // Batches are formatted on every core at once and written in order: one result file,
        // as Athena's coordinator writes it, at the speed of all cores.
        let parallel = std::thread::available_parallelism().map_or(2, |n| n.get());
        let mut formatted = stream
            .map(|batch| async move {
                let batch = batch.map_err(|e| df_failure(&job.sql, e))?;
                tokio::task::spawn_blocking(move || {
                    let mut buf = Vec::with_capacity(batch.get_array_memory_size() * 2);
                    write_csv_rows(&mut buf, &batch, &mut String::new());
                    (buf, batch.num_rows() as u64)
                })
                .await
                .map_err(|e| Failure::system(format!("formatting results failed: {e}")))
            })
            .buffered(parallel);
        let (mut rows, mut bytes) = (0u64, 0u64);
        while let Some(piece) = formatted.next().await {
            let (buf, n) = piece?;
            std::io::Write::write_all(&mut writer, &buf)?;
            rows += n;
            bytes += buf.len() as u64;
        }
        writer.finish()?;
        Ok(Outcome {
            columns: schema.fields().iter().map(|f| ColumnInfo::from_field(f)).collect(),
            update_count: Some(0),
            data_scanned: scanned(&ctx, physical.as_ref()),
            output_location,
            manifest_location: None,
            api_rows: Some(ApiRows { path: api_path, header: true }),
            output: Some((rows, bytes)),
        })
    }

    async fn run_explain(&self, job: &Job, statement: &Statement) -> Result<Outcome, Failure> {
        let (_ctx, physical, _schema) = self.plan(job, statement.clone()).await?;
        let text = datafusion::physical_plan::displayable(physical.as_ref()).indent(true).to_string();
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let mut outcome = self.write_txt(job, &lines)?;
        outcome.columns = vec![ColumnInfo::new("Query Plan", "varchar", i32::MAX, 0)];
        let rows: Vec<Vec<String>> = lines.into_iter().map(|l| vec![l]).collect();
        outcome.api_rows = Some(self.write_api_rows(job, Some(&["Query Plan".to_owned()]), &rows)?);
        Ok(outcome)
    }

    async fn run_insert(&self, job: &Job, insert: &sqlast::Insert) -> Result<Outcome, Failure> {
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
        let (ctx, physical, schema) = self.plan(job, Statement::Query(source.clone())).await?;
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
            write_table_file(&ctx, physical.clone(), &table, &mapping, self.catalog.data_dir(&table), &self.tmp_dir(), &job.id, &job.sql)
                .await?
        } else {
            let db = schema_of(&name).unwrap_or_else(|| job.database.clone());
            self.insert_partitioned(job, &db, &ctx, physical.clone(), table, &target, &mapping).await?
        };
        self.row_count_outcome(job, rows, &ctx, physical.as_ref())
    }

    /// INSERT into a partitioned table: the rows of each partition into a new file of its
    /// `k=v/` folder, partitions registered as they appear.
    #[allow(clippy::too_many_arguments)]
    async fn insert_partitioned(
        &self,
        job: &Job,
        db: &str,
        ctx: &SessionContext,
        physical: Arc<dyn ExecutionPlan>,
        mut table: Table,
        target: &SchemaRef,
        mapping: &[Option<usize>],
    ) -> Result<usize, Failure> {
        let data = table.data_schema().map_err(|e| Failure::system(e.to_string()))?;
        let n_data = data.fields().len();
        let mut groups: std::collections::BTreeMap<Vec<String>, Vec<RecordBatch>> = std::collections::BTreeMap::new();
        let mut stream = execute_stream(physical, ctx.task_ctx()).map_err(|e| df_failure(&job.sql, e))?;
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
                            crate::text::write_value(&mut v, col.as_ref(), row);
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
                    table.partitions.push(crate::catalog::Partition { values: values.clone(), location: location.clone() });
                    location
                }
            };
            let dir = crate::catalog::s3_to_path(&self.layout, &location)
                .ok_or_else(|| Failure::user("INVALID_INPUT", format!("partition location {location} is not an s3:// location")))?;
            std::fs::create_dir_all(&dir)?;
            let mut sink = TableFileSink::new(&table, data.clone(), &dir, &self.tmp_dir(), &job.id)?;
            for b in &batches {
                sink.write(b)?;
            }
            total += sink.finish()?;
        }
        self.catalog.update_table(db, table).map_err(catalog_failure)?;
        Ok(total)
    }

    async fn run_create_table(&self, job: &Job, ct: &sqlast::CreateTable) -> Result<Outcome, Failure> {
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
        if self.catalog.table(&db, &name).is_ok() {
            if ct.if_not_exists {
                return self.ddl_done(job);
            }
            return Err(Failure::user("ALREADY_EXISTS", format!("Table '{CATALOG}.{db}.{name}' already exists")));
        }
        let (ctx, physical, schema) = self.plan(job, Statement::Query(query.clone())).await?;
        let columns: Vec<Column> = schema.fields().iter().map(|f| Column::new(f.name(), &hive_type(f))).collect();
        // CTAS: `WITH (external_location = '...', format = 'PARQUET' | 'TEXTFILE')`; without a
        // location, a new folder per query (Athena: `<results>/tables/<query id>/`), so a table
        // created again never reads an earlier one's files.
        let options = crate::ddl::ctas_options(ct);
        let location = match options.get("external_location").or(options.get("location")) {
            Some(l) if split_s3_uri(l).is_none() => {
                return Err(Failure::user("INVALID_INPUT", format!("external_location must be an s3://bucket/prefix/ location: {l}")));
            }
            Some(l) => l.clone(),
            None if location.is_empty() => format!("s3://{WAREHOUSE_BUCKET}/tables/{}/", job.id),
            None => location,
        };
        if let Some(dir) = crate::catalog::s3_to_path(&self.layout, &location)
            && crate::catalog::dir_has_files(&dir)
        {
            return Err(Failure::user(
                "HIVE_PATH_ALREADY_EXISTS",
                format!("Target directory for table '{db}.{name}' already exists: {location}"),
            ));
        }
        let storage = match options.get("format").map(|f| f.to_ascii_uppercase()) {
            None => None,
            Some(f) if f == "PARQUET" => None,
            Some(f) if f == "TEXTFILE" => Some(crate::hive::Storage::text()),
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
        self.catalog.create_table(&db, table.clone(), false).map_err(catalog_failure)?;
        let table = self.catalog.table(&db, &name).map_err(catalog_failure)?;
        let target = table.data_schema().map_err(|e| Failure::system(e.to_string()))?;
        let dir = self.catalog.data_dir(&table);
        let mapping: Vec<Option<usize>> = (0..target.fields().len()).map(Some).collect();
        let rows = match write_table_file(&ctx, physical.clone(), &table, &mapping, dir, &self.tmp_dir(), &job.id, &job.sql).await {
            Ok(rows) => rows,
            Err(e) => {
                let _ = self.catalog.drop_table(&db, &name, true);
                return Err(e);
            }
        };
        self.row_count_outcome(job, rows, &ctx, physical.as_ref())
    }

    async fn run_unload(&self, job: &Job, query: &sqlast::Query, to: &str, with: &[sqlast::SqlOption]) -> Result<Outcome, Failure> {
        let options = UnloadOptions::parse(with)?;
        let (bucket, prefix) =
            split_s3_uri(to).ok_or_else(|| Failure::user("INVALID_INPUT", format!("UNLOAD TO must be an s3:// location: {to}")))?;
        let prefix = if prefix.is_empty() || prefix.ends_with('/') { prefix } else { format!("{prefix}/") };
        if !self.layout.bucket_path(&bucket).is_dir() {
            return Err(Failure::user("INVALID_INPUT", format!("Bucket {bucket} does not exist")));
        }
        if let Some(dir) = self.layout.object_path(&bucket, prefix.trim_end_matches('/')).filter(|_| !prefix.is_empty())
            && crate::catalog::dir_has_files(&dir)
        {
            return Err(Failure::user("HIVE_PATH_ALREADY_EXISTS", format!("Target directory for table '{}' already exists: {to}", job.id)));
        }
        // UNLOAD writes one file per engine partition, as Athena's workers do: rows are spread
        // over every partition (a SELECT keeps a file's order instead).
        let ctx = self.session(&job.database).await?;
        ctx.state_ref().write().config_mut().options_mut().optimizer.enable_round_robin_repartition = true;
        let (ctx, physical, schema) = self.plan_in(ctx, job, Statement::Query(Box::new(query.clone()))).await?;
        crate::unload::check_supported(&schema)?;
        let files = write_unload(
            &ctx,
            physical.clone(),
            schema.clone(),
            &self.layout,
            &self.tmp_dir(),
            &bucket,
            &prefix,
            &job.id,
            &options,
            self.unload_rows_per_file,
        )
        .await
        .map_err(|e| match e {
            crate::unload::UnloadError::Engine(e) => df_failure(&job.sql, e),
            crate::unload::UnloadError::Failure(f) => f,
        })?;
        // The manifest goes to the results location (or internal storage for managed results).
        let lines: Vec<String> = files.iter().map(|(uri, _)| uri.clone()).collect();
        let mut outcome = Outcome {
            columns: schema.fields().iter().map(|f| ColumnInfo::from_field(f)).collect(),
            update_count: Some(files.iter().map(|(_, rows)| *rows as i64).sum()),
            data_scanned: scanned(&ctx, physical.as_ref()),
            ..Outcome::default()
        };
        let manifest_text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        if let Some((_, bucket, key)) = self.result_object(job, "csv") {
            let key = key.trim_end_matches(".csv").to_owned() + "-manifest.csv";
            let mut w = ObjectWriter::object(&self.layout, &self.tmp_dir(), &bucket, &key)?;
            std::io::Write::write_all(&mut w, manifest_text.as_bytes())?;
            w.finish()?;
            outcome.manifest_location = Some(format!("s3://{bucket}/{key}"));
            // An UNLOAD has a result location too (clients check it before reading the
            // manifest); it names the manifest, as there is no result CSV.
            outcome.output_location = outcome.manifest_location.clone();
        }
        let manifest_rows: Vec<Vec<String>> = lines.into_iter().map(|l| vec![l]).collect();
        let path = self.state_dir.join("results").join(format!("{}-manifest.csv", job.id));
        let mut w = ObjectWriter::file(&self.tmp_dir(), path)?;
        for row in &manifest_rows {
            std::io::Write::write_all(&mut w, &csv_header(row))?;
        }
        w.finish()?;
        outcome.api_rows = Some(self.write_api_rows(job, None, &[])?);
        Ok(outcome)
    }

    /// Where GetQueryResults(QueryResultType=DATA_MANIFEST) reads an UNLOAD's manifest.
    pub fn manifest_rows_path(&self, id: &str) -> PathBuf {
        self.state_dir.join("results").join(format!("{id}-manifest.csv"))
    }
}

/// Writes a plan's output as one new file of the table (Parquet, or its text format) in `dir`;
/// returns the row count.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn write_table_file(
    ctx: &SessionContext,
    physical: Arc<dyn ExecutionPlan>,
    table: &Table,
    mapping: &[Option<usize>],
    dir: PathBuf,
    tmp_dir: &std::path::Path,
    id: &str,
    sql: &str,
) -> Result<usize, Failure> {
    let target = table.data_schema().map_err(|e| Failure::system(e.to_string()))?;
    let mut sink = TableFileSink::new(table, target.clone(), &dir, tmp_dir, id)?;
    let mut stream = execute_stream(physical, ctx.task_ctx()).map_err(|e| df_failure(sql, e))?;
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| df_failure(sql, e))?;
        sink.write(&conform(&batch, &target, mapping).map_err(|e| df_failure(sql, e))?)?;
    }
    sink.finish()
}

/// One new data file of a table, in the table's format: Parquet, LazySimpleSerDe text or JSON
/// lines.
pub(crate) struct TableFileSink {
    format: SinkFormat,
    rows: usize,
}

enum SinkFormat {
    Parquet(ArrowWriter<ObjectWriter>),
    Text(ObjectWriter, crate::hivetext::TextFormat),
    Json(ObjectWriter),
}

impl TableFileSink {
    pub(crate) fn new(
        table: &Table,
        schema: SchemaRef,
        dir: &std::path::Path,
        tmp_dir: &std::path::Path,
        id: &str,
    ) -> Result<Self, Failure> {
        let storage = table.storage();
        let w = ObjectWriter::file(tmp_dir, dir.join(format!("{id}_{}", uuid::Uuid::new_v4())))?;
        let format = match storage.reader() {
            crate::hive::FileKind::Parquet => {
                SinkFormat::Parquet(ArrowWriter::try_new(w, schema, None).map_err(|e| Failure::system(e.to_string()))?)
            }
            crate::hive::FileKind::LazySimple => SinkFormat::Text(w, crate::hivetext::TextFormat::new(&storage, &table.properties)),
            crate::hive::FileKind::Json => SinkFormat::Json(w),
            _ => {
                return Err(Failure::user(
                    "NOT_SUPPORTED",
                    format!("writing to a table with SerDe {} is not supported by the local endpoint", storage.serde),
                ));
            }
        };
        Ok(Self { format, rows: 0 })
    }

    pub(crate) fn write(&mut self, batch: &RecordBatch) -> Result<(), Failure> {
        self.rows += batch.num_rows();
        match &mut self.format {
            SinkFormat::Parquet(writer) => writer.write(batch).map_err(|e| Failure::system(e.to_string())),
            SinkFormat::Text(w, format) => {
                let mut text = String::new();
                crate::hivetext::encode(batch, format, &mut text);
                Ok(std::io::Write::write_all(w, text.as_bytes())?)
            }
            SinkFormat::Json(w) => {
                let mut writer = arrow::json::LineDelimitedWriter::new(w);
                writer.write(batch).and_then(|_| writer.finish()).map_err(|e| Failure::system(e.to_string()))
            }
        }
    }

    pub(crate) fn finish(self) -> Result<usize, Failure> {
        let w = match self.format {
            SinkFormat::Parquet(writer) => writer.into_inner().map_err(|e| Failure::system(e.to_string()))?,
            SinkFormat::Text(w, _) | SinkFormat::Json(w) => w,
        };
        w.finish()?;
        Ok(self.rows)
    }
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

/// Sum of the `bytes_scanned` metric over the plan: what the scans actually read.
/// A scan whose files were read whole with their footer (small files: the metric counts only
/// reads beyond the footer prefetch) counts the size of its files, as Athena counts what it read.
pub fn bytes_scanned(plan: &dyn ExecutionPlan) -> u64 {
    let mut own = plan.metrics().and_then(|m| m.sum_by_name("bytes_scanned")).map_or(0, |v| v.as_usize() as u64);
    if own == 0
        && let Some(source) = plan.downcast_ref::<datafusion::datasource::source::DataSourceExec>()
        && let Some(files) = source.data_source().downcast_ref::<datafusion::datasource::physical_plan::FileScanConfig>()
        && plan.metrics().and_then(|m| m.output_rows()).unwrap_or(0) > 0
    {
        own = files.file_groups.iter().flat_map(|g| g.files()).map(|f| f.object_meta.size).sum();
    }
    own + plan.children().iter().map(|c| bytes_scanned(c.as_ref())).sum::<u64>()
}

/// Bytes a query read: its Parquet scans' and the Hive text files its tables were read from.
pub(crate) fn scanned(ctx: &SessionContext, plan: &dyn ExecutionPlan) -> u64 {
    let text = ctx.state().config().get_extension::<TextBytesRead>().map_or(0, |t| t.0.load(std::sync::atomic::Ordering::Relaxed));
    bytes_scanned(plan) + text
}

/// Bytes of Hive text files read while a session planned its tables.
#[derive(Debug, Default)]
pub struct TextBytesRead(pub std::sync::atomic::AtomicU64);

/// Names unnamed output columns `_col0`, `_col1`, ... (by position) as Athena does.
fn athena_names(plan: LogicalPlan) -> Result<LogicalPlan, DataFusionError> {
    let mut node = &plan;
    loop {
        match node {
            LogicalPlan::Sort(s) => node = &s.input,
            LogicalPlan::Limit(l) => node = &l.input,
            _ => break,
        }
    }
    let unnamed: Vec<bool> = match node {
        LogicalPlan::Projection(p) => p.expr.iter().map(|e| !matches!(e, Expr::Column(_) | Expr::Alias(_))).collect(),
        LogicalPlan::Values(_) => vec![true; plan.schema().fields().len()],
        _ => return Ok(plan),
    };
    if unnamed.len() != plan.schema().fields().len() || !unnamed.iter().any(|u| *u) {
        return Ok(plan);
    }
    let exprs: Vec<Expr> = plan
        .schema()
        .columns()
        .into_iter()
        .enumerate()
        .map(|(i, c)| if unnamed[i] { Expr::Column(c).alias(format!("_col{i}")) } else { Expr::Column(c) })
        .collect();
    LogicalPlanBuilder::from(plan).project(exprs)?.build()
}

/// `db.table` -> `db`.
pub(crate) fn schema_of(name: &sqlast::ObjectName) -> Option<String> {
    let parts = &name.0;
    (parts.len() >= 2).then(|| part_name(&parts[parts.len() - 2]))
}

pub(crate) fn last_ident(name: &sqlast::ObjectName) -> String {
    name.0.last().map(part_name).unwrap_or_default()
}

/// An identifier without its quotes (`"a"`, `` `a` ``), lower case.
fn part_name(part: &sqlast::ObjectNamePart) -> String {
    match part {
        sqlast::ObjectNamePart::Identifier(ident) => ident.value.to_ascii_lowercase(),
        other => other.to_string().to_ascii_lowercase(),
    }
}

pub(crate) fn pad20(s: &str) -> String {
    format!("{s:<20}")
}

/// 1-based line and column of the first case-insensitive occurrence of `needle` in `sql`.
pub fn locate(sql: &str, needle: &str) -> (usize, usize) {
    let lower = sql.to_ascii_lowercase();
    let Some(at) = lower.find(&needle.to_ascii_lowercase()) else {
        return (1, 1);
    };
    let before = &sql[..at];
    let line = before.matches('\n').count() + 1;
    let col = at - before.rfind('\n').map_or(0, |p| p + 1) + 1;
    (line, col)
}

pub(crate) fn catalog_failure(e: crate::catalog::CatalogError) -> Failure {
    use crate::catalog::CatalogError::*;
    match e {
        NoDatabase(d) => Failure::user("SCHEMA_NOT_FOUND", format!("Schema '{d}' does not exist")),
        NoTable(t) => Failure::user("TABLE_NOT_FOUND", format!("Table '{CATALOG}.{t}' does not exist")),
        TableExists(t) => Failure::user("ALREADY_EXISTS", format!("Table '{CATALOG}.{t}' already exists")),
        DatabaseExists(d) => Failure::user("ALREADY_EXISTS", format!("Schema '{d}' already exists")),
        Io(e) => Failure::system(e.to_string()),
    }
}

/// Views nested deeper than this are refused (a view reading itself, through others or not).
const MAX_VIEW_DEPTH: usize = 32;

/// A session over `catalog` with `database` as default schema; `depth`: views being planned.
/// `text_bytes` counts the Hive text files read, shared with the sessions that plan its views.
fn session_in(catalog: &Arc<Catalog>, database: &str, depth: usize, text_bytes: Arc<TextBytesRead>) -> SessionContext {
    let mut config = SessionConfig::new()
        .with_default_catalog_and_schema(CATALOG, database.to_ascii_lowercase())
        .with_create_default_catalog_and_schema(false)
        .with_batch_size(8192)
        .with_information_schema(true);
    config.options_mut().execution.parquet.schema_force_view_types = false;
    // Athena's session zone: `timestamp with time zone` casts and now() are in UTC.
    config.options_mut().execution.time_zone = Some("UTC".into());
    config.options_mut().sql_parser.enable_ident_normalization = true;
    // A scan without ORDER BY gives a file's rows in file order, as Athena does for one split.
    config.options_mut().optimizer.enable_round_robin_repartition = false;
    let config = config.with_extension(text_bytes.clone());
    let ctx = SessionContext::new_with_config(config);
    ctx.register_udf(crate::udf::athena_json());
    ctx.register_udf(crate::udf::athena_varchar());
    ctx.register_udf(crate::udf::json_format());
    ctx.register_udf(crate::udf::athena_like_pattern());
    for f in crate::udf::json_functions() {
        ctx.register_udf(f);
    }
    ctx.register_catalog(CATALOG, Arc::new(LazyCatalog { catalog: catalog.clone(), depth, text_bytes }));
    ctx
}

/// The endpoint's catalog as DataFusion sees it: databases and tables read from the catalog
/// when a query names them, never all up front.
#[derive(Debug)]
struct LazyCatalog {
    catalog: Arc<Catalog>,
    depth: usize,
    text_bytes: Arc<TextBytesRead>,
}

impl CatalogProvider for LazyCatalog {
    fn schema_names(&self) -> Vec<String> {
        self.catalog.databases()
    }

    /// Every name is a schema here, so that reading a table of a database that does not exist
    /// fails as Athena's SCHEMA_NOT_FOUND (not TABLE_NOT_FOUND) when the table is looked up.
    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        Some(Arc::new(LazyDatabase {
            catalog: self.catalog.clone(),
            database: name.to_ascii_lowercase(),
            depth: self.depth,
            text_bytes: self.text_bytes.clone(),
        }))
    }
}

#[derive(Debug)]
struct LazyDatabase {
    catalog: Arc<Catalog>,
    database: String,
    depth: usize,
    text_bytes: Arc<TextBytesRead>,
}

#[async_trait::async_trait]
impl SchemaProvider for LazyDatabase {
    fn table_names(&self) -> Vec<String> {
        self.catalog.tables(&self.database).map(|ts| ts.into_iter().map(|t| t.name).collect()).unwrap_or_default()
    }

    async fn table(&self, name: &str) -> datafusion::error::Result<Option<Arc<dyn TableProvider>>> {
        let external = |f: Failure| DataFusionError::External(Box::new(f));
        if !self.catalog.has_database(&self.database) {
            return Err(external(Failure::user("SCHEMA_NOT_FOUND", format!("Schema '{}' does not exist", self.database))));
        }
        let Ok(table) = self.catalog.table(&self.database, name) else { return Ok(None) };
        if !table.is_view() {
            if table.storage().reader() != crate::hive::FileKind::Parquet {
                let (provider, bytes) = crate::ddl::text_table(&self.catalog, &table).map_err(external)?;
                self.text_bytes.0.fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
                return Ok(Some(provider));
            }
            return Ok(Some(listing_table(&self.catalog, &table).await.map_err(external)?));
        }
        // A stale view fails when a query reads it (at its scan), not when it is only looked
        // up: information_schema lists its columns as they were recorded.
        let stale = |message: String| -> datafusion::error::Result<Option<Arc<dyn TableProvider>>> {
            let failure = Failure::user("VIEW_IS_STALE", message);
            match table.data_schema() {
                Ok(schema) => Ok(Some(Arc::new(StaleView { schema, failure }))),
                Err(_) => Err(external(failure)),
            }
        };
        if self.depth >= MAX_VIEW_DEPTH {
            return stale(format!(
                "View '{CATALOG}.{}.{name}' is nested more than {MAX_VIEW_DEPTH} views deep (recursive?)",
                self.database
            ));
        }
        let sql = table.view_sql.clone().unwrap_or_default();
        let statement = match crate::sql::prepare(&sql) {
            Ok((statement, _)) => statement,
            Err(e) => return stale(format!("View '{}.{name}': {e}", self.database)),
        };
        // Planned in the view's own database: its unqualified names are its database's tables.
        let ctx = session_in(&self.catalog, &self.database, self.depth + 1, self.text_bytes.clone());
        let plan = ctx.state().statement_to_plan(datafusion::sql::parser::Statement::Statement(Box::new(statement))).await;
        match plan {
            Ok(plan) => Ok(Some(Arc::new(datafusion::catalog::view::ViewTable::new(plan, Some(sql))))),
            Err(e) => stale(format!("View '{CATALOG}.{}.{name}' is stale or in invalid state: {e}", self.database)),
        }
    }

    /// From the catalog alone: information_schema.tables lists tables without reading them.
    async fn table_type(&self, name: &str) -> datafusion::error::Result<Option<datafusion::datasource::TableType>> {
        Ok(self
            .catalog
            .table(&self.database, name)
            .ok()
            .map(|t| if t.is_view() { datafusion::datasource::TableType::View } else { datafusion::datasource::TableType::Base }))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.catalog.table(&self.database, name).is_ok()
    }
}

/// A view that no longer plans: its recorded columns, and VIEW_IS_STALE for any query that
/// reads it.
#[derive(Debug)]
struct StaleView {
    schema: SchemaRef,
    failure: Failure,
}

#[async_trait::async_trait]
impl TableProvider for StaleView {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> datafusion::datasource::TableType {
        datafusion::datasource::TableType::View
    }

    async fn scan(
        &self,
        _state: &dyn datafusion::catalog::Session,
        _projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        Err(DataFusionError::External(Box::new(self.failure.clone())))
    }
}

async fn listing_table(catalog: &Catalog, table: &Table) -> Result<Arc<ListingTable>, Failure> {
    let dir = catalog.data_dir(table);
    std::fs::create_dir_all(&dir)?;
    let url = ListingTableUrl::parse(format!("{}/", dir.display())).map_err(df_failure_plain)?;
    let mut partition_cols = Vec::new();
    for pk in &table.partition_keys {
        let f = crate::types::hive_to_field(&pk.name, &pk.type_name).map_err(|e| Failure::system(e.to_string()))?;
        partition_cols.push((pk.name.clone(), f.data_type().clone()));
    }
    let options = ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension("").with_table_partition_cols(partition_cols);
    let schema = table.data_schema().map_err(|e| Failure::system(e.to_string()))?;
    let config = ListingTableConfig::new(url).with_listing_options(options).with_schema(schema);
    Ok(Arc::new(ListingTable::try_new(config).map_err(df_failure_plain)?))
}

fn df_failure_plain(e: DataFusionError) -> Failure {
    Failure::system(e.to_string())
}

/// The [`Failure`] a planning step raised as `DataFusionError::External`, however wrapped.
fn external_failure(e: &DataFusionError) -> Option<Failure> {
    match e {
        DataFusionError::External(inner) => inner.downcast_ref::<Failure>().cloned(),
        DataFusionError::Shared(inner) => external_failure(inner),
        DataFusionError::Context(_, inner) => external_failure(inner),
        DataFusionError::Diagnostic(_, inner) => external_failure(inner),
        _ => None,
    }
}

/// Maps an engine error to Athena's error code and message.
pub fn df_failure(sql: &str, e: DataFusionError) -> Failure {
    // A failure raised inside planning (a stale view, a table that cannot be read) keeps its code.
    if let Some(f) = external_failure(&e) {
        return f;
    }
    let text = e.to_string();
    let msg = text.trim_start_matches("Error during planning: ").trim_start_matches("Schema error: ");
    if let Some(schema) = msg.strip_prefix("failed to resolve schema: ") {
        let (l, c) = locate(sql, schema);
        return Failure::user("SCHEMA_NOT_FOUND", format!("line {l}:{c}: Schema '{schema}' does not exist"));
    }
    if let Some(rest) = msg.strip_prefix("table '").and_then(|r| r.split_once("' not found")) {
        let full = rest.0;
        let short = full.rsplit('.').next().unwrap_or(full);
        let (l, c) = locate(sql, short);
        return Failure::user("TABLE_NOT_FOUND", format!("line {l}:{c}: Table '{full}' does not exist"));
    }
    if let Some(rest) = msg.strip_prefix("No field named ") {
        let named = rest.split(char::is_whitespace).next().unwrap_or(rest).trim_end_matches('.');
        let col = named.rsplit('.').next().unwrap_or(named).trim_matches('"');
        let (l, c) = locate(sql, col);
        return Failure::user("COLUMN_NOT_FOUND", format!("line {l}:{c}: Column '{col}' cannot be resolved"));
    }
    if msg.contains("Invalid function") {
        return Failure::user("FUNCTION_NOT_FOUND", msg.to_owned());
    }
    if msg.contains("Divide by zero") {
        return Failure::user("DIVISION_BY_ZERO", "Division by zero");
    }
    if msg.contains("Cast error") || msg.contains("Cannot cast") {
        return Failure::user("INVALID_CAST_ARGUMENT", msg.to_owned());
    }
    match e {
        DataFusionError::NotImplemented(m) => Failure::user("NOT_SUPPORTED", m),
        DataFusionError::Plan(_) | DataFusionError::SchemaError(_, _) | DataFusionError::SQL(_, _) => {
            Failure::user("SYNTAX_ERROR", format!("line 1:1: {msg}"))
        }
        DataFusionError::IoError(_) | DataFusionError::ObjectStore(_) | DataFusionError::Internal(_) => Failure::system(msg.to_owned()),
        _ => Failure::user("GENERIC_USER_ERROR", msg.to_owned()),
    }
}

/// Wraps every operator's inputs in DataFusion's `CooperativeExec`: each poll consumes the task's
/// tokio budget, so CPU-bound joins and aggregates (which never wait on I/O) still yield, and a
/// query aborted by StopQueryExecution stops within a budget's worth of batches.
fn cooperative(plan: Arc<dyn ExecutionPlan>) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
    use datafusion::common::tree_node::{Transformed, TreeNode};
    use datafusion::physical_plan::coop::CooperativeExec;
    use datafusion::physical_plan::execution_plan::{ChildrenPropertiesMode, ReplaceChildrenOptions};
    plan.transform_up(|node| {
        if node.children().is_empty() {
            return Ok(Transformed::no(node));
        }
        let children: Vec<Arc<dyn ExecutionPlan>> =
            node.children().into_iter().map(|c| Arc::new(CooperativeExec::new(c.clone())) as Arc<dyn ExecutionPlan>).collect();
        // CooperativeExec keeps its input's properties, so the node's need no recomputation.
        Ok(Transformed::yes(node.replace_children(children, ReplaceChildrenOptions::new(ChildrenPropertiesMode::Keep))?))
    })
    .map(|t| t.data)
}
