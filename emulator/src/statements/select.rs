//! SELECT (and WITH, VALUES): the rows streamed from the engine into the result file, formatted
//! by the query's engine on every core; EXPLAIN: the plan's text.

use datafusion::physical_plan::execute_stream;
use datafusion::sql::sqlparser::ast::Statement;
use futures::StreamExt;

use crate::engine::Planned;
use crate::engine::errors::df_failure;
use crate::failure::Failure;
use crate::formats::arrow_stream::ArrowStreamFile;
use crate::formats::objects::ObjectWriter;
use crate::statements::{ApiRows, Executor, Job, Outcome};
use crate::types::ColumnInfo;

impl Executor {
    pub(crate) async fn run_select(&self, job: &Job, statement: &Statement) -> Result<Outcome, Failure> {
        let planned = self.plan(job, statement.clone()).await?;
        let Planned { ctx, physical, .. } = &planned;
        let schema = &job.dialect.result_schema(&planned.schema);
        let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        // DuckDB with Athena-managed results: the result is kept as an Arrow IPC stream only;
        // GetQueryResults gives its text page by page. Otherwise the result CSV (in the results
        // location, or kept for GetQueryResults).
        let arrow_only = job.staging.is_none() && job.dialect.arrow_stream();
        let (mut text, output_location, api_path) = match (arrow_only, self.result_object(job, "csv")) {
            (true, _) => (None, None, self.stream_path(&job.id)),
            (false, Some((uri, bucket, key))) => {
                let w = ObjectWriter::object(&self.layout, &self.tmp_dir(), &bucket, &key)?;
                match &job.seal {
                    // GetQueryResults pages from the plaintext, kept apart: Athena decrypts for
                    // its API callers.
                    Some(seal) => (Some(w.sealed(Some(seal), Some(self.api_path(&job.id)))), Some(uri), self.api_path(&job.id)),
                    None => (Some(w), Some(uri), self.layout.object_path(&bucket, &key).expect("validated key")),
                }
            }
            (false, None) => {
                let path = self.api_path(&job.id);
                (Some(ObjectWriter::file(&self.tmp_dir(), path.clone())?), None, path)
            }
        };
        if let Some(w) = text.as_mut() {
            std::io::Write::write_all(w, &job.dialect.result_header(&names))?;
        }
        let mut arrow = match arrow_only {
            true => Some(ArrowStreamFile::create(&self.tmp_dir(), self.stream_path(&job.id), schema, self.stream_compression)?),
            false => None,
        };
        let stream = execute_stream(physical.clone(), ctx.task_ctx()).map_err(|e| df_failure(&job.sql, e))?;
        // Batches are formatted on every core at once and written in order: one result file,
        // as Athena's coordinator writes it, at the speed of all cores.
        let parallel = std::thread::available_parallelism().map_or(2, |n| n.get());
        let formatting = text.is_some();
        let mut formatted = stream
            .map(|batch| async move {
                let batch = batch.map_err(|e| df_failure(&job.sql, e))?;
                let dialect = job.dialect.clone();
                let schema = schema.clone();
                tokio::task::spawn_blocking(move || {
                    let batch = dialect.result_batch(batch, &schema)?;
                    let mut buf = Vec::new();
                    if formatting {
                        buf.reserve(batch.get_array_memory_size() * 2);
                        dialect.result_rows(&mut buf, &batch);
                    }
                    Ok::<_, Failure>((buf, batch))
                })
                .await
                .map_err(|e| Failure::system(format!("formatting results failed: {e}")))?
            })
            .buffered(parallel);
        let (mut rows, mut bytes) = (0u64, 0u64);
        while let Some(piece) = formatted.next().await {
            let (buf, batch) = piece?;
            if let Some(w) = text.as_mut() {
                std::io::Write::write_all(w, &buf)?;
                bytes += buf.len() as u64;
            }
            if let Some(a) = arrow.as_mut() {
                bytes += a.write(&batch)?;
            }
            rows += batch.num_rows() as u64;
        }
        if let Some(w) = text {
            w.finish()?;
        }
        let arrow_stream = match arrow {
            Some(a) => Some(a.finish()?),
            None => None,
        };
        Ok(Outcome {
            columns: schema.fields().iter().map(|f| job.dialect.column_info(f)).collect(),
            update_count: Some(0),
            data_scanned: planned.scanned(),
            output_location,
            manifest_location: None,
            api_rows: Some(ApiRows { path: api_path, header: true, arrow: arrow_only }),
            arrow_stream,
            output: Some((rows, bytes)),
        })
    }

    pub(crate) async fn run_explain(&self, job: &Job, statement: &Statement) -> Result<Outcome, Failure> {
        let planned = self.plan(job, statement.clone()).await?;
        let text = datafusion::physical_plan::displayable(planned.physical.as_ref()).indent(true).to_string();
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let mut outcome = self.write_txt(job, &lines)?;
        outcome.columns = vec![ColumnInfo::new("Query Plan", "varchar", i32::MAX, 0)];
        let rows: Vec<Vec<String>> = lines.into_iter().map(|l| vec![l]).collect();
        outcome.api_rows = Some(self.write_api_rows(job, Some(&["Query Plan".to_owned()]), &rows)?);
        Ok(outcome)
    }
}
