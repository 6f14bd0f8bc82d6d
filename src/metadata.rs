//! Catalog metadata: databases and tables as Athena lists them (ListDatabases,
//! ListTableMetadata, GetTableMetadata), and the type hints of nested columns they give.

use crate::connection::Connection;
use crate::error::{Error, Result};

/// A database or table name as Athena lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableMetadata {
    pub name: String,
    pub table_type: Option<String>,
    /// Column name and Hive type spelling (`int`, `array<string>`, ...).
    pub columns: Vec<(String, String)>,
    pub partition_keys: Vec<(String, String)>,
}

impl TableMetadata {
    fn from_sdk(t: &aws_sdk_athena::types::TableMetadata) -> Self {
        let cols = |c: &[aws_sdk_athena::types::Column]| {
            c.iter().map(|c| (c.name().to_owned(), c.r#type().unwrap_or_default().to_owned())).collect()
        };
        Self {
            name: t.name().to_owned(),
            table_type: t.table_type().map(str::to_owned),
            columns: cols(t.columns()),
            partition_keys: cols(t.partition_keys()),
        }
    }

    /// Columns then partition keys, as the table's rows hold them.
    fn all_columns(&self) -> impl Iterator<Item = &(String, String)> {
        self.columns.iter().chain(&self.partition_keys)
    }

    /// The Arrow schema of the columns (partition keys last), through the schema mapper with
    /// nested columns typed by their element types.
    ///
    /// # Errors
    /// [`Error::UnsupportedType`].
    pub fn arrow_schema(&self, timestamp_unit: Option<arrow::datatypes::TimeUnit>) -> Result<arrow::datatypes::SchemaRef> {
        let infos: Vec<crate::decode::schema::ColumnInfo> = self
            .all_columns()
            .map(|(name, t)| crate::decode::schema::ColumnInfo {
                name: name.clone(),
                type_name: t.to_ascii_lowercase(),
                precision: 0,
                scale: 0,
            })
            .collect();
        crate::decode::schema::arrow_schema_with_hints(&infos, timestamp_unit, &self.type_hints())
    }

    /// Type hints of the nested columns (column -> Hive type with element types).
    pub fn type_hints(&self) -> std::collections::HashMap<String, String> {
        self.all_columns()
            .filter(|(_, t)| ["array", "map", "struct", "row"].iter().any(|p| t.to_ascii_lowercase().starts_with(p)))
            .cloned()
            .collect()
    }
}

impl Connection {
    /// Names of the data catalogs (ListDataCatalogs).
    pub async fn list_catalogs(&self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        let mut pages = self.athena().list_data_catalogs().max_results(50).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| Error::api("ListDataCatalogs", e))?;
            names.extend(page.data_catalogs_summary().iter().filter_map(|c| c.catalog_name()).map(str::to_owned));
        }
        Ok(names)
    }

    /// Database names of the connection's catalog.
    pub async fn list_databases(&self) -> Result<Vec<String>> {
        self.list_databases_in(&self.settings().catalog).await
    }

    /// Database names of `catalog`.
    pub async fn list_databases_in(&self, catalog: &str) -> Result<Vec<String>> {
        let mut names = Vec::new();
        let mut pages = self.athena().list_databases().catalog_name(catalog).max_results(50).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| Error::api("ListDatabases", e))?;
            names.extend(page.database_list().iter().map(|d| d.name().to_owned()));
        }
        Ok(names)
    }

    /// Whether `database` exists in `catalog` (GetDatabase).
    ///
    /// # Errors
    /// [`Error::Api`] when the call fails for another reason than the database's absence.
    pub async fn database_exists(&self, catalog: &str, database: &str) -> Result<bool> {
        match self.athena().get_database().catalog_name(catalog).database_name(database).send().await {
            Ok(_) => Ok(true),
            Err(e) => match Error::api("GetDatabase", e) {
                e if e.kind() == crate::error::ErrorKind::NotFound => Ok(false),
                e => Err(e),
            },
        }
    }

    /// Tables of `database` (the connection's schema when `None`).
    pub async fn list_tables(&self, database: Option<&str>) -> Result<Vec<TableMetadata>> {
        let db = database.unwrap_or(&self.settings().schema);
        self.list_tables_in(&self.settings().catalog, db).await
    }

    /// Tables of `database` in `catalog`.
    pub async fn list_tables_in(&self, catalog: &str, database: &str) -> Result<Vec<TableMetadata>> {
        let mut tables = Vec::new();
        let mut pages =
            self.athena().list_table_metadata().catalog_name(catalog).database_name(database).max_results(50).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| Error::api("ListTableMetadata", e))?;
            tables.extend(page.table_metadata_list().iter().map(TableMetadata::from_sdk));
        }
        Ok(tables)
    }

    /// Type hints for the nested columns of a table (column -> Hive type with element types),
    /// for [`Query::type_hints`] when selecting those columns.
    pub async fn table_type_hints(&self, database: Option<&str>, table: &str) -> Result<std::collections::HashMap<String, String>> {
        Ok(self.table_metadata(database, table).await?.type_hints())
    }

    /// Metadata of one table of `database` (the connection's schema when `None`).
    pub async fn table_metadata(&self, database: Option<&str>, table: &str) -> Result<TableMetadata> {
        let db = database.unwrap_or(&self.settings().schema);
        self.table_metadata_in(&self.settings().catalog, db, table).await
    }

    /// Metadata of one table of `database` in `catalog`.
    pub async fn table_metadata_in(&self, catalog: &str, database: &str, table: &str) -> Result<TableMetadata> {
        let out = self
            .athena()
            .get_table_metadata()
            .catalog_name(catalog)
            .database_name(database)
            .table_name(table)
            .send()
            .await
            .map_err(|e| Error::api("GetTableMetadata", e))?;
        out.table_metadata()
            .map(TableMetadata::from_sdk)
            .ok_or_else(|| Error::ResultMissing { query_id: None, message: format!("no metadata for table {catalog}.{database}.{table}") })
    }

    /// The Arrow schema of a table's columns (partition keys last), through the schema mapper
    /// with nested columns typed by their element types.
    ///
    /// # Errors
    /// As [`table_metadata_in`](Self::table_metadata_in); [`Error::UnsupportedType`].
    pub async fn table_schema_in(&self, catalog: &str, database: &str, table: &str) -> Result<arrow::datatypes::SchemaRef> {
        self.table_metadata_in(catalog, database, table).await?.arrow_schema(self.settings().timestamp_unit)
    }
}
