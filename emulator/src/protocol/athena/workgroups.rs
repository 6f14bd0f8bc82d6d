//! GetWorkGroup and ListWorkGroups over the configured workgroups.

use serde_json::{Value, json};

use crate::config::WorkGroup;
use crate::protocol::athena::{ApiError, Athena, required};
use crate::statements::trino::ENGINE_VERSION_3;

impl Athena {
    pub(super) fn get_work_group(&self, body: &Value) -> Result<Value, ApiError> {
        let name = required(body, "WorkGroup")?;
        let wg = self.workgroup(name)?;
        Ok(json!({ "WorkGroup": workgroup_json(wg) }))
    }

    pub(super) fn list_work_groups(&self, _body: &Value) -> Result<Value, ApiError> {
        let list: Vec<Value> = self
            .workgroups
            .iter()
            .map(|w| {
                json!({ "Name": w.name, "State": "ENABLED", "Description": w.description, "CreationTime": 1_700_000_000.0,
                "EngineVersion": engine_version_json(w) })
            })
            .collect();
        Ok(json!({ "WorkGroups": list }))
    }
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
    json!({ "Name": wg.name, "State": "ENABLED", "Description": wg.description, "CreationTime": 1_700_000_000.0, "Configuration": config })
}

/// A workgroup's engine: the one it selects (`AUTO` when none: Athena then runs engine version 3).
fn engine_version_json(wg: &WorkGroup) -> Value {
    let selected = wg.engine_version.as_deref();
    json!({ "SelectedEngineVersion": selected.unwrap_or("AUTO"), "EffectiveEngineVersion": selected.unwrap_or(ENGINE_VERSION_3) })
}
