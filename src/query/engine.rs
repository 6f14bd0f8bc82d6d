//! The engine a query runs on and the rules that follow from it. A workgroup's engine and
//! whether it keeps Athena-managed results are looked up once per connection (GetWorkGroup,
//! cached); a query or connection may ask for another engine, sent as StartQueryExecution's
//! `EngineVersion` member. aws-sdk-athena 1.128 does not model that member: it is added to the
//! serialized request before signing ([`with_engine_version`]), on the SDK's own client.
//!
//! On DuckDB (athena-duckdb-engine.md): parameters are DuckDB literals; result reuse and UNLOAD
//! are refused with what to use instead.

use aws_sdk_athena::operation::start_query_execution::builders::StartQueryExecutionFluentBuilder;

use crate::config::engine::{Engine, WorkGroupEngine};
use crate::connection::Connection;
use crate::error::{Error, ErrorKind, Result};
use crate::query::params::Escape;

/// The engine a query will run on, as far as the client can tell before starting it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EnginePlan {
    pub engine: Engine,
    pub workgroup: WorkGroupEngine,
}

impl EnginePlan {
    /// Literals of parameters in this engine's syntax (`statement`'s kind decides for Trino).
    pub(crate) fn escape(&self, statement: &str) -> Escape {
        match self.engine {
            Engine::DuckDb => Escape::DuckDb,
            Engine::V3 => Escape::for_statement(statement),
        }
    }
}

impl Connection {
    /// The engine and result storage of workgroup `name` (GetWorkGroup, once per connection).
    /// Without permission to read the workgroup (`athena:GetWorkGroup`), engine version 3 and
    /// results in S3 are assumed, with a warning: queries still run, DuckDB is then used only when
    /// asked for.
    pub(crate) async fn workgroup_engine(&self, name: &str) -> Result<WorkGroupEngine> {
        let mut cache = self.inner_state().workgroups.lock().await;
        if let Some(found) = cache.get(name) {
            return Ok(found.clone());
        }
        let found = match self.athena().get_work_group().work_group(name).send().await {
            Ok(out) => {
                let config = out.work_group().and_then(|w| w.configuration());
                WorkGroupEngine {
                    engine: Engine::of_effective(config.and_then(|c| c.engine_version()).and_then(|e| e.effective_engine_version())),
                    managed: config.and_then(|c| c.managed_query_results_configuration()).is_some_and(|m| m.enabled()),
                    output_location: config.and_then(|c| c.result_configuration()).and_then(|r| r.output_location()).map(str::to_owned),
                }
            }
            Err(e) => {
                let e = Error::api("GetWorkGroup", e);
                if e.kind() != ErrorKind::Unauthenticated {
                    return Err(e);
                }
                tracing::warn!("cannot read workgroup {name} ({e}): assuming Athena engine version 3 with results in S3");
                WorkGroupEngine { engine: Engine::V3, managed: false, output_location: None }
            }
        };
        cache.insert(name.to_owned(), found.clone());
        Ok(found)
    }
}

/// The engine a query runs on: its own setting (`requested`), else its workgroup's.
pub(crate) async fn engine_plan(conn: &Connection, requested: Option<Engine>, work_group: Option<&str>) -> Result<EnginePlan> {
    let workgroup = conn.workgroup_engine(work_group.unwrap_or("primary")).await?;
    Ok(EnginePlan { engine: requested.unwrap_or(workgroup.engine), workgroup })
}

impl EnginePlan {
    /// Whether a query with (`staging`) or without a result location of its own gets
    /// Athena-managed results.
    pub(crate) fn managed_results(&self, staging: bool) -> bool {
        self.workgroup.managed && !staging
    }

    /// What DuckDB refuses, refused before anything is sent, with what to use instead: result
    /// reuse, and UNLOAD where the result is an Arrow stream already (managed results).
    pub(crate) fn check(&self, reuse: bool, unload: bool, staging: bool) -> Result<()> {
        if self.engine != Engine::DuckDb {
            return Ok(());
        }
        if reuse {
            return Err(Error::config(
                "result reuse is not supported by Athena's DuckDB engine: turn result_reuse_minutes off for this query, or use the client-side cache (cache_size / cache_expiration_time)",
            ));
        }
        if unload && self.managed_results(staging) {
            return Err(Error::config(
                "unload is not supported by Athena's DuckDB engine: with managed results its result is read as an Arrow stream already (turn unload off); with results in S3 (s3_staging_dir) unload writes Parquet through COPY ... TO",
            ));
        }
        Ok(())
    }
}

/// Adds `"EngineVersion": "<name>"` to the serialized StartQueryExecution request before it is
/// signed (see the module's note); nothing when no engine is asked for.
pub(crate) async fn with_engine_version(
    builder: StartQueryExecutionFluentBuilder,
    engine: Option<Engine>,
) -> std::result::Result<
    aws_sdk_athena::operation::start_query_execution::StartQueryExecutionOutput,
    aws_sdk_athena::error::SdkError<
        aws_sdk_athena::operation::start_query_execution::StartQueryExecutionError,
        aws_sdk_athena::config::http::HttpResponse,
    >,
> {
    let Some(engine) = engine else {
        return builder.send().await;
    };
    builder
        .customize()
        .mutate_request(move |request| {
            let Some(bytes) = request.body().bytes() else { return };
            let Ok(mut body) = serde_json::from_slice::<serde_json::Value>(bytes) else { return };
            body["EngineVersion"] = serde_json::Value::String(engine.as_str().to_owned());
            let bytes = serde_json::to_vec(&body).expect("a JSON value serializes");
            request.headers_mut().insert("content-length", bytes.len().to_string());
            *request.body_mut() = bytes.into();
        })
        .send()
        .await
}
