//! What each kind of statement does: a [`Job`] (one query's statement, prepared by its engine's
//! [`dialect`]) run by the [`Executor`] to an [`Outcome`] (columns, counts, where its rows are).
//!
//! - [`dialect`]: the engine seam (parsing, type names, value text, result files per engine);
//!   [`trino`] is Athena engine version 3, [`duckdb`] Athena's DuckDB engine.
//! - [`select`]: SELECT and EXPLAIN; [`tables`]: CTAS and INSERT; [`rows`]: DELETE, UPDATE and
//!   MERGE of Iceberg tables; [`unload`]: UNLOAD; [`copy`]: DuckDB's COPY ... TO; [`ddl`]: databases, views, DROP and Hive DDL
//!   ([`hive`] parses it); [`show`]: SHOW and DESCRIBE; [`output`]: the result files every
//!   statement writes.

pub mod classify;
pub mod copy;
pub mod ddl;
pub mod dialect;
pub mod duckdb;
pub mod hive;
pub mod output;
pub mod rows;
pub mod select;
pub mod show;
pub mod tables;
pub mod trino;
pub mod unload;

use std::path::PathBuf;
use std::sync::Arc;

use datafusion::sql::sqlparser::ast::{self as sqlast, Statement};

use crate::catalog::{CATALOG, Catalog, Table};
use crate::engine::{Engine, Planned, last_ident, schema_of};
use crate::failure::{Failure, locate};
use crate::formats::objects::ObjectLayout;
use crate::statements::classify::Kind;
use crate::statements::dialect::{Dialect, Prepared};
use crate::types::ColumnInfo;

/// The names of the engines the endpoint runs, as `ListEngineVersions` lists them.
pub const ENGINE_NAMES: [&str; 2] = [crate::statements::trino::ENGINE_VERSION_3, crate::statements::duckdb::DUCKDB];

/// The engines the endpoint runs, by the name Athena gives them in `EngineVersion`.
pub fn dialect_named(name: &str) -> Option<Arc<dyn Dialect>> {
    match name {
        crate::statements::trino::ENGINE_VERSION_3 => Some(Arc::new(crate::statements::trino::AthenaEngineV3)),
        crate::statements::duckdb::DUCKDB => Some(Arc::new(crate::statements::duckdb::DuckDbEngine)),
        _ => None,
    }
}

/// What the query needs to know to run.
pub struct Job {
    pub id: String,
    /// The SQL with ExecutionParameters bound.
    pub sql: String,
    pub statement: Prepared,
    pub kind: Kind,
    pub database: String,
    /// Results location prefix `s3://bucket/prefix/`; `None` for Athena-managed results.
    pub staging: Option<String>,
    /// The engine the query runs on (its workgroup's, or the query's override).
    pub dialect: Arc<dyn Dialect>,
    /// CSE_KMS: the key its result objects are sealed with.
    pub seal: Option<crate::formats::envelope::Seal>,
}

/// Where GetQueryResults reads rows: a CSV whose first line is the header row iff `header`, or
/// (`arrow`) the Arrow IPC stream of a DuckDB managed result, whose rows are given DuckDB's text
/// page by page when asked for (no text is written for results read as streams).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ApiRows {
    pub path: PathBuf,
    pub header: bool,
    #[serde(default)]
    pub arrow: bool,
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
    /// The result as an Arrow IPC stream (DuckDB, Athena-managed results).
    pub arrow_stream: Option<PathBuf>,
    /// Rows and bytes a SELECT returned (GetQueryRuntimeStatistics' OutputRows/OutputBytes,
    /// "the number of rows returned by the query"); `None` for other statements, whose figures
    /// on Athena are not confirmed.
    pub output: Option<(u64, u64)>,
}

/// Runs jobs: statements against the catalog, results into the object store.
pub struct Executor {
    engine: Engine,
    layout: ObjectLayout,
    state_dir: PathBuf,
    /// Rows an UNLOAD writes per data file before it starts the next, and per row group.
    unload_shape: unload::FileShape,
    /// Compression of the Arrow IPC streams kept for DuckDB's managed results.
    stream_compression: Option<arrow::ipc::CompressionType>,
    /// The keys CSE_KMS results are sealed with.
    kms: crate::formats::kms::Kms,
}

impl Executor {
    pub fn new(
        catalog: Arc<Catalog>,
        layout: ObjectLayout,
        state_dir: PathBuf,
        unload_shape: unload::FileShape,
        stream_compression: Option<arrow::ipc::CompressionType>,
        kms: crate::formats::kms::Kms,
    ) -> Self {
        Self { engine: Engine::new(catalog), layout, state_dir, unload_shape, stream_compression, kms }
    }

    /// The endpoint's KMS keys.
    pub fn kms(&self) -> &crate::formats::kms::Kms {
        &self.kms
    }

    pub fn catalog(&self) -> &Catalog {
        self.engine.catalog()
    }

    pub fn layout(&self) -> &ObjectLayout {
        &self.layout
    }

    /// Runs a job to completion. Dropping the returned future stops the engine work.
    pub async fn run(&self, job: &Job) -> Result<Outcome, Failure> {
        if let Some(seal) = &job.seal {
            // The key must make data keys before anything is written. (The message is this
            // endpoint's: Athena's for an unusable result key was not found in a source.)
            seal.check().map_err(|e| {
                Failure::user("PERMISSION_DENIED", format!("Cannot encrypt the query results with KMS key {}: {e}", seal.key))
            })?;
        }
        let statement = match &job.statement {
            Prepared::Hive(hive) => return self.run_hive(job, hive).await,
            Prepared::CopyTo { query, target, options } => return self.run_copy(job, query, target, options).await,
            Prepared::Sql(statement) => statement,
        };
        match statement {
            Statement::Query(_) => self.run_select(job, statement).await,
            Statement::Explain { statement, .. } => self.run_explain(job, statement).await,
            Statement::Unload { query: Some(query), to, with, .. } => self.run_unload(job, query, &to.value, with).await,
            Statement::Insert(insert) => self.run_insert(job, insert).await,
            Statement::CreateTable(ct) => self.run_create_table(job, ct).await,
            Statement::Delete(delete) => self.run_delete(job, delete).await,
            Statement::Update(update) => self.run_update(job, update).await,
            Statement::Merge(merge) => self.run_merge(job, merge).await,
            Statement::ShowTables { .. }
            | Statement::ShowDatabases { .. }
            | Statement::ShowSchemas { .. }
            | Statement::ShowColumns { .. }
            | Statement::ExplainTable { .. } => self.run_show(job, statement),
            other => self.run_ddl(job, other).await,
        }
    }

    /// Plans `stmt` in the job's database.
    pub(crate) async fn plan(&self, job: &Job, stmt: Statement) -> Result<Planned, Failure> {
        self.engine.plan(&job.database, &job.sql, stmt).await
    }

    pub(crate) fn lookup_table(&self, job: &Job, name: &sqlast::ObjectName) -> Result<Table, Failure> {
        self.find_table(job, &schema_of(name).unwrap_or_else(|| job.database.clone()), &last_ident(name))
    }

    /// Table `db.name`, or TABLE_NOT_FOUND pointing at the name in the job's SQL.
    pub(crate) fn find_table(&self, job: &Job, db: &str, name: &str) -> Result<Table, Failure> {
        self.catalog().table(db, name).map_err(|_| {
            let (l, c) = locate(&job.sql, name);
            Failure::user("TABLE_NOT_FOUND", format!("line {l}:{c}: Table '{CATALOG}.{db}.{name}' does not exist"))
        })
    }
}
