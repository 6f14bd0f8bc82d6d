//! The facts of a query execution as Athena reports them (GetQueryExecution), in this crate's
//! terms: what a result knows of its query, below both the query's steps and the results'.

use std::time::{Duration, SystemTime};

use aws_sdk_athena::types::{QueryExecution, QueryExecutionState, StatementType};

use crate::error::{Error, QueryState, Result};

/// The facts Athena reports about a query execution (GetQueryExecution).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct QueryInfo {
    pub query_id: String,
    /// The SQL as executed (after parameter substitution).
    pub query: String,
    pub state: QueryState,
    pub state_change_reason: Option<String>,
    /// `DDL`, `DML` or `UTILITY`.
    pub statement_type: Option<String>,
    /// `SELECT`, `INSERT`, `CREATE_TABLE_AS_SELECT`, ...
    pub substatement_type: Option<String>,
    pub work_group: Option<String>,
    pub database: Option<String>,
    pub catalog: Option<String>,
    /// Where the result file is (`None` with Athena-managed results).
    pub output_location: Option<String>,
    /// How Athena encrypted the result files (`SSE_S3`, `SSE_KMS`, `CSE_KMS`), as it reports
    /// the query's `ResultConfiguration` (the workgroup's when it enforces its own).
    pub result_encryption: Option<String>,
    pub data_manifest_location: Option<String>,
    pub data_scanned_bytes: Option<i64>,
    pub engine_execution_time: Option<Duration>,
    pub query_queue_time: Option<Duration>,
    pub query_planning_time: Option<Duration>,
    pub service_processing_time: Option<Duration>,
    pub total_execution_time: Option<Duration>,
    pub reused_previous_result: bool,
    pub submission_time: Option<SystemTime>,
    pub completion_time: Option<SystemTime>,
    pub error_category: Option<i32>,
    pub error_type: Option<i32>,
    pub error_message: Option<String>,
    pub retryable: bool,
    /// The engine the query ran on (`EngineVersion.EffectiveEngineVersion`).
    pub engine: crate::config::engine::Engine,
}

fn millis(v: Option<i64>) -> Option<Duration> {
    v.and_then(|m| u64::try_from(m).ok()).map(Duration::from_millis)
}

fn system_time(t: Option<&aws_smithy_types::DateTime>) -> Option<SystemTime> {
    t.and_then(|t| SystemTime::try_from(*t).ok())
}

impl QueryInfo {
    /// Whether the result files are client-side encrypted (CSE_KMS): ciphertext in S3.
    pub fn client_side_encrypted(&self) -> bool {
        self.result_encryption.as_deref() == Some("CSE_KMS")
    }

    pub(crate) fn from_sdk(q: &QueryExecution) -> Self {
        let status = q.status();
        let stats = q.statistics();
        let error = status.and_then(|s| s.athena_error());
        Self {
            query_id: q.query_execution_id().unwrap_or_default().to_owned(),
            query: q.query().unwrap_or_default().to_owned(),
            state: state_from_sdk(status.and_then(|s| s.state())),
            state_change_reason: status.and_then(|s| s.state_change_reason()).map(str::to_owned),
            statement_type: q.statement_type().map(|t| t.as_str().to_owned()),
            substatement_type: q.substatement_type().map(str::to_owned),
            work_group: q.work_group().map(str::to_owned),
            database: q.query_execution_context().and_then(|c| c.database()).map(str::to_owned),
            catalog: q.query_execution_context().and_then(|c| c.catalog()).map(str::to_owned),
            output_location: q.result_configuration().and_then(|r| r.output_location()).map(str::to_owned),
            result_encryption: q
                .result_configuration()
                .and_then(|r| r.encryption_configuration())
                .map(|e| e.encryption_option().as_str().to_owned()),
            data_manifest_location: stats.and_then(|s| s.data_manifest_location()).map(str::to_owned),
            data_scanned_bytes: stats.and_then(|s| s.data_scanned_in_bytes()),
            engine_execution_time: millis(stats.and_then(|s| s.engine_execution_time_in_millis())),
            query_queue_time: millis(stats.and_then(|s| s.query_queue_time_in_millis())),
            query_planning_time: millis(stats.and_then(|s| s.query_planning_time_in_millis())),
            service_processing_time: millis(stats.and_then(|s| s.service_processing_time_in_millis())),
            total_execution_time: millis(stats.and_then(|s| s.total_execution_time_in_millis())),
            reused_previous_result: stats.and_then(|s| s.result_reuse_information()).is_some_and(|r| r.reused_previous_result()),
            submission_time: system_time(status.and_then(|s| s.submission_date_time())),
            completion_time: system_time(status.and_then(|s| s.completion_date_time())),
            error_category: error.and_then(|e| e.error_category()),
            error_type: error.and_then(|e| e.error_type()),
            error_message: error.and_then(|e| e.error_message()).map(str::to_owned),
            retryable: error.is_some_and(|e| e.retryable()),
            engine: crate::config::engine::Engine::of_effective(q.engine_version().and_then(|e| e.effective_engine_version())),
        }
    }

    /// Whether the statement is DML (SELECT, INSERT, UNLOAD, ...).
    pub fn is_dml(&self) -> bool {
        self.statement_type.as_deref() == Some(StatementType::Dml.as_str())
    }

    /// The error of a FAILED or CANCELLED query; `Ok` for any other state.
    pub(crate) fn terminal_error(&self) -> Result<()> {
        let reason = || self.state_change_reason.clone().or_else(|| self.error_message.clone()).unwrap_or_else(|| "no reason given".into());
        match self.state {
            QueryState::Failed => Err(Error::QueryFailed {
                query_id: self.query_id.clone(),
                reason: reason(),
                error_category: self.error_category,
                error_type: self.error_type,
                retryable: self.retryable,
            }),
            QueryState::Cancelled => Err(Error::Cancelled { query_id: self.query_id.clone(), reason: reason() }),
            _ => Ok(()),
        }
    }
}

/// The state Athena reports; states this client does not know count as running.
fn state_from_sdk(s: Option<&QueryExecutionState>) -> QueryState {
    match s {
        Some(QueryExecutionState::Queued) | None => QueryState::Queued,
        Some(QueryExecutionState::Running) => QueryState::Running,
        Some(QueryExecutionState::Succeeded) => QueryState::Succeeded,
        Some(QueryExecutionState::Failed) => QueryState::Failed,
        Some(QueryExecutionState::Cancelled) => QueryState::Cancelled,
        Some(_) => QueryState::Running,
    }
}

pub(crate) async fn get_query_execution(client: &aws_sdk_athena::Client, query_id: &str) -> Result<QueryInfo> {
    let out = client.get_query_execution().query_execution_id(query_id).send().await.map_err(|e| Error::api("GetQueryExecution", e))?;
    let q = out.query_execution().ok_or_else(|| Error::ResultMissing {
        query_id: Some(query_id.to_owned()),
        message: "GetQueryExecution returned no execution".into(),
    })?;
    Ok(QueryInfo::from_sdk(q))
}
