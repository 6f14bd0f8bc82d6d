//! Athena's data catalog as DataFusion's: [`AthenaCatalog`] (databases as schemas, resolved
//! through DataFusion's async catalog API before planning) and [`AthenaCatalogTable`] (a table
//! whose scans run one Athena query built from what DataFusion asks for: the projected columns,
//! the filters Athena can evaluate, the limit).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ::datafusion::arrow::datatypes::{Schema, SchemaRef};
use ::datafusion::catalog::{AsyncCatalogProvider, AsyncSchemaProvider, Session, TableProvider};
use ::datafusion::common::{DataFusionError, Result};
use ::datafusion::dataframe::DataFrame;
use ::datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use ::datafusion::physical_plan::ExecutionPlan;
use ::datafusion::prelude::SessionContext;

use crate::Connection;
use crate::error::ErrorKind;
use crate::integrations::datafusion::render::{quote_ident, render};
use crate::integrations::datafusion::scan::{AthenaScanExec, SharedQuery};

/// How long a table's metadata is kept by default.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(60);

/// Athena's data catalog (`AwsDataCatalog` unless told otherwise) as a DataFusion catalog, named
/// `athena` in a session unless told otherwise:
///
/// ```no_run
/// # async fn run(conn: athena_arrow::Connection) -> Result<(), Box<dyn std::error::Error>> {
/// use datafusion::prelude::SessionContext;
/// let ctx = SessionContext::new();
/// let athena = athena_arrow::datafusion::AthenaCatalog::new(&conn);
/// athena.sql(&ctx, "SELECT a, count(*) FROM athena.sales.orders WHERE day >= DATE '2026-11-01' GROUP BY a").await?.show().await?;
/// # Ok(()) }
/// ```
///
/// DataFusion plans synchronously, so the tables a statement names are looked up before it is
/// planned ([`sql`](Self::sql), or [`resolve`](Self::resolve) for a statement planned otherwise):
/// one GetTableMetadata per table, kept for [`with_cache_ttl`](Self::with_cache_ttl), its
/// schema through the schema mapper. A lookup that fails (Athena unreachable, access denied) is
/// that call's error; a table that does not exist is DataFusion's "table not found" when it
/// plans. Nothing runs on Athena before a plan executes.
#[derive(Debug)]
pub struct AthenaCatalog {
    conn: Connection,
    catalog: String,
    name: String,
    ttl: Duration,
    /// (database, table) -> when it was looked up, and its provider.
    tables: Arc<Mutex<HashMap<(String, String), (Instant, Arc<AthenaCatalogTable>)>>>,
}

impl AthenaCatalog {
    pub fn new(conn: &Connection) -> Self {
        Self { conn: conn.clone(), catalog: "AwsDataCatalog".into(), name: "athena".into(), ttl: DEFAULT_CACHE_TTL, tables: Arc::default() }
    }

    /// Another data catalog of the account (a federated or Glue catalog by its Athena name).
    pub fn with_catalog_name(mut self, catalog: impl Into<String>) -> Self {
        self.catalog = catalog.into();
        self
    }

    /// The catalog's name in DataFusion's SQL (default `athena`: `athena.<database>.<table>`).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// How long a table's metadata is kept (default [`DEFAULT_CACHE_TTL`]).
    pub fn with_cache_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Looks up the tables `sql` names in this catalog, registers them in `ctx`, and plans `sql`.
    ///
    /// # Errors
    /// A lookup that failed (with the library's error as its source), or DataFusion's own.
    pub async fn sql(&self, ctx: &SessionContext, sql: &str) -> Result<DataFrame> {
        self.resolve(ctx, sql).await?;
        ctx.sql(sql).await
    }

    /// Looks up the tables `sql` names in this catalog and registers the catalog, holding them,
    /// in `ctx` under its name: what planning `sql` needs of it.
    ///
    /// # Errors
    /// As [`sql`](Self::sql).
    pub async fn resolve(&self, ctx: &SessionContext, sql: &str) -> Result<()> {
        let state = ctx.state();
        let statement = state.sql_to_statement(sql, &state.config().options().sql_parser.dialect)?;
        let references = state.resolve_table_references(&statement)?;
        let resolved = AsyncCatalogProvider::resolve(self, &references, state.config(), &self.name).await?;
        ctx.register_catalog(&self.name, resolved);
        Ok(())
    }

    /// The databases of the catalog (ListDatabases).
    ///
    /// # Errors
    /// As [`Connection::list_databases_in`].
    pub async fn database_names(&self) -> crate::Result<Vec<String>> {
        self.conn.list_databases_in(&self.catalog).await
    }

    /// The tables of `database` (ListTableMetadata).
    ///
    /// # Errors
    /// As [`Connection::list_tables_in`].
    pub async fn table_names(&self, database: &str) -> crate::Result<Vec<String>> {
        Ok(self.conn.list_tables_in(&self.catalog, database).await?.into_iter().map(|t| t.name).collect())
    }
}

#[async_trait::async_trait]
impl AsyncCatalogProvider for AthenaCatalog {
    /// Every name is a database here; its tables are looked up when a statement names them.
    async fn schema(&self, name: &str) -> Result<Option<Arc<dyn AsyncSchemaProvider>>> {
        Ok(Some(Arc::new(AthenaSchema {
            conn: self.conn.clone(),
            catalog: self.catalog.clone(),
            database: name.to_owned(),
            ttl: self.ttl,
            tables: self.tables.clone(),
        })))
    }
}

/// One database of an [`AthenaCatalog`].
#[derive(Debug)]
pub struct AthenaSchema {
    conn: Connection,
    catalog: String,
    database: String,
    ttl: Duration,
    tables: Arc<Mutex<HashMap<(String, String), (Instant, Arc<AthenaCatalogTable>)>>>,
}

#[async_trait::async_trait]
impl AsyncSchemaProvider for AthenaSchema {
    /// The table's provider from its metadata (kept for the catalog's TTL); `None` when the
    /// table does not exist; any other failure is an error.
    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let key = (self.database.clone(), name.to_owned());
        if let Some((at, table)) = self.tables.lock().expect("not poisoned").get(&key)
            && at.elapsed() < self.ttl
        {
            return Ok(Some(table.clone()));
        }
        let meta = match self.conn.table_metadata_in(&self.catalog, &self.database, name).await {
            Ok(meta) => meta,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(DataFusionError::External(Box::new(e))),
        };
        let table = Arc::new(AthenaCatalogTable {
            conn: self.conn.clone(),
            database: self.database.clone(),
            table: name.to_owned(),
            schema: meta.arrow_schema(self.conn.settings().timestamp_unit).map_err(|e| DataFusionError::External(Box::new(e)))?,
            hints: meta.type_hints(),
        });
        self.tables.lock().expect("not poisoned").insert(key, (Instant::now(), table.clone()));
        Ok(Some(table))
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
