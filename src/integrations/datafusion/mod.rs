//! DataFusion integration (feature `datafusion`): Athena's catalog as DataFusion tables with
//! projections, filters and limits pushed into Athena ([`AthenaCatalog`]), and a query's result
//! as a table ([`AthenaTable`]). Scans read the result's partitions (UNLOAD data files, or the
//! result CSV) in parallel, one share per DataFusion partition; nothing runs on Athena while
//! DataFusion plans.
//!
//! ```no_run
//! # async fn run(conn: athena_arrow::Connection) -> Result<(), Box<dyn std::error::Error>> {
//! use datafusion::prelude::SessionContext;
//!
//! let ctx = SessionContext::new();
//! let athena = athena_arrow::datafusion::AthenaCatalog::new(&conn);
//! // Athena runs `SELECT "a" FROM "default"."many_rows" WHERE ("a" < 10)`.
//! athena.sql(&ctx, "SELECT a FROM athena.default.many_rows WHERE a < 10").await?.show().await?;
//!
//! let table = athena_arrow::datafusion::AthenaTable::new(&conn, "SELECT * FROM many_rows").await?;
//! ctx.register_table("result", std::sync::Arc::new(table))?;
//! ctx.sql("SELECT count(*) FROM result").await?.show().await?;
//! # Ok(()) }
//! ```

mod catalog;
mod render;
mod scan;

use std::sync::Arc;

use ::datafusion::arrow::datatypes::SchemaRef;
use ::datafusion::catalog::{Session, TableProvider};
use ::datafusion::logical_expr::{Expr, TableType};
use ::datafusion::physical_plan::ExecutionPlan;

pub use crate::integrations::datafusion::catalog::{AthenaCatalog, AthenaCatalogTable, AthenaSchema, DEFAULT_CACHE_TTL};
pub use crate::integrations::datafusion::scan::AthenaScanExec;
use crate::integrations::datafusion::scan::SharedQuery;
use crate::results::partition::Partitions;
use crate::{Connection, Query};

/// An Athena query's result as a DataFusion table.
///
/// The query runs once when the table is made (its schema is the result's); the first scan
/// reads that result's partitions. Every later scan runs the query again (as Athena's result
/// reuse or the connection's client-side cache allow), since a result is read once per scan.
#[derive(Debug)]
pub struct AthenaTable {
    query: Query,
    schema: SchemaRef,
    first: std::sync::Mutex<Option<Partitions>>,
}

impl AthenaTable {
    /// Runs `sql` on `conn` and makes a table of its result.
    ///
    /// # Errors
    /// As [`Query::execute`].
    pub async fn new(conn: &Connection, sql: &str) -> crate::Result<Self> {
        Self::from_query(conn.query(sql)).await
    }

    /// As [`new`](Self::new) for a query with parameters or options (`unload`, `result_reuse`,
    /// ...); later scans run a copy of it.
    ///
    /// # Errors
    /// As [`Query::execute`].
    pub async fn from_query(query: Query) -> crate::Result<Self> {
        let first = query.clone().execute_partitions().await?;
        Ok(Self { query, schema: first.schema.clone(), first: std::sync::Mutex::new(Some(first)) })
    }
}

#[async_trait::async_trait]
impl TableProvider for AthenaTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> ::datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        let first = self.first.lock().expect("not poisoned").take();
        // As many DataFusion partitions as result partitions, up to the session's target.
        let target = state.config().target_partitions();
        let partitions = first.as_ref().map_or(target, |p| p.partitions.len().clamp(1, target));
        let schema = match projection {
            Some(p) => Arc::new(self.schema.project(p)?),
            None => self.schema.clone(),
        };
        let source = SharedQuery::new(self.query.clone(), first);
        Ok(Arc::new(AthenaScanExec::new(self.query.sql().to_owned(), source, projection.cloned(), schema, partitions)))
    }
}
