//! StartQueryExecution, GetQueryExecution, BatchGetQueryExecution, ListQueryExecutions and
//! StopQueryExecution, and the engine task each query runs as.

use std::sync::Arc;
use std::time::Instant;

use futures::FutureExt;
use serde_json::{Value, json};

use crate::catalog::{now_epoch, split_s3_uri};
use crate::config::WorkGroup;
use crate::failure::Failure;
use crate::protocol::athena::catalog::check_catalog;
use crate::protocol::athena::record::{Record, fail};
use crate::protocol::athena::{ApiError, Athena, State, required, str_field};
use crate::statements::classify::kind;
use crate::statements::dialect::{Dialect, Refusal};
use crate::statements::duckdb::DUCKDB;
use crate::statements::trino::ENGINE_VERSION_3;
use crate::statements::{ENGINE_NAMES, Job, dialect_named};

/// Athena's limit on query text.
const MAX_QUERY_BYTES: usize = 262_144;

impl Athena {
    pub(super) fn get_query_runtime_statistics(&self, body: &Value) -> Result<Value, ApiError> {
        let id = required(body, "QueryExecutionId")?;
        let state = self.state.lock().unwrap();
        let rec = state.records.get(id).ok_or_else(|| not_found(id))?;
        Ok(rec.runtime_statistics_json())
    }

    pub(super) fn get_query_execution(&self, body: &Value) -> Result<Value, ApiError> {
        let id = required(body, "QueryExecutionId")?;
        let state = self.state.lock().unwrap();
        let rec = state.records.get(id).ok_or_else(|| not_found(id))?;
        Ok(json!({ "QueryExecution": rec.to_json() }))
    }

    pub(super) fn batch_get_query_execution(&self, body: &Value) -> Result<Value, ApiError> {
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

    pub(super) fn list_query_executions(&self, body: &Value) -> Result<Value, ApiError> {
        let wg = str_field(body, "WorkGroup").unwrap_or("primary");
        self.workgroup(wg)?;
        let max = body.get("MaxResults").and_then(Value::as_u64).unwrap_or(50).clamp(0, 50) as usize;
        let start = match str_field(body, "NextToken") {
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

    pub(super) fn stop_query_execution(&self, body: &Value) -> Result<Value, ApiError> {
        let id = required(body, "QueryExecutionId")?;
        self.stop(id)?;
        Ok(json!({}))
    }

    pub(super) fn start(
        self: &Arc<Self>,
        body: Value,
        identity: Option<&crate::protocol::identity_center::IdentityContext>,
    ) -> Result<Value, ApiError> {
        let query = required(&body, "QueryString")?.to_owned();
        if query.len() > MAX_QUERY_BYTES {
            return Err(ApiError::invalid("INVALID_INPUT", format!("Query text is longer than {MAX_QUERY_BYTES} bytes")));
        }
        let token = str_field(&body, "ClientRequestToken").map(str::to_owned);
        if let Some(t) = &token
            && let Some(answer) = token_answer(&self.state.lock().unwrap(), t, &query)
        {
            return answer;
        }
        let wg_name = str_field(&body, "WorkGroup").unwrap_or("primary").to_owned();
        let wg = self.workgroup(&wg_name)?;
        // An Identity Center-enabled workgroup runs queries for Identity Center users only. (The
        // code and words of the refusal are this endpoint's: no source gives Athena's.)
        if wg.identity_center_instance_arn.is_some() && identity.is_none() {
            return Err(ApiError {
                status: 400,
                aws_type: "AccessDeniedException",
                athena_code: None,
                message: format!(
                    "WorkGroup {wg_name} is enabled for IAM Identity Center: its queries run only with credentials that carry an Identity Center identity context (trusted identity propagation)"
                ),
            });
        }
        let requested_output = body.pointer("/ResultConfiguration/OutputLocation").and_then(Value::as_str).map(str::to_owned);
        let staging = if wg.enforce { wg.output_location.clone() } else { requested_output.or_else(|| wg.output_location.clone()) };
        if staging.is_none() && !wg.managed {
            return Err(ApiError::invalid(
                "INVALID_INPUT",
                "No output location provided. An output location is required either through the Workgroup result configuration setting or as an API input.",
            ));
        }
        if let Some(s) = &staging {
            let Some((bucket, _)) = split_s3_uri(s) else {
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
        let (selected_engine, dialect) = self.engine_of(&wg, body.get("EngineVersion"))?;
        let seal = self.seal_of(encryption.as_ref(), dialect.name())?;
        let bound = bind_parameters(&query, params.as_deref().unwrap_or(&[]))?;
        // Engine version 3 refuses a syntax error at submission; DuckDB takes any text and the
        // query ends FAILED.
        let (prepared, refused) = match dialect.prepare(&bound) {
            Ok(p) => (Some(p), None),
            Err(Refusal::Syntax(e)) => return Err(ApiError::invalid("MALFORMED_QUERY", e.to_string())),
            Err(Refusal::Failed(f)) => (None, Some(f)),
        };
        let kind = prepared.as_ref().map_or(kind("DML", "SELECT"), |(_, k)| *k);
        let reuse = body.get("ResultReuseConfiguration").cloned();
        let reuse_on =
            reuse.as_ref().and_then(|r| r.pointer("/ResultReuseByAgeConfiguration/Enabled")).and_then(Value::as_bool) == Some(true);
        if reuse_on && dialect.name() == DUCKDB {
            return Err(ApiError::invalid("INVALID_INPUT", "Query result reuse is not supported by the DuckDB engine"));
        }

        let id = uuid::Uuid::new_v4().to_string();
        let mut rec = Record {
            id: id.clone(),
            query: query.clone(),
            database: database.clone(),
            catalog,
            workgroup: wg_name,
            selected_engine,
            engine: dialect.name().to_owned(),
            statement_type: kind.statement_type.into(),
            substatement_type: kind.substatement_type.into(),
            staging: staging.clone(),
            output_location: None,
            encryption,
            identity_user: identity.map(|i| i.user.clone()),
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
            output: None,
            arrow_stream: None,
        };
        let mut state = self.state.lock().unwrap();
        // The token is checked again under the lock that records the query: of concurrent calls
        // with one token (an SDK retry racing its first attempt), exactly one creates a query.
        if let Some(t) = &token
            && let Some(answer) = token_answer(&state, t, &query)
        {
            self.engine_rt.spawn(async move { drop(prepared) });
            return answer;
        }
        if let Some(failure) = &refused {
            rec.completed = Some(rec.submitted);
            fail(&mut rec, failure);
        } else if let Some(prev) = reusable(&state, &rec, reuse.as_ref()) {
            rec.state = "SUCCEEDED".into();
            rec.completed = Some(rec.submitted);
            rec.reused = true;
            rec.output_location = prev.output_location.clone();
            rec.columns = prev.columns.clone();
            rec.update_count = prev.update_count;
            rec.api_rows = prev.api_rows.clone();
            rec.manifest = prev.manifest.clone();
            rec.manifest_rows = prev.manifest_rows.clone();
            rec.output = prev.output;
            rec.arrow_stream = prev.arrow_stream.clone();
        }
        self.persist(&rec);
        let reused = rec.reused;
        state.order.push(id.clone());
        if let Some(t) = token {
            state.tokens.insert(t, id.clone());
        }
        state.records.insert(id.clone(), rec);
        match prepared {
            Some((statement, _)) if !reused => {
                let job = Job { id: id.clone(), sql: bound, statement, kind, database, staging, dialect, seal };
                let this = self.clone();
                let handle = self.engine_rt.spawn(async move { this.execute(job).await });
                state.tasks.insert(id.clone(), handle.abort_handle());
            }
            // A deep statement's drop recurses as deep as its parse: on an engine thread.
            Some(prepared) => drop(self.engine_rt.spawn(async move { drop(prepared) })),
            None => {}
        }
        Ok(json!({ "QueryExecutionId": id }))
    }

    /// The key a CSE_KMS query's result objects are sealed with (`None` for other options, whose
    /// encryption S3 applies and removes).
    fn seal_of(&self, encryption: Option<&Value>, engine: &str) -> Result<Option<crate::formats::envelope::Seal>, ApiError> {
        let Some(encryption) = encryption else { return Ok(None) };
        if str_field(encryption, "EncryptionOption") != Some("CSE_KMS") {
            return Ok(None);
        }
        // Athena's DuckDB engine does not support CSE_KMS results (its documentation); the
        // words of its refusal are this endpoint's.
        if engine == DUCKDB {
            return Err(ApiError::invalid("INVALID_INPUT", "CSE_KMS result encryption is not supported by the DuckDB engine"));
        }
        let Some(key) = str_field(encryption, "KmsKey") else {
            return Err(ApiError::invalid("INVALID_INPUT", "EncryptionOption CSE_KMS needs a KmsKey"));
        };
        Ok(Some(crate::formats::envelope::Seal { kms: self.engine.kms().clone(), key: key.to_owned() }))
    }

    /// The engine a query runs on: StartQueryExecution's `EngineVersion` (a name, or an object
    /// with `SelectedEngineVersion`) when given, else its workgroup's. Returns the selected
    /// version as GetQueryExecution reports it (`AUTO` when neither names one) and the engine.
    fn engine_of(&self, wg: &WorkGroup, requested: Option<&Value>) -> Result<(String, Arc<dyn Dialect>), ApiError> {
        let requested = match requested {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) => Some(name.as_str()),
            Some(v) => match v.get("SelectedEngineVersion").and_then(Value::as_str) {
                Some(name) => Some(name),
                None => return Err(ApiError::invalid("INVALID_INPUT", "EngineVersion must name an engine version")),
            },
        };
        let selected = requested.or(wg.engine_version.as_deref());
        let name = selected.unwrap_or(ENGINE_VERSION_3);
        let dialect = dialect_named(name).ok_or_else(|| {
            ApiError::invalid(
                "INVALID_INPUT",
                format!("Engine version {name:?} is not available; valid values: {}", ENGINE_NAMES.map(|n| format!("{n:?}")).join(", ")),
            )
        })?;
        Ok((selected.unwrap_or("AUTO").to_owned(), dialect))
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
            // From submission to the engine taking it, in whole milliseconds rounded up: a query
            // that waited any time at all waited at least 1 ms (Athena never reports 0).
            let now = chrono::Utc::now().timestamp_micros() as f64 / 1e6;
            rec.queue_ms = ((now - rec.submitted).max(0.0) * 1000.0).ceil() as i64;
            let snapshot = rec.clone();
            drop(state);
            self.persist(&snapshot);
        }
        let started = Instant::now();
        // Whatever happens in the engine, the query ends: a panic is a FAILED query, never one
        // left RUNNING.
        let result = match std::panic::AssertUnwindSafe(self.engine.run(&job)).catch_unwind().await {
            Ok(result) => result,
            Err(panic) => {
                let what = panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned());
                tracing::error!(query_id = %job.id, "the engine panicked: {}", what.as_deref().unwrap_or("(no message)"));
                Err(Failure::system(format!("the engine failed: {}", what.as_deref().unwrap_or("internal error"))))
            }
        };
        let engine_ms = started.elapsed().as_millis() as i64;
        if let Some(rest) = self.realism.min_query_time.checked_sub(submitted_at.elapsed()) {
            tokio::time::sleep(rest).await;
        }
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
                rec.output = outcome.output;
                rec.arrow_stream = outcome.arrow_stream;
                if job.kind.substatement_type == "UNLOAD" {
                    rec.manifest_rows = Some(self.engine.manifest_rows_path(&job.id));
                }
            }
            Err(failure) => fail(rec, &job.dialect.failure(failure)),
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
}

/// The answer to a StartQueryExecution whose ClientRequestToken was used before: the same query
/// id for the same query text, else Athena's IDEMPOTENT_PARAMETER_MISMATCH.
fn token_answer(state: &State, token: &str, query: &str) -> Option<Result<Value, ApiError>> {
    let id = state.tokens.get(token)?;
    Some(if state.records[id].query == query {
        Ok(json!({ "QueryExecutionId": id }))
    } else {
        Err(ApiError::invalid(
            "IDEMPOTENT_PARAMETER_MISMATCH",
            "The ClientRequestToken was already used with different request parameters.",
        ))
    })
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

impl Athena {
    /// The record of query `id` when it SUCCEEDED: what GetQueryResults and GetQueryResultStream
    /// read. Otherwise Athena's error for the query's state (or for an unknown id).
    pub(crate) fn succeeded(&self, id: &str) -> Result<Record, ApiError> {
        let rec = self.state.lock().unwrap().records.get(id).cloned().ok_or_else(|| not_found(id))?;
        match rec.state.as_str() {
            "SUCCEEDED" => Ok(rec),
            "FAILED" | "CANCELLED" => Err(ApiError::invalid(
                "INVALID_QUERY_EXECUTION_STATE",
                format!("Query did not finish successfully. Final query state: {}", rec.state),
            )),
            s => Err(ApiError::invalid("INVALID_QUERY_EXECUTION_STATE", format!("Query has not yet finished. Current state: {s}"))),
        }
    }
}

pub(super) fn not_found(id: &str) -> ApiError {
    ApiError::invalid("INVALID_INPUT", format!("QueryExecution {id} was not found"))
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
}
