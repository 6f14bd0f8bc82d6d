//! DataFusion integration (feature `datafusion`): an Athena query's result registered as a
//! table that DataFusion scans as a stream of the result's batches, never collected first.
//!
//! ```no_run
//! # async fn run(conn: athena_arrow::Connection) -> Result<(), Box<dyn std::error::Error>> {
//! use datafusion::prelude::SessionContext;
//!
//! let ctx = SessionContext::new();
//! let table = athena_arrow::datafusion::AthenaTable::new(&conn, "SELECT * FROM many_rows").await?;
//! ctx.register_table("athena", std::sync::Arc::new(table))?;
//! ctx.sql("SELECT count(*) FROM athena").await?.show().await?;
//! # Ok(()) }
//! ```
//!
//! The query runs once when the table is made (its schema is the result's); the first scan
//! streams that result. Every later scan runs the query again (as Athena's result reuse or the
//! client-side cache of the connection allow), since a result stream can be read only once.

use std::sync::{Arc, Mutex};

use ::datafusion::arrow::datatypes::SchemaRef;
use ::datafusion::catalog::streaming::StreamingTable;
use ::datafusion::catalog::{Session, TableProvider};
use ::datafusion::common::DataFusionError;
use ::datafusion::execution::{SendableRecordBatchStream, TaskContext};
use ::datafusion::logical_expr::{Expr, TableType};
use ::datafusion::physical_plan::ExecutionPlan;
use ::datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use ::datafusion::physical_plan::streaming::PartitionStream;
use futures::{StreamExt, TryStreamExt};

use crate::{Connection, Query, ResultSet};

/// An Athena query's result as a DataFusion table (see the [module](self) documentation).
#[derive(Debug)]
pub struct AthenaTable {
    inner: StreamingTable,
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
        let first = query.clone().execute().await?;
        let schema = first.schema().clone();
        let partition = AthenaPartition { query, schema: schema.clone(), first: Mutex::new(Some(first)) };
        let inner = StreamingTable::try_new(schema, vec![Arc::new(partition)]).map_err(|e| crate::Error::Decode {
            query_id: None,
            column: None,
            row: None,
            message: "cannot make a DataFusion table of the result".into(),
            source: Some(Box::new(e)),
        })?;
        Ok(Self { inner })
    }
}

#[async_trait::async_trait]
impl TableProvider for AthenaTable {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> ::datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        self.inner.scan(state, projection, filters, limit).await
    }
}

/// The one partition of an [`AthenaTable`]: the result's stream.
struct AthenaPartition {
    query: Query,
    schema: SchemaRef,
    /// The result of the run that made the table, for the first scan.
    first: Mutex<Option<ResultSet>>,
}

impl std::fmt::Debug for AthenaPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AthenaPartition").field("query", &self.query).finish_non_exhaustive()
    }
}

fn df_error(e: crate::Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

impl PartitionStream for AthenaPartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let first = self.first.lock().expect("not poisoned").take();
        let query = self.query.clone();
        let schema = self.schema.clone();
        let result = async move {
            let result = match first {
                Some(result) => result,
                None => query.execute().await?,
            };
            if result.schema().fields() != schema.fields() {
                return Err(crate::Error::decode("the query's result has another schema than when the table was made"));
            }
            Ok(result.into_stream())
        };
        let batches = futures::stream::once(result).try_flatten().map(|b| b.map_err(df_error));
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), batches))
    }
}
