//! The Athena JSON 1.1 API: operations routed by `X-Amz-Target`, the query lifecycle
//! (QUEUED -> RUNNING -> SUCCEEDED | FAILED | CANCELLED) and its persisted history.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::config::{Realism, WorkGroup};
use crate::engine::{ApiRows, CATALOG, Engine, Failure, Job};
use crate::results::read_page;
use crate::types::ColumnInfo;

/// Athena's limit on query text.
const MAX_QUERY_BYTES: usize = 262_144;

pub fn now_epoch() -> f64 {
    (chrono::Utc::now().timestamp_millis() as f64) / 1000.0
}

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

    fn plain(aws_type: &'static str, message: impl Into<String>) -> Self {
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

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ErrorInfo {
    category: i32,
    error_type: i32,
    message: String,
}

/// Everything GetQueryExecution and GetQueryResults report about one query; persisted as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    id: String,
    query: String,
    database: String,
    catalog: String,
    workgroup: String,
    statement_type: String,
    substatement_type: String,
    /// Results prefix used (`None` = managed results).
    staging: Option<String>,
    output_location: Option<String>,
    encryption: Option<Value>,
    execution_parameters: Option<Vec<String>>,
    reuse: Option<Value>,
    token: Option<String>,
    state: String,
    reason: Option<String>,
    error: Option<ErrorInfo>,
    submitted: f64,
    completed: Option<f64>,
    queue_ms: i64,
    engine_ms: i64,
    total_ms: i64,
    scanned: u64,
    manifest: Option<String>,
    reused: bool,
    columns: Vec<ColumnInfo>,
    update_count: Option<i64>,
    api_rows: Option<ApiRows>,
    manifest_rows: Option<PathBuf>,
}

impl Record {
    fn is_terminal(&self) -> bool {
        matches!(self.state.as_str(), "SUCCEEDED" | "FAILED" | "CANCELLED")
    }

    fn to_json(&self) -> Value {
        let mut status = json!({ "State": self.state, "SubmissionDateTime": self.submitted });
        if let Some(c) = self.completed {
            status["CompletionDateTime"] = json!(c);
        }
        if let Some(r) = &self.reason {
            status["StateChangeReason"] = json!(r);
        }
        if let Some(e) = &self.error {
            status["AthenaError"] =
                json!({ "ErrorCategory": e.category, "ErrorType": e.error_type, "Retryable": false, "ErrorMessage": e.message });
        }
        let mut stats = json!({
            "EngineExecutionTimeInMillis": self.engine_ms,
            "DataScannedInBytes": self.scanned,
            "TotalExecutionTimeInMillis": self.total_ms,
            "QueryQueueTimeInMillis": self.queue_ms,
            "QueryPlanningTimeInMillis": 0,
            "ServiceProcessingTimeInMillis": (self.total_ms - self.engine_ms - self.queue_ms).max(0),
            "ResultReuseInformation": { "ReusedPreviousResult": self.reused },
        });
        if let Some(m) = &self.manifest {
            stats["DataManifestLocation"] = json!(m);
        }
        let mut result_conf = json!({});
        if let Some(o) = &self.output_location {
            result_conf["OutputLocation"] = json!(o);
        }
        if let Some(e) = &self.encryption {
            result_conf["EncryptionConfiguration"] = e.clone();
        }
        let mut v = json!({
            "QueryExecutionId": self.id,
            "Query": self.query,
            "StatementType": self.statement_type,
            "SubstatementType": self.substatement_type,
            "ResultConfiguration": result_conf,
            "QueryExecutionContext": { "Database": self.database, "Catalog": self.catalog },
            "Status": status,
            "Statistics": stats,
            "WorkGroup": self.workgroup,
            "EngineVersion": { "SelectedEngineVersion": "AUTO", "EffectiveEngineVersion": "Athena engine version 3" },
        });
        if let Some(p) = &self.execution_parameters {
            v["ExecutionParameters"] = json!(p);
        }
        if let Some(r) = &self.reuse {
            v["ResultReuseConfiguration"] = r.clone();
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
    engine: Arc<Engine>,
    /// Queries run here, apart from the runtime serving HTTP: CPU-bound engine work must not
    /// starve the API (as on Athena, where queries run on other machines).
    engine_rt: EngineRuntime,
    state: Mutex<State>,
    workgroups: Vec<WorkGroup>,
    realism: Arc<Realism>,
    queries_dir: PathBuf,
}

/// The engine's own tokio runtime; shut down without blocking when dropped, so that an endpoint
/// can be dropped from async code.
struct EngineRuntime(Option<tokio::runtime::Runtime>);

impl EngineRuntime {
    fn new() -> std::io::Result<Self> {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(threads).thread_name("athena-engine").enable_all().build()?;
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

fn str_field<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    body.get(name).and_then(Value::as_str)
}

fn required<'a>(body: &'a Value, name: &str) -> Result<&'a str, ApiError> {
    str_field(body, name).ok_or_else(|| {
        ApiError::invalid(
            "INVALID_INPUT",
            format!("1 validation error detected: Value null at '{name}' failed to satisfy constraint: Member must not be null"),
        )
    })
}

impl Athena {
    pub fn open(
        engine: Arc<Engine>,
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
        let athena = Arc::new(Self { engine, engine_rt, state: Mutex::new(State::default()), workgroups, realism, queries_dir });
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

    fn persist(&self, rec: &Record) {
        let path = self.queries_dir.join(format!("{}.json", rec.id));
        let tmp = path.with_extension("tmp");
        if let Ok(bytes) = serde_json::to_vec(rec)
            && std::fs::write(&tmp, bytes).is_ok()
        {
            let _ = std::fs::rename(tmp, path);
        }
    }

    fn workgroup(&self, name: &str) -> Result<&WorkGroup, ApiError> {
        self.workgroups
            .iter()
            .find(|w| w.name == name)
            .ok_or_else(|| ApiError::invalid("INVALID_INPUT", format!("WorkGroup {name} is not found.")))
    }

    /// Dispatches one JSON operation.
    pub async fn call(self: &Arc<Self>, operation: &str, body: Value) -> Result<Value, ApiError> {
        if self.realism.roll(self.realism.fault_throttle_rate) {
            return Err(ApiError::plain("ThrottlingException", "Rate exceeded"));
        }
        match operation {
            "StartQueryExecution" => self.start(body),
            "GetQueryExecution" => {
                let id = required(&body, "QueryExecutionId")?;
                let state = self.state.lock().unwrap();
                let rec = state.records.get(id).ok_or_else(|| not_found(id))?;
                Ok(json!({ "QueryExecution": rec.to_json() }))
            }
            "BatchGetQueryExecution" => {
                let ids: Vec<String> = body
                    .get("QueryExecutionIds")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                    .unwrap_or_default();
                if ids.is_empty() || ids.len() > 50 {
                    return Err(ApiError::invalid("INVALID_INPUT", "QueryExecutionIds must hold 1 to 50 ids"));
                }
                let state = self.state.lock().unwrap();
                let (mut found, mut missing) = (Vec::new(), Vec::new());
                for id in ids {
                    match state.records.get(&id) {
                        Some(r) => found.push(r.to_json()),
                        None => missing.push(json!({ "QueryExecutionId": id, "ErrorCode": "QUERY_EXECUTION_NOT_FOUND", "ErrorMessage": format!("QueryExecution {id} was not found") })),
                    }
                }
                Ok(json!({ "QueryExecutions": found, "UnprocessedQueryExecutionIds": missing }))
            }
            "ListQueryExecutions" => {
                let wg = str_field(&body, "WorkGroup").unwrap_or("primary");
                self.workgroup(wg)?;
                let max = body.get("MaxResults").and_then(Value::as_u64).unwrap_or(50).clamp(0, 50) as usize;
                let start = match str_field(&body, "NextToken") {
                    Some(t) => t.parse::<usize>().map_err(|_| ApiError::invalid("INVALID_INPUT", "Invalid NextToken"))?,
                    None => 0,
                };
                let state = self.state.lock().unwrap();
                let ids: Vec<&String> = state.order.iter().rev().filter(|id| state.records[*id].workgroup == wg).collect();
                let page: Vec<&String> = ids.iter().skip(start).take(max).copied().collect();
                let mut v = json!({ "QueryExecutionIds": page });
                if start + max < ids.len() {
                    v["NextToken"] = json!((start + max).to_string());
                }
                Ok(v)
            }
            "StopQueryExecution" => {
                let id = required(&body, "QueryExecutionId")?;
                self.stop(id)?;
                Ok(json!({}))
            }
            "GetQueryResults" => self.results(&body),
            "GetWorkGroup" => {
                let name = required(&body, "WorkGroup")?;
                let wg = self.workgroup(name)?;
                Ok(json!({ "WorkGroup": workgroup_json(wg) }))
            }
            "ListWorkGroups" => {
                let list: Vec<Value> = self
                    .workgroups
                    .iter()
                    .map(|w| {
                        json!({ "Name": w.name, "State": "ENABLED", "Description": w.description, "CreationTime": 1_700_000_000.0,
                        "EngineVersion": { "SelectedEngineVersion": "AUTO", "EffectiveEngineVersion": "Athena engine version 3" } })
                    })
                    .collect();
                Ok(json!({ "WorkGroups": list }))
            }
            "GetDataCatalog" => {
                let name = required(&body, "Name")?;
                check_catalog(name)?;
                Ok(
                    json!({ "DataCatalog": { "Name": "AwsDataCatalog", "Type": "GLUE", "Description": "local Glue-like catalog", "Parameters": { "catalog-id": "000000000000" } } }),
                )
            }
            "ListDataCatalogs" => Ok(json!({ "DataCatalogsSummary": [{ "CatalogName": "AwsDataCatalog", "Type": "GLUE" }] })),
            "ListDatabases" => {
                check_catalog(required(&body, "CatalogName")?)?;
                let dbs: Vec<Value> =
                    self.engine.catalog().databases().into_iter().map(|d| json!({ "Name": d, "Parameters": {} })).collect();
                Ok(json!({ "DatabaseList": dbs }))
            }
            "GetDatabase" => {
                check_catalog(required(&body, "CatalogName")?)?;
                let db = required(&body, "DatabaseName")?;
                if !self.engine.catalog().has_database(db) {
                    return Err(metadata_error(format!("Database {db} not found.")));
                }
                Ok(json!({ "Database": { "Name": db.to_ascii_lowercase(), "Parameters": {} } }))
            }
            "ListTableMetadata" => {
                check_catalog(required(&body, "CatalogName")?)?;
                let db = required(&body, "DatabaseName")?;
                let tables = self.engine.catalog().tables(db).map_err(|e| metadata_error(e.to_string()))?;
                let pattern = str_field(&body, "Expression");
                let matched: Vec<Value> =
                    tables.iter().filter(|t| pattern.is_none_or(|p| glob_match(p, &t.name))).map(table_json).collect();
                let max = body.get("MaxResults").and_then(Value::as_u64).unwrap_or(50).clamp(1, 50) as usize;
                let start = match str_field(&body, "NextToken") {
                    Some(t) => t.parse::<usize>().map_err(|_| ApiError::invalid("INVALID_INPUT", "Invalid NextToken"))?,
                    None => 0,
                };
                let page: Vec<Value> = matched.iter().skip(start).take(max).cloned().collect();
                let mut v = json!({ "TableMetadataList": page });
                if start + max < matched.len() {
                    v["NextToken"] = json!((start + max).to_string());
                }
                Ok(v)
            }
            "GetTableMetadata" => {
                check_catalog(required(&body, "CatalogName")?)?;
                let db = required(&body, "DatabaseName")?;
                let name = required(&body, "TableName")?;
                let t = self.engine.catalog().table(db, name).map_err(|e| metadata_error(e.to_string()))?;
                Ok(json!({ "TableMetadata": table_json(&t) }))
            }
            other => Err(ApiError::plain("UnknownOperationException", format!("Unknown operation {other}"))),
        }
    }

    fn start(self: &Arc<Self>, body: Value) -> Result<Value, ApiError> {
        let query = required(&body, "QueryString")?.to_owned();
        if query.len() > MAX_QUERY_BYTES {
            return Err(ApiError::invalid("INVALID_INPUT", format!("Query text is longer than {MAX_QUERY_BYTES} bytes")));
        }
        let token = str_field(&body, "ClientRequestToken").map(str::to_owned);
        if let Some(t) = &token {
            let state = self.state.lock().unwrap();
            if let Some(id) = state.tokens.get(t) {
                return if state.records[id].query == query {
                    Ok(json!({ "QueryExecutionId": id }))
                } else {
                    Err(ApiError::invalid(
                        "IDEMPOTENT_PARAMETER_MISMATCH",
                        "The ClientRequestToken was already used with different request parameters.",
                    ))
                };
            }
        }
        let wg_name = str_field(&body, "WorkGroup").unwrap_or("primary").to_owned();
        let wg = self.workgroup(&wg_name)?.clone();
        let requested_output = body.pointer("/ResultConfiguration/OutputLocation").and_then(Value::as_str).map(str::to_owned);
        let staging = if wg.enforce { wg.output_location.clone() } else { requested_output.or_else(|| wg.output_location.clone()) };
        if staging.is_none() && !wg.managed {
            return Err(ApiError::invalid(
                "INVALID_INPUT",
                "No output location provided. An output location is required either through the Workgroup result configuration setting or as an API input.",
            ));
        }
        if let Some(s) = &staging {
            let Some((bucket, _)) = crate::catalog::split_s3_uri(s) else {
                return Err(ApiError::invalid("INVALID_INPUT", format!("OutputLocation must be an s3:// URI: {s}")));
            };
            if !self.engine_layout_bucket_exists(&bucket) {
                return Err(ApiError::invalid("INVALID_INPUT", format!("Unable to verify/create output bucket {bucket}")));
            }
        }
        let encryption = body.pointer("/ResultConfiguration/EncryptionConfiguration").cloned();
        let database = body.pointer("/QueryExecutionContext/Database").and_then(Value::as_str).unwrap_or("default").to_ascii_lowercase();
        let catalog = body.pointer("/QueryExecutionContext/Catalog").and_then(Value::as_str).unwrap_or("AwsDataCatalog").to_owned();
        check_catalog(&catalog)?;
        let params: Option<Vec<String>> = body
            .get("ExecutionParameters")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect());
        let bound = bind_parameters(&query, params.as_deref().unwrap_or(&[]))?;
        let mut statement = crate::sql::parse(&bound).map_err(|e| ApiError::invalid("MALFORMED_QUERY", e.to_string()))?;
        let kind = crate::sql::classify(&statement);
        crate::sql::rewrite(&mut statement);
        let reuse = body.get("ResultReuseConfiguration").cloned();

        let id = uuid::Uuid::new_v4().to_string();
        let mut rec = Record {
            id: id.clone(),
            query: query.clone(),
            database: database.clone(),
            catalog,
            workgroup: wg_name,
            statement_type: kind.statement_type.into(),
            substatement_type: kind.substatement_type.into(),
            staging: staging.clone(),
            output_location: None,
            encryption,
            execution_parameters: params,
            reuse: reuse.clone(),
            token: token.clone(),
            state: "QUEUED".into(),
            reason: None,
            error: None,
            submitted: now_epoch(),
            completed: None,
            queue_ms: 0,
            engine_ms: 0,
            total_ms: 0,
            scanned: 0,
            manifest: None,
            reused: false,
            columns: vec![],
            update_count: None,
            api_rows: None,
            manifest_rows: None,
        };
        let mut state = self.state.lock().unwrap();
        if let Some(prev) = reusable(&state, &rec, reuse.as_ref()) {
            rec.state = "SUCCEEDED".into();
            rec.completed = Some(rec.submitted);
            rec.reused = true;
            rec.output_location = prev.output_location.clone();
            rec.columns = prev.columns.clone();
            rec.update_count = prev.update_count;
            rec.api_rows = prev.api_rows.clone();
            rec.manifest = prev.manifest.clone();
            rec.manifest_rows = prev.manifest_rows.clone();
        }
        self.persist(&rec);
        let reused = rec.reused;
        state.order.push(id.clone());
        if let Some(t) = token {
            state.tokens.insert(t, id.clone());
        }
        state.records.insert(id.clone(), rec);
        if !reused {
            let job = Job { id: id.clone(), sql: bound, statement, kind, database, staging };
            let this = self.clone();
            let handle = self.engine_rt.spawn(async move { this.execute(job).await });
            state.tasks.insert(id.clone(), handle.abort_handle());
        }
        Ok(json!({ "QueryExecutionId": id }))
    }

    fn engine_layout_bucket_exists(&self, bucket: &str) -> bool {
        self.engine.layout().bucket_path(bucket).is_dir()
    }

    async fn execute(self: Arc<Self>, job: Job) {
        let submitted_at = Instant::now();
        {
            let mut state = self.state.lock().unwrap();
            let Some(rec) = state.records.get_mut(&job.id) else {
                return;
            };
            if rec.is_terminal() {
                return;
            }
            rec.state = "RUNNING".into();
            rec.queue_ms = submitted_at.elapsed().as_millis() as i64;
            let snapshot = rec.clone();
            drop(state);
            self.persist(&snapshot);
        }
        let started = Instant::now();
        let result = self.engine.run(&job).await;
        let engine_ms = started.elapsed().as_millis() as i64;
        let mut state = self.state.lock().unwrap();
        state.tasks.remove(&job.id);
        let Some(rec) = state.records.get_mut(&job.id) else {
            return;
        };
        if rec.is_terminal() {
            return; // cancelled meanwhile
        }
        rec.engine_ms = engine_ms;
        rec.completed = Some(now_epoch());
        rec.total_ms = ((rec.completed.unwrap() - rec.submitted) * 1000.0).round() as i64;
        match result {
            Ok(outcome) => {
                rec.state = "SUCCEEDED".into();
                rec.columns = outcome.columns;
                rec.update_count = outcome.update_count;
                rec.scanned = outcome.data_scanned;
                rec.output_location = outcome.output_location;
                rec.manifest = outcome.manifest_location;
                rec.api_rows = outcome.api_rows;
                if job.kind.substatement_type == "UNLOAD" {
                    rec.manifest_rows = Some(self.engine.manifest_rows_path(&job.id));
                }
            }
            Err(failure) => fail(rec, &failure),
        }
        let snapshot = rec.clone();
        drop(state);
        self.persist(&snapshot);
    }

    fn stop(&self, id: &str) -> Result<(), ApiError> {
        let mut state = self.state.lock().unwrap();
        let task = state.tasks.remove(id);
        let rec = state.records.get_mut(id).ok_or_else(|| not_found(id))?;
        if rec.is_terminal() {
            return Ok(());
        }
        if let Some(t) = task {
            t.abort();
        }
        rec.state = "CANCELLED".into();
        rec.reason = Some("Query cancelled by user".into());
        rec.completed = Some(now_epoch());
        rec.total_ms = ((rec.completed.unwrap() - rec.submitted) * 1000.0).round() as i64;
        let snapshot = rec.clone();
        drop(state);
        self.persist(&snapshot);
        Ok(())
    }

    fn results(&self, body: &Value) -> Result<Value, ApiError> {
        let id = required(body, "QueryExecutionId")?;
        let max = match body.get("MaxResults").and_then(Value::as_i64) {
            None => 1000,
            Some(n @ 1..=1000) => n as usize,
            Some(n) => {
                return Err(ApiError::invalid(
                    "INVALID_INPUT",
                    format!(
                        "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000"
                    ),
                ));
            }
        };
        let rec = {
            let state = self.state.lock().unwrap();
            state.records.get(id).cloned().ok_or_else(|| not_found(id))?
        };
        match rec.state.as_str() {
            "SUCCEEDED" => {}
            "FAILED" | "CANCELLED" => {
                return Err(ApiError::invalid(
                    "INVALID_QUERY_EXECUTION_STATE",
                    format!("Query did not finish successfully. Final query state: {}", rec.state),
                ));
            }
            s => {
                return Err(ApiError::invalid("INVALID_QUERY_EXECUTION_STATE", format!("Query has not yet finished. Current state: {s}")));
            }
        }
        let manifest = str_field(body, "QueryResultType") == Some("DATA_MANIFEST");
        let path = if manifest {
            match &rec.manifest_rows {
                Some(p) => p.clone(),
                None => {
                    return Err(ApiError::invalid("INVALID_INPUT", "DATA_MANIFEST results exist only for UNLOAD queries"));
                }
            }
        } else {
            match &rec.api_rows {
                Some(a) => a.path.clone(),
                None => {
                    return Err(ApiError::invalid("RESULT_NOT_FOUND", "Query results are not available"));
                }
            }
        };
        let offset = match str_field(body, "NextToken") {
            Some(t) => decode_token(t, id).ok_or_else(|| ApiError::invalid("INVALID_INPUT", "Invalid NextToken"))?,
            None => 0,
        };
        let page = read_page(&path, offset, max)
            .map_err(|e| ApiError::invalid("RESULT_NOT_FOUND", format!("Query results could not be read: {e}")))?;
        let rows: Vec<Value> = page
            .rows
            .iter()
            .map(|r| {
                let data: Vec<Value> = r.iter().map(|v| v.as_ref().map_or_else(|| json!({}), |s| json!({ "VarCharValue": s }))).collect();
                json!({ "Data": data })
            })
            .collect();
        let columns: Vec<Value> =
            if manifest { vec![] } else { rec.columns.iter().map(|c| serde_json::to_value(c).expect("serialisable")).collect() };
        let mut v = json!({ "ResultSet": { "Rows": rows, "ResultSetMetadata": { "ColumnInfo": columns } } });
        if let Some(n) = rec.update_count.filter(|_| {
            rec.substatement_type != "EXPLAIN" && (rec.statement_type != "DDL" || rec.substatement_type == "CREATE_TABLE_AS_SELECT")
        }) {
            v["UpdateCount"] = json!(n);
        }
        if let Some(next) = page.next {
            v["NextToken"] = json!(encode_token(next, id));
        }
        Ok(v)
    }
}

fn fail(rec: &mut Record, failure: &Failure) {
    rec.state = "FAILED".into();
    rec.reason = Some(failure.to_string());
    rec.error = Some(ErrorInfo { category: failure.category, error_type: failure.error_type, message: failure.to_string() });
}

/// The newest earlier SUCCEEDED query that ResultReuseConfiguration lets this one reuse.
fn reusable<'a>(state: &'a State, rec: &Record, reuse: Option<&Value>) -> Option<&'a Record> {
    let conf = reuse?.get("ResultReuseByAgeConfiguration")?;
    if !conf.get("Enabled").and_then(Value::as_bool).unwrap_or(false) {
        return None;
    }
    let max_age_min = conf.get("MaxAgeInMinutes").and_then(Value::as_f64).unwrap_or(60.0);
    let now = now_epoch();
    state.order.iter().rev().map(|id| &state.records[id]).find(|prev| {
        prev.state == "SUCCEEDED"
            && prev.query == rec.query
            && prev.database == rec.database
            && prev.staging == rec.staging
            && prev.execution_parameters == rec.execution_parameters
            && prev.statement_type == "DML"
            && prev.completed.is_some_and(|c| now - c <= max_age_min * 60.0)
            && prev.api_rows.as_ref().is_some_and(|a| a.path.exists())
    })
}

/// Substitutes `?` placeholders (outside literals and comments) with ExecutionParameters.
fn bind_parameters(sql: &str, params: &[String]) -> Result<String, ApiError> {
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let (mut i, mut used, mut last) = (0, 0, 0);
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"') => {
                i += 1;
                while i < b.len() {
                    if b[i] == q {
                        if b.get(i + 1) == Some(&q) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'?' => {
                let p = params.get(used).ok_or_else(|| {
                    ApiError::invalid(
                        "INVALID_INPUT",
                        format!("Incorrect number of parameters: expected at least {} but found {}", used + 1, params.len()),
                    )
                })?;
                out.push_str(&sql[last..i]);
                out.push_str(p);
                used += 1;
                last = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.push_str(&sql[last.min(sql.len())..]);
    if used != params.len() {
        return Err(ApiError::invalid(
            "INVALID_INPUT",
            format!("Incorrect number of parameters: expected {used} but found {}", params.len()),
        ));
    }
    Ok(out)
}

fn encode_token(offset: u64, id: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{id}:{offset}"))
}

fn decode_token(token: &str, id: &str) -> Option<u64> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD.decode(token).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (tid, off) = text.rsplit_once(':')?;
    (tid == id).then_some(())?;
    off.parse().ok()
}

fn not_found(id: &str) -> ApiError {
    ApiError::invalid("INVALID_INPUT", format!("QueryExecution {id} was not found"))
}

fn metadata_error(message: String) -> ApiError {
    ApiError::plain("MetadataException", message)
}

fn check_catalog(name: &str) -> Result<(), ApiError> {
    if name.eq_ignore_ascii_case(CATALOG) { Ok(()) } else { Err(ApiError::plain("MetadataException", format!("Catalog {name} not found"))) }
}

fn glob_match(pattern: &str, name: &str) -> bool {
    // ListTableMetadata's Expression: `*` matches any run of characters, `|` separates alternatives.
    pattern.split('|').any(|alt| {
        let parts: Vec<&str> = alt.split('*').collect();
        if parts.len() == 1 {
            return alt.eq_ignore_ascii_case(name);
        }
        let name = name.to_ascii_lowercase();
        let mut pos = 0;
        for (i, part) in parts.iter().enumerate() {
            let part = part.to_ascii_lowercase();
            if i == 0 {
                if !name.starts_with(&part) {
                    return false;
                }
                pos = part.len();
            } else if let Some(found) = name[pos..].find(&part) {
                pos += found + part.len();
            } else {
                return false;
            }
        }
        parts.last().is_none_or(|l| l.is_empty() || name.ends_with(&l.to_ascii_lowercase()))
    })
}

fn workgroup_json(wg: &WorkGroup) -> Value {
    let mut rc = json!({});
    if let Some(o) = &wg.output_location {
        rc["OutputLocation"] = json!(o);
    }
    let mut config = json!({
        "ResultConfiguration": rc,
        "EnforceWorkGroupConfiguration": wg.enforce,
        "PublishCloudWatchMetricsEnabled": false,
        "RequesterPaysEnabled": false,
        "EngineVersion": { "SelectedEngineVersion": "AUTO", "EffectiveEngineVersion": "Athena engine version 3" },
    });
    if wg.managed {
        config["ManagedQueryResultsConfiguration"] = json!({ "Enabled": true });
    }
    json!({ "Name": wg.name, "State": "ENABLED", "Description": wg.description, "CreationTime": 1_700_000_000.0, "Configuration": config })
}

fn table_json(t: &crate::catalog::Table) -> Value {
    let cols = |cs: &[crate::catalog::Column]| -> Vec<Value> {
        cs.iter()
            .map(|c| {
                let mut v = json!({ "Name": c.name, "Type": c.type_name });
                if let Some(comment) = &c.comment {
                    v["Comment"] = json!(comment);
                }
                v
            })
            .collect()
    };
    let mut params = json!({ "location": t.location, "inputformat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat", "serde.serialization.lib": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe" });
    if let Some(c) = &t.comment {
        params["comment"] = json!(c);
    }
    if t.is_view() {
        params = json!({ "comment": "Presto View" });
    }
    json!({
        "Name": t.name,
        "CreateTime": t.create_time,
        "LastAccessTime": 0.0,
        "TableType": t.table_type(),
        "Columns": cols(&t.columns),
        "PartitionKeys": cols(&t.partition_keys),
        "Parameters": params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_qmark_parameters_outside_literals() {
        assert_eq!(bind_parameters("SELECT ?, '?' -- ?\n, ?", &["1".into(), "'x'".into()]).unwrap(), "SELECT 1, '?' -- ?\n, 'x'");
        assert!(bind_parameters("SELECT ?", &[]).is_err());
        assert!(bind_parameters("SELECT 1", &["1".into()]).is_err());
    }

    #[test]
    fn tokens_are_bound_to_their_query() {
        let t = encode_token(42, "q1");
        assert_eq!(decode_token(&t, "q1"), Some(42));
        assert_eq!(decode_token(&t, "q2"), None);
        assert_eq!(decode_token("garbage", "q1"), None);
    }

    #[test]
    fn table_expression_globs() {
        assert!(glob_match("one*", "one_row"));
        assert!(glob_match("*rows", "many_rows"));
        assert!(!glob_match("one*", "many_rows"));
        assert!(glob_match("x|many_rows", "many_rows"));
    }
}
