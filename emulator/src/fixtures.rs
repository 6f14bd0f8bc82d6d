//! The standard fixture tables (from the Hive TEXTFILE files in `fixtures/`) and the
//! deterministic benchmark table.

use std::sync::Arc;

use arrow::array::*;
use arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use serde::Deserialize;

use crate::Error;
use crate::catalog::{Catalog, Column, Table};

const TABLES: &str = include_str!("../../fixtures/tables.json");

fn data_file(table: &str) -> Option<&'static str> {
    Some(match table {
        "one_row" => include_str!("../../fixtures/data/one_row.tsv"),
        "many_rows" => include_str!("../../fixtures/data/many_rows.tsv"),
        "one_row_complex" => include_str!("../../fixtures/data/one_row_complex.tsv"),
        "integer_na_values" => include_str!("../../fixtures/data/integer_na_values.tsv"),
        "boolean_na_values" => include_str!("../../fixtures/data/boolean_na_values.tsv"),
        _ => return None,
    })
}

#[derive(Deserialize)]
struct FixtureTable {
    name: String,
    columns: Vec<Column>,
    #[serde(default)]
    partition_keys: Vec<Column>,
    comment: Option<String>,
    view_sql: Option<String>,
}

fn fixture_error(table: &str, message: impl ToString) -> Error {
    Error::Fixture { table: table.to_owned(), message: message.to_string() }
}

/// Creates every fixture table that `default` does not have yet.
pub fn install(catalog: &Catalog) -> Result<(), Error> {
    let tables: Vec<FixtureTable> = serde_json::from_str(TABLES).map_err(|e| fixture_error("tables.json", e))?;
    for t in tables {
        if catalog.table("default", &t.name).is_ok() {
            continue;
        }
        let table = Table {
            partition_keys: t.partition_keys,
            comment: t.comment,
            view_sql: t.view_sql,
            ..Table::new(&t.name, t.columns, String::new())
        };
        catalog.create_table("default", table, true).map_err(|e| fixture_error(&t.name, e))?;
        let Some(text) = data_file(&t.name) else {
            continue;
        };
        let table = catalog.table("default", &t.name).map_err(|e| fixture_error(&t.name, e))?;
        let schema = table.data_schema().map_err(|e| fixture_error(&t.name, e))?;
        let batch = parse_textfile(text, &schema).map_err(|e| fixture_error(&t.name, e))?;
        write_parquet(&catalog.data_dir(&table).join("fixture.parquet"), schema, [batch]).map_err(|e| fixture_error(&t.name, e))?;
    }
    Ok(())
}

fn write_parquet(path: &std::path::Path, schema: SchemaRef, batches: impl IntoIterator<Item = RecordBatch>) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    let file = std::fs::File::create(&tmp).map_err(|e| e.to_string())?;
    let props = WriterProperties::builder().set_compression(parquet::basic::Compression::SNAPPY).build();
    let mut writer = ArrowWriter::try_new(file, schema, Some(props)).map_err(|e| e.to_string())?;
    for b in batches {
        writer.write(&b).map_err(|e| e.to_string())?;
    }
    writer.close().map_err(|e| e.to_string())?;
    std::fs::rename(tmp, path).map_err(|e| e.to_string())
}

/// Parses the fixtures' LazySimpleSerDe text (TAB fields, `\x02` items, `\x03` map keys,
/// base64 BINARY, `\N` NULL) into a batch of `schema`.
pub fn parse_textfile(text: &str, schema: &SchemaRef) -> Result<RecordBatch, String> {
    let mut storage = crate::formats::storage::Storage::text();
    storage.serde_params.insert("field.delim".into(), "\t".into());
    let format = crate::formats::hivetext::TextFormat::new(&storage, &Default::default());
    crate::formats::hivetext::decode(text, schema, &format).map_err(|e| e.to_string())
}

/// Rows per Parquet file of the benchmark table.
const BENCH_ROWS_PER_FILE: usize = 1 << 20;
const BENCH_BATCH: usize = 64 * 1024;

/// Creates `default.bench` with `rows` deterministic rows, unless it already has that many.
pub fn install_bench(catalog: &Catalog, rows: usize) -> Result<(), Error> {
    let marker = format!("generated: {rows} rows");
    if let Ok(t) = catalog.table("default", "bench") {
        if t.comment.as_deref() == Some(marker.as_str()) {
            return Ok(());
        }
        let dir = catalog.data_dir(&t);
        let _ = std::fs::remove_dir_all(&dir);
        catalog.drop_table("default", "bench", true).map_err(|e| fixture_error("bench", e))?;
    }
    let columns = [
        ("id", "bigint"),
        ("n", "int"),
        ("x", "double"),
        ("amount", "decimal(12,2)"),
        ("label", "string"),
        ("flag", "boolean"),
        ("day", "date"),
        ("ts", "timestamp"),
    ];
    let table =
        Table { comment: Some(marker), ..Table::new("bench", columns.iter().map(|(n, t)| Column::new(n, t)).collect(), String::new()) };
    catalog.create_table("default", table, false).map_err(|e| fixture_error("bench", e))?;
    let table = catalog.table("default", "bench").map_err(|e| fixture_error("bench", e))?;
    let schema = table.data_schema().map_err(|e| fixture_error("bench", e))?;
    let dir = catalog.data_dir(&table);
    let mut start = 0;
    let mut file_no = 0;
    while start < rows {
        let end = (start + BENCH_ROWS_PER_FILE).min(rows);
        let batches = (start..end).step_by(BENCH_BATCH).map(|s| bench_batch(&schema, s, (s + BENCH_BATCH).min(end)));
        write_parquet(&dir.join(format!("part-{file_no:05}.parquet")), schema.clone(), batches).map_err(|e| fixture_error("bench", e))?;
        start = end;
        file_no += 1;
    }
    Ok(())
}

/// Row `i` of the benchmark table; a cheap integer hash makes values varied but reproducible.
fn bench_batch(schema: &SchemaRef, start: usize, end: usize) -> RecordBatch {
    let mix = |i: usize, salt: u64| {
        let mut z = (i as u64).wrapping_add(salt).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z ^ (z >> 31)
    };
    const WORDS: [&str; 8] = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"];
    let ids = Int64Array::from_iter_values((start..end).map(|i| i as i64));
    let n = Int32Array::from_iter((start..end).map(|i| (mix(i, 1) % 13 != 0).then(|| (mix(i, 2) % 1_000_000) as i32)));
    let x = Float64Array::from_iter((start..end).map(|i| (mix(i, 3) % 17 != 0).then(|| (mix(i, 4) % 10_000_000) as f64 / 1000.0)));
    let amount = Decimal128Array::from_iter((start..end).map(|i| (mix(i, 5) % 11 != 0).then(|| (mix(i, 6) % 100_000_000) as i128)))
        .with_precision_and_scale(12, 2)
        .expect("valid decimal type");
    let label = StringArray::from_iter((start..end).map(|i| {
        let h = mix(i, 7);
        (h % 19 != 0).then(|| {
            let words = 1 + (h % 6) as usize;
            (0..words).map(|w| WORDS[((h >> (w * 3)) % 8) as usize]).collect::<Vec<_>>().join(" ")
        })
    }));
    let flag = BooleanArray::from_iter((start..end).map(|i| (mix(i, 8) % 23 != 0).then(|| mix(i, 9) % 2 == 0)));
    let day = Date32Array::from_iter((start..end).map(|i| (mix(i, 10) % 29 != 0).then(|| 17_000 + (mix(i, 11) % 3000) as i32)));
    let ts = TimestampMillisecondArray::from_iter(
        (start..end).map(|i| (mix(i, 12) % 31 != 0).then(|| 1_500_000_000_000 + (mix(i, 13) % 200_000_000_000) as i64)),
    );
    let columns: Vec<ArrayRef> =
        vec![Arc::new(ids), Arc::new(n), Arc::new(x), Arc::new(amount), Arc::new(label), Arc::new(flag), Arc::new(day), Arc::new(ts)];
    RecordBatch::try_new(schema.clone(), columns).expect("bench columns match the schema")
}
