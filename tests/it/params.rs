//! Parameters end to end: pyformat literals, qmark ExecutionParameters, and a property test that
//! arbitrary strings round-trip through `SELECT %(s)s` unchanged.

use athena_arrow::{Error, Param, ParamStyle, Value};
use chrono::NaiveDate;
use proptest::prelude::*;

use crate::{builder, connect};

#[tokio::test]
async fn pyformat_values_reach_athena_typed() {
    let conn = connect().await;
    let day = NaiveDate::from_ymd_opt(2017, 1, 2).unwrap();
    let mut r = conn
        .query(
            "SELECT %(s)s AS s, %(i)s AS i, %(d)s AS d, %(dec)s AS dec, %(day)s AS day, %(ts)s AS ts, %(b)s AS b, %(n)s AS n, 'a%%' AS pct",
        )
        .param("s", "it's")
        .param("i", 42)
        .param("d", 0.5)
        .param("dec", Param::Decimal("1.25".into()))
        .param("day", day)
        .param("ts", day.and_hms_milli_opt(3, 4, 5, 6).unwrap())
        .param("b", Param::Bytes(b"12".to_vec()))
        .param("n", Param::Null)
        .execute()
        .await
        .unwrap();
    assert_eq!(
        r.info().query,
        "SELECT 'it''s' AS s, 42 AS i, 0.5 AS d, DECIMAL '1.25' AS dec, DATE '2017-01-02' AS day, TIMESTAMP '2017-01-02 03:04:05.006' AS ts, X'3132' AS b, null AS n, 'a%' AS pct"
    );
    let v = r.fetch_one().await.unwrap().unwrap().values();
    assert_eq!(
        v,
        vec![
            Value::String("it's".into()),
            Value::Integer(42),
            Value::Double(0.5),
            Value::Decimal(125, 2),
            Value::Date(day),
            Value::Timestamp(day.and_hms_milli_opt(3, 4, 5, 6).unwrap()),
            Value::Binary(b"12".to_vec()),
            Value::Null,
            Value::String("a%".into()),
        ]
    );
    let mut r = conn.query("SELECT a FROM many_rows WHERE a IN %(ids)s ORDER BY a").param("ids", vec![3, 5]).execute().await.unwrap();
    assert_eq!(
        r.fetch_all().await.unwrap().iter().map(|r| r.get(0).unwrap()).collect::<Vec<_>>(),
        vec![Value::Integer(3), Value::Integer(5)]
    );
}

#[tokio::test]
async fn parameter_errors_are_typed_and_nothing_runs() {
    let conn = connect().await;
    let e = conn.query("SELECT %(a)s").execute().await;
    // No parameters: the text is sent unchanged (and `%(a)s` is then a syntax error in Athena).
    assert!(matches!(e, Err(Error::Api { .. })), "{e:?}");
    let e = conn.query("SELECT %(a)s, %(b)s").param("a", 1).execute().await.unwrap_err();
    assert!(matches!(e, Error::Parameter { .. }) && e.to_string().contains("%(b)s"), "{e}");
    let e = conn.query("SELECT %(a)s").param("a", 1).param("zz", 2).execute().await.unwrap_err();
    assert!(matches!(e, Error::Parameter { .. }) && e.to_string().contains("zz"), "{e}");
    let e = conn.query("SELECT ?").bind(1).execute().await.unwrap_err();
    assert!(matches!(e, Error::Parameter { .. }), "{e}");
}

#[tokio::test]
async fn qmark_per_connection_and_per_execute() {
    let conn = builder().with_paramstyle(ParamStyle::Qmark).build().await.unwrap();
    let mut r = conn
        .query("SELECT col_string FROM one_row_complex WHERE col_string = ? AND col_int = ?")
        .bind("a string")
        .bind(2147483647)
        .execute()
        .await
        .unwrap();
    assert_eq!(r.fetch_all().await.unwrap().len(), 1);
    // Verbatim SQL text, as PyAthena sends it.
    let mut r = conn
        .query("SELECT col_string FROM one_row_complex WHERE col_string = ?")
        .bind(Param::Literal("'a string'".into()))
        .execute()
        .await
        .unwrap();
    assert_eq!(r.fetch_all().await.unwrap().len(), 1);
    let conn = connect().await;
    let mut r = conn.query("SELECT ? AS x").paramstyle(ParamStyle::Qmark).bind("o'k").execute().await.unwrap();
    assert_eq!(r.fetch_one().await.unwrap().unwrap().get(0), Some(Value::String("o'k".into())));
}

/// One connection and runtime for all property cases.
fn roundtrip(cases: Vec<String>) -> Vec<(String, Option<String>)> {
    let ep = crate::shared().endpoint.clone();
    std::thread::spawn(move || {
        let conn = athena_arrow::blocking::Connection::connect(crate::builder_at(&ep)).unwrap();
        cases
            .into_iter()
            .map(|s| {
                let mut r = conn.execute_query(conn.query("SELECT %(s)s AS s").param("s", s.as_str())).unwrap();
                let got = r.fetch_one().unwrap().unwrap().get(0).unwrap();
                (s, got.as_str().map(str::to_owned))
            })
            .collect()
    })
    .join()
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]
    #[test]
    fn strings_round_trip_through_pyformat(batch in proptest::collection::vec("(\\PC|['\"\\\\%\n\r\t;-]){0,24}", 6)) {
        for (sent, got) in roundtrip(batch) {
            prop_assert_eq!(Some(sent), got);
        }
    }
}
