//! Statements that succeed only by doing what they say: ALTER TABLE forms change the table (or
//! fail as Athena fails them), Trino's varbinary functions give Trino's values, VALUES in a FROM
//! clause has Trino's column names.

use aws_sdk_athena::types::QueryExecutionState;

use crate::athena::{ok, rows_of, texts};
use crate::*;

/// The reason a statement failed with.
async fn failure(client: &aws_sdk_athena::Client, sql: &str) -> String {
    let q = run(client, sql).await;
    assert_eq!(state(&q), QueryExecutionState::Failed, "{sql} should fail");
    q.status().unwrap().state_change_reason().unwrap().to_owned()
}

#[tokio::test]
async fn alter_table_changes_the_table_or_fails_as_athena_does() {
    let client = athena();
    ok(&client, "CREATE DATABASE IF NOT EXISTS alter_it").await;
    ok(&client, "CREATE TABLE alter_it.t AS SELECT 1 AS a, 'x' AS b").await;
    // ADD COLUMNS: the old files read the new column as NULL.
    ok(&client, "ALTER TABLE alter_it.t ADD COLUMNS (c bigint COMMENT 'new', d string)").await;
    assert_eq!(rows_of(&client, "SELECT a, b, c, d FROM alter_it.t").await, texts(&[&["1", "x", "NULL", "NULL"]]));
    ok(&client, "INSERT INTO alter_it.t VALUES (2, 'y', 20, 'z')").await;
    assert_eq!(rows_of(&client, "SELECT a, c, d FROM alter_it.t ORDER BY a").await, texts(&[&["1", "NULL", "NULL"], &["2", "20", "z"]]));
    let reason = failure(&client, "ALTER TABLE alter_it.t ADD COLUMNS (c int)").await;
    assert_eq!(reason, "ALREADY_EXISTS: Column 'c' already exists");
    // CHANGE COLUMN renames (and retypes) one column.
    ok(&client, "ALTER TABLE alter_it.t CHANGE COLUMN d dee string").await;
    assert_eq!(
        rows_of(&client, "SHOW COLUMNS IN alter_it.t").await,
        texts(&[&["a                   "], &["b                   "], &["c                   "], &["dee                 "]])
    );
    assert_eq!(failure(&client, "ALTER TABLE alter_it.t CHANGE COLUMN nope x int").await, "COLUMN_NOT_FOUND: Column 'nope' does not exist");
    // REPLACE COLUMNS keeps only the columns named.
    ok(&client, "ALTER TABLE alter_it.t REPLACE COLUMNS (a int, b string)").await;
    assert_eq!(rows_of(&client, "SELECT * FROM alter_it.t ORDER BY a").await, texts(&[&["1", "x"], &["2", "y"]]));
    // RENAME TO and DROP COLUMN are Iceberg's; a Hive table says so.
    let reason = failure(&client, "ALTER TABLE alter_it.t RENAME TO alter_it.u").await;
    assert!(reason.starts_with("NOT_SUPPORTED: ALTER TABLE RENAME TO is not supported for Hive table 'alter_it.t'"), "{reason}");
    let reason = failure(&client, "ALTER TABLE alter_it.t DROP COLUMN b").await;
    assert!(reason.starts_with("NOT_SUPPORTED: DROP COLUMN is not supported for Hive table 'alter_it.t'"), "{reason}");
    ok(&client, "CREATE TABLE alter_it.ice WITH (table_type = 'ICEBERG') AS SELECT 1 AS a, 2 AS b").await;
    ok(&client, "ALTER TABLE alter_it.ice DROP COLUMN b").await;
    ok(&client, "ALTER TABLE alter_it.ice RENAME TO alter_it.ice2").await;
    assert_eq!(rows_of(&client, "SELECT * FROM alter_it.ice2").await, texts(&[&["1"]]));
    let reason = failure(&client, "SELECT * FROM alter_it.ice").await;
    assert!(reason.starts_with("TABLE_NOT_FOUND: "), "{reason}");
    // SET LOCATION points the table at other files.
    ok(
        &client,
        "CREATE TABLE alter_it.other WITH (external_location = 's3://athena-results/alter-it/other/') AS SELECT 5 AS a, 'five' AS b",
    )
    .await;
    ok(&client, "ALTER TABLE alter_it.t SET LOCATION 's3://athena-results/alter-it/other/'").await;
    assert_eq!(rows_of(&client, "SELECT * FROM alter_it.t").await, texts(&[&["5", "five"]]));
    // A form Athena does not run is refused, never accepted and ignored.
    let reason = failure(&client, "ALTER TABLE alter_it.t ALTER COLUMN a SET DEFAULT 1").await;
    assert!(reason.starts_with("NOT_SUPPORTED: this ALTER TABLE form is not supported"), "{reason}");
}

#[tokio::test]
async fn varbinary_functions_give_trinos_values() {
    let client = athena();
    let rows = rows_of(
        &client,
        "SELECT to_hex(X'00ff10'), from_hex('00FF10'), from_hex('0aBc'), to_base64(X'01020304ff'), from_base64('AQIDBP8='), \
         from_big_endian_64(X'0000000000000102'), to_big_endian_64(CAST(258 AS BIGINT)), from_big_endian_32(X'fffffffe'), \
         to_big_endian_32(-2)",
    )
    .await;
    assert_eq!(
        rows,
        texts(&[&["00FF10", "00 ff 10", "0a bc", "AQIDBP8=", "01 02 03 04 ff", "258", "00 00 00 00 00 00 01 02", "-2", "ff ff ff fe"]])
    );
    let reason = failure(&client, "SELECT from_big_endian_64(X'0102')").await;
    assert_eq!(reason, "INVALID_FUNCTION_ARGUMENT: expected 8-byte input, but got instead: 2");
    let reason = failure(&client, "SELECT from_hex('zz')").await;
    assert_eq!(reason, "INVALID_FUNCTION_ARGUMENT: invalid hex string: \"zz\"");
}

#[tokio::test]
async fn values_in_a_from_clause_are_named_as_trino_names_them() {
    let client = athena();
    let q = ok(&client, "SELECT * FROM (VALUES (1, 'a'), (2, 'b'))").await;
    let page = client.get_query_results().query_execution_id(q.query_execution_id().unwrap()).send().await.unwrap();
    let names: Vec<&str> = page.result_set().unwrap().result_set_metadata().unwrap().column_info().iter().map(|c| c.name()).collect();
    assert_eq!(names, ["_col0", "_col1"]);
    let q = ok(&client, "SELECT x FROM (VALUES (1), (2)) AS t (x) ORDER BY x").await;
    let page = client.get_query_results().query_execution_id(q.query_execution_id().unwrap()).send().await.unwrap();
    assert_eq!(page.result_set().unwrap().result_set_metadata().unwrap().column_info()[0].name(), "x");
}
