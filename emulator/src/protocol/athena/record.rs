//! What is kept of one query: everything GetQueryExecution and GetQueryResults report, persisted
//! as JSON beside the results so that the history survives a restart.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::failure::Failure;
use crate::statements::ApiRows;
use crate::statements::trino::ENGINE_VERSION_3;
use crate::types::ColumnInfo;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ErrorInfo {
    pub category: i32,
    pub error_type: i32,
    pub message: String,
}

/// Everything GetQueryExecution and GetQueryResults report about one query; persisted as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Record {
    pub id: String,
    pub query: String,
    pub database: String,
    pub catalog: String,
    pub workgroup: String,
    /// `EngineVersion.SelectedEngineVersion`: `AUTO`, or the engine the workgroup or the query named.
    #[serde(default = "auto")]
    pub selected_engine: String,
    /// `EngineVersion.EffectiveEngineVersion`: the engine the query ran on.
    #[serde(default = "engine_version_3")]
    pub engine: String,
    pub statement_type: String,
    pub substatement_type: String,
    /// Results prefix used (`None` = managed results).
    pub staging: Option<String>,
    pub output_location: Option<String>,
    pub encryption: Option<Value>,
    /// The Identity Center user the query ran for (its caller's identity context).
    #[serde(default)]
    pub identity_user: Option<String>,
    pub execution_parameters: Option<Vec<String>>,
    pub reuse: Option<Value>,
    pub token: Option<String>,
    pub state: String,
    pub reason: Option<String>,
    pub error: Option<ErrorInfo>,
    pub submitted: f64,
    pub completed: Option<f64>,
    pub queue_ms: i64,
    pub engine_ms: i64,
    pub total_ms: i64,
    pub scanned: u64,
    pub manifest: Option<String>,
    pub reused: bool,
    pub columns: Vec<ColumnInfo>,
    pub update_count: Option<i64>,
    pub api_rows: Option<ApiRows>,
    pub manifest_rows: Option<PathBuf>,
    /// Rows and bytes a SELECT returned (GetQueryRuntimeStatistics).
    #[serde(default)]
    pub output: Option<(u64, u64)>,
    /// The result as an Arrow IPC stream (DuckDB, managed results).
    #[serde(default)]
    pub arrow_stream: Option<PathBuf>,
}

impl Record {
    pub(crate) fn is_terminal(&self) -> bool {
        matches!(self.state.as_str(), "SUCCEEDED" | "FAILED" | "CANCELLED")
    }

    /// GetQueryRuntimeStatistics' answer: the timeline, and the rows and bytes returned where
    /// the query is a finished SELECT.
    pub(crate) fn runtime_statistics_json(&self) -> Value {
        let mut stats = json!({
            "Timeline": {
                "QueryQueueTimeInMillis": self.queue_ms,
                "ServicePreProcessingTimeInMillis": 0,
                "QueryPlanningTimeInMillis": 0,
                "EngineExecutionTimeInMillis": self.engine_ms,
                "ServiceProcessingTimeInMillis": (self.total_ms - self.engine_ms - self.queue_ms).max(0),
                "TotalExecutionTimeInMillis": self.total_ms,
            }
        });
        if let (Some((rows, bytes)), "SUCCEEDED") = (self.output, self.state.as_str()) {
            stats["Rows"] = json!({ "InputRows": 0, "InputBytes": self.scanned, "OutputRows": rows, "OutputBytes": bytes });
        }
        json!({ "QueryRuntimeStatistics": stats })
    }

    pub(crate) fn to_json(&self) -> Value {
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
            "EngineVersion": { "SelectedEngineVersion": self.selected_engine, "EffectiveEngineVersion": self.engine },
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

fn auto() -> String {
    "AUTO".into()
}

fn engine_version_3() -> String {
    ENGINE_VERSION_3.into()
}

/// Ends `rec` FAILED with `failure`'s reason and error.
pub(crate) fn fail(rec: &mut Record, failure: &Failure) {
    rec.state = "FAILED".into();
    rec.reason = Some(failure.to_string());
    rec.error = Some(ErrorInfo { category: failure.category, error_type: failure.error_type, message: failure.to_string() });
}
