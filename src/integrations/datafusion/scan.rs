//! The scan of an Athena table or query in a DataFusion plan: nothing runs while DataFusion
//! plans; the first partition executed starts the query (once, shared by every partition), then
//! each partition reads its share of the result's partitions (UNLOAD data files, or the result
//! CSV), `i`, `i + n`, `i + 2n`, ... so that every core reads files.

use std::sync::{Arc, Mutex};

use ::datafusion::arrow::array::{RecordBatch, RecordBatchOptions};
use ::datafusion::arrow::datatypes::SchemaRef;
use ::datafusion::common::tree_node::TreeNodeRecursion;
use ::datafusion::common::{DataFusionError, Result};
use ::datafusion::execution::{SendableRecordBatchStream, TaskContext};
use ::datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use ::datafusion::physical_plan::execution_plan::{Boundedness, EmissionType, ReplaceChildrenOptions};
use ::datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use ::datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties};
use futures::{StreamExt, TryStreamExt};

use crate::Query;
use crate::results::partition::Partitions;

/// Runs the query once for all partitions of a scan.
pub(crate) struct SharedQuery {
    query: Query,
    /// Partitions of a run made before planning (an `AthenaTable`'s first scan).
    ready: Mutex<Option<Partitions>>,
    started: tokio::sync::OnceCell<std::result::Result<Partitions, Arc<DataFusionError>>>,
}

impl std::fmt::Debug for SharedQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedQuery").field("query", &self.query).finish_non_exhaustive()
    }
}

impl SharedQuery {
    pub(crate) fn new(query: Query, ready: Option<Partitions>) -> Arc<Self> {
        Arc::new(Self { query, ready: Mutex::new(ready), started: tokio::sync::OnceCell::new() })
    }

    async fn partitions(&self) -> Result<Partitions> {
        let run = self
            .started
            .get_or_init(|| async {
                let ready = self.ready.lock().expect("not poisoned").take();
                match ready {
                    Some(p) => Ok(p),
                    None => self.query.clone().execute_partitions().await.map_err(|e| Arc::new(DataFusionError::External(Box::new(e)))),
                }
            })
            .await;
        run.clone().map_err(DataFusionError::Shared)
    }
}

/// The scan (see the [module](self) documentation).
#[derive(Debug)]
pub struct AthenaScanExec {
    /// The SQL sent to Athena (EXPLAIN shows it).
    sql: String,
    source: Arc<SharedQuery>,
    /// Columns of the result to keep, in order (`None`: all).
    projection: Option<Vec<usize>>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl AthenaScanExec {
    /// A scan of `source` giving `schema` (the result's columns after `projection`) in
    /// `partitions` partitions.
    pub(crate) fn new(sql: String, source: Arc<SharedQuery>, projection: Option<Vec<usize>>, schema: SchemaRef, partitions: usize) -> Self {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(partitions.max(1)),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Self { sql, source, projection, schema, properties: Arc::new(properties) }
    }

    /// The SQL this scan sends to Athena.
    pub fn sql(&self) -> &str {
        &self.sql
    }
}

impl DisplayAs for AthenaScanExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match t {
            DisplayFormatType::Default | DisplayFormatType::Verbose => {
                write!(f, "AthenaScanExec: partitions={}, sql={}", self.properties.partitioning.partition_count(), self.sql)
            }
            DisplayFormatType::TreeRender => write!(f, "sql={}", self.sql),
        }
    }
}

impl ExecutionPlan for AthenaScanExec {
    fn name(&self) -> &'static str {
        "AthenaScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(&self, _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn replace_children(self: Arc<Self>, _: Vec<Arc<dyn ExecutionPlan>>, _: ReplaceChildrenOptions) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn with_new_children(self: Arc<Self>, _: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(&self, partition: usize, _context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let n = self.properties.partitioning.partition_count();
        let (source, schema, projection) = (self.source.clone(), self.schema.clone(), self.projection.clone());
        let conn = source.query.connection().clone();
        let mine = async move {
            let all = source.partitions().await?;
            let parts: Vec<_> = all.partitions.into_iter().skip(partition).step_by(n).collect();
            let conn = conn.clone();
            let batches = futures::stream::iter(parts)
                .then(move |p| {
                    let conn = conn.clone();
                    async move { conn.read_partition(&p).await.map_err(|e| DataFusionError::External(Box::new(e))) }
                })
                .map_ok(|stream| stream.map_err(|e| DataFusionError::External(Box::new(e))))
                .try_flatten();
            Ok::<_, DataFusionError>(batches)
        };
        let out = schema.clone();
        let stream = futures::stream::once(mine).try_flatten().map(move |batch| conform(batch?, projection.as_deref(), &out));
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }
}

/// A result batch as the scan's schema: projected, each column cast where the result's type
/// differs from the table's (a CSV result's `varchar(10)` is the table's string, for one).
fn conform(batch: RecordBatch, projection: Option<&[usize]>, schema: &SchemaRef) -> Result<RecordBatch> {
    let columns: Vec<_> = match projection {
        Some(p) => p.iter().map(|&i| batch.column(i).clone()).collect(),
        None => batch.columns().to_vec(),
    };
    if columns.len() != schema.fields().len() && !schema.fields().is_empty() {
        return Err(DataFusionError::Execution(format!(
            "Athena returned {} columns where the scan expects {}",
            columns.len(),
            schema.fields().len()
        )));
    }
    let columns = columns
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| if c.data_type() == f.data_type() { Ok(c.clone()) } else { ::datafusion::arrow::compute::cast(c, f.data_type()) })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    Ok(RecordBatch::try_new_with_options(schema.clone(), columns, &options)?)
}
