//! A table's storage as the Glue catalog keeps it (SerDe, input and output formats, SerDe
//! parameters) and which of the endpoint's readers takes its files.

use std::collections::BTreeMap;

/// SerDe and file formats, as the Glue catalog keeps them.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Storage {
    pub serde: String,
    pub input_format: String,
    pub output_format: String,
    pub serde_params: BTreeMap<String, String>,
}

pub const LAZY_SIMPLE_SERDE: &str = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe";
pub const PARQUET_SERDE: &str = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe";
const TEXT_INPUT: &str = "org.apache.hadoop.mapred.TextInputFormat";
const TEXT_OUTPUT: &str = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat";

impl Storage {
    /// A SerDe and its formats, with Hive's default `serialization.format` of `1`.
    fn of(serde: &str, input_format: &str, output_format: &str) -> Self {
        Storage {
            serde: serde.into(),
            input_format: input_format.into(),
            output_format: output_format.into(),
            serde_params: [("serialization.format".to_owned(), "1".to_owned())].into(),
        }
    }

    pub fn parquet() -> Self {
        Storage::of(
            PARQUET_SERDE,
            "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
        )
    }

    pub fn text() -> Self {
        Storage::of(LAZY_SIMPLE_SERDE, TEXT_INPUT, TEXT_OUTPUT)
    }

    /// `STORED AS <name>` (a `ROW FORMAT SERDE` given too replaces the SerDe).
    pub fn stored_as(name: &str) -> Option<Self> {
        Some(match name {
            "parquet" => Storage::parquet(),
            "textfile" => Storage::text(),
            "orc" => Storage::of(
                "org.apache.hadoop.hive.ql.io.orc.OrcSerde",
                "org.apache.hadoop.hive.ql.io.orc.OrcInputFormat",
                "org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat",
            ),
            "avro" => Storage::of(
                "org.apache.hadoop.hive.serde2.avro.AvroSerDe",
                "org.apache.hadoop.hive.ql.io.avro.AvroContainerInputFormat",
                "org.apache.hadoop.hive.ql.io.avro.AvroContainerOutputFormat",
            ),
            "json" => Storage::of("org.apache.hive.hcatalog.data.JsonSerDe", TEXT_INPUT, TEXT_OUTPUT),
            _ => return None,
        })
    }

    /// How the endpoint reads the table's files.
    pub fn reader(&self) -> FileKind {
        let serde = self.serde.to_ascii_lowercase();
        if serde.contains("parquet") {
            FileKind::Parquet
        } else if serde.contains("opencsv") {
            FileKind::OpenCsv
        } else if serde.contains("json") {
            FileKind::Json
        } else if serde.contains("lazysimple") || serde.contains("lazybinary") {
            FileKind::LazySimple
        } else {
            FileKind::Unsupported
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Parquet,
    LazySimple,
    OpenCsv,
    Json,
    Unsupported,
}
