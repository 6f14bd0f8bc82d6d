//! The UNLOAD source: same rows as the CSV source, typed nested columns, INT96 timestamps,
//! 0 rows, and the fallback for columns UNLOAD cannot write.

use std::collections::BTreeMap;

use arrow::datatypes::{DataType, TimeUnit};
use athena_arrow::decode::schema::ATHENA_TYPE;
use athena_arrow::{Error, Row, Value};
use chrono::NaiveDate;

use crate::builder;

async fn unload_conn() -> athena_arrow::Connection {
    builder().with_s3_staging_dir("s3://athena-results/unload-tests/").with_unload(true).build().await.unwrap()
}

#[tokio::test]
async fn unload_reads_the_same_rows_typed() {
    let conn = unload_conn().await;
    let mut r = conn.execute("SELECT a, CAST(a AS VARCHAR) AS s, CAST(a AS DECIMAL(10,2)) AS d FROM many_rows").await.unwrap();
    assert_eq!(r.info().substatement_type.as_deref(), Some("UNLOAD"));
    assert!(r.info().data_manifest_location.is_some());
    let schema = r.schema().clone();
    assert_eq!(schema.field(2).data_type(), &DataType::Decimal128(10, 2));
    assert_eq!(schema.field(1).metadata().get(ATHENA_TYPE).map(String::as_str), Some("varchar"));
    let mut rows: Vec<Vec<Value>> = r.fetch_all().await.unwrap().iter().map(Row::values).collect();
    rows.sort_by_key(|r| r[0].as_i64());
    assert_eq!(rows.len(), 10000);
    assert_eq!(rows[1234], vec![Value::Integer(1234), Value::String("1234".into()), Value::Decimal(123400, 2)]);
    // Other statements run as they are.
    let r = conn.execute("SHOW TABLES").await.unwrap();
    assert_eq!(r.info().substatement_type.as_deref(), Some("SHOW_TABLES"));
}

#[tokio::test]
async fn nested_types_and_int96_timestamps_arrive_typed() {
    let conn = unload_conn().await;
    let mut r = conn
        .execute("SELECT col_array, col_map, col_struct, col_timestamp, col_date, col_binary, col_tinyint, col_float FROM one_row_complex")
        .await
        .unwrap();
    let schema = r.schema().clone();
    assert!(matches!(schema.field(0).data_type(), DataType::List(_)));
    assert_eq!(schema.field(3).data_type(), &DataType::Timestamp(TimeUnit::Millisecond, None), "INT96 of timestamp(3)");
    let v = r.fetch_one().await.unwrap().unwrap().values();
    assert_eq!(
        v,
        vec![
            Value::List(vec![Value::Integer(1), Value::Integer(2)]),
            Value::Map(vec![(Value::Integer(1), Value::Integer(2)), (Value::Integer(3), Value::Integer(4))]),
            Value::Struct(vec![("a".into(), Value::Integer(1)), ("b".into(), Value::Integer(2))]),
            Value::Timestamp(NaiveDate::from_ymd_opt(2017, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap()),
            Value::Date(NaiveDate::from_ymd_opt(2017, 1, 2).unwrap()),
            Value::Binary(b"123".to_vec()),
            Value::TinyInt(127),
            Value::Float(0.5),
        ]
    );
    // Far dates through INT96: milliseconds by default hold them; a forced microsecond unit too.
    let conn = builder()
        .with_s3_staging_dir("s3://athena-results/unload-tests/")
        .with_unload(true)
        .with_timestamp_unit(TimeUnit::Microsecond)
        .build()
        .await
        .unwrap();
    let last = Value::Timestamp(NaiveDate::from_ymd_opt(9999, 12, 31).unwrap().and_hms_milli_opt(23, 59, 59, 999).unwrap());
    let mut r = conn.execute("SELECT TIMESTAMP '9999-12-31 23:59:59.999' AS t").await.unwrap();
    assert_eq!(r.fetch_one().await.unwrap().unwrap().get(0), Some(last.clone()));
    let mut r = unload_conn().await.execute("SELECT TIMESTAMP '9999-12-31 23:59:59.999' AS t").await.unwrap();
    assert_eq!(r.schema().field(0).data_type(), &DataType::Timestamp(TimeUnit::Millisecond, None));
    assert_eq!(r.fetch_one().await.unwrap().unwrap().get(0), Some(last));
}

#[tokio::test]
async fn zero_rows_keep_the_schema_and_unsupported_columns_are_rewritten() {
    let conn = unload_conn().await;
    let mut r = conn.execute("SELECT a, CAST(a AS VARCHAR) AS s FROM many_rows WHERE a < 0").await.unwrap();
    assert_eq!(r.info().substatement_type.as_deref(), Some("UNLOAD"));
    assert_eq!(r.schema().field(1).data_type(), &DataType::Utf8);
    assert!(r.fetch_all().await.unwrap().is_empty());

    // time cannot be unloaded as it is, unnamed columns neither: written as text and renamed.
    let mut r = conn.execute("SELECT CAST(col_timestamp AS time) AS t, 1 FROM one_row_complex").await.unwrap();
    assert_eq!(r.info().substatement_type.as_deref(), Some("UNLOAD"));
    let row = r.fetch_one().await.unwrap().unwrap();
    assert_eq!(row.get(1), Some(Value::Integer(1)));
    let names: BTreeMap<String, Value> = row.to_dict();
    assert!(names.contains_key("_col1"), "{names:?}");

    // Without a staging dir UNLOAD has nowhere to go.
    let conn = builder().with_unload(true).build().await.unwrap();
    assert!(matches!(conn.execute("SELECT 1 AS a").await, Err(Error::Config { .. })));
}

#[tokio::test]
async fn columns_unload_cannot_write_go_as_text_and_come_back_typed() {
    // time, timestamp with time zone, json, unknown (NULL) and an unnamed column: detected from
    // the probe's ColumnInfo before the UNLOAD is submitted, never a refusal.
    let sql = "SELECT CAST(col_timestamp AS time) AS t, from_unixtime(0, 'Asia/Tokyo') AS z, CAST(col_array AS JSON) AS j, \
               NULL AS n, col_int + 1, col_string FROM one_row_complex";
    let starts = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = starts.clone();
    let conn = builder()
        .with_s3_staging_dir("s3://athena-results/unload-tests/")
        .with_unload(true)
        .with_on_start_query_execution(move |_| {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        })
        .build()
        .await
        .unwrap();
    let mut unloaded = conn.execute(sql).await.unwrap();
    assert_eq!(unloaded.info().substatement_type.as_deref(), Some("UNLOAD"));
    assert_eq!(starts.load(std::sync::atomic::Ordering::SeqCst), 1, "the probe calls no start callback");
    let mut plain = conn.query(sql).unload(false).execute().await.unwrap();
    assert_eq!(unloaded.description(), plain.description());
    let (u, p) = (unloaded.schema().clone(), plain.schema().clone());
    let names = |s: &arrow::datatypes::SchemaRef| s.fields().iter().map(|f| f.name().clone()).collect::<Vec<_>>();
    assert_eq!(names(&u), ["t", "z", "j", "n", "_col4", "col_string"]);
    for i in 0..4 {
        assert_eq!(u.field(i).data_type(), p.field(i).data_type(), "column {i}");
        assert_eq!(u.field(i).metadata().get(ATHENA_TYPE), p.field(i).metadata().get(ATHENA_TYPE), "column {i}");
    }
    assert_eq!(u.field(0).data_type(), &DataType::Time32(TimeUnit::Millisecond));
    assert_eq!(u.field(1).data_type(), &DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())));
    let (ur, pr) = (unloaded.fetch_all().await.unwrap(), plain.fetch_all().await.unwrap());
    assert_eq!(ur.len(), 1);
    assert_eq!(ur[0].values(), pr[0].values());
    assert_eq!(ur[0].get(2), Some(Value::String("[1,2]".into())));
    assert_eq!(ur[0].get(3), Some(Value::Null));

    // Handles from submit() take the same route.
    let handle = conn.query(sql).submit().await.unwrap();
    let mut r = handle.wait().await.unwrap();
    assert_eq!(r.info().substatement_type.as_deref(), Some("UNLOAD"));
    assert_eq!(r.fetch_all().await.unwrap()[0].values(), pr[0].values());
}

#[tokio::test]
async fn a_malformed_query_reports_its_own_error_not_the_probes() {
    let conn = unload_conn().await;
    let e = conn.execute("SELECT col_int FROM one_row_complex WHERE").await.unwrap_err();
    let text = e.to_string();
    assert!(text.contains("line 1:"), "{text}");
    assert!(!text.contains("LIMIT 0") && !text.contains("UNLOAD"), "{text}");
    // A trailing line comment does not swallow the wrapping.
    let mut r = conn.execute("SELECT col_int FROM one_row_complex -- the end").await.unwrap();
    assert_eq!(r.info().substatement_type.as_deref(), Some("UNLOAD"));
    assert_eq!(r.fetch_all().await.unwrap().len(), 1);
}

/// The data files of a finished UNLOAD (its results not opened yet) and an S3 client.
async fn finished_unload(
    conn: &athena_arrow::Connection,
    sql: &str,
) -> (athena_arrow::QueryHandle, Vec<(String, String)>, aws_sdk_s3::Client) {
    let handle = conn.query(sql).submit().await.unwrap();
    let info = handle.wait_info().await.unwrap();
    let s3 = crate::s3_client(conn);
    let split = |uri: &str| {
        let (b, k) = uri.trim_start_matches("s3://").split_once('/').unwrap();
        (b.to_owned(), k.to_owned())
    };
    let (mb, mk) = split(info.data_manifest_location.as_deref().unwrap());
    let manifest = s3.get_object().bucket(mb).key(mk).send().await.unwrap().body.collect().await.unwrap().into_bytes();
    let files = std::str::from_utf8(&manifest).unwrap().lines().map(split).collect();
    (handle, files, s3)
}

#[tokio::test]
async fn damaged_or_missing_data_files_give_typed_errors() {
    let conn = unload_conn().await;
    let sql = "SELECT a, CAST(a AS VARCHAR) AS s FROM many_rows";

    // Truncated: the footer is gone.
    let (handle, files, s3) = finished_unload(&conn, sql).await;
    let (bucket, key) = &files[0];
    let bytes = s3.get_object().bucket(bucket).key(key).send().await.unwrap().body.collect().await.unwrap().into_bytes();
    s3.put_object().bucket(bucket).key(key).body(bytes.slice(..bytes.len() / 2).to_vec().into()).send().await.unwrap();
    let e = match handle.wait().await {
        Ok(r) => r.into_stream().collect_batches().await.unwrap_err(),
        Err(e) => e,
    };
    assert!(matches!(&e, Error::Storage { uri, .. } if uri.ends_with(key.as_str())), "{e:?}");

    // Corrupt: the right size and footer, garbage in the data pages.
    let (handle, files, s3) = finished_unload(&conn, sql).await;
    let (bucket, key) = &files[0];
    let bytes = s3.get_object().bucket(bucket).key(key).send().await.unwrap().body.collect().await.unwrap().into_bytes();
    let mut damaged = bytes.to_vec();
    for b in &mut damaged[4..bytes.len() / 2] {
        *b = 0xA5;
    }
    s3.put_object().bucket(bucket).key(key).body(damaged.into()).send().await.unwrap();
    let e = match handle.wait().await {
        Ok(r) => r.into_stream().collect_batches().await.unwrap_err(),
        Err(e) => e,
    };
    assert!(matches!(&e, Error::Storage { message, .. } if message.contains("Parquet")), "{e:?}");

    // A manifest naming a file that is gone.
    let (handle, files, s3) = finished_unload(&conn, sql).await;
    let (bucket, key) = &files[0];
    s3.delete_object().bucket(bucket).key(key).send().await.unwrap();
    let e = match handle.wait().await {
        Ok(r) => r.into_stream().collect_batches().await.unwrap_err(),
        Err(e) => e,
    };
    assert!(matches!(&e, Error::Storage { uri, .. } if uri.ends_with(key.as_str())), "{e:?}");
}

#[tokio::test]
async fn an_emptied_manifest_or_a_swapped_file_cannot_shorten_the_result() {
    let conn = unload_conn().await;
    let sql = "SELECT a, CAST(a AS VARCHAR) AS s FROM many_rows";

    // The manifest object emptied: the files come from Athena's DATA_MANIFEST, all rows arrive.
    let (handle, _files, s3) = finished_unload(&conn, sql).await;
    let info = handle.wait_info().await.unwrap();
    let (bucket, key) = info.data_manifest_location.as_deref().unwrap().trim_start_matches("s3://").split_once('/').unwrap();
    s3.put_object().bucket(bucket).key(key).body(Vec::new().into()).send().await.unwrap();
    let batches = handle.wait().await.unwrap().into_stream().collect_batches().await.unwrap();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 10_000);

    // A data file replaced by a valid Parquet file of other columns.
    let (handle, files, s3) = finished_unload(&conn, sql).await;
    let (other, other_files, _) = finished_unload(&conn, "SELECT 1 AS x").await;
    drop(other);
    let (ob, ok) = &other_files[0];
    let foreign = s3.get_object().bucket(ob).key(ok).send().await.unwrap().body.collect().await.unwrap().into_bytes();
    let (bucket, key) = files.last().unwrap();
    s3.put_object().bucket(bucket).key(key).body(foreign.to_vec().into()).send().await.unwrap();
    let e = match handle.wait().await {
        Ok(r) => r.into_stream().collect_batches().await.unwrap_err(),
        Err(e) => e,
    };
    assert!(matches!(&e, Error::Decode { message, .. } if message.contains("another schema")), "{e:?}");
}

#[tokio::test]
async fn cleanup_deletes_the_files_once_the_results_are_dropped() {
    let conn = builder()
        .with_s3_staging_dir("s3://athena-results/unload-tests/")
        .with_unload(true)
        .with_unload_cleanup(true)
        .build()
        .await
        .unwrap();
    let (handle, files, s3) = finished_unload(&conn, "SELECT a FROM many_rows").await;
    let mut r = handle.wait().await.unwrap();
    assert_eq!(r.fetch_all().await.unwrap().len(), 10000);
    let manifest = r.info().data_manifest_location.clone().unwrap();
    let (mb, mk) = manifest.trim_start_matches("s3://").split_once('/').unwrap();
    assert!(s3.head_object().bucket(mb).key(mk).send().await.is_ok(), "kept while the results are open");
    drop(r);
    let mut objects: Vec<(String, String)> = files;
    objects.push((mb.to_owned(), mk.to_owned()));
    for (bucket, key) in objects {
        let mut gone = false;
        for _ in 0..100 {
            if s3.head_object().bucket(&bucket).key(&key).send().await.is_err() {
                gone = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(gone, "{key} was not deleted");
    }
}

#[tokio::test]
async fn all_sources_agree_on_a_generated_table() {
    // The benchmark table's generator: every type of it with NULLs, 30,000 rows.
    let emulator = crate::start_emulator(athena_emulator::Emulator::builder().with_bench_rows(30_000));
    let base = crate::builder_at(&emulator.endpoint).with_s3_staging_dir("s3://athena-results/agree/");
    let mut by_source = Vec::new();
    for conn in [
        base.clone().build().await.unwrap(),
        base.clone().with_result_source(athena_arrow::ResultSource::Api).build().await.unwrap(),
        base.clone().with_unload(true).build().await.unwrap(),
    ] {
        let mut r = conn.execute("SELECT * FROM bench").await.unwrap();
        let mut rows: Vec<Vec<Value>> = r.fetch_all().await.unwrap().iter().map(Row::values).collect();
        rows.sort_by_key(|r| match r[0] {
            Value::BigInt(id) => id,
            ref other => panic!("id {other:?}"),
        });
        by_source.push((r.description(), rows));
    }
    assert_eq!(by_source[0].1.len(), 30_000);
    assert!(by_source[0].1.iter().any(|r| r.contains(&Value::Null)), "the table has NULLs");
    assert_eq!(by_source[0], by_source[1], "CSV vs GetQueryResults");
    assert_eq!(by_source[0], by_source[2], "CSV vs UNLOAD");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_file_of_many_row_groups_is_read_in_order() {
    // One data file of 15 row groups, read several row groups at once: its rows in its order.
    let emulator = crate::start_emulator(athena_emulator::Emulator::builder().with_unload_rows_per_row_group(700));
    let conn =
        crate::builder_at(&emulator.endpoint).with_s3_staging_dir("s3://athena-results/groups/").with_unload(true).build().await.unwrap();
    let mut r = conn.execute("SELECT a, CAST(a AS VARCHAR) AS s FROM many_rows ORDER BY a").await.unwrap();
    let query_id = r.query_id().to_owned();
    let rows: Vec<Vec<Value>> = r.fetch_all().await.unwrap().iter().map(Row::values).collect();
    assert_eq!(crate::manifest_file_count(&conn, &query_id).await, 1);
    let want: Vec<Vec<Value>> = (0..10_000).map(|a| vec![Value::Integer(a), Value::String(a.to_string())]).collect();
    assert_eq!(rows.len(), want.len());
    assert!(rows == want, "rows out of the file's order (first difference at {:?})", rows.iter().zip(&want).position(|(a, b)| a != b));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_file_comes_in_one_round_of_requests() {
    // The bench table's generator, 160,000 rows, in UNLOAD files of 70,000 rows (about 3.3 MB,
    // row groups of 40,000 rows).
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests.log");
    let emulator = crate::start_emulator(
        athena_emulator::Emulator::builder()
            .with_bench_rows(160_000)
            .with_unload_rows_per_file(70_000)
            .with_unload_rows_per_row_group(40_000)
            .with_request_log(&log),
    );
    let conn = crate::builder_at(&emulator.endpoint)
        .with_s3_staging_dir("s3://athena-results/first-round/")
        .with_unload(true)
        .build()
        .await
        .unwrap();
    let mut r = conn.execute("SELECT * FROM bench").await.unwrap();
    let query_id = r.query_id().to_owned();
    assert_eq!(r.fetch_all().await.unwrap().len(), 160_000);
    // The ranges of the GETs of each data file, sorted.
    let text = std::fs::read_to_string(&log).unwrap();
    let gets: Vec<Vec<&str>> = data_file_gets(&conn, &query_id)
        .await
        .iter()
        .map(|path| {
            let mut ranges: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix(path)?.split(' ').next()).collect();
            ranges.sort();
            ranges
        })
        .collect();
    assert_eq!(gets.len(), 3, "{gets:?}");
    // The first file's footer (the suffix) and its first 3 MiB, asked for at once, hold all of it:
    // nothing else is read. The later files come whole with one suffix GET as long as it.
    assert_eq!(gets[0], ["bytes=-1048576", "bytes=0-1048575", "bytes=1048576-2097151", "bytes=2097152-3145727"]);
    assert!(gets[1..].iter().all(|g| g.len() == 1 && g[0].starts_with("bytes=-")), "{gets:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_file_longer_than_its_first_round_is_read_whole() {
    // Files of 120,000 rows (about 5.7 MB, row groups of 40,000 rows): the first file's first
    // 3 MiB hold its first row group and part of its second. Its rows are the CSV's.
    let emulator = crate::start_emulator(
        athena_emulator::Emulator::builder()
            .with_bench_rows(160_000)
            .with_unload_rows_per_file(120_000)
            .with_unload_rows_per_row_group(40_000),
    );
    let base = crate::builder_at(&emulator.endpoint).with_s3_staging_dir("s3://athena-results/first-round/");
    let mut by_source = Vec::new();
    for conn in [base.clone().build().await.unwrap(), base.with_unload(true).build().await.unwrap()] {
        let mut r = conn.execute("SELECT * FROM bench").await.unwrap();
        let mut rows: Vec<Vec<Value>> = r.fetch_all().await.unwrap().iter().map(Row::values).collect();
        rows.sort_by_key(|r| match r[0] {
            Value::BigInt(id) => id,
            ref other => panic!("id {other:?}"),
        });
        by_source.push(rows);
    }
    assert_eq!(by_source[0].len(), 160_000);
    assert!(by_source[0] == by_source[1], "CSV vs UNLOAD");
}

/// How the request log starts the line of a GET of each of the UNLOAD's data files, in the
/// manifest's order.
async fn data_file_gets(conn: &athena_arrow::Connection, query_id: &str) -> Vec<String> {
    let out = conn
        .athena()
        .get_query_results()
        .query_execution_id(query_id)
        .query_result_type(aws_sdk_athena::types::QueryResultType::DataManifest)
        .send()
        .await
        .unwrap();
    let rows = out.result_set().unwrap().rows();
    rows.iter().map(|row| format!("GET /{} ", row.data()[0].var_char_value().unwrap().strip_prefix("s3://").unwrap())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_the_consumer_reached_leaves_the_files_ahead_room() {
    // 350,000 rows of the bench table in files of 70,000 rows (about 3.3 MB, each read with one
    // GET of about 3.7 MB): 5 files. With 16 MiB in flight, the files ahead of the one being
    // consumed share 8 MiB: two of them.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests.log");
    let emulator = crate::start_emulator(
        athena_emulator::Emulator::builder().with_bench_rows(350_000).with_unload_rows_per_file(70_000).with_request_log(&log),
    );
    let fetch = athena_arrow::FetchConfig { unload_bytes_in_flight: 16 << 20, ..athena_arrow::FetchConfig::default() };
    let conn = crate::builder_at(&emulator.endpoint)
        .with_s3_staging_dir("s3://athena-results/ahead/")
        .with_unload(true)
        .with_fetch(fetch)
        .build()
        .await
        .unwrap();
    let result = conn.execute("SELECT * FROM bench").await.unwrap();
    let query_id = result.query_id().to_owned();
    let mut stream = result.into_stream();
    use futures::StreamExt;
    // The first file whole and the first batch of the second: the consumer is at the second
    // file, and holds it there.
    let mut rows = 0;
    while rows <= 70_000 {
        rows += stream.next().await.unwrap().unwrap().num_rows();
    }
    let files = data_file_gets(&conn, &query_id).await;
    assert_eq!(files.len(), 5);
    let requested = || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        files.iter().map(|f| text.lines().any(|l| l.starts_with(f.as_str()))).collect::<Vec<bool>>()
    };
    // The second file left the files-ahead share when it was reached: the third and fourth are
    // ahead now (kept until the second was read, only the third was).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !requested()[3] {
        assert!(std::time::Instant::now() < deadline, "the fourth file was not asked for: {:?}", requested());
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(!requested()[4], "a fifth file fits no budget yet");
    while let Some(batch) = stream.next().await {
        rows += batch.unwrap().num_rows();
    }
    assert_eq!(rows, 350_000);
}
