//! CSV decoding alone, from memory, on one core: the CPU cost of the CSV source without I/O.
//! `cargo bench --workspace --bench csv_decode` (env `BENCH_ROWS`, default 1,000,000).
//!
//! The text is Athena's result CSV of the benchmark table's columns (bigint, int, double,
//! decimal(12,2), varchar, boolean, date, timestamp) with NULLs, as the endpoint writes it.

use std::fmt::Write as _;
use std::time::Instant;

use athena_arrow::decode::csv::CsvDecoder;
use athena_arrow::decode::schema::{ColumnInfo, arrow_schema};

fn mix(i: usize, salt: u64) -> u64 {
    let mut z = (i as u64).wrapping_add(salt).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z ^ (z >> 31)
}

fn csv_text(rows: usize) -> String {
    const WORDS: [&str; 8] = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"];
    let mut s = String::from("\"id\",\"n\",\"x\",\"amount\",\"label\",\"flag\",\"day\",\"ts\"\n");
    for i in 0..rows {
        write!(s, "\"{i}\",").unwrap();
        if !mix(i, 1).is_multiple_of(13) {
            write!(s, "\"{}\"", mix(i, 2) % 1_000_000).unwrap();
        }
        s.push(',');
        if !mix(i, 3).is_multiple_of(17) {
            write!(s, "\"{:?}\"", (mix(i, 4) % 10_000_000) as f64 / 1000.0).unwrap();
        }
        s.push(',');
        if !mix(i, 5).is_multiple_of(11) {
            let v = mix(i, 6) % 100_000_000;
            write!(s, "\"{}.{:02}\"", v / 100, v % 100).unwrap();
        }
        s.push(',');
        let h = mix(i, 7);
        if !h.is_multiple_of(19) {
            let words: Vec<&str> = (0..1 + (h % 6) as usize).map(|w| WORDS[((h >> (w * 3)) % 8) as usize]).collect();
            write!(s, "\"{}\"", words.join(" ")).unwrap();
        }
        s.push(',');
        if !mix(i, 8).is_multiple_of(23) {
            write!(s, "\"{}\"", mix(i, 9).is_multiple_of(2)).unwrap();
        }
        s.push(',');
        if !mix(i, 10).is_multiple_of(29) {
            let d = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + chrono::Days::new(17_000 + mix(i, 11) % 3000);
            write!(s, "\"{d}\"").unwrap();
        }
        s.push(',');
        if !mix(i, 12).is_multiple_of(31) {
            let ms = 1_500_000_000_000 + (mix(i, 13) % 200_000_000_000) as i64;
            let t = chrono::DateTime::from_timestamp_millis(ms).unwrap().naive_utc();
            write!(s, "\"{}\"", t.format("%Y-%m-%d %H:%M:%S%.3f")).unwrap();
        }
        s.push('\n');
    }
    s
}

/// Decodes `bytes` (a result CSV with its header) in 8 MiB pieces, as the chunk reader delivers
/// them; returns the seconds taken.
fn decode(bytes: &[u8], schema: &arrow::datatypes::SchemaRef, rows: usize) -> f64 {
    let start = Instant::now();
    let mut decoder = CsvDecoder::new(schema.clone()).unwrap();
    let mut decoded = 0;
    let mut pieces = bytes.chunks(8 << 20).peekable();
    while let Some(piece) = pieces.next() {
        decoded += decoder.feed(piece, pieces.peek().is_none()).unwrap().iter().map(|b| b.num_rows()).sum::<usize>();
    }
    assert_eq!(decoded, rows);
    start.elapsed().as_secs_f64()
}

/// Column `k` of the result CSV `text` as a result CSV of its own.
fn one_column(text: &str, k: usize) -> String {
    let mut out = String::new();
    let mut header = true;
    athena_arrow::decode::csv::split_records(text.as_bytes(), true, |fields| {
        if std::mem::take(&mut header) {
            return Ok(());
        }
        if let Some(v) = &fields[k] {
            write!(out, "\"{}\"", v.replace('"', "\"\"")).unwrap();
        }
        out.push('\n');
        Ok(())
    })
    .unwrap();
    out
}

fn main() {
    let rows = std::env::var("BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let columns: Vec<ColumnInfo> = [
        ("id", "bigint", 19, 0),
        ("n", "integer", 10, 0),
        ("x", "double", 17, 0),
        ("amount", "decimal", 12, 2),
        ("label", "varchar", 2147483647, 0),
        ("flag", "boolean", 0, 0),
        ("day", "date", 0, 0),
        ("ts", "timestamp", 3, 0),
    ]
    .into_iter()
    .map(|(name, type_name, precision, scale)| ColumnInfo { name: name.into(), type_name: type_name.into(), precision, scale })
    .collect();
    let schema = arrow_schema(&columns, None).unwrap();
    let text = csv_text(rows);
    let bytes = text.as_bytes();
    if let Ok(only) = std::env::var("BENCH_DECODE_ONLY") {
        // For a profiler: decoding alone, repeated (`all`, or one column's name).
        let texts: Vec<ColumnInfo> =
            columns.iter().map(|c| ColumnInfo { type_name: "varchar".into(), precision: 2147483647, scale: 0, ..c.clone() }).collect();
        let (text, schema) = match columns.iter().position(|c| c.name == only) {
            Some(k) => (format!("\"{only}\"\n{}", one_column(&text, k)), arrow_schema(&columns[k..=k], None).unwrap()),
            None if only == "varchar" => (text.clone(), arrow_schema(&texts, None).unwrap()),
            None => (text.clone(), schema.clone()),
        };
        let rounds = std::env::var("BENCH_DECODE_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
        for _ in 0..rounds {
            decode(text.as_bytes(), &schema, rows);
        }
        return;
    }
    // The stages alone: UTF-8 validation, the record splitter (fields found, values not
    // converted), the splitter with each record's values handed out as text.
    for _ in 0..3 {
        let start = Instant::now();
        assert!(std::str::from_utf8(bytes).is_ok());
        let utf8 = start.elapsed().as_secs_f64();
        let start = Instant::now();
        assert_eq!(athena_arrow::decode::csv::count_records(bytes).unwrap(), rows + 1);
        let index = start.elapsed().as_secs_f64();
        let mb = bytes.len() as f64 / 1e6;
        println!("utf-8 check: {:.1} MB/s; index only: {:.1} MB/s", mb / utf8, mb / index);
    }
    for _ in 0..3 {
        let start = Instant::now();
        let mut records = 0usize;
        athena_arrow::decode::csv::split_records(bytes, true, |_| {
            records += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(records, rows + 1);
        let secs = start.elapsed().as_secs_f64();
        println!("split into text values: {:.1} MB in {secs:.3} s: {:.1} MB/s", bytes.len() as f64 / 1e6, bytes.len() as f64 / 1e6 / secs);
    }
    for round in 0..5 {
        let secs = decode(bytes, &schema, rows);
        println!(
            "round {round}: {rows} rows, {:.1} MB of CSV decoded on one core in {secs:.3} s: {:.1} MB/s, {:.0} rows/s",
            bytes.len() as f64 / 1e6,
            bytes.len() as f64 / 1e6 / secs,
            rows as f64 / secs
        );
    }
    // The same CSV with every column read as varchar: the cost of the fields' way to the
    // builders, without parsing.
    let texts: Vec<ColumnInfo> =
        columns.iter().map(|c| ColumnInfo { type_name: "varchar".into(), precision: 2147483647, scale: 0, ..c.clone() }).collect();
    let text_schema = arrow_schema(&texts, None).unwrap();
    let secs = (0..3).map(|_| decode(bytes, &text_schema, rows)).fold(f64::INFINITY, f64::min);
    println!("every column as varchar: {:.1} MB/s", bytes.len() as f64 / 1e6 / secs);
    // Each column alone (its values, NULLs included, as a one-column result CSV): the best of 3.
    // "split MB/s": the same bytes through the splitter alone (fields found, not converted).
    println!("{:<10} {:<14} {:>9} {:>10} {:>12} {:>12}", "column", "type", "MB", "MB/s", "values/s", "split MB/s");
    for (k, column) in columns.iter().enumerate() {
        let one = one_column(&text, k);
        let one = format!("\"{}\"\n{one}", column.name);
        let schema = arrow_schema(std::slice::from_ref(column), None).unwrap();
        let secs = (0..3).map(|_| decode(one.as_bytes(), &schema, rows)).fold(f64::INFINITY, f64::min);
        let split = (0..3)
            .map(|_| {
                let start = Instant::now();
                assert_eq!(athena_arrow::decode::csv::count_records(one.as_bytes()).unwrap(), rows + 1);
                start.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min);
        let mb = one.len() as f64 / 1e6;
        println!(
            "{:<10} {:<14} {mb:>9.1} {:>10.1} {:>12.0} {:>12.1}",
            column.name,
            column.type_name,
            mb / secs,
            rows as f64 / secs,
            mb / split
        );
    }
    // Every core, the batches kept (as a consumer that collects the result does): the CSV cut
    // at record boundaries into one piece per core, each decoded on its own thread.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let threads = std::env::var("BENCH_KEPT_THREADS").ok().and_then(|v| v.parse().ok()).unwrap_or(cores);
    for round in 0..3 {
        let start = Instant::now();
        let kept = decode_kept(bytes, &schema, threads);
        let secs = start.elapsed().as_secs_f64();
        let rows_kept: usize = kept.iter().map(|b| b.num_rows()).sum();
        assert_eq!(rows_kept, rows);
        println!("round {round}: {threads} threads, batches kept: {:.1} MB/s", bytes.len() as f64 / 1e6 / secs);
    }
}

/// `bytes` decoded on `threads` threads, every batch kept.
fn decode_kept(bytes: &[u8], schema: &arrow::datatypes::SchemaRef, threads: usize) -> Vec<arrow::array::RecordBatch> {
    let cuts = athena_arrow::decode::csv::record_cuts(bytes, threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = cuts
            .windows(2)
            .enumerate()
            .map(|(i, w)| {
                let piece = &bytes[w[0]..w[1]];
                s.spawn(move || {
                    let mut d = if i == 0 { CsvDecoder::new(schema.clone()) } else { CsvDecoder::without_header(schema.clone()) }.unwrap();
                    let mut kept = Vec::new();
                    let mut pieces = piece.chunks(8 << 20).peekable();
                    while let Some(p) = pieces.next() {
                        kept.extend(d.feed(p, pieces.peek().is_none()).unwrap());
                    }
                    kept
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    })
}
