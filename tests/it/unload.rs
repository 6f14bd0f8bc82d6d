//! The UNLOAD source: same rows as the CSV source, typed nested columns, INT96 timestamps,
//! 0 rows, and the fallback for columns UNLOAD cannot write.

use std::collections::BTreeMap;

use arrow::datatypes::{DataType, TimeUnit};
use athena_arrow::schema::ATHENA_TYPE;
use athena_arrow::{Error, Value, row::Row};
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
    assert_eq!(schema.field(3).data_type(), &DataType::Timestamp(TimeUnit::Nanosecond, None));
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
    // Far dates through INT96 with microsecond timestamps: no nanosecond overflow.
    let conn = builder()
        .with_s3_staging_dir("s3://athena-results/unload-tests/")
        .with_unload(true)
        .with_timestamp_unit(TimeUnit::Microsecond)
        .build()
        .await
        .unwrap();
    let mut r = conn.execute("SELECT TIMESTAMP '9999-12-31 23:59:59.999' AS t").await.unwrap();
    assert_eq!(
        r.fetch_one().await.unwrap().unwrap().get(0),
        Some(Value::Timestamp(NaiveDate::from_ymd_opt(9999, 12, 31).unwrap().and_hms_milli_opt(23, 59, 59, 999).unwrap()))
    );
}

#[tokio::test]
async fn zero_rows_keep_the_schema_and_unsupported_columns_fall_back() {
    let conn = unload_conn().await;
    let mut r = conn.execute("SELECT a, CAST(a AS VARCHAR) AS s FROM many_rows WHERE a < 0").await.unwrap();
    assert_eq!(r.info().substatement_type.as_deref(), Some("UNLOAD"));
    assert_eq!(r.schema().field(1).data_type(), &DataType::Utf8);
    assert!(r.fetch_all().await.unwrap().is_empty());

    // time cannot be unloaded; unnamed columns neither: the plain query's CSV is read instead.
    let mut r = conn.execute("SELECT CAST(col_timestamp AS time) AS t, 1 FROM one_row_complex").await.unwrap();
    assert_eq!(r.info().substatement_type.as_deref(), Some("SELECT"));
    let row = r.fetch_one().await.unwrap().unwrap();
    assert_eq!(row.get(1), Some(Value::Integer(1)));
    let names: BTreeMap<String, Value> = row.to_dict();
    assert!(names.contains_key("_col1"), "{names:?}");

    // Without a staging dir UNLOAD has nowhere to go.
    let conn = builder().with_unload(true).build().await.unwrap();
    assert!(matches!(conn.execute("SELECT 1 AS a").await, Err(Error::Config { .. })));
}
