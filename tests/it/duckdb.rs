//! Athena's DuckDB engine through the client: the three ways a DuckDB result is read (the Arrow
//! stream of managed results, GetQueryResults paging, the result CSV of a customer bucket) give
//! the same schema and values; engine selection per connection and per query; DuckDB's rules
//! (parameters as DuckDB literals, refused options, errors by category and type).

use std::time::Duration;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float64Type, Int32Type, TimeUnit};
use athena_arrow::{Engine, Error, ErrorKind, FetchConfig, Param, ParamStyle, ResultSource};

use crate::{builder, builder_at, start_emulator};

/// Every type the endpoint computes, NULLs, nested and edge values: the one corpus of the DuckDB
/// tests, also the oracle test's against real DuckDB (python/tests/test_duckdb_oracle.py).
fn corpus() -> Vec<String> {
    serde_json::from_str(include_str!("../../fixtures/duckdb-corpus.json")).expect("the corpus is a JSON list of queries")
}

async fn batches(conn: &athena_arrow::Connection, sql: &str) -> (athena_arrow::QueryInfo, Vec<RecordBatch>) {
    let rs = conn.execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    let info = rs.info().clone();
    (info, rs.collect().await.unwrap())
}

fn whole(batches: &[RecordBatch]) -> RecordBatch {
    arrow::compute::concat_batches(&batches[0].schema(), batches).unwrap()
}

#[tokio::test]
async fn the_three_paths_agree_type_by_type() {
    let stream = builder().with_work_group("duckdb").build().await.unwrap();
    let api = builder().with_work_group("duckdb").with_result_source(ResultSource::Api).build().await.unwrap();
    let csv = builder().with_work_group("duckdb-bucket").with_result_source(ResultSource::S3).build().await.unwrap();
    let corpus = corpus();
    assert!(corpus.len() >= 12);
    for sql in &corpus {
        let sql = sql.as_str();
        let (info, from_stream) = batches(&stream, sql).await;
        assert_eq!((info.engine, info.output_location.as_deref()), (Engine::DuckDb, None), "{sql}");
        let (_, from_api) = batches(&api, sql).await;
        let (info, from_csv) = batches(&csv, sql).await;
        assert!(info.output_location.as_deref().is_some_and(|l| l.starts_with("s3://athena-results/duckdb/")), "{sql}");
        let (s, a, c) = (whole(&from_stream), whole(&from_api), whole(&from_csv));
        assert_eq!(s.schema(), a.schema(), "{sql}: stream and GetQueryResults schemas");
        assert_eq!(s.schema(), c.schema(), "{sql}: stream and CSV schemas");
        assert_eq!(s, a, "{sql}: stream and GetQueryResults values");
        assert_eq!(s, c, "{sql}: stream and CSV values");
        assert_eq!(s.schema().metadata().get("athena.engine").map(String::as_str), Some("DuckDB"));
    }
}

#[tokio::test]
async fn a_forced_timestamp_unit_gives_one_schema_on_every_path_and_in_partitions() {
    let unit = TimeUnit::Nanosecond;
    let stream = builder().with_work_group("duckdb").with_timestamp_unit(unit).build().await.unwrap();
    let api = builder().with_work_group("duckdb").with_result_source(ResultSource::Api).with_timestamp_unit(unit).build().await.unwrap();
    let csv =
        builder().with_work_group("duckdb-bucket").with_result_source(ResultSource::S3).with_timestamp_unit(unit).build().await.unwrap();
    let corpus = corpus();
    let sql = corpus.iter().find(|q| q.contains("TIMESTAMP_S")).expect("the corpus has every timestamp type");
    let (s, a, c) = (whole(&batches(&stream, sql).await.1), whole(&batches(&api, sql).await.1), whole(&batches(&csv, sql).await.1));
    for name in ["ts", "s", "ms", "ns", "tz", "pre"] {
        let field = s.schema().field_with_name(name).unwrap().clone();
        assert!(matches!(field.data_type(), DataType::Timestamp(TimeUnit::Nanosecond, _)), "{name}: {field:?}");
    }
    assert_eq!(s.schema(), a.schema());
    assert_eq!(s.schema(), c.schema());
    assert_eq!(s, a);
    assert_eq!(s, c);
    let ts = s.column_by_name("s").unwrap().as_primitive::<arrow::datatypes::TimestampNanosecondType>().value(0);
    assert_eq!(ts, 1_767_323_045_000_000_000);
    // A partition of the stream has the schema the partitions promise.
    let parts = stream.query(sql.as_str()).execute_partitions().await.unwrap();
    let got = whole(&stream.read_partition_bytes(&parts.partitions[0].to_bytes()).await.unwrap().collect_batches().await.unwrap());
    assert_eq!(got.schema(), parts.schema);
    assert_eq!(got, s);
    // A unit the values do not fit is an error that says so, on the stream as on the text paths.
    let coarse = builder().with_work_group("duckdb").with_timestamp_unit(TimeUnit::Second).build().await.unwrap();
    let e = coarse.execute(sql.as_str()).await.unwrap().collect().await.unwrap_err();
    assert!(e.to_string().contains("finer fraction of a second"), "{e}");
}

#[tokio::test]
async fn exact_values_of_duckdb_types() {
    let conn = builder().with_work_group("duckdb").build().await.unwrap();
    let corpus = corpus();
    let (_, b) = batches(&conn, &corpus[0]).await;
    let b = whole(&b);
    assert_eq!(b.column_by_name("h").unwrap().as_primitive::<arrow::datatypes::Decimal128Type>().value(0), i128::MAX);
    assert_eq!(b.column_by_name("ub").unwrap().as_primitive::<arrow::datatypes::UInt64Type>().value(0), u64::MAX);
    assert_eq!(b.column_by_name("i").unwrap().data_type(), &DataType::Int32);
    let (_, b) = batches(&conn, &corpus[4]).await;
    let b = whole(&b);
    assert_eq!(b.column_by_name("tz").unwrap().data_type(), &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())));
    assert_eq!(
        b.column_by_name("tz").unwrap().as_primitive::<arrow::datatypes::TimestampMicrosecondType>().value(0),
        1_767_315_845_000_000
    );
    let (_, b) = batches(&conn, &corpus[8]).await;
    let b = whole(&b);
    assert!(b.column_by_name("nv").unwrap().is_null(0));
    let (_, b) = batches(&conn, &corpus[3]).await;
    let b = whole(&b);
    let e = b.column_by_name("e").unwrap().as_string::<i32>();
    assert!(e.is_valid(0) && e.value(0).is_empty(), "'' is the empty string, not NULL");
    assert_eq!(b.column_by_name("bl").unwrap().as_binary::<i32>().value(0), b"\x00ab");
    assert_eq!(b.column_by_name("u").unwrap().as_string::<i32>().value(0), "550e8400-e29b-41d4-a716-446655440000");
}

#[tokio::test]
async fn engines_are_chosen_per_connection_and_per_query() {
    // The primary workgroup runs engine version 3: `/` of integers is integer division there.
    let conn = builder().build().await.unwrap();
    let (info, b) = batches(&conn, "SELECT 5 / 2 AS q").await;
    assert_eq!(info.engine, Engine::V3);
    assert_eq!(b[0].column(0).as_primitive::<Int32Type>().value(0), 2);
    let rs = conn.query("SELECT 5 / 2 AS q").engine(Engine::DuckDb).execute().await.unwrap();
    assert_eq!(rs.info().engine, Engine::DuckDb);
    let b = rs.collect().await.unwrap();
    assert_eq!(b[0].column(0).as_primitive::<Float64Type>().value(0), 2.5);
    let conn = builder().with_option("engine_version", "DuckDB").build().await.unwrap();
    assert_eq!(conn.execute("SELECT 1").await.unwrap().info().engine, Engine::DuckDb);
    let rs = conn.query("SELECT 1").option("engine_version", "Athena engine version 3").execute().await.unwrap();
    assert_eq!(rs.info().engine, Engine::V3);
    let e = builder().with_option("engine_version", "duckdb").build().await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid configuration: option engine_version takes exactly \"Athena engine version 3\" or \"DuckDB\", got \"duckdb\""
    );
}

#[tokio::test]
async fn duckdb_failures_are_classified_by_category_and_type() {
    let conn = builder().with_work_group("duckdb").build().await.unwrap();
    // DuckDB takes any text at submission: the syntax error comes from the poll.
    let e = conn.execute("SELEC 1").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Syntax, "{e}");
    assert!(matches!(&e, Error::QueryFailed { reason, .. } if reason == "Parser Error: syntax error at or near \"SELEC\""), "{e}");
    let e = conn.execute("SELECT * FROM no_such_table").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(e.to_string().ends_with("Catalog Error: Table with name no_such_table does not exist!"), "{e}");
    let e = conn.execute("SELECT 1::NOPE").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
}

#[tokio::test]
async fn what_duckdb_refuses_is_refused_with_what_to_use() {
    let conn = builder().with_work_group("duckdb").build().await.unwrap();
    let e = conn.query("SELECT 1").result_reuse(Duration::from_secs(600)).execute().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.to_string().contains("result reuse is not supported by Athena's DuckDB engine"), "{e}");
    let e = conn.query("SELECT 1").unload(true).execute().await.unwrap_err();
    assert!(e.to_string().contains("unload is not supported by Athena's DuckDB engine"), "{e}");
    // With results in S3, unload runs as COPY ... TO Parquet, read by the Parquet reader.
    let conn = builder().with_work_group("duckdb-bucket").build().await.unwrap();
    let rs = conn.query("SELECT x, 'v' || x AS s FROM range(3) t(x) ORDER BY x").unload(true).execute().await.unwrap();
    assert_eq!(rs.info().substatement_type.as_deref(), Some("COPY"));
    assert!(rs.info().query.starts_with("COPY (\nSELECT x"), "{}", rs.info().query);
    let b = whole(&rs.collect().await.unwrap());
    assert_eq!(b.num_rows(), 3);
    assert_eq!(b.column(1).as_string::<i32>().value(2), "v2");
}

#[tokio::test]
async fn parameters_are_duckdb_literals() {
    let conn = builder().with_work_group("duckdb").build().await.unwrap();
    let rs = conn
        .query("SELECT %(s)s AS s, %(b)s AS b, %(d)s AS d, %(n)s AS n")
        .param("s", "it's")
        .param("b", Param::Bytes(vec![0, 0xff]))
        .param("d", Param::Decimal("1.50".into()))
        .param("n", f64::NAN)
        .execute()
        .await
        .unwrap();
    let b = whole(&rs.collect().await.unwrap());
    assert_eq!(b.column(0).as_string::<i32>().value(0), "it's");
    assert_eq!(b.column(1).as_binary::<i32>().value(0), &[0, 0xff]);
    assert_eq!(b.column(2).data_type(), &DataType::Decimal128(3, 2));
    assert!(b.column(3).as_primitive::<Float64Type>().value(0).is_nan());
    let rs =
        conn.query("SELECT ? AS s, ? AS b").paramstyle(ParamStyle::Qmark).bind("a'b").bind(Param::Bytes(vec![1])).execute().await.unwrap();
    assert_eq!(rs.info().query, "SELECT ? AS s, ? AS b");
    let b = whole(&rs.collect().await.unwrap());
    assert_eq!((b.column(0).as_string::<i32>().value(0), b.column(1).as_binary::<i32>().value(0)), ("a'b", &[1u8][..]));
}

#[tokio::test]
async fn the_stream_is_read_in_ranges_compressed_or_not_and_falls_back_when_not_offered() {
    use athena_emulator::ResultStream;
    let sql = "SELECT x, 'row ' || x AS s, (x % 3)::VARCHAR::ENUM('0', '1', '2') AS e FROM range(20000) t(x) ORDER BY x";
    let reference = {
        let conn = builder().with_work_group("duckdb").with_result_source(ResultSource::Api).build().await.unwrap();
        whole(&batches(&conn, sql).await.1)
    };
    for compression in [None, Some(arrow::ipc::CompressionType::LZ4_FRAME), Some(arrow::ipc::CompressionType::ZSTD)] {
        let endpoint =
            start_emulator(athena_emulator::Emulator::builder().with_result_stream(ResultStream { compression, ..Default::default() }));
        // Small ranges: the stream comes in many pieces, several in flight.
        let fetch = FetchConfig { stream_range_size: 64 << 10, concurrency: 4, ..FetchConfig::default() };
        let conn = builder_at(&endpoint.endpoint).with_work_group("duckdb").with_fetch(fetch).build().await.unwrap();
        let got = whole(&batches(&conn, sql).await.1);
        assert_eq!(got, reference, "{compression:?}");
        assert!(matches!(got.column(2).data_type(), DataType::Dictionary(..)));
    }
    let off =
        start_emulator(athena_emulator::Emulator::builder().with_result_stream(ResultStream { enabled: false, ..Default::default() }));
    let conn = builder_at(&off.endpoint).with_work_group("duckdb").build().await.unwrap();
    let got = whole(&batches(&conn, sql).await.1);
    assert_eq!(got, reference, "read through GetQueryResults when the stream is not offered");
}

#[tokio::test]
async fn duckdb_results_partition_and_read_back() {
    let sql = "SELECT x, 'v' || x AS s, [x] AS l FROM range(5000) t(x) ORDER BY x";
    for work_group in ["duckdb", "duckdb-bucket"] {
        let conn = builder().with_work_group(work_group).build().await.unwrap();
        let parts = conn.query(sql).execute_partitions().await.unwrap();
        assert_eq!(parts.partitions.len(), 1, "{work_group}");
        let bytes = parts.partitions[0].to_bytes();
        let got = conn.read_partition_bytes(&bytes).await.unwrap().collect_batches().await.unwrap();
        let got = whole(&got);
        assert_eq!(got.schema(), parts.schema, "{work_group}");
        assert_eq!(got.num_rows(), 5000);
        assert_eq!(got.column(1).as_string::<i32>().value(4999), "v4999");
        let expected = whole(&batches(&conn, sql).await.1);
        assert_eq!(got, expected, "{work_group}");
    }
}

#[tokio::test]
async fn a_stream_that_changes_while_read_fails_loudly() {
    use futures::StreamExt;
    let endpoint = start_emulator(athena_emulator::Emulator::builder());
    // Small ranges, one in flight: most of the stream is asked for after the change below.
    let fetch = FetchConfig { stream_range_size: 64 << 10, concurrency: 1, ..FetchConfig::default() };
    let conn = builder_at(&endpoint.endpoint).with_work_group("duckdb").with_fetch(fetch).build().await.unwrap();
    // Reads the first batch of a 200,000-row stream, replaces the managed result with what
    // `change` makes of its bytes, and reads on: the error the read ends with.
    let replaced_while_read = |change: fn(Vec<u8>) -> Vec<u8>| {
        let (conn, endpoint) = (&conn, &endpoint);
        async move {
            let result = conn.execute("SELECT x, 'row ' || x AS s FROM range(200000) t(x)").await.unwrap();
            let path = endpoint.data_dir().join("athena").join("results").join(format!("{}.arrows", result.query_id()));
            let mut stream = result.into_stream();
            stream.next().await.unwrap().unwrap();
            let replacement = path.with_extension("replaced");
            std::fs::write(&replacement, change(std::fs::read(&path).unwrap())).unwrap();
            std::fs::rename(&replacement, &path).unwrap();
            while let Some(b) = stream.next().await {
                if let Err(e) = b {
                    return e;
                }
            }
            panic!("a stream replaced while read was read to its end");
        }
    };
    // Replaced by a shorter one (as a replaced object would be).
    let e = replaced_while_read(|bytes| bytes[..bytes.len() / 2].to_vec()).await;
    assert_eq!(e.kind(), ErrorKind::Result, "{e}");
    assert!(e.to_string().contains("the result stream changed while it was read"), "{e}");
    // Replaced by a stream of the same size: only the ETag tells.
    let e = replaced_while_read(|mut bytes| {
        let last = bytes.len() - 20;
        bytes[last] ^= 0x01; // a value near the end: same size, other content
        bytes
    })
    .await;
    assert!(e.to_string().contains("the result stream changed while it was read (ETag"), "{e}");
}
