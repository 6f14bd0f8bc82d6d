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
}

impl Connection {
    /// Database names of the connection's catalog.
    pub async fn list_databases(&self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        let mut pages = self.athena().list_databases().catalog_name(&self.settings().catalog).max_results(50).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| Error::api("ListDatabases", e))?;
            names.extend(page.database_list().iter().map(|d| d.name().to_owned()));
        }
        Ok(names)
    }

    /// Tables of `database` (the connection's schema when `None`).
    pub async fn list_tables(&self, database: Option<&str>) -> Result<Vec<TableMetadata>> {
        let db = database.unwrap_or(&self.settings().schema);
        let mut tables = Vec::new();
        let mut pages = self
            .athena()
            .list_table_metadata()
            .catalog_name(&self.settings().catalog)
            .database_name(db)
            .max_results(50)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| Error::api("ListTableMetadata", e))?;
            tables.extend(page.table_metadata_list().iter().map(TableMetadata::from_sdk));
        }
        Ok(tables)
    }

    /// Type hints for the nested columns of a table (column -> Hive type with element types),
    /// for [`Query::type_hints`] when selecting those columns.
    pub async fn table_type_hints(&self, database: Option<&str>, table: &str) -> Result<std::collections::HashMap<String, String>> {
        let meta = self.table_metadata(database, table).await?;
        Ok(meta
            .columns
            .into_iter()
            .chain(meta.partition_keys)
            .filter(|(_, t)| ["array", "map", "struct", "row"].iter().any(|p| t.to_ascii_lowercase().starts_with(p)))
            .collect())
    }

    /// Metadata of one table of `database` (the connection's schema when `None`).
    pub async fn table_metadata(&self, database: Option<&str>, table: &str) -> Result<TableMetadata> {
        let db = database.unwrap_or(&self.settings().schema);
        let out = self
            .athena()
            .get_table_metadata()
            .catalog_name(&self.settings().catalog)
            .database_name(db)
            .table_name(table)
            .send()
            .await
            .map_err(|e| Error::api("GetTableMetadata", e))?;
        out.table_metadata()
            .map(TableMetadata::from_sdk)
            .ok_or_else(|| Error::ResultMissing { query_id: None, message: format!("no metadata for table {db}.{table}") })
    }
}
