//! A result kept as an Arrow IPC stream (stream format, not file format), as Athena's DuckDB
//! engine serves managed results through `GetQueryResultStream`: written to a temporary name and
//! renamed into place when complete.

use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use std::sync::Arc;

use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::ipc::CompressionType;
use arrow::ipc::writer::{IpcWriteOptions, StreamWriter};

use crate::formats::objects::ObjectWriter;

/// An Arrow IPC stream being written.
pub struct ArrowStreamFile {
    writer: StreamWriter<ObjectWriter>,
    dest: PathBuf,
    /// The schema written: the result's without the endpoint's own field metadata (DuckDB's
    /// type tags), as DuckDB exports it.
    schema: SchemaRef,
}

impl ArrowStreamFile {
    /// Starts the stream at `dest` with `schema`; `compression` compresses each message's body
    /// (LZ4 frame or ZSTD), as a producer may.
    pub fn create(tmp_dir: &Path, dest: PathBuf, schema: &SchemaRef, compression: Option<CompressionType>) -> std::io::Result<Self> {
        let out = ObjectWriter::file(tmp_dir, dest.clone())?;
        let options = IpcWriteOptions::default().try_with_compression(compression).map_err(std::io::Error::other)?;
        let fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone().with_metadata(Default::default())).collect();
        let schema: SchemaRef = Arc::new(Schema::new(fields));
        let writer = StreamWriter::try_new_with_options(out, &schema, options).map_err(std::io::Error::other)?;
        Ok(Self { writer, dest, schema })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> std::io::Result<()> {
        let batch = RecordBatch::try_new(self.schema.clone(), batch.columns().to_vec()).map_err(std::io::Error::other)?;
        self.writer.write(&batch).map_err(std::io::Error::other)
    }

    /// Ends the stream (its end-of-stream marker) and makes it visible; returns its path.
    pub fn finish(mut self) -> std::io::Result<PathBuf> {
        self.writer.finish().map_err(std::io::Error::other)?;
        let out = self.writer.into_inner().map_err(std::io::Error::other)?;
        out.finish()?;
        Ok(self.dest)
    }
}
