//! Catalog answers in ADBC's shapes: `get_info`, `get_objects` (catalogs -> databases ->
//! tables -> columns, from ListDataCatalogs, ListDatabases and ListTableMetadata, filtered by
//! SQL `LIKE` patterns) and `get_table_types`. The nested GetObjects rows are written as JSON
//! and decoded into ADBC's schema by arrow's JSON reader.

use std::collections::HashSet;
use std::sync::Arc;

use adbc_core::error::{Error, Result, Status};
use adbc_core::options::{InfoCode, ObjectDepth};
use adbc_core::schemas;
use arrow::array::{Array, ArrayRef, Int64Array, RecordBatch, RecordBatchIterator, StringArray, UInt32Array, UnionArray, new_empty_array};
use arrow::buffer::ScalarBuffer;
use arrow::datatypes::DataType;
use serde_json::{Value, json};

use crate::error::from_athena;

pub type Batches = RecordBatchIterator<std::vec::IntoIter<std::result::Result<RecordBatch, arrow::error::ArrowError>>>;

fn one(batch: RecordBatch) -> Batches {
    let schema = batch.schema();
    RecordBatchIterator::new(vec![Ok(batch)].into_iter(), schema)
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::with_message_and_status(e.to_string(), Status::Internal)
}

/// Athena's table types, as ListTableMetadata gives them.
pub const TABLE_TYPES: &[&str] = &["EXTERNAL_TABLE", "MANAGED_TABLE", "VIRTUAL_VIEW"];

pub fn table_types() -> Result<Batches> {
    let names: ArrayRef = Arc::new(StringArray::from(TABLE_TYPES.to_vec()));
    Ok(one(RecordBatch::try_new(schemas::GET_TABLE_TYPES_SCHEMA.clone(), vec![names]).map_err(internal)?))
}

/// Vendor and driver names and versions (strings), and the ADBC version (int64).
pub fn info(codes: Option<HashSet<InfoCode>>) -> Result<Batches> {
    let strings = [
        (InfoCode::VendorName, "Amazon Athena".to_owned()),
        (InfoCode::VendorVersion, "Athena engine version 3".to_owned()),
        (InfoCode::DriverName, "ADBC Driver for Amazon Athena (athena-arrow)".to_owned()),
        (InfoCode::DriverVersion, env!("CARGO_PKG_VERSION").to_owned()),
        (InfoCode::DriverArrowVersion, format!("v{}", env!("DRIVER_ARROW_VERSION"))),
    ];
    let wanted = |c: &InfoCode| codes.as_ref().is_none_or(|set| set.contains(c));
    let strings: Vec<(InfoCode, String)> = strings.into_iter().filter(|(c, _)| wanted(c)).collect();
    let adbc = wanted(&InfoCode::DriverAdbcVersion);
    let mut names: Vec<u32> = strings.iter().map(|(c, _)| u32::from(c)).collect();
    let mut type_ids: Vec<i8> = vec![0; strings.len()];
    let mut offsets: Vec<i32> = (0..strings.len() as i32).collect();
    if adbc {
        names.push(u32::from(&InfoCode::DriverAdbcVersion));
        type_ids.push(2);
        offsets.push(0);
    }
    let DataType::Union(fields, _) = schemas::GET_INFO_SCHEMA.field(1).data_type().clone() else {
        return Err(internal("GetInfo's value is a union"));
    };
    let children: Vec<ArrayRef> = fields
        .iter()
        .map(|(id, f)| match id {
            0 => Arc::new(StringArray::from(strings.iter().map(|(_, s)| s.as_str()).collect::<Vec<_>>())) as ArrayRef,
            2 => Arc::new(Int64Array::from(if adbc { vec![1_001_000] } else { vec![] })),
            _ => new_empty_array(f.data_type()),
        })
        .collect();
    let values =
        UnionArray::try_new(fields, ScalarBuffer::from(type_ids), Some(ScalarBuffer::from(offsets)), children).map_err(internal)?;
    let batch = RecordBatch::try_new(schemas::GET_INFO_SCHEMA.clone(), vec![Arc::new(UInt32Array::from(names)), Arc::new(values)])
        .map_err(internal)?;
    Ok(one(batch))
}

/// SQL `LIKE`: `%` any run, `_` one character; no pattern matches everything.
pub fn like(pattern: Option<&str>, s: &str) -> bool {
    fn go(p: &[char], s: &[char]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some(('%', rest)) => (0..=s.len()).any(|i| go(rest, &s[i..])),
            Some(('_', rest)) => !s.is_empty() && go(rest, &s[1..]),
            Some((c, rest)) => s.first() == Some(c) && go(rest, &s[1..]),
        }
    }
    match pattern {
        None => true,
        Some(p) => go(&p.chars().collect::<Vec<_>>(), &s.chars().collect::<Vec<_>>()),
    }
}

pub struct Filter<'a> {
    pub catalog: Option<&'a str>,
    pub db_schema: Option<&'a str>,
    pub table_name: Option<&'a str>,
    pub table_type: Option<Vec<&'a str>>,
    pub column_name: Option<&'a str>,
}

/// The GetObjects rows down to `depth`.
pub async fn objects(conn: &athena_arrow::Connection, depth: ObjectDepth, f: &Filter<'_>) -> Result<Batches> {
    let deeper = |d: ObjectDepth| {
        let rank = |d: &ObjectDepth| match d {
            ObjectDepth::Catalogs => 0,
            ObjectDepth::Schemas => 1,
            ObjectDepth::Tables => 2,
            ObjectDepth::Columns | ObjectDepth::All => 3,
        };
        rank(&depth) >= rank(&d)
    };
    let mut rows = Vec::new();
    for catalog in conn.list_catalogs().await.map_err(from_athena)? {
        if !like(f.catalog, &catalog) {
            continue;
        }
        let mut row = json!({ "catalog_name": catalog });
        if deeper(ObjectDepth::Schemas) {
            let mut schemas = Vec::new();
            for db in conn.list_databases_in(&catalog).await.map_err(from_athena)? {
                if !like(f.db_schema, &db) {
                    continue;
                }
                let mut schema = json!({ "db_schema_name": db });
                if deeper(ObjectDepth::Tables) {
                    let mut tables = Vec::new();
                    for t in conn.list_tables_in(&catalog, &db).await.map_err(from_athena)? {
                        let kind = t.table_type.clone().unwrap_or_else(|| "EXTERNAL_TABLE".into());
                        if !like(f.table_name, &t.name) || f.table_type.as_ref().is_some_and(|types| !types.contains(&kind.as_str())) {
                            continue;
                        }
                        let mut table = json!({ "table_name": t.name, "table_type": kind });
                        if deeper(ObjectDepth::Columns) {
                            let columns: Vec<Value> = t
                                .columns
                                .iter()
                                .chain(&t.partition_keys)
                                .enumerate()
                                .filter(|(_, (name, _))| like(f.column_name, name))
                                .map(|(i, (name, ty))| {
                                    json!({
                                        "column_name": name,
                                        "ordinal_position": i + 1,
                                        "xdbc_type_name": ty,
                                        "xdbc_nullable": 1,
                                        "xdbc_is_nullable": "YES",
                                    })
                                })
                                .collect();
                            table["table_columns"] = Value::Array(columns);
                            table["table_constraints"] = json!([]);
                        }
                        tables.push(table);
                    }
                    schema["db_schema_tables"] = Value::Array(tables);
                }
                schemas.push(schema);
            }
            row["catalog_db_schemas"] = Value::Array(schemas);
        }
        rows.push(row);
    }
    let schema = schemas::GET_OBJECTS_SCHEMA.clone();
    let mut decoder = arrow::json::ReaderBuilder::new(schema.clone()).build_decoder().map_err(internal)?;
    decoder.serialize(&rows).map_err(internal)?;
    let batch = decoder.flush().map_err(internal)?.unwrap_or_else(|| RecordBatch::new_empty(schema));
    debug_assert!(batch.num_rows() == rows.len() || batch.column(0).is_empty());
    Ok(one(batch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        assert!(like(None, "x"));
        assert!(like(Some("one_%"), "one_row_complex"));
        assert!(like(Some("one_row"), "one_row") && !like(Some("one_row"), "one_rows"));
        assert!(like(Some("o_e%"), "one") && !like(Some("o_e"), "oe"));
        assert!(like(Some("%"), ""));
    }

    #[test]
    fn info_has_names_and_the_adbc_version() {
        let batch = info(None).unwrap().next().unwrap().unwrap();
        assert_eq!(batch.num_rows(), 6);
        let only = info(Some(HashSet::from([InfoCode::DriverName]))).unwrap().next().unwrap().unwrap();
        assert_eq!(only.num_rows(), 1);
    }
}
