//! Athena's data catalog as DataFusion's: [`AthenaCatalog`] (databases as schemas) and
//! [`AthenaCatalogTable`] (a table whose scans run one Athena query built from what DataFusion
//! asks for: the projected columns, the filters Athena can evaluate, the limit).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ::datafusion::arrow::datatypes::{Schema, SchemaRef};
use ::datafusion::catalog::{CatalogProvider, SchemaProvider, Session, TableProvider};
use ::datafusion::common::{DataFusionError, Result};
use ::datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use ::datafusion::physical_plan::ExecutionPlan;

use crate::Connection;
use crate::integrations::datafusion::render::{quote_ident, render};
use crate::integrations::datafusion::scan::{AthenaScanExec, SharedQuery};

/// How long listings of databases and tables are kept by default.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(60);

/// Names listed at a time, kept for the cache's lifetime.
#[derive(Debug, Default)]
struct Listing(Mutex<Option<(Instant, Vec<String>)>>);

impl Listing {
    fn get(&self, ttl: Duration, list: impl FnOnce() -> crate::Result<Vec<String>>) -> Vec<String> {
        let mut cached = self.0.lock().expect("not poisoned");
        if let Some((at, names)) = cached.as_ref()
            && at.elapsed() < ttl
        {
            return names.clone();
        }
        match list() {
            Ok(names) => {
                *cached = Some((Instant::now(), names.clone()));
                names
            }
            // The catalog traits' listings cannot fail: an error lists what was last seen.
            Err(e) => {
                tracing::warn!("listing the Athena catalog failed: {e}");
                cached.as_ref().map(|(_, n)| n.clone()).unwrap_or_default()
            }
        }
    }
}

/// Runs `f` to its end from DataFusion's synchronous listing calls: on the caller's runtime when
/// it has worker threads to lend, else on a thread of its own.
fn block_on<F>(f: F) -> F::Output
where
    F: std::future::Future + Send,
    F::Output: Send,
{
    if let Ok(handle) = tokio::runtime::Handle::try_current()
        && handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread
    {
        return tokio::task::block_in_place(|| handle.block_on(f));
    }
    std::thread::scope(|s| {
        s.spawn(|| tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime starts").block_on(f))
            .join()
            .expect("the listing thread does not panic")
    })
}

/// Athena's data catalog (`AwsDataCatalog` unless told otherwise) as a DataFusion catalog:
///
/// ```no_run
/// # async fn run(conn: athena_arrow::Connection) -> Result<(), Box<dyn std::error::Error>> {
/// use datafusion::prelude::SessionContext;
/// let ctx = SessionContext::new();
/// ctx.register_catalog("athena", std::sync::Arc::new(athena_arrow::datafusion::AthenaCatalog::new(&conn)));
/// ctx.sql("SELECT a, count(*) FROM athena.sales.orders WHERE day >= DATE '2026-11-01' GROUP BY a").await?.show().await?;
/// # Ok(()) }
/// ```
///
/// Databases and tables are listed when DataFusion asks (ListDatabases, ListTableMetadata) and
/// kept for [`with_cache_ttl`](Self::with_cache_ttl); a table's schema comes from its metadata
/// through the schema mapper. Nothing runs on Athena before a plan executes.
#[derive(Debug)]
pub struct AthenaCatalog {
    conn: Connection,
    catalog: String,
    ttl: Duration,
    databases: Listing,
    /// One provider per database, so that its table listing is kept between lookups.
    schemas: Mutex<std::collections::HashMap<String, Arc<AthenaSchema>>>,
}

impl AthenaCatalog {
    pub fn new(conn: &Connection) -> Self {
        Self {
            conn: conn.clone(),
            catalog: "AwsDataCatalog".into(),
            ttl: DEFAULT_CACHE_TTL,
            databases: Listing::default(),
            schemas: Mutex::default(),
        }
    }

    /// Another data catalog of the account (a federated or Glue catalog by its Athena name).
    pub fn with_catalog_name(mut self, catalog: impl Into<String>) -> Self {
        self.catalog = catalog.into();
        self
    }

    /// How long database and table listings are kept (default [`DEFAULT_CACHE_TTL`]).
    pub fn with_cache_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }
}

impl CatalogProvider for AthenaCatalog {
    fn schema_names(&self) -> Vec<String> {
        self.databases.get(self.ttl, || block_on(self.conn.list_databases_in(&self.catalog)))
    }

    /// Every name is a schema here; its tables are looked up when a query names them.
    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        let mut schemas = self.schemas.lock().expect("not poisoned");
        let schema = schemas.entry(name.to_owned()).or_insert_with(|| {
            Arc::new(AthenaSchema {
                conn: self.conn.clone(),
                catalog: self.catalog.clone(),
                database: name.to_owned(),
                ttl: self.ttl,
                tables: Listing::default(),
            })
        });
        Some(schema.clone())
    }
}

/// One database of an [`AthenaCatalog`].
#[derive(Debug)]
pub struct AthenaSchema {
    conn: Connection,
    catalog: String,
    database: String,
    ttl: Duration,
    tables: Listing,
}

#[async_trait::async_trait]
impl SchemaProvider for AthenaSchema {
    fn table_names(&self) -> Vec<String> {
        self.tables.get(self.ttl, || {
            block_on(self.conn.list_tables_in(&self.catalog, &self.database)).map(|ts| ts.into_iter().map(|t| t.name).collect())
        })
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        match self.conn.table_metadata_in(&self.catalog, &self.database, name).await {
            Ok(meta) => Ok(Some(Arc::new(AthenaCatalogTable {
                conn: self.conn.clone(),
                database: self.database.clone(),
                table: name.to_owned(),
                schema: meta.arrow_schema(self.conn.settings().timestamp_unit).map_err(|e| DataFusionError::External(Box::new(e)))?,
                hints: meta.type_hints(),
            }))),
            Err(crate::Error::Api { code: Some(code), .. }) if code.contains("MetadataException") || code.contains("EntityNotFound") => {
                Ok(None)
            }
            Err(e) => Err(DataFusionError::External(Box::new(e))),
        }
    }

    fn table_exist(&self, name: &str) -> bool {
        self.table_names().iter().any(|t| t.eq_ignore_ascii_case(name))
    }
}

/// A table of Athena's catalog (see the [module](self) documentation).
#[derive(Debug, Clone)]
pub struct AthenaCatalogTable {
    conn: Connection,
    database: String,
    table: String,
    schema: SchemaRef,
    /// Element types of nested columns (a CSV result's ColumnInfo has none).
    hints: std::collections::HashMap<String, String>,
}

impl AthenaCatalogTable {
    /// The SQL a scan with these arguments sends to Athena.
    pub fn scan_sql(&self, projection: Option<&Vec<usize>>, filters: &[Expr], limit: Option<usize>) -> String {
        let columns: Vec<String> = match projection {
            Some(p) if p.is_empty() => vec!["1".to_owned()],
            Some(p) => p.iter().map(|&i| quote_ident(self.schema.field(i).name())).collect(),
            None => self.schema.fields().iter().map(|f| quote_ident(f.name())).collect(),
        };
        let mut sql = format!("SELECT {} FROM {}.{}", columns.join(", "), quote_ident(&self.database), quote_ident(&self.table));
        let pushed: Vec<String> = filters.iter().filter_map(render).collect();
        if !pushed.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&pushed.join(" AND "));
        }
        if let Some(n) = limit {
            sql.push_str(&format!(" LIMIT {n}"));
        }
        sql
    }
}

#[async_trait::async_trait]
impl TableProvider for AthenaCatalogTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    /// Filters Athena evaluates as DataFusion would are `Exact` (DataFusion does not apply them
    /// again); the others stay with DataFusion.
    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| if render(f).is_some() { TableProviderFilterPushDown::Exact } else { TableProviderFilterPushDown::Unsupported })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let sql = self.scan_sql(projection, filters, limit);
        let schema = match projection {
            Some(p) => Arc::new(self.schema.project(p)?),
            None => self.schema.clone(),
        };
        let schema: SchemaRef = if schema.fields().is_empty() { Arc::new(Schema::empty()) } else { schema };
        let source = SharedQuery::new(self.conn.query(sql.clone()).type_hints(self.hints.clone()), None);
        Ok(Arc::new(AthenaScanExec::new(sql, source, None, schema, state.config().target_partitions())))
    }
}
