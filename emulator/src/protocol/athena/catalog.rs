//! ListDataCatalogs, GetDataCatalog, ListDatabases, GetDatabase, ListTableMetadata and
//! GetTableMetadata over the endpoint's one catalog.

use serde_json::{Value, json};

use crate::catalog::{CATALOG, Column, Table};
use crate::protocol::athena::{ApiError, Athena, required, str_field};

impl Athena {
    pub(super) fn get_data_catalog(&self, body: &Value) -> Result<Value, ApiError> {
        let name = required(body, "Name")?;
        check_catalog(name)?;
        Ok(
            json!({ "DataCatalog": { "Name": "AwsDataCatalog", "Type": "GLUE", "Description": "local Glue-like catalog", "Parameters": { "catalog-id": "000000000000" } } }),
        )
    }

    pub(super) fn list_data_catalogs(&self, _body: &Value) -> Result<Value, ApiError> {
        Ok(json!({ "DataCatalogsSummary": [{ "CatalogName": "AwsDataCatalog", "Type": "GLUE" }] }))
    }

    pub(super) fn list_databases(&self, body: &Value) -> Result<Value, ApiError> {
        check_catalog(required(body, "CatalogName")?)?;
        let dbs: Vec<Value> = self.engine.catalog().databases().into_iter().map(|d| json!({ "Name": d, "Parameters": {} })).collect();
        Ok(json!({ "DatabaseList": dbs }))
    }

    pub(super) fn get_database(&self, body: &Value) -> Result<Value, ApiError> {
        check_catalog(required(body, "CatalogName")?)?;
        let db = required(body, "DatabaseName")?;
        if !self.engine.catalog().has_database(db) {
            return Err(metadata_error(format!("Database {db} not found.")));
        }
        Ok(json!({ "Database": { "Name": db.to_ascii_lowercase(), "Parameters": {} } }))
    }

    pub(super) fn list_table_metadata(&self, body: &Value) -> Result<Value, ApiError> {
        check_catalog(required(body, "CatalogName")?)?;
        let db = required(body, "DatabaseName")?;
        let tables = self.engine.catalog().tables(db).map_err(|e| metadata_error(e.to_string()))?;
        let pattern = str_field(body, "Expression");
        let matched: Vec<Value> = tables.iter().filter(|t| pattern.is_none_or(|p| glob_match(p, &t.name))).map(table_json).collect();
        let max = body.get("MaxResults").and_then(Value::as_u64).unwrap_or(50).clamp(1, 50) as usize;
        let start = match str_field(body, "NextToken") {
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

    pub(super) fn get_table_metadata(&self, body: &Value) -> Result<Value, ApiError> {
        check_catalog(required(body, "CatalogName")?)?;
        let db = required(body, "DatabaseName")?;
        let name = required(body, "TableName")?;
        let t = self.engine.catalog().table(db, name).map_err(|e| metadata_error(e.to_string()))?;
        Ok(json!({ "TableMetadata": table_json(&t) }))
    }
}

fn metadata_error(message: String) -> ApiError {
    ApiError::plain("MetadataException", message)
}

pub(super) fn check_catalog(name: &str) -> Result<(), ApiError> {
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

fn table_json(t: &Table) -> Value {
    let cols = |cs: &[Column]| -> Vec<Value> {
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
    // As Glue gives them to Athena: TBLPROPERTIES, then the storage descriptor's formats, SerDe
    // and its parameters (`serde.param.*`), the location without its trailing slash.
    let mut params = serde_json::Map::new();
    if t.is_view() {
        params.insert("comment".into(), json!("Presto View"));
        params.insert("presto_view".into(), json!("true"));
    } else {
        let storage = t.storage();
        for (k, v) in t.shown_properties() {
            params.insert(k, json!(v));
        }
        params.insert("inputformat".into(), json!(storage.input_format));
        params.insert("outputformat".into(), json!(storage.output_format));
        params.insert("location".into(), json!(t.location.trim_end_matches('/')));
        params.insert("serde.serialization.lib".into(), json!(storage.serde));
        for (k, v) in &storage.serde_params {
            params.insert(format!("serde.param.{k}"), json!(v));
        }
        if let Some(c) = &t.comment {
            params.insert("comment".into(), json!(c));
        }
    }
    json!({
        "Name": t.name,
        "CreateTime": t.create_time,
        "LastAccessTime": 0.0,
        "TableType": t.table_type(),
        "Columns": cols(&t.columns),
        "PartitionKeys": cols(&t.partition_keys),
        "Parameters": Value::Object(params),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_expression_globs() {
        assert!(glob_match("one*", "one_row"));
        assert!(glob_match("*rows", "many_rows"));
        assert!(!glob_match("one*", "many_rows"));
        assert!(glob_match("x|many_rows", "many_rows"));
    }
}
