//! Workgroups (CreateWorkGroup, GetWorkGroup, ListWorkGroups, UpdateWorkGroup, DeleteWorkGroup)
//! and ListEngineVersions. A workgroup selects its engine with
//! `Configuration.EngineVersion.SelectedEngineVersion`; DuckDB workgroups default to
//! Athena-managed results and refuse the settings Athena's DuckDB engine refuses
//! (athena-duckdb-engine.md).

use serde_json::{Value, json};

use crate::config::WorkGroup;
use crate::protocol::athena::{ApiError, Athena, required, str_field};
use crate::statements::duckdb::DUCKDB;
use crate::statements::trino::ENGINE_VERSION_3;
use crate::statements::{ENGINE_NAMES, dialect_named};

/// Configuration members a DuckDB workgroup refuses.
const DUCKDB_REFUSED: [&str; 5] = [
    "CustomerContentEncryptionConfiguration",
    "IdentityCenterConfiguration",
    "QueryResultsS3AccessGrantsConfiguration",
    "ExecutionRole",
    "MonitoringConfiguration",
];

impl Athena {
    pub(super) fn get_work_group(&self, body: &Value) -> Result<Value, ApiError> {
        let name = required(body, "WorkGroup")?;
        let wg = self.workgroup(name)?;
        Ok(json!({ "WorkGroup": workgroup_json(&wg) }))
    }

    pub(super) fn list_work_groups(&self, _body: &Value) -> Result<Value, ApiError> {
        let list: Vec<Value> = self
            .workgroups
            .lock()
            .unwrap()
            .iter()
            .map(|w| {
                json!({ "Name": w.name, "State": "ENABLED", "Description": w.description, "CreationTime": 1_700_000_000.0,
                "EngineVersion": engine_version_json(w) })
            })
            .collect();
        Ok(json!({ "WorkGroups": list }))
    }

    pub(super) fn list_engine_versions(&self, _body: &Value) -> Result<Value, ApiError> {
        let versions: Vec<Value> =
            ENGINE_NAMES.iter().map(|n| json!({ "SelectedEngineVersion": n, "EffectiveEngineVersion": n })).collect();
        Ok(json!({ "EngineVersions": versions }))
    }

    pub(super) fn create_work_group(&self, body: &Value) -> Result<Value, ApiError> {
        let name = required(body, "Name")?;
        if !valid_name(name) {
            return Err(ApiError::invalid("INVALID_INPUT", format!("WorkGroup name {name:?} must match [a-zA-Z0-9._-]{{1,128}}")));
        }
        let config = body.get("Configuration").cloned().unwrap_or_else(|| json!({}));
        let mut wg = WorkGroup::new(name, config.pointer("/ResultConfiguration/OutputLocation").and_then(Value::as_str));
        wg.description = str_field(body, "Description").unwrap_or_default().to_owned();
        wg.enforce = config.get("EnforceWorkGroupConfiguration").and_then(Value::as_bool).unwrap_or(false);
        wg.engine_version = engine_named(config.pointer("/EngineVersion/SelectedEngineVersion"))?;
        if config.pointer("/IdentityCenterConfiguration/EnableIdentityCenter").and_then(Value::as_bool) == Some(true) {
            let instance = config.pointer("/IdentityCenterConfiguration/IdentityCenterInstanceArn").and_then(Value::as_str);
            let instance = instance
                .ok_or_else(|| ApiError::invalid("INVALID_INPUT", "IdentityCenterInstanceArn is required to enable IAM Identity Center"))?;
            wg.identity_center_instance_arn = Some(instance.to_owned());
        }
        let managed = config.pointer("/ManagedQueryResultsConfiguration/Enabled").and_then(Value::as_bool);
        wg.managed = managed.unwrap_or(wg.engine_version.as_deref() == Some(DUCKDB) && wg.output_location.is_none());
        check(&wg, &config)?;
        let mut all = self.workgroups.lock().unwrap();
        if all.iter().any(|w| w.name == name) {
            return Err(ApiError::invalid("INVALID_INPUT", "WorkGroup is already created"));
        }
        all.push(wg);
        Ok(json!({}))
    }

    pub(super) fn update_work_group(&self, body: &Value) -> Result<Value, ApiError> {
        let name = required(body, "WorkGroup")?;
        let mut wg = self.workgroup(name)?;
        let updates = body.get("ConfigurationUpdates").cloned().unwrap_or_else(|| json!({}));
        if let Some(o) = updates.pointer("/ResultConfigurationUpdates/OutputLocation").and_then(Value::as_str) {
            wg.output_location = Some(o.to_owned());
        }
        if updates.pointer("/ResultConfigurationUpdates/RemoveOutputLocation").and_then(Value::as_bool) == Some(true) {
            wg.output_location = None;
        }
        if let Some(e) = updates.get("EnforceWorkGroupConfiguration").and_then(Value::as_bool) {
            wg.enforce = e;
        }
        if let Some(v) = updates.pointer("/EngineVersion/SelectedEngineVersion") {
            wg.engine_version = engine_named(Some(v))?;
        }
        if let Some(m) = updates.pointer("/ManagedQueryResultsConfigurationUpdates/Enabled").and_then(Value::as_bool) {
            wg.managed = m;
        }
        if let Some(d) = str_field(body, "Description") {
            wg.description = d.to_owned();
        }
        check(&wg, &updates)?;
        let mut all = self.workgroups.lock().unwrap();
        if let Some(slot) = all.iter_mut().find(|w| w.name == name) {
            *slot = wg;
        }
        Ok(json!({}))
    }

    pub(super) fn delete_work_group(&self, body: &Value) -> Result<Value, ApiError> {
        let name = required(body, "WorkGroup")?;
        if name == "primary" {
            return Err(ApiError::invalid("INVALID_INPUT", "The primary workgroup cannot be deleted"));
        }
        self.workgroup(name)?;
        self.workgroups.lock().unwrap().retain(|w| w.name != name);
        Ok(json!({}))
    }
}

fn valid_name(name: &str) -> bool {
    (1..=128).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The engine a workgroup selects: `AUTO` (none) or an engine the endpoint runs.
fn engine_named(v: Option<&Value>) -> Result<Option<String>, ApiError> {
    match v.and_then(Value::as_str) {
        None | Some("AUTO") => Ok(None),
        Some(name) if dialect_named(name).is_some() => Ok(Some(name.to_owned())),
        Some(name) => Err(ApiError::invalid(
            "INVALID_INPUT",
            format!(
                "Engine version {name:?} is not available; valid values: \"AUTO\", {}",
                ENGINE_NAMES.map(|n| format!("{n:?}")).join(", ")
            ),
        )),
    }
}

/// What a workgroup's engine refuses: a DuckDB workgroup takes none of [`DUCKDB_REFUSED`] nor
/// engine-3 engine properties; managed results and an OutputLocation exclude each other.
fn check(wg: &WorkGroup, config: &Value) -> Result<(), ApiError> {
    if wg.managed && wg.output_location.is_some() {
        return Err(ApiError::invalid(
            "INVALID_INPUT",
            "ManagedQueryResultsConfiguration cannot be enabled together with ResultConfiguration.OutputLocation",
        ));
    }
    if wg.engine_version.as_deref() == Some(DUCKDB) {
        for member in DUCKDB_REFUSED {
            if config.get(member).is_some_and(|v| !v.is_null()) {
                return Err(ApiError::invalid(
                    "INVALID_INPUT",
                    format!("{member} is not supported for workgroups that use the DuckDB engine"),
                ));
            }
        }
        let classifications = config.pointer("/EngineConfiguration/Classifications").and_then(Value::as_array);
        if classifications.into_iter().flatten().any(|c| c.get("Name").and_then(Value::as_str) == Some("athena-query-engine-properties")) {
            return Err(ApiError::invalid(
                "INVALID_INPUT",
                "The classification athena-query-engine-properties is not supported for workgroups that use the DuckDB engine; use athena-execution-properties",
            ));
        }
    }
    Ok(())
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
        "EngineVersion": engine_version_json(wg),
    });
    if wg.managed {
        config["ManagedQueryResultsConfiguration"] = json!({ "Enabled": true });
    }
    let mut out = json!({ "Name": wg.name, "State": "ENABLED", "Description": wg.description, "CreationTime": 1_700_000_000.0, "Configuration": config });
    if let Some(instance) = &wg.identity_center_instance_arn {
        out["Configuration"]["IdentityCenterConfiguration"] =
            json!({ "EnableIdentityCenter": true, "IdentityCenterInstanceArn": instance });
        // The application Athena makes for the workgroup in the instance (its id is this endpoint's).
        let instance_id = instance.rsplit('/').next().unwrap_or(instance);
        out["IdentityCenterApplicationArn"] = json!(format!("arn:aws:sso::000000000000:application/{instance_id}/apl-athena-{}", wg.name));
    }
    out
}

/// A workgroup's engine: the one it selects (`AUTO` when none: Athena then runs engine version 3).
fn engine_version_json(wg: &WorkGroup) -> Value {
    let selected = wg.engine_version.as_deref();
    json!({ "SelectedEngineVersion": selected.unwrap_or("AUTO"), "EffectiveEngineVersion": selected.unwrap_or(ENGINE_VERSION_3) })
}
