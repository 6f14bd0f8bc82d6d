//! The files a statement leaves: the result object in the results location (`<id>.csv` /
//! `<id>.txt`, as Athena writes them) and the rows GetQueryResults pages from.

use std::path::PathBuf;

use crate::catalog::split_s3_uri;
use crate::engine::Planned;
use crate::failure::Failure;
use crate::formats::objects::ObjectWriter;
use crate::formats::result_csv::csv_header;
use crate::statements::{ApiRows, Executor, Job, Outcome};
use crate::types::ColumnInfo;

impl Executor {
    pub(crate) fn tmp_dir(&self) -> PathBuf {
        self.state_dir.join("tmp")
    }

    /// Where a CSE_KMS job's files are sealed: the data dir's layout and the job's key.
    pub(crate) fn seal_of<'a>(
        &'a self,
        job: &'a Job,
    ) -> Option<(&'a crate::formats::objects::ObjectLayout, &'a crate::formats::envelope::Seal)> {
        job.seal.as_ref().map(|s| (&self.layout, s))
    }

    pub(crate) fn api_path(&self, id: &str) -> PathBuf {
        self.state_dir.join("results").join(format!("{id}.csv"))
    }

    /// Where a DuckDB query's Athena-managed result is kept as an Arrow IPC stream.
    pub(crate) fn stream_path(&self, id: &str) -> PathBuf {
        self.state_dir.join("results").join(format!("{id}.arrows"))
    }

    /// The result file location for this job: `<staging><id>.<ext>`.
    pub(crate) fn result_object(&self, job: &Job, ext: &str) -> Option<(String, String, String)> {
        let staging = job.staging.as_ref()?;
        let (bucket, prefix) = split_s3_uri(staging)?;
        let prefix = if prefix.is_empty() || prefix.ends_with('/') { prefix } else { format!("{prefix}/") };
        let key = format!("{prefix}{}.{ext}", job.id);
        Some((format!("s3://{bucket}/{key}"), bucket, key))
    }

    /// INSERT and CTAS: no rows, UpdateCount = rows written, one ColumnInfo `rows bigint`.
    pub(crate) fn row_count_outcome(&self, job: &Job, rows: usize, planned: &Planned) -> Result<Outcome, Failure> {
        Ok(Outcome {
            columns: vec![ColumnInfo::new("rows", "bigint", 19, 0)],
            update_count: Some(rows as i64),
            data_scanned: planned.scanned(),
            api_rows: Some(self.write_api_rows(job, None, &[])?),
            ..self.write_txt(job, &[])?
        })
    }

    pub(crate) fn ddl_done(&self, job: &Job) -> Result<Outcome, Failure> {
        let mut outcome = self.write_txt(job, &[])?;
        outcome.api_rows = Some(self.write_api_rows(job, None, &[])?);
        Ok(outcome)
    }

    pub(crate) fn utility(&self, job: &Job, names: &[&str], rows: Vec<Vec<String>>) -> Result<Outcome, Failure> {
        let lines: Vec<String> = rows.iter().map(|r| r.join("\t")).collect();
        let mut outcome = self.write_txt(job, &lines)?;
        // Hive-executed utility statements type their columns `string`, precision 0.
        outcome.columns = names.iter().map(|n| ColumnInfo::new(n, "string", 0, 0)).collect();
        outcome.update_count = Some(0);
        outcome.api_rows = Some(self.write_api_rows(job, None, &rows)?);
        Ok(outcome)
    }

    /// `<id>.txt`: rows joined with `\n`, no trailing newline, no header, no quoting.
    pub(crate) fn write_txt(&self, job: &Job, lines: &[String]) -> Result<Outcome, Failure> {
        let mut outcome = Outcome::default();
        if let Some((uri, bucket, key)) = self.result_object(job, "txt") {
            let mut w = ObjectWriter::object(&self.layout, &self.tmp_dir(), &bucket, &key)?.sealed(job.seal.as_ref(), None);
            std::io::Write::write_all(&mut w, lines.join("\n").as_bytes())?;
            w.finish()?;
            outcome.output_location = Some(uri);
        }
        Ok(outcome)
    }

    /// The rows GetQueryResults serves for results that are not a CSV in the results location.
    pub(crate) fn write_api_rows(&self, job: &Job, header: Option<&[String]>, rows: &[Vec<String>]) -> Result<ApiRows, Failure> {
        let path = self.api_path(&job.id);
        let mut w = ObjectWriter::file(&self.tmp_dir(), path.clone())?;
        let mut buf = Vec::new();
        if let Some(h) = header {
            buf.extend_from_slice(&csv_header(h));
        }
        for row in rows {
            buf.extend_from_slice(&csv_header(row));
        }
        std::io::Write::write_all(&mut w, &buf)?;
        w.finish()?;
        Ok(ApiRows { path, header: header.is_some(), arrow: false })
    }
}
