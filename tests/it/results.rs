//! Results through GetQueryResults: exact values, NULL vs "", paging, rows, dict rows, streams.

use arrow::array::AsArray;
use arrow::datatypes::{DataType, Int32Type, TimeUnit};
use athena_arrow::decode::schema::ATHENA_TYPE;
use std::time::Duration;

use athena_arrow::{Error, FetchConfig, ResultSource, Row, Value};
use chrono::NaiveDate;
use futures::TryStreamExt;

use crate::{builder, connect};

const COMPLEX: &str = "SELECT col_boolean, col_tinyint, col_smallint, col_int, col_bigint, col_float, col_double, \
col_string, col_varchar, col_timestamp, CAST(col_timestamp AS time) AS col_time, col_date, \
col_binary, col_array, CAST(col_array AS json) AS col_array_json, col_map, \
CAST(col_map AS json) AS col_map_json, col_struct, col_decimal FROM one_row_complex";

#[tokio::test]
async fn one_row_complex_has_exact_typed_values() {
    let conn = connect().await;
    let mut result = conn.execute(COMPLEX).await.unwrap();
    let schema = result.schema().clone();
    let types: Vec<&DataType> = schema.fields().iter().map(|f| f.data_type()).collect();
    assert_eq!(
        types,
        vec![
            &DataType::Boolean,
            &DataType::Int8,
            &DataType::Int16,
            &DataType::Int32,
            &DataType::Int64,
            &DataType::Float32,
            &DataType::Float64,
            &DataType::Utf8,
            &DataType::Utf8,
            // timestamp(3) and time(3), Athena's defaults: milliseconds.
            &DataType::Timestamp(TimeUnit::Millisecond, None),
            &DataType::Time32(TimeUnit::Millisecond),
            &DataType::Date32,
            &DataType::Binary,
            &DataType::Utf8,
            &DataType::Utf8,
            &DataType::Utf8,
            &DataType::Utf8,
            &DataType::Utf8,
            &DataType::Decimal128(10, 1),
        ]
    );
    assert_eq!(schema.field(14).metadata().get(ATHENA_TYPE).map(String::as_str), Some("json"));
    let row = result.fetch_one().await.unwrap().unwrap();
    let day = NaiveDate::from_ymd_opt(2017, 1, 1).unwrap();
    assert_eq!(
        row.values(),
        vec![
            Value::Boolean(true),
            Value::TinyInt(127),
            Value::SmallInt(32767),
            Value::Integer(2147483647),
            Value::BigInt(9223372036854775807),
            Value::Float(0.5),
            Value::Double(0.25),
            Value::String("a string".into()),
            Value::String("varchar".into()),
            Value::Timestamp(day.and_hms_opt(0, 0, 0).unwrap()),
            Value::Time(chrono::NaiveTime::from_hms_opt(0, 0, 0).unwrap()),
            Value::Date(NaiveDate::from_ymd_opt(2017, 1, 2).unwrap()),
            Value::Binary(b"123".to_vec()),
            Value::String("[1, 2]".into()),
            Value::String("[1,2]".into()),
            Value::String("{1=2, 3=4}".into()),
            Value::String("{\"1\":2,\"3\":4}".into()),
            Value::String("{a=1, b=2}".into()),
            Value::Decimal(1, 1),
        ]
    );
    assert_eq!(row.get_by_name("col_decimal").unwrap().to_string(), "0.1");
    let dict = row.to_dict();
    assert_eq!(dict.get("col_string"), Some(&Value::String("a string".into())));
    assert_eq!(dict.len(), 19);
}

#[tokio::test]
async fn null_stays_distinct_from_the_empty_string() {
    let conn = connect().await;
    let mut r = conn.execute("SELECT CAST(NULL AS VARCHAR) AS n, '' AS e, 'x' AS s UNION ALL SELECT '', NULL, NULL").await.unwrap();
    let mut rows: Vec<Vec<Value>> = r.fetch_all().await.unwrap().iter().map(Row::values).collect();
    rows.sort_by_key(|r| format!("{r:?}"));
    assert_eq!(
        rows,
        vec![
            vec![Value::Null, Value::String(String::new()), Value::String("x".into())],
            vec![Value::String(String::new()), Value::Null, Value::Null],
        ]
    );
    let mut r = conn.execute("SELECT a, b FROM integer_na_values").await.unwrap();
    let rows: Vec<Vec<Value>> = r.fetch_all().await.unwrap().iter().map(Row::values).collect();
    assert!(rows.contains(&vec![Value::Integer(1), Value::Null]) && rows.contains(&vec![Value::Null, Value::Null]));
}

#[tokio::test]
async fn pages_stream_as_batches_with_the_schema_first() {
    let conn = crate::builder().with_result_source(ResultSource::Api).build().await.unwrap();
    let result = conn.execute("SELECT a FROM many_rows ORDER BY a").await.unwrap();
    let stream = result.into_stream();
    assert_eq!(stream.schema().field(0).data_type(), &DataType::Int32);
    let batches: Vec<_> = stream.try_collect().await.unwrap();
    // 10000 rows + the header row, 1000 per page: 11 pages, the first with 999 data rows.
    assert_eq!(batches.len(), 11);
    assert_eq!(batches[0].num_rows(), 999);
    let values: Vec<i32> = batches.iter().flat_map(|b| b.column(0).as_primitive::<Int32Type>().values().to_vec()).collect();
    assert_eq!(values, (0..10000).collect::<Vec<_>>());

    // fetch_many, then the remaining batches.
    let mut result = conn.execute("SELECT a FROM many_rows ORDER BY a").await.unwrap();
    let first = result.fetch_many(1500).await.unwrap();
    assert_eq!(first.last().unwrap().get(0), Some(Value::Integer(1499)));
    let rest = result.collect().await.unwrap();
    assert_eq!(rest.iter().map(|b| b.num_rows()).sum::<usize>(), 8500);
    assert_eq!(rest[0].column(0).as_primitive::<Int32Type>().value(0), 1500);
}

#[tokio::test]
async fn utility_results_have_no_header_row() {
    let conn = connect().await;
    let mut r = conn.execute("SHOW TABLES").await.unwrap();
    let names: Vec<Value> = r.fetch_all().await.unwrap().iter().map(|r| r.get(0).unwrap()).collect();
    assert!(names.contains(&Value::String("one_row".into())), "{names:?}");
    assert!(!names.contains(&Value::String("tab_name".into())));
    let r = conn.execute("CREATE DATABASE IF NOT EXISTS results_db").await.unwrap();
    assert_eq!((r.info().statement_type.as_deref(), r.rowcount()), (Some("DDL"), None));
}

#[tokio::test]
async fn special_floats_and_decimals_decode() {
    let conn = connect().await;
    let mut r = conn
        .execute("SELECT CAST('NaN' AS DOUBLE) AS n, CAST('Infinity' AS REAL) AS i, 1e20 AS big, DECIMAL '-12.50' AS d, X'0a0b' AS b")
        .await
        .unwrap();
    let v = r.fetch_one().await.unwrap().unwrap().values();
    assert!(matches!(v[0], Value::Double(x) if x.is_nan()));
    assert_eq!(v[1..], [Value::Float(f32::INFINITY), Value::Double(1e20), Value::Decimal(-1250, 2), Value::Binary(vec![10, 11])]);
}

#[tokio::test]
async fn nested_columns_typed_from_table_metadata_or_hints() {
    let conn = connect().await;
    let hints = conn.table_type_hints(None, "one_row_complex").await.unwrap();
    assert_eq!(hints.get("col_array").map(String::as_str), Some("array<int>"));
    let mut r = conn.query("SELECT col_array, col_map, col_struct FROM one_row_complex").type_hints(hints).execute().await.unwrap();
    assert!(matches!(r.schema().field(0).data_type(), DataType::List(_)));
    let v = r.fetch_one().await.unwrap().unwrap().values();
    assert_eq!(
        v,
        vec![
            Value::List(vec![Value::Integer(1), Value::Integer(2)]),
            Value::Map(vec![(Value::Integer(1), Value::Integer(2)), (Value::Integer(3), Value::Integer(4))]),
            Value::Struct(vec![("a".into(), Value::Integer(1)), ("b".into(), Value::Integer(2))]),
        ]
    );
    let mut r = conn.query("SELECT ARRAY[ARRAY[1], ARRAY[2, 3]] AS x").type_hint("x", "array(array(integer))").execute().await.unwrap();
    let v = r.fetch_one().await.unwrap().unwrap().get(0).unwrap();
    assert_eq!(v, Value::List(vec![Value::List(vec![Value::Integer(1)]), Value::List(vec![Value::Integer(2), Value::Integer(3)])]));
}

async fn all_rows(conn: &athena_arrow::Connection, sql: &str) -> (String, Vec<Vec<Value>>) {
    let mut r = conn.execute(sql).await.unwrap();
    let id = r.query_id().to_owned();
    (id, r.fetch_all().await.unwrap().iter().map(Row::values).collect())
}

#[tokio::test]
async fn csv_and_api_sources_agree() {
    let csv = crate::builder()
        .with_result_source(ResultSource::S3)
        .with_fetch(FetchConfig { chunk_size: 1000, concurrency: 4, max_attempts: 5, ..FetchConfig::default() })
        .build()
        .await
        .unwrap();
    let api = crate::builder().with_result_source(ResultSource::Api).build().await.unwrap();
    for sql in [
        COMPLEX,
        "SELECT a FROM many_rows ORDER BY a",
        "SELECT 'multi\nline' AS m, '\"quoted\", and ''' AS q, CAST(NULL AS VARCHAR) AS n, '' AS e",
        "SELECT CAST(NULL AS INTEGER) AS only_null",
        "SELECT 1 AS i WHERE false",
    ] {
        let (id, from_csv) = all_rows(&csv, sql).await;
        let (_, from_api) = all_rows(&api, sql).await;
        assert_eq!(from_csv, from_api, "{sql}");
        assert!(csv.query_info(&id).await.unwrap().output_location.unwrap().ends_with(".csv"));
    }
    let (_, rows) = all_rows(&csv, "SELECT CAST(NULL AS INTEGER) AS only_null").await;
    assert_eq!(rows, vec![vec![Value::Null]], "an empty CSV line is one NULL column");
    let (_, rows) = all_rows(&csv, "SELECT 'multi\nline' AS m, '\"q\", ''' AS q").await;
    assert_eq!(rows, vec![vec![Value::String("multi\nline".into()), Value::String("\"q\", '".into())]]);
}

/// The later ranges of a result CSV start once its first batch is decoded, or at once when the
/// first range holds no whole record: a header and records longer than the first range (16
/// bytes here, set by the options a Python or ADBC user has) are read whole, not waited for
/// forever.
#[tokio::test]
async fn a_first_record_longer_than_the_first_range_is_read() {
    let builder = crate::builder().with_result_source(ResultSource::S3);
    let csv = builder.with_option("fetch_range_bytes", "16").with_option("fetch_concurrency", "4").build().await.unwrap();
    let sql = "SELECT rpad('x', 500, 'y') AS long_value, n FROM (VALUES (1), (2)) AS t(n) ORDER BY n";
    let (_, rows) = tokio::time::timeout(Duration::from_secs(60), all_rows(&csv, sql)).await.expect("read within a minute");
    let long = format!("x{}", "y".repeat(499));
    assert_eq!(rows, vec![vec![Value::String(long.clone()), Value::Integer(1)], vec![Value::String(long), Value::Integer(2)]]);
}

#[tokio::test]
async fn csv_reads_survive_slowdowns_and_cut_connections() {
    let emulator = crate::start_emulator(athena_emulator::Emulator::builder().with_faults(0.3, 0.3, 0.0));
    let conn = crate::builder_at(&emulator.endpoint)
        .with_fetch(FetchConfig { chunk_size: 4096, concurrency: 8, max_attempts: 10, ..FetchConfig::default() })
        .build()
        .await
        .unwrap();
    let mut r = conn.execute("SELECT a, CAST(a AS VARCHAR) AS s FROM many_rows ORDER BY a").await.unwrap();
    let rows = r.fetch_all().await.unwrap();
    assert_eq!(rows.len(), 10000);
    assert_eq!(rows[9999].values(), vec![Value::Integer(9999), Value::String("9999".into())]);
}

#[tokio::test]
async fn a_result_replaced_while_read_fails_loudly() {
    let conn = crate::builder()
        .with_fetch(FetchConfig { chunk_size: 1024, concurrency: 1, max_attempts: 3, ..FetchConfig::default() })
        .build()
        .await
        .unwrap();
    let mut r = conn.execute("SELECT a FROM many_rows").await.unwrap();
    let location = r.info().output_location.clone().unwrap();
    let (bucket, key) = location.trim_start_matches("s3://").split_once('/').unwrap();
    let s3 = crate::s3_client(&conn);
    s3.put_object().bucket(bucket).key(key).body(b"\"a\"\n\"1\"\n".to_vec().into()).send().await.unwrap();
    let e = r.fetch_all().await.unwrap_err();
    assert!(matches!(&e, Error::Storage { message, .. } if message.contains("changed")), "{e:?}");
}

#[tokio::test]
async fn a_truncated_result_csv_gives_a_typed_error() {
    // (GetQueryResults reads the same file, so Auto would serve the short result from its page.)
    let conn = crate::builder().with_result_source(ResultSource::S3).build().await.unwrap();
    let handle = conn.query("SELECT a, CAST(a AS VARCHAR) AS s FROM many_rows").submit().await.unwrap();
    let info = handle.wait_info().await.unwrap();
    let location = info.output_location.clone().unwrap();
    let (bucket, key) = location.trim_start_matches("s3://").split_once('/').unwrap();
    let s3 = crate::s3_client(&conn);
    // Cut inside the last record's quoted value.
    s3.put_object().bucket(bucket).key(key).body(b"\"a\",\"s\"\n\"1\",\"1\"\n\"2\",\"2".to_vec().into()).send().await.unwrap();
    let e = handle.wait().await.unwrap().into_stream().collect_batches().await.unwrap_err();
    assert!(matches!(&e, Error::Decode { message, .. } if message.contains("truncated")), "{e:?}");
}

#[tokio::test]
async fn a_shortened_or_emptied_result_csv_fails_loudly() {
    for source in [ResultSource::Auto, ResultSource::S3] {
        let conn = crate::builder().with_result_source(source).build().await.unwrap();
        let s3 = crate::s3_client(&conn);
        // Whole records, valid CSV, but 1,500 of the 10,000 rows Athena returned (more than
        // one GetQueryResults page, so Auto reads the CSV too).
        let handle = conn.query("SELECT a FROM many_rows").submit().await.unwrap();
        let info = handle.wait_info().await.unwrap();
        let location = info.output_location.clone().unwrap();
        let (bucket, key) = location.trim_start_matches("s3://").split_once('/').unwrap();
        let short: String = std::iter::once("\"a\"\n".to_owned()).chain((0..1500).map(|i| format!("\"{i}\"\n"))).collect();
        s3.put_object().bucket(bucket).key(key).body(short.into_bytes().into()).send().await.unwrap();
        let e = handle.wait().await.unwrap().into_stream().collect_batches().await.unwrap_err();
        assert!(
            matches!(&e, Error::Incomplete { message, .. } if message.contains("gave 1500 rows, Athena reports 10000")),
            "{source:?}: {e:?}"
        );
        assert_eq!(e.query_id(), Some(info.query_id.as_str()));
        // Emptied: not even the header line Athena always writes.
        let handle = conn.query("SELECT a FROM many_rows").submit().await.unwrap();
        let info = handle.wait_info().await.unwrap();
        let location = info.output_location.clone().unwrap();
        let (bucket, key) = location.trim_start_matches("s3://").split_once('/').unwrap();
        s3.put_object().bucket(bucket).key(key).body(Vec::new().into()).send().await.unwrap();
        let e = match handle.wait().await {
            Ok(r) => r.into_stream().collect_batches().await.unwrap_err(),
            Err(e) => e,
        };
        // Read from the CSV (S3), or from GetQueryResults, which serves the same file (Auto).
        assert!(
            matches!(&e, Error::Decode { message, .. } if message.contains("no header line"))
                || matches!(&e, Error::Incomplete { message, .. } if message.contains("not even the header row")),
            "{source:?}: {e:?}"
        );
    }
}

#[tokio::test]
async fn athena_counts_the_rows_of_a_result_read_from_s3() {
    let conn = crate::builder().with_result_source(ResultSource::S3).build().await.unwrap();
    let result = conn.execute("SELECT a FROM many_rows WHERE a < 4321").await.unwrap();
    assert_eq!(result.expected_rows().await, Some(4321));
    let small = crate::connect().await.execute("SELECT 1").await.unwrap();
    assert_eq!(small.expected_rows().await, None, "a first-page result is GetQueryResults' own answer");
}

#[tokio::test]
async fn results_are_read_without_head_requests() {
    let emulator = crate::start_emulator(athena_emulator::Emulator::builder());
    let conn = crate::builder_at(&emulator.endpoint)
        .with_s3_staging_dir("s3://athena-results/round-trips/")
        .with_result_source(ResultSource::S3)
        .build()
        .await
        .unwrap();
    // The result CSV (about 50 kB): its first ranged GET brings size, ETag and all the bytes.
    let before = emulator.s3_requests();
    let rows: usize = conn.execute("SELECT a FROM many_rows").await.unwrap().collect().await.unwrap().iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 10_000);
    let after = emulator.s3_requests();
    assert_eq!((after.head - before.head, after.get - before.get), (0, 1), "{before:?} -> {after:?}");
    // UNLOAD: files listed by DATA_MANIFEST (no GET of the manifest), each small file read by
    // the one suffix GET that brings its footer (a result of one file: no GETs of its first
    // bytes beside it).
    let before = emulator.s3_requests();
    let result = conn.query("SELECT a FROM many_rows").unload(true).execute().await.unwrap();
    let query_id = result.query_id().to_owned();
    let rows: usize = result.collect().await.unwrap().iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 10_000);
    let after = emulator.s3_requests();
    let files = crate::manifest_file_count(&conn, &query_id).await;
    assert!(files >= 1);
    assert_eq!((after.head - before.head, after.get - before.get), (0, files), "{files} files: {before:?} -> {after:?}");
}

#[tokio::test]
async fn small_results_come_from_the_first_page_without_s3() {
    // Every S3 GET of this endpoint fails with 503 SlowDown.
    let emulator = crate::start_emulator(athena_emulator::Emulator::builder().with_faults(1.0, 0.0, 0.0));
    let fetch = FetchConfig { chunk_size: 1 << 20, concurrency: 2, max_attempts: 1, ..FetchConfig::default() };
    let retry = athena_arrow::RetryConfig {
        max_attempts: 1,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(1),
        deadline: Duration::from_secs(10),
    };
    let auto = crate::builder_at(&emulator.endpoint).with_fetch(fetch).with_retry(retry).build().await.unwrap();
    let mut r = auto.execute("SELECT * FROM one_row_complex").await.unwrap();
    assert_eq!(r.fetch_all().await.unwrap().len(), 1, "a result of one page needs no S3 GET");
    let e = match auto.execute("SELECT * FROM many_rows").await {
        Ok(r) => r.into_stream().collect_batches().await.unwrap_err(),
        Err(e) => e,
    };
    assert!(matches!(&e, Error::Storage { .. }), "10,000 rows are read from the CSV: {e:?}");
    let s3_only = crate::builder_at(&emulator.endpoint)
        .with_fetch(fetch)
        .with_retry(retry)
        .with_result_source(ResultSource::S3)
        .build()
        .await
        .unwrap();
    let e = match s3_only.execute("SELECT * FROM one_row_complex").await {
        Ok(r) => r.into_stream().collect_batches().await.unwrap_err(),
        Err(e) => e,
    };
    assert!(matches!(&e, Error::Storage { .. }), "ResultSource::S3 always reads the CSV: {e:?}");
}

/// Each zoned form Athena prints (`1970-01-01 09:00:00.000 Asia/Tokyo`, `... UTC`, `... +05:30`)
/// decodes to its instant: UTC nanoseconds, whatever zone the text was in.
#[tokio::test]
async fn zoned_timestamps_decode_to_their_instant() {
    let cases: [(&str, i64); 10] = [
        ("from_unixtime(0, 'Asia/Tokyo')", 0),
        ("from_unixtime(0)", 0),
        ("from_unixtime(1.5, 5, 30)", 1_500),
        ("TIMESTAMP '2020-01-01 00:00:00.000 UTC'", 1_577_836_800_000),
        ("TIMESTAMP '2020-06-01 12:00:00.000 America/New_York'", 1_591_027_200_000),
        ("TIMESTAMP '2020-01-01 00:00:00.000' AT TIME ZONE 'Asia/Tokyo'", 1_577_836_800_000),
        ("TIMESTAMP '2020-01-01 09:00:00.000 Asia/Tokyo' AT TIME ZONE 'UTC'", 1_577_836_800_000),
        ("with_timezone(TIMESTAMP '2020-01-01 00:00:00.000', 'Asia/Tokyo')", 1_577_804_400_000),
        ("CAST(TIMESTAMP '2017-01-01 00:00:00.000' AS timestamp with time zone)", 1_483_228_800_000),
        ("CAST('2020-01-01 00:00:00.000 +05:30' AS timestamp with time zone)", 1_577_817_000_000),
    ];
    let conn = connect().await;
    for (expr, millis) in cases {
        let batches = conn.execute(&format!("SELECT {expr} AS z")).await.unwrap().collect().await.unwrap();
        let column = batches[0].column(0);
        assert_eq!(column.data_type(), &DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())), "{expr}");
        assert_eq!(column.as_primitive::<arrow::datatypes::TimestampMillisecondType>().value(0), millis, "{expr}");
    }
}

/// Every timestamp Athena stores decodes, exactly, in the unit its precision needs; a forced
/// unit that cannot hold a value is an error naming it, never NULL and never a rounded value.
#[tokio::test]
async fn timestamps_of_every_year_decode_exactly() {
    use arrow::datatypes::{TimestampMillisecondType, TimestampNanosecondType};
    let sql = "SELECT TIMESTAMP '0001-01-01 00:00:00.000' AS first, TIMESTAMP '9999-12-31 23:59:59.999' AS last, \
               TIMESTAMP '1677-09-21 00:12:43.146' AS low";
    let conn = connect().await;
    let batches = conn.execute(sql).await.unwrap().collect().await.unwrap();
    let ms = |i: usize| batches[0].column(i).as_primitive::<TimestampMillisecondType>().value(0);
    assert_eq!((ms(0), ms(1), ms(2)), (-62_135_596_800_000, 253_402_300_799_999, -9_223_372_036_854));
    // Forced to nanoseconds: the first millisecond of its range (1677-09-21 00:12:43.146) fits,
    // year 1 does not and says so.
    let ns = builder().with_timestamp_unit(TimeUnit::Nanosecond).build().await.unwrap();
    let batches = ns.execute("SELECT TIMESTAMP '1677-09-21 00:12:43.146' AS low").await.unwrap().collect().await.unwrap();
    assert_eq!(batches[0].column(0).as_primitive::<TimestampNanosecondType>().value(0), -9_223_372_036_854_000_000);
    let e = ns.execute("SELECT TIMESTAMP '0001-01-01 00:00:00.000' AS first").await.unwrap().collect().await.unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
    assert!(e.to_string().contains("outside the range of Nanosecond timestamps"), "{e}");
    // Forced to seconds: a fraction it cannot hold is an error, not a truncation.
    let s = builder().with_timestamp_unit(TimeUnit::Second).build().await.unwrap();
    let e = s.execute("SELECT TIMESTAMP '2020-01-01 00:00:00.500' AS t").await.unwrap().collect().await.unwrap_err();
    assert!(e.to_string().contains("finer fraction of a second than the column's unit (Second)"), "{e}");
}
