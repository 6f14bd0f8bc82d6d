//! Result writers: each takes batches as they arrive, so exports stream with constant memory
//! (except `table`, which lines up columns over the whole result).

use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowWriter;

use crate::Failure;

/// Output formats of `query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for reading (collects the whole result).
    Table,
    /// RFC 4180 CSV with a header line; NULL is an empty field.
    Csv,
    /// Tab-separated, with a header line.
    Tsv,
    /// One JSON array of objects (NULL columns left out).
    Json,
    /// One JSON object per line.
    Ndjson,
    /// Parquet (needs -o FILE or a non-terminal stdout).
    Parquet,
    /// Arrow IPC: the file format with -o FILE, the stream format on stdout.
    Arrow,
}

type Out = BufWriter<Box<dyn Write + Send>>;

enum Writer {
    Table(Vec<RecordBatch>, Out),
    Csv(arrow::csv::Writer<Out>),
    Json(arrow::json::ArrayWriter<Out>),
    Ndjson(arrow::json::LineDelimitedWriter<Out>),
    Parquet(ArrowWriter<Out>),
    IpcFile(arrow::ipc::writer::FileWriter<Out>),
    IpcStream(arrow::ipc::writer::StreamWriter<Out>),
}

/// Where a result goes; `start` (with the schema) before the first batch.
///
/// A file is written as a temporary file beside its target and renamed over it only by
/// [`finish`](Self::finish): a failed or interrupted export leaves the target as it was (an
/// earlier good export included) and no partial file; the temporary file is removed when the
/// sink is dropped unfinished.
pub struct Sink {
    format: Format,
    out: Option<Out>,
    writer: Option<Writer>,
    /// The temporary file and the target it becomes.
    file: Option<(tempfile::TempPath, PathBuf)>,
}

fn failure(e: impl std::fmt::Display) -> Failure {
    Failure { code: crate::exit::FAILURE, message: format!("cannot write the output: {e}") }
}

impl Sink {
    pub fn open(format: Format, path: Option<&Path>) -> Result<Self, Failure> {
        let mut file = None;
        let out: Box<dyn Write + Send> = match path {
            Some(p) => {
                let cannot = |e: std::io::Error| Failure::usage(format!("cannot write {}: {e}", p.display()));
                if p.is_dir() {
                    return Err(Failure::usage(format!("cannot write {}: it is a directory", p.display())));
                }
                let dir = match p.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d,
                    _ => Path::new("."),
                };
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let prefix = format!(".{name}.");
                let mut builder = tempfile::Builder::new();
                builder.prefix(&prefix).suffix(".partial");
                #[cfg(unix)]
                {
                    // As a plain create would: 0666 less the umask (tempfile's default is 0600).
                    use std::os::unix::fs::PermissionsExt;
                    builder.permissions(std::fs::Permissions::from_mode(0o666));
                }
                let temp = builder.tempfile_in(dir).map_err(cannot)?;
                let (handle, temp_path) = temp.into_parts();
                file = Some((temp_path, p.to_path_buf()));
                Box::new(handle)
            }
            None => {
                if matches!(format, Format::Parquet | Format::Arrow) && std::io::stdout().is_terminal() {
                    return Err(Failure::usage(format!("{format:?} is binary: give -o FILE or redirect standard output")));
                }
                Box::new(std::io::stdout())
            }
        };
        Ok(Self { format, out: Some(BufWriter::with_capacity(1 << 20, out)), writer: None, file })
    }

    pub fn start(&mut self, schema: &SchemaRef) -> Result<(), Failure> {
        let out = self.out.take().expect("started once");
        self.writer = Some(match self.format {
            Format::Table => Writer::Table(Vec::new(), out),
            Format::Csv => Writer::Csv(arrow::csv::WriterBuilder::new().with_header(true).build(out)),
            Format::Tsv => Writer::Csv(arrow::csv::WriterBuilder::new().with_header(true).with_delimiter(b'\t').build(out)),
            Format::Json => Writer::Json(arrow::json::ArrayWriter::new(out)),
            Format::Ndjson => Writer::Ndjson(arrow::json::LineDelimitedWriter::new(out)),
            Format::Parquet => Writer::Parquet(ArrowWriter::try_new(out, schema.clone(), None).map_err(failure)?),
            Format::Arrow if self.file.is_some() => Writer::IpcFile(arrow::ipc::writer::FileWriter::try_new(out, schema).map_err(failure)?),
            Format::Arrow => Writer::IpcStream(arrow::ipc::writer::StreamWriter::try_new(out, schema).map_err(failure)?),
        });
        // Header-only formats show the columns even for an empty result; a statement without
        // result columns (DDL) writes nothing.
        if let (Some(Writer::Csv(w)), false) = (&mut self.writer, schema.fields().is_empty()) {
            w.write(&RecordBatch::new_empty(schema.clone())).map_err(failure)?;
        }
        Ok(())
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), Failure> {
        match self.writer.as_mut().expect("started") {
            Writer::Table(batches, _) => batches.push(batch.clone()),
            Writer::Csv(w) => w.write(batch).map_err(failure)?,
            Writer::Json(w) => w.write(batch).map_err(failure)?,
            Writer::Ndjson(w) => w.write(batch).map_err(failure)?,
            Writer::Parquet(w) => w.write(batch).map_err(failure)?,
            Writer::IpcFile(w) => w.write(batch).map_err(failure)?,
            Writer::IpcStream(w) => w.write(batch).map_err(failure)?,
        }
        Ok(())
    }

    pub fn finish(mut self) -> Result<(), Failure> {
        let mut out = match self.writer.take().expect("started") {
            Writer::Table(batches, mut out) => {
                writeln!(out, "{}", arrow::util::pretty::pretty_format_batches(&batches).map_err(failure)?).map_err(failure)?;
                out
            }
            Writer::Csv(w) => w.into_inner(),
            Writer::Json(mut w) => {
                w.finish().map_err(failure)?;
                let mut out = w.into_inner();
                writeln!(out).map_err(failure)?;
                out
            }
            Writer::Ndjson(mut w) => {
                w.finish().map_err(failure)?;
                w.into_inner()
            }
            Writer::Parquet(w) => w.into_inner().map_err(failure)?,
            Writer::IpcFile(mut w) => {
                w.finish().map_err(failure)?;
                w.into_inner().map_err(failure)?
            }
            Writer::IpcStream(mut w) => {
                w.finish().map_err(failure)?;
                w.into_inner().map_err(failure)?
            }
        };
        out.flush().map_err(failure)?;
        if let Some((temp, target)) = self.file.take() {
            drop(out);
            temp.persist(&target)
                .map_err(|e| failure(format!("cannot rename the finished export to {}: {}", target.display(), e.error)))?;
        }
        Ok(())
    }
}
