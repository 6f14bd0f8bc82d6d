//! The Athena API: the query lifecycle (QUEUED -> RUNNING -> SUCCEEDED | FAILED | CANCELLED)
//! and its persisted history, each operation taking and giving a JSON document whichever of
//! Athena's two protocols carried it (`awsJson1_1`: `X-Amz-Target`; `rest-json`: [`rest`], by
//! the routes of AWS's own model, [`model`]). One file per group of operations:
//!
//! - [`executions`]: StartQueryExecution, GetQueryExecution, GetQueryRuntimeStatistics,
//!   BatchGetQueryExecution, ListQueryExecutions, StopQueryExecution (and the engine task a
//!   query runs as).
//! - [`results`]: GetQueryResults (rows and DATA_MANIFEST pages).
//! - [`catalog`]: ListDataCatalogs, GetDataCatalog, ListDatabases, GetDatabase,
//!   ListTableMetadata, GetTableMetadata.
//! - [`workgroups`]: CreateWorkGroup, GetWorkGroup, ListWorkGroups, UpdateWorkGroup,
//!   DeleteWorkGroup, ListEngineVersions.
//! - [`stream`]: GetQueryResultStream (a DuckDB query's managed result as an Arrow IPC stream).
//! - [`record`]: what is kept of one query, persisted as JSON.

mod catalog;
mod executions;
pub mod model;
mod record;
pub mod rest;
mod results;
mod stream;
mod workgroups;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::catalog::now_epoch;
use crate::config::{Realism, WorkGroup};
use crate::protocol::athena::record::Record;
use crate::statements::Executor;

/// An error in the AWS JSON shape.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: u16,
    pub aws_type: &'static str,
    pub athena_code: Option<&'static str>,
    pub message: String,
}

impl ApiError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self { status: 400, aws_type: "InvalidRequestException", athena_code: Some(code), message: message.into() }
    }

    pub(crate) fn plain(aws_type: &'static str, message: impl Into<String>) -> Self {
        Self { status: 400, aws_type, athena_code: None, message: message.into() }
    }

    pub fn body(&self) -> Value {
        let mut v = json!({ "__type": self.aws_type, "Message": self.message });
        if let Some(code) = self.athena_code {
            v["AthenaErrorCode"] = json!(code);
            v["ErrorCode"] = json!(code);
        }
        v
    }
}

#[derive(Default)]
struct State {
    records: HashMap<String, Record>,
    /// Query ids in submission order.
    order: Vec<String>,
    tokens: HashMap<String, String>,
    tasks: HashMap<String, tokio::task::AbortHandle>,
}

/// The Athena service.
pub struct Athena {
    engine: Arc<Executor>,
    /// Queries run here, apart from the runtime serving HTTP: CPU-bound engine work must not
    /// starve the API (as on Athena, where queries run on other machines).
    engine_rt: EngineRuntime,
    state: Mutex<State>,
    workgroups: Mutex<Vec<WorkGroup>>,
    realism: Arc<Realism>,
    queries_dir: PathBuf,
}

/// The engine's own tokio runtime; shut down without blocking when dropped, so that an endpoint
/// can be dropped from async code.
struct EngineRuntime(Option<tokio::runtime::Runtime>);

impl EngineRuntime {
    fn new() -> std::io::Result<Self> {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("athena-engine")
            .thread_stack_size(crate::engine::STACK_BYTES)
            .enable_all()
            .build()?;
        Ok(Self(Some(rt)))
    }

    fn spawn<F: std::future::Future<Output = ()> + Send + 'static>(&self, fut: F) -> tokio::task::JoinHandle<()> {
        self.0.as_ref().expect("runtime lives until drop").spawn(fut)
    }
}

impl Drop for EngineRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

pub(crate) fn str_field<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    body.get(name).and_then(Value::as_str)
}

pub(crate) fn required<'a>(body: &'a Value, name: &str) -> Result<&'a str, ApiError> {
    str_field(body, name).ok_or_else(|| {
        ApiError::invalid(
            "INVALID_INPUT",
            format!("1 validation error detected: Value null at '{name}' failed to satisfy constraint: Member must not be null"),
        )
    })
}

impl Athena {
    pub fn open(
        engine: Arc<Executor>,
        workgroups: Vec<WorkGroup>,
        realism: Arc<Realism>,
        queries_dir: PathBuf,
    ) -> std::io::Result<Arc<Self>> {
        std::fs::create_dir_all(&queries_dir)?;
        let mut state = State::default();
        let mut loaded: Vec<Record> = Vec::new();
        for entry in std::fs::read_dir(&queries_dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "json")
                && let Ok(bytes) = std::fs::read(&path)
                && let Ok(rec) = serde_json::from_slice::<Record>(&bytes)
            {
                loaded.push(rec);
            }
        }
        loaded.sort_by(|a, b| a.submitted.total_cmp(&b.submitted));
        let engine_rt = EngineRuntime::new()?;
        let athena = Arc::new(Self {
            engine,
            engine_rt,
            state: Mutex::new(State::default()),
            workgroups: Mutex::new(workgroups),
            realism,
            queries_dir,
        });
        for mut rec in loaded {
            if !rec.is_terminal() {
                rec.state = "FAILED".into();
                rec.reason = Some("GENERIC_INTERNAL_ERROR: the endpoint was restarted while the query ran".into());
                rec.completed = Some(now_epoch());
                athena.persist(&rec);
            }
            if let Some(t) = &rec.token {
                state.tokens.insert(t.clone(), rec.id.clone());
            }
            state.order.push(rec.id.clone());
            state.records.insert(rec.id.clone(), rec);
        }
        *athena.state.lock().unwrap() = state;
        Ok(athena)
    }

    pub(crate) fn persist(&self, rec: &Record) {
        let path = self.queries_dir.join(format!("{}.json", rec.id));
        let tmp = path.with_extension("tmp");
        if let Ok(bytes) = serde_json::to_vec(rec)
            && std::fs::write(&tmp, bytes).is_ok()
        {
            let _ = std::fs::rename(tmp, path);
        }
    }

    pub(crate) fn workgroup(&self, name: &str) -> Result<WorkGroup, ApiError> {
        self.workgroups
            .lock()
            .unwrap()
            .iter()
            .find(|w| w.name == name)
            .cloned()
            .ok_or_else(|| ApiError::invalid("INVALID_INPUT", format!("WorkGroup {name} is not found.")))
    }

    /// Dispatches one JSON operation; `identity`: the Identity Center user the caller's session acts
    /// for (trusted identity propagation), if any.
    pub async fn call_for(
        self: &Arc<Self>,
        operation: &str,
        body: Value,
        identity: Option<&crate::protocol::identity_center::IdentityContext>,
    ) -> Result<Value, ApiError> {
        if self.realism.roll(self.realism.fault_throttle_rate) {
            return Err(ApiError::plain("ThrottlingException", "Rate exceeded"));
        }
        match operation {
            "StartQueryExecution" => self.start(body, identity),
            "GetQueryExecution" => self.get_query_execution(&body),
            "GetQueryRuntimeStatistics" => self.get_query_runtime_statistics(&body),
            "BatchGetQueryExecution" => self.batch_get_query_execution(&body),
            "ListQueryExecutions" => self.list_query_executions(&body),
            "StopQueryExecution" => self.stop_query_execution(&body),
            "GetQueryResults" => self.results(&body),
            "GetWorkGroup" => self.get_work_group(&body),
            "ListWorkGroups" => self.list_work_groups(&body),
            "CreateWorkGroup" => self.create_work_group(&body),
            "UpdateWorkGroup" => self.update_work_group(&body),
            "DeleteWorkGroup" => self.delete_work_group(&body),
            "ListEngineVersions" => self.list_engine_versions(&body),
            "GetDataCatalog" => self.get_data_catalog(&body),
            "ListDataCatalogs" => self.list_data_catalogs(&body),
            "ListDatabases" => self.list_databases(&body),
            "GetDatabase" => self.get_database(&body),
            "ListTableMetadata" => self.list_table_metadata(&body),
            "GetTableMetadata" => self.get_table_metadata(&body),
            other => Err(ApiError { status: 404, ..ApiError::plain("UnknownOperationException", format!("Unknown operation {other}")) }),
        }
    }
}
