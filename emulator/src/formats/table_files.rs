//! A new data file of a table, in the table's format: Parquet, LazySimpleSerDe text or JSON
//! lines (what INSERT, CTAS and row-level changes write), sealed with the query's key when it
//! asked for CSE_KMS.

use std::collections::BTreeMap;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowWriter;

use crate::failure::Failure;
use crate::formats::envelope::Seal;
use crate::formats::hivetext::{TextFormat, encode};
use crate::formats::objects::{ObjectLayout, ObjectWriter};
use crate::formats::storage::{FileKind, Storage};

/// One new data file of a table, in the table's format: Parquet, LazySimpleSerDe text or JSON
/// lines.
pub struct TableFileSink {
    format: SinkFormat,
    rows: usize,
}

enum SinkFormat {
    Parquet(ArrowWriter<ObjectWriter>),
    Text(ObjectWriter, TextFormat),
    Json(ObjectWriter),
}

impl TableFileSink {
    pub fn new(
        storage: &Storage,
        table_properties: &BTreeMap<String, String>,
        schema: SchemaRef,
        dir: &std::path::Path,
        tmp_dir: &std::path::Path,
        id: &str,
        seal: Option<(&ObjectLayout, &Seal)>,
    ) -> Result<Self, Failure> {
        let path = dir.join(format!("{id}_{}", uuid::Uuid::new_v4()));
        // A CSE_KMS query's table data is sealed as its results are (an object with its envelope).
        let w = match seal {
            Some((layout, seal)) => {
                let (bucket, key) = layout
                    .locate(&path)
                    .ok_or_else(|| Failure::system(format!("table file {} is outside the data dir", path.display())))?;
                ObjectWriter::object(layout, tmp_dir, &bucket, &key)?.sealed(Some(seal), None)
            }
            None => ObjectWriter::file(tmp_dir, path)?,
        };
        let format = match storage.reader() {
            FileKind::Parquet => SinkFormat::Parquet(ArrowWriter::try_new(w, schema, None).map_err(|e| Failure::system(e.to_string()))?),
            FileKind::LazySimple => SinkFormat::Text(w, TextFormat::new(storage, table_properties)),
            FileKind::Json => SinkFormat::Json(w),
            _ => {
                return Err(Failure::user(
                    "NOT_SUPPORTED",
                    format!("writing to a table with SerDe {} is not supported by the local endpoint", storage.serde),
                ));
            }
        };
        Ok(Self { format, rows: 0 })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), Failure> {
        self.rows += batch.num_rows();
        match &mut self.format {
            SinkFormat::Parquet(writer) => writer.write(batch).map_err(|e| Failure::system(e.to_string())),
            SinkFormat::Text(w, format) => {
                let mut text = String::new();
                encode(batch, format, &mut text);
                Ok(std::io::Write::write_all(w, text.as_bytes())?)
            }
            SinkFormat::Json(w) => {
                let mut writer = arrow::json::LineDelimitedWriter::new(w);
                writer.write(batch).and_then(|_| writer.finish()).map_err(|e| Failure::system(e.to_string()))
            }
        }
    }

    pub fn finish(self) -> Result<usize, Failure> {
        let w = match self.format {
            SinkFormat::Parquet(writer) => writer.into_inner().map_err(|e| Failure::system(e.to_string()))?,
            SinkFormat::Text(w, _) | SinkFormat::Json(w) => w,
        };
        w.finish()?;
        Ok(self.rows)
    }
}
