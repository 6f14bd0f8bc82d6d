//! Athena's DuckDB engine read from text: its type names ([`types`]) and its text of values
//! ([`text`]), beside engine version 3's `schema` and text converter. A DuckDB result read from
//! GetQueryResults or its result CSV gets the schema and values of the same result read as an
//! Arrow stream.

pub(crate) mod text;
pub mod types;
pub mod units;

use arrow::datatypes::{Field, Schema, SchemaRef, TimeUnit};

use crate::decode::schema::ColumnInfo;
use crate::error::Result;
pub use types::{duckdb_arrow_type, duckdb_type_name};

/// Schema metadata naming the engine a result came from (`DuckDB` on DuckDB's results, whatever
/// the path they were read by); the text converter reads DuckDB's text for such schemas.
pub const ENGINE_KEY: &str = "athena.engine";

/// Whether `schema` describes a DuckDB result (see [`ENGINE_KEY`]).
pub fn is_duckdb(schema: &Schema) -> bool {
    schema.metadata().get(ENGINE_KEY).is_some_and(|e| e == "DuckDB")
}

/// `schema` marked as a DuckDB result's (see [`ENGINE_KEY`]).
pub fn mark_duckdb(schema: &Schema) -> SchemaRef {
    let mut metadata = schema.metadata().clone();
    metadata.insert(ENGINE_KEY.to_owned(), "DuckDB".to_owned());
    std::sync::Arc::new(Schema::new_with_metadata(schema.fields().clone(), metadata))
}

/// The Arrow schema of DuckDB columns (names and DuckDB type names), every field nullable,
/// marked as DuckDB's (see [`ENGINE_KEY`]).
///
/// # Errors
/// [`crate::Error::UnsupportedType`] for a type name this client does not know.
pub fn duckdb_schema(columns: &[ColumnInfo], timestamp_unit: Option<TimeUnit>) -> Result<SchemaRef> {
    let fields = columns
        .iter()
        .map(|c| Ok(Field::new(&c.name, duckdb_arrow_type(&c.type_name, timestamp_unit)?, true)))
        .collect::<Result<Vec<_>>>()?;
    Ok(mark_duckdb(&Schema::new(fields)))
}
