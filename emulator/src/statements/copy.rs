//! DuckDB's `COPY (query) TO 's3://bucket/key' (FORMAT parquet[, COMPRESSION c])`: the query's
//! rows written as one Parquet file at that key (DuckDB's Arrow types), and one result row with
//! the count of rows written (DuckDB's `Count`), as UpdateCount too.

use datafusion::physical_plan::execute_stream;
use datafusion::sql::sqlparser::ast::Statement;
use futures::StreamExt;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::catalog::split_s3_uri;
use crate::engine::errors::df_failure;
use crate::failure::Failure;
use crate::formats::objects::ObjectWriter;
use crate::statements::{Executor, Job, Outcome};
use crate::types::ColumnInfo;

impl Executor {
    pub(crate) async fn run_copy(
        &self,
        job: &Job,
        query: &Statement,
        target: &str,
        options: &[(String, String)],
    ) -> Result<Outcome, Failure> {
        let option = |name: &str| options.iter().find(|(n, _)| n == name).map(|(_, v)| v.to_ascii_lowercase());
        if option("FORMAT").is_some_and(|f| f != "parquet") {
            return Err(Failure::duckdb("Not implemented Error: the local endpoint writes COPY ... TO as FORMAT parquet only"));
        }
        let compression = match option("COMPRESSION").as_deref() {
            None | Some("snappy") => Compression::SNAPPY,
            Some("zstd") => Compression::ZSTD(ZstdLevel::default()),
            Some("gzip") => Compression::GZIP(Default::default()),
            Some("uncompressed") => Compression::UNCOMPRESSED,
            Some(other) => return Err(Failure::duckdb(format!("Invalid Input Error: unknown Parquet compression \"{other}\""))),
        };
        let Some((bucket, key)) = split_s3_uri(target).filter(|(_, k)| !k.is_empty() && !k.ends_with('/')) else {
            return Err(Failure::duckdb(format!("IO Error: cannot write to \"{target}\": COPY ... TO takes an s3://bucket/key location")));
        };
        if !self.layout.bucket_path(&bucket).is_dir() {
            return Err(Failure::duckdb(format!("HTTP Error: bucket {bucket} does not exist")));
        }
        let planned = self.plan(job, query.clone()).await?;
        let schema = job.dialect.result_schema(&planned.schema);
        let out = ObjectWriter::object(&self.layout, &self.tmp_dir(), &bucket, &key)?;
        let props = WriterProperties::builder().set_compression(compression).build();
        let mut writer =
            ArrowWriter::try_new(out, schema.clone(), Some(props)).map_err(|e| Failure::system(format!("writing Parquet: {e}")))?;
        let mut stream = execute_stream(planned.physical.clone(), planned.ctx.task_ctx()).map_err(|e| df_failure(&job.sql, e))?;
        let mut rows = 0u64;
        while let Some(batch) = stream.next().await {
            let batch = job.dialect.result_batch(batch.map_err(|e| df_failure(&job.sql, e))?, &schema)?;
            rows += batch.num_rows() as u64;
            writer.write(&batch).map_err(|e| Failure::system(format!("writing Parquet: {e}")))?;
        }
        writer.into_inner().map_err(|e| Failure::system(format!("writing Parquet: {e}")))?.finish()?;
        let mut outcome = self.write_txt(job, &[rows.to_string()])?;
        outcome.columns = vec![ColumnInfo::new("Count", "BIGINT", 0, 0)];
        outcome.update_count = Some(rows as i64);
        outcome.data_scanned = planned.scanned();
        outcome.api_rows = Some(self.write_api_rows(job, Some(&["Count".to_owned()]), &[vec![rows.to_string()]])?);
        Ok(outcome)
    }
}
