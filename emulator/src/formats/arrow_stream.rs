//! A result kept as an Arrow IPC stream (stream format, not file format), as Athena's DuckDB
//! engine serves managed results through `GetQueryResultStream`: written to a temporary name and
//! renamed into place when complete.

use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use std::sync::Arc;

use arrow::array::Array;
use arrow::buffer::Buffer;
use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::ipc::CompressionType;
use arrow::ipc::reader::StreamDecoder;
use arrow::ipc::writer::{IpcWriteOptions, StreamWriter};

use crate::formats::duckdb_text::write_duckdb_value;
use crate::formats::objects::{ObjectWriter, Page};

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

    /// Appends `batch`; returns the bytes of Arrow data it holds.
    pub fn write(&mut self, batch: &RecordBatch) -> std::io::Result<u64> {
        let batch = RecordBatch::try_new(self.schema.clone(), batch.columns().to_vec()).map_err(std::io::Error::other)?;
        self.writer.write(&batch).map_err(std::io::Error::other)?;
        Ok(batch.get_array_memory_size() as u64)
    }

    /// Ends the stream (its end-of-stream marker) and makes it visible; returns its path.
    pub fn finish(mut self) -> std::io::Result<PathBuf> {
        self.writer.finish().map_err(std::io::Error::other)?;
        let out = self.writer.into_inner().map_err(std::io::Error::other)?;
        out.finish()?;
        Ok(self.dest)
    }
}

/// One page of GetQueryResults rows read from a kept Arrow IPC stream: rows `offset..offset +
/// max` of the result, where row 0 is the header row (the column names) and each value is
/// DuckDB's text. Batches before the page are skipped without formatting (decoding a stream's
/// message headers over the mapped file costs no copy).
pub fn read_text_page(path: &Path, offset: u64, max: usize) -> std::io::Result<Page> {
    let file = std::fs::File::open(path)?;
    // SAFETY: result files are written to a temporary name and renamed into place, never
    // modified afterwards.
    let map = unsafe { memmap2::Mmap::map(&file)? };
    let mut buffer = Buffer::from(bytes::Bytes::from_owner(map));
    let mut decoder = StreamDecoder::new();
    let mut rows: Vec<Vec<Option<String>>> = Vec::new();
    let mut seen = 0u64; // result rows before the current batch, the header row included
    let mut more = false;
    let mut header_done = offset > 0;
    while !buffer.is_empty() {
        let Some(batch) = decoder.decode(&mut buffer).map_err(std::io::Error::other)? else { continue };
        if !header_done {
            let names = batch.schema().fields().iter().map(|f| Some(f.name().clone())).collect();
            rows.push(names);
            header_done = true;
        }
        if seen == 0 {
            seen = 1;
        }
        let n = batch.num_rows() as u64;
        if seen + n <= offset {
            seen += n;
            continue;
        }
        if rows.len() >= max {
            more = true;
            break;
        }
        let first = offset.saturating_sub(seen) as usize;
        let mut text = String::new();
        for i in first..batch.num_rows() {
            if rows.len() >= max {
                more = true;
                break;
            }
            let row = batch
                .columns()
                .iter()
                .map(|c| {
                    (!c.is_null(i) && c.data_type() != &arrow::datatypes::DataType::Null).then(|| {
                        text.clear();
                        write_duckdb_value(&mut text, c.as_ref(), i);
                        text.clone()
                    })
                })
                .collect();
            rows.push(row);
        }
        seen += n;
        if more {
            break;
        }
    }
    if !header_done {
        // No batch at all: the header row from the stream's schema.
        if let Some(schema) = decoder.schema().filter(|_| offset == 0) {
            rows.push(schema.fields().iter().map(|f| Some(f.name().clone())).collect());
        }
    }
    let next = more.then(|| offset + rows.len() as u64);
    Ok(Page { rows, next })
}
