//! SQL on DataFusion: a session over the catalog ([`session`]), Trino's SQL rewritten for it
//! ([`trino`]), DuckDB's SQL rewritten for it ([`duckdb`]), Athena's functions as UDFs ([`udf`], [`binary_functions`]), plans and their
//! errors ([`errors`]).

pub mod binary_functions;
pub mod duckdb;
pub mod errors;
pub mod session;
pub mod trino;
pub mod udf;

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{self as sqlast, Statement};

use crate::catalog::Catalog;
use crate::engine::errors::df_failure;
use crate::engine::session::{TextBytesRead, session_in};
use crate::failure::{Failure, SyntaxError};

/// Stack of the threads that parse, plan and run statements. Deeply nested SQL (hundreds of
/// `UNION ALL` branches, `+` or `||` terms, `AND`/`OR` chains) recurses that deep in the
/// parser's AST visitors, DataFusion's planner and the AST's own drop; a debug build's frames
/// are large. Only touched pages are ever allocated.
pub const STACK_BYTES: usize = 256 << 20;

/// Runs `f` (a parse) on a thread of [`STACK_BYTES`] stack; the statement it returns is handed
/// back to be run (and dropped) on the engine's threads, which have the same stack.
pub fn on_parser_stack<T: Send>(f: impl FnOnce() -> Result<T, SyntaxError> + Send) -> Result<T, SyntaxError> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("athena-parse".into())
            .stack_size(STACK_BYTES)
            .spawn_scoped(scope, f)
            .map_err(|e| SyntaxError { line: 1, column: 1, message: format!("cannot start the parser: {e}") })?
            .join()
            .unwrap_or_else(|_| Err(SyntaxError { line: 1, column: 1, message: "the statement is too complex to parse".into() }))
    })
}

/// A statement planned: the session it runs in, its physical plan and its output schema.
pub struct Planned {
    pub ctx: SessionContext,
    pub physical: Arc<dyn ExecutionPlan>,
    pub schema: SchemaRef,
}

/// Plans statements on DataFusion against the catalog.
pub struct Engine {
    catalog: Arc<Catalog>,
}

impl Engine {
    pub fn new(catalog: Arc<Catalog>) -> Self {
        Self { catalog }
    }

    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// A DataFusion session seeing every database of the catalog, `database` as default schema.
    /// Tables and views are looked up only when a query names them: a view is planned in its own
    /// database when read, so a stale view fails only its readers.
    pub fn session(&self, database: &str) -> SessionContext {
        session_in(&self.catalog, database, 0, Arc::default())
    }

    /// Plans `stmt` in a new session of `database`; `sql` (the statement's text) places errors.
    pub async fn plan(&self, database: &str, sql: &str, stmt: Statement) -> Result<Planned, Failure> {
        self.plan_in(self.session(database), sql, stmt).await
    }

    /// Plans `stmt` in `ctx`.
    pub async fn plan_in(&self, ctx: SessionContext, sql: &str, stmt: Statement) -> Result<Planned, Failure> {
        let plan = ctx
            .state()
            .statement_to_plan(datafusion::sql::parser::Statement::Statement(Box::new(stmt)))
            .await
            .and_then(athena_names)
            .map_err(|e| df_failure(sql, e))?;
        let df = ctx.execute_logical_plan(plan).await.map_err(|e| df_failure(sql, e))?;
        let schema: SchemaRef = df.schema().inner().clone();
        let physical = df.create_physical_plan().await.and_then(cooperative).map_err(|e| df_failure(sql, e))?;
        Ok(Planned { ctx, physical, schema })
    }
}

impl Planned {
    /// Bytes the query read: its Parquet scans' and the Hive text files its tables were read from.
    pub fn scanned(&self) -> u64 {
        let text = self.ctx.state().config().get_extension::<TextBytesRead>().map_or(0, |t| t.0.load(std::sync::atomic::Ordering::Relaxed));
        bytes_scanned(self.physical.as_ref()) + text
    }
}

/// Sum of the `bytes_scanned` metric over the plan: what the scans actually read.
/// A scan whose files were read whole with their footer (small files: the metric counts only
/// reads beyond the footer prefetch) counts the size of its files, as Athena counts what it read.
fn bytes_scanned(plan: &dyn ExecutionPlan) -> u64 {
    let mut own = plan.metrics().and_then(|m| m.sum_by_name("bytes_scanned")).map_or(0, |v| v.as_usize() as u64);
    if own == 0
        && let Some(source) = plan.downcast_ref::<datafusion::datasource::source::DataSourceExec>()
        && let Some(files) = source.data_source().downcast_ref::<datafusion::datasource::physical_plan::FileScanConfig>()
        && plan.metrics().and_then(|m| m.output_rows()).unwrap_or(0) > 0
    {
        own = files.file_groups.iter().flat_map(|g| g.files()).map(|f| f.object_meta.size).sum();
    }
    own + plan.children().iter().map(|c| bytes_scanned(c.as_ref())).sum::<u64>()
}

/// Names unnamed output columns `_col0`, `_col1`, ... (by position) as Athena does.
fn athena_names(plan: LogicalPlan) -> Result<LogicalPlan, DataFusionError> {
    let mut node = &plan;
    loop {
        match node {
            LogicalPlan::Sort(s) => node = &s.input,
            LogicalPlan::Limit(l) => node = &l.input,
            _ => break,
        }
    }
    let unnamed: Vec<bool> = match node {
        LogicalPlan::Projection(p) => p.expr.iter().map(|e| !matches!(e, Expr::Column(_) | Expr::Alias(_))).collect(),
        LogicalPlan::Values(_) => vec![true; plan.schema().fields().len()],
        _ => return Ok(plan),
    };
    if unnamed.len() != plan.schema().fields().len() || !unnamed.iter().any(|u| *u) {
        return Ok(plan);
    }
    let exprs: Vec<Expr> = plan
        .schema()
        .columns()
        .into_iter()
        .enumerate()
        .map(|(i, c)| if unnamed[i] { Expr::Column(c).alias(format!("_col{i}")) } else { Expr::Column(c) })
        .collect();
    LogicalPlanBuilder::from(plan).project(exprs)?.build()
}

/// `db.table` -> `db`.
pub fn schema_of(name: &sqlast::ObjectName) -> Option<String> {
    let parts = &name.0;
    (parts.len() >= 2).then(|| part_name(&parts[parts.len() - 2]))
}

pub fn last_ident(name: &sqlast::ObjectName) -> String {
    name.0.last().map(part_name).unwrap_or_default()
}

/// An identifier without its quotes (`"a"`, `` `a` ``), lower case.
fn part_name(part: &sqlast::ObjectNamePart) -> String {
    match part {
        sqlast::ObjectNamePart::Identifier(ident) => ident.value.to_ascii_lowercase(),
        other => other.to_string().to_ascii_lowercase(),
    }
}

/// Wraps every operator's inputs in DataFusion's `CooperativeExec`: each poll consumes the task's
/// tokio budget, so CPU-bound joins and aggregates (which never wait on I/O) still yield, and a
/// query aborted by StopQueryExecution stops within a budget's worth of batches.
fn cooperative(plan: Arc<dyn ExecutionPlan>) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
    use datafusion::common::tree_node::{Transformed, TreeNode};
    use datafusion::physical_plan::coop::CooperativeExec;
    use datafusion::physical_plan::execution_plan::{ChildrenPropertiesMode, ReplaceChildrenOptions};
    plan.transform_up(|node| {
        if node.children().is_empty() {
            return Ok(Transformed::no(node));
        }
        let children: Vec<Arc<dyn ExecutionPlan>> =
            node.children().into_iter().map(|c| Arc::new(CooperativeExec::new(c.clone())) as Arc<dyn ExecutionPlan>).collect();
        // CooperativeExec keeps its input's properties, so the node's need no recomputation.
        Ok(Transformed::yes(node.replace_children(children, ReplaceChildrenOptions::new(ChildrenPropertiesMode::Keep))?))
    })
    .map(|t| t.data)
}
