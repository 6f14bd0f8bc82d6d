//! An Athena result joined with a local Parquet file in DataFusion (feature `datafusion`):
//! `cargo run --example datafusion_join --features datafusion`.
//!
//! The Athena side is registered as a table scanned as a stream of the result's batches; the
//! local side is an ordinary Parquet file. Checks its own output, so it also runs as a test.
mod common;

use std::sync::Arc;

use arrow::array::{Int32Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use athena_arrow::datafusion::AthenaTable;
use datafusion::prelude::{ParquetReadOptions, SessionContext};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ep = common::endpoint().await;
    let conn = ep.builder.build().await?;

    // A local Parquet file: labels for a few values of `a`.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("labels.parquet");
    let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int32, false), Field::new("label", DataType::Utf8, false)]));
    let batch = arrow::array::RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(Int32Array::from(vec![1, 2, 3, 5000])), Arc::new(StringArray::from(vec!["one", "two", "three", "many"]))],
    )?;
    let mut writer = parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path)?, schema, None)?;
    writer.write(&batch)?;
    writer.close()?;

    let ctx = SessionContext::new();
    let athena = AthenaTable::new(&conn, "SELECT a, a * a AS square FROM many_rows WHERE a < 4000").await?;
    ctx.register_table("athena", Arc::new(athena))?;
    ctx.register_parquet("labels", path.to_str().expect("UTF-8 path"), ParquetReadOptions::default()).await?;

    let df = ctx.sql("SELECT l.label, a.a, a.square FROM athena a JOIN labels l ON a.a = l.a ORDER BY a.a").await?;
    let batches = df.collect().await?;
    let text = arrow::util::pretty::pretty_format_batches(&batches)?.to_string();
    println!("{text}");
    let expected = "\
+-------+---+--------+
| label | a | square |
+-------+---+--------+
| one   | 1 | 1      |
| two   | 2 | 4      |
| three | 3 | 9      |
+-------+---+--------+";
    assert_eq!(text, expected, "the join of the Athena result and the local file");

    // A second scan of the same table runs the query again.
    let again = ctx.sql("SELECT count(*) AS n FROM athena").await?.collect().await?;
    let n = arrow::util::pretty::pretty_format_batches(&again)?.to_string();
    assert!(n.contains("| 4000 |"), "{n}");
    Ok(())
}
