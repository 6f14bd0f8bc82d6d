//! The connection: an Athena client with resolved settings, cheap to clone and share.

use std::sync::Arc;

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig as SdkRetryConfig;
use aws_config::timeout::TimeoutConfig;

use crate::config::{ConnectionBuilder, RetryConfig, Settings};
use crate::cursor::Cursor;
use crate::error::{Error, Result};
use crate::execute::CancelHandle;
use crate::fetch::Fetcher;
use crate::query::Query;
use crate::result::ResultSet;

/// A connection to Athena. Cloning is cheap (an `Arc`); clones share the client and settings.
#[derive(Clone)]
pub struct Connection {
    inner: Arc<Inner>,
}

struct Inner {
    athena: aws_sdk_athena::Client,
    fetcher: Fetcher,
    sdk_config: SdkConfig,
    settings: Settings,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("region", &self.inner.sdk_config.region())
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

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
    /// A builder with every setting at its documented default.
    pub fn builder() -> ConnectionBuilder {
        ConnectionBuilder::new()
    }

    /// A connection configured from the environment (see [`ConnectionBuilder::from_env`]).
    ///
    /// # Errors
    /// As [`ConnectionBuilder::build`].
    pub async fn from_env() -> Result<Self> {
        ConnectionBuilder::from_env().build().await
    }

    pub(crate) fn new(sdk_config: SdkConfig, athena_endpoint: Option<String>, retry: RetryConfig, settings: Settings) -> Result<Self> {
        let sdk_retry = SdkRetryConfig::standard()
            .with_max_attempts(retry.max_attempts)
            .with_initial_backoff(retry.initial_backoff)
            .with_max_backoff(retry.max_backoff);
        let timeouts = TimeoutConfig::builder().operation_timeout(retry.deadline).build();
        let mut conf = aws_sdk_athena::config::Builder::from(&sdk_config).retry_config(sdk_retry.clone()).timeout_config(timeouts.clone());
        if let Some(url) = athena_endpoint {
            conf = conf.endpoint_url(url);
        }
        let athena = aws_sdk_athena::Client::from_conf(conf.build());
        let mut s3 = aws_sdk_s3::config::Builder::from(&sdk_config).retry_config(sdk_retry).timeout_config(timeouts);
        if let Some(url) = &settings.s3_endpoint_url {
            // Local and S3-compatible endpoints serve path-style requests.
            s3 = s3.endpoint_url(url).force_path_style(true);
        }
        let fetcher = Fetcher::new(aws_sdk_s3::Client::from_conf(s3.build()), settings.fetch);
        if sdk_config.region().is_none() {
            return Err(Error::config("no AWS region"));
        }
        Ok(Self { inner: Arc::new(Inner { athena, fetcher, sdk_config, settings }) })
    }

    pub(crate) fn fetcher(&self) -> &Fetcher {
        &self.inner.fetcher
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The Athena client (for calls this crate does not wrap).
    pub fn athena(&self) -> &aws_sdk_athena::Client {
        &self.inner.athena
    }

    /// The resolved AWS configuration (region, credentials, endpoints).
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.inner.sdk_config
    }

    /// A query with per-execute options; run it with [`Query::execute`] or [`Query::submit`].
    pub fn query(&self, sql: impl Into<String>) -> Query {
        Query::new(self.clone(), sql)
    }

    /// Runs `sql` with the connection's settings and waits for its results.
    ///
    /// # Errors
    /// As [`Query::execute`].
    pub async fn execute(&self, sql: impl Into<String>) -> Result<ResultSet> {
        self.query(sql).execute().await
    }

    /// A DB-API style cursor.
    pub fn cursor(&self) -> Cursor {
        Cursor::new(self.clone())
    }

    /// A handle that stops the query `query_id`.
    pub fn cancel_handle(&self, query_id: &str) -> CancelHandle {
        CancelHandle::new(self.inner.athena.clone(), query_id)
    }

    /// The facts of any query execution by id.
    pub async fn query_info(&self, query_id: &str) -> Result<crate::QueryInfo> {
        crate::execute::get_query_execution(&self.inner.athena, query_id).await
    }

    /// Database names of the connection's catalog.
    pub async fn list_databases(&self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        let mut pages =
            self.inner.athena.list_databases().catalog_name(&self.inner.settings.catalog).max_results(50).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| Error::api("ListDatabases", e))?;
            names.extend(page.database_list().iter().map(|d| d.name().to_owned()));
        }
        Ok(names)
    }

    /// Tables of `database` (the connection's schema when `None`).
    pub async fn list_tables(&self, database: Option<&str>) -> Result<Vec<TableMetadata>> {
        let db = database.unwrap_or(&self.inner.settings.schema);
        let mut tables = Vec::new();
        let mut pages = self
            .inner
            .athena
            .list_table_metadata()
            .catalog_name(&self.inner.settings.catalog)
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
        let db = database.unwrap_or(&self.inner.settings.schema);
        let out = self
            .inner
            .athena
            .get_table_metadata()
            .catalog_name(&self.inner.settings.catalog)
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
