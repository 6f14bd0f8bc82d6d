use aws_sdk_athena::types::{QueryExecutionState, QueryResultType, ResultReuseByAgeConfiguration, ResultReuseConfiguration};

use crate::*;

fn values(rs: &aws_sdk_athena::types::ResultSet) -> Vec<Vec<Option<String>>> {
    rs.rows().iter().map(|r| r.data().iter().map(|d| d.var_char_value().map(str::to_owned)).collect()).collect()
}

#[tokio::test]
async fn select_writes_byte_exact_csv() {
    let client = athena();
    let q = run_at(
        &client,
        "SELECT 1 AS i, 'it''s' AS s, 'a\"b' AS q, CAST(NULL AS VARCHAR) AS n, '' AS empty, ARRAY[1, 2] AS a, X'0102' AS vb",
        "csv-exact",
    )
    .await;
    assert_eq!(state(&q), QueryExecutionState::Succeeded, "{:?}", q.status());
    let loc = q.result_configuration().unwrap().output_location().unwrap().to_owned();
    assert_eq!(loc, format!("s3://athena-results/csv-exact/{}.csv", q.query_execution_id().unwrap()));
    let bytes = get_bytes(&loc).await;
    assert_eq!(
        String::from_utf8(bytes).unwrap(),
        "\"i\",\"s\",\"q\",\"n\",\"empty\",\"a\",\"vb\"\n\"1\",\"it's\",\"a\"\"b\",,\"\",\"[1, 2]\",\"01 02\"\n"
    );
    let empty = run_at(&client, "SELECT 1 AS i WHERE false", "csv-empty").await;
    let bytes = get_bytes(empty.result_configuration().unwrap().output_location().unwrap()).await;
    assert_eq!(bytes, b"\"i\"\n");
    let null_row = run_at(&client, "SELECT CAST(NULL AS INTEGER) AS x", "csv-null").await;
    let bytes = get_bytes(null_row.result_configuration().unwrap().output_location().unwrap()).await;
    assert_eq!(bytes, b"\"x\"\n\n");
}

#[tokio::test]
async fn results_header_rule_nulls_and_paging() {
    let client = athena();
    let q = run(&client, "SELECT a, b FROM integer_na_values ORDER BY a, b").await;
    let id = q.query_execution_id().unwrap();
    let page = client.get_query_results().query_execution_id(id).send().await.unwrap();
    assert_eq!(page.update_count(), Some(0));
    let rows = values(page.result_set().unwrap());
    assert_eq!(
        rows,
        vec![
            vec![Some("a".into()), Some("b".into())],
            vec![Some("1".into()), Some("2".into())],
            vec![Some("1".into()), None],
            vec![None, None],
        ]
    );
    let cols = page.result_set().unwrap().result_set_metadata().unwrap().column_info();
    assert_eq!(cols[0].r#type(), "integer");
    assert_eq!(cols[0].precision(), 10);

    // 10000 rows + header = 10001 API rows; the first page is the header + 999 rows.
    let q = run(&client, "SELECT a FROM many_rows ORDER BY a").await;
    let id = q.query_execution_id().unwrap();
    let (mut total, mut token, mut pages, mut first_page) = (0, None::<String>, 0, None);
    loop {
        let page = client.get_query_results().query_execution_id(id).set_next_token(token.clone()).max_results(1000).send().await.unwrap();
        let rows = values(page.result_set().unwrap());
        if first_page.is_none() {
            first_page = Some(rows.clone());
        }
        total += rows.len();
        pages += 1;
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    let first = first_page.unwrap();
    assert_eq!(first.len(), 1000);
    assert_eq!(first[0], vec![Some("a".into())]);
    assert_eq!(first[1], vec![Some("0".into())]);
    assert_eq!(first[999], vec![Some("998".into())]);
    assert_eq!((total, pages), (10001, 11));

    let bad = client.get_query_results().query_execution_id(id).next_token("not-a-token").send().await.unwrap_err();
    assert!(format!("{:?}", bad.into_service_error()).contains("INVALID_INPUT"));
}

#[tokio::test]
async fn column_info_and_text_forms_of_one_row_complex() {
    let client = athena();
    let sql = "SELECT col_boolean, col_tinyint, col_smallint, col_int, col_bigint, col_float, col_double, \
        col_string, col_varchar, col_timestamp, CAST(col_timestamp AS time) AS col_time, col_date, \
        col_binary, col_array, CAST(col_array AS json) AS col_array_json, col_map, \
        CAST(col_map AS json) AS col_map_json, col_struct, col_decimal FROM one_row_complex";
    let q = run(&client, sql).await;
    assert_eq!(state(&q), QueryExecutionState::Succeeded, "{:?}", q.status());
    let page = client.get_query_results().query_execution_id(q.query_execution_id().unwrap()).send().await.unwrap();
    let rs = page.result_set().unwrap();
    let info: Vec<(String, i32, i32)> =
        rs.result_set_metadata().unwrap().column_info().iter().map(|c| (c.r#type().to_owned(), c.precision(), c.scale())).collect();
    let expected = [
        ("boolean", 0, 0),
        ("tinyint", 3, 0),
        ("smallint", 5, 0),
        ("integer", 10, 0),
        ("bigint", 19, 0),
        ("float", 17, 0),
        ("double", 17, 0),
        ("varchar", 2147483647, 0),
        ("varchar", 10, 0),
        ("timestamp", 3, 0),
        ("time", 3, 0),
        ("date", 0, 0),
        ("varbinary", 1073741824, 0),
        ("array", 0, 0),
        ("json", 0, 0),
        ("map", 0, 0),
        ("json", 0, 0),
        ("row", 0, 0),
        ("decimal", 10, 1),
    ];
    let expected: Vec<(String, i32, i32)> = expected.iter().map(|(t, p, s)| (t.to_string(), *p, *s)).collect();
    assert_eq!(info, expected);
    let row = &values(rs)[1];
    let texts: Vec<&str> = row.iter().map(|v| v.as_deref().unwrap()).collect();
    assert_eq!(
        texts,
        vec![
            "true",
            "127",
            "32767",
            "2147483647",
            "9223372036854775807",
            "0.5",
            "0.25",
            "a string",
            "varchar",
            "2017-01-01 00:00:00.000",
            "00:00:00.000",
            "2017-01-02",
            "31 32 33",
            "[1, 2]",
            "[1,2]",
            "{1=2, 3=4}",
            "{\"1\":2,\"3\":4}",
            "{a=1, b=2}",
            "0.1",
        ]
    );
}

#[tokio::test]
async fn literal_types_follow_trino() {
    let client = athena();
    let q = run(&client, "SELECT 1 AS i, 3000000000 AS big, 1.5 AS d, DECIMAL '1.50' AS dec, CAST(0.5 AS REAL) AS r, IF(true, 'y', 'n') AS f, CAST(1e20 AS DOUBLE) AS e, CAST(ROW(1, 2) AS ROW(a INTEGER, b INTEGER)) AS st, DATE '2017-01-02' AS dt").await;
    assert_eq!(state(&q), QueryExecutionState::Succeeded, "{:?}", q.status());
    let page = client.get_query_results().query_execution_id(q.query_execution_id().unwrap()).send().await.unwrap();
    let rs = page.result_set().unwrap();
    let types: Vec<String> = rs.result_set_metadata().unwrap().column_info().iter().map(|c| c.r#type().to_owned()).collect();
    assert_eq!(types, ["integer", "bigint", "double", "decimal", "float", "varchar", "double", "row", "date"]);
    let row: Vec<String> = values(rs)[1].iter().map(|v| v.clone().unwrap()).collect();
    assert_eq!(row, ["1", "3000000000", "1.5", "1.50", "0.5", "y", "1.0E20", "{a=1, b=2}", "2017-01-02"]);
    let unnamed = run(&client, "SELECT 1, 'x'").await;
    let page = client.get_query_results().query_execution_id(unnamed.query_execution_id().unwrap()).send().await.unwrap();
    let names: Vec<String> =
        page.result_set().unwrap().result_set_metadata().unwrap().column_info().iter().map(|c| c.name().to_owned()).collect();
    assert_eq!(names, ["_col0", "_col1"]);
}

#[tokio::test]
async fn malformed_sql_is_refused_at_start() {
    let err = athena().start_query_execution().query_string("SELEC 1").send().await.unwrap_err();
    let err = err.into_service_error();
    assert!(err.is_invalid_request_exception(), "{err:?}");
    let aws_sdk_athena::operation::start_query_execution::StartQueryExecutionError::InvalidRequestException(e) = err else {
        unreachable!()
    };
    assert_eq!(e.athena_error_code(), Some("MALFORMED_QUERY"));
    assert!(e.message().unwrap().starts_with("line 1:1: "), "{:?}", e.message());
}

#[tokio::test]
async fn semantic_errors_fail_the_query() {
    let client = athena();
    let q = run(&client, "SELECT * FROM no_such_table").await;
    assert_eq!(state(&q), QueryExecutionState::Failed);
    let status = q.status().unwrap();
    assert_eq!(
        status.state_change_reason(),
        Some("TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.default.no_such_table' does not exist")
    );
    let err = status.athena_error().unwrap();
    assert_eq!(err.error_category(), Some(2));
    assert_eq!(err.error_message(), status.state_change_reason());
    let q = run(&client, "SELECT nope FROM one_row").await;
    assert_eq!(state(&q), QueryExecutionState::Failed);
    assert!(q.status().unwrap().state_change_reason().unwrap().starts_with("COLUMN_NOT_FOUND: line 1:8: "), "{:?}", q.status());
    let err = client.get_query_results().query_execution_id(q.query_execution_id().unwrap()).send().await.unwrap_err();
    assert!(format!("{:?}", err.into_service_error()).contains("INVALID_QUERY_EXECUTION_STATE"));
}

#[tokio::test]
async fn client_request_token_is_idempotent() {
    let client = athena();
    let token = format!("token-{}", "x".repeat(40));
    let a = client.start_query_execution().query_string("SELECT 1").client_request_token(&token).send().await.unwrap();
    let b = client.start_query_execution().query_string("SELECT 1").client_request_token(&token).send().await.unwrap();
    assert_eq!(a.query_execution_id(), b.query_execution_id());
    let err = client.start_query_execution().query_string("SELECT 2").client_request_token(&token).send().await.unwrap_err();
    assert!(format!("{:?}", err.into_service_error()).contains("IDEMPOTENT_PARAMETER_MISMATCH"));
}

#[tokio::test]
async fn result_reuse_and_statistics() {
    let client = athena();
    let sql = "SELECT count(*) AS n FROM many_rows WHERE a > 7";
    let reuse = ResultReuseConfiguration::builder()
        .result_reuse_by_age_configuration(ResultReuseByAgeConfiguration::builder().enabled(true).max_age_in_minutes(60).build())
        .build();
    let first = client.start_query_execution().query_string(sql).result_reuse_configuration(reuse.clone()).send().await.unwrap();
    let first = wait(&client, first.query_execution_id().unwrap()).await;
    let stats = first.statistics().unwrap();
    assert!(!stats.result_reuse_information().unwrap().reused_previous_result());
    assert!(stats.data_scanned_in_bytes().unwrap() > 0, "bytes scanned are measured");
    assert!(stats.query_queue_time_in_millis().unwrap() > 0, "a query waits in the queue at least 1 ms, as Athena reports");
    let small = run(&client, "SELECT * FROM one_row").await;
    assert!(small.statistics().unwrap().data_scanned_in_bytes().unwrap() > 0, "a small Parquet scan counts what it read");
    let second = client.start_query_execution().query_string(sql).result_reuse_configuration(reuse).send().await.unwrap();
    let second = wait(&client, second.query_execution_id().unwrap()).await;
    assert_ne!(first.query_execution_id(), second.query_execution_id());
    assert!(second.statistics().unwrap().result_reuse_information().unwrap().reused_previous_result());
    assert_eq!(second.result_configuration().unwrap().output_location(), first.result_configuration().unwrap().output_location());
    let page = client.get_query_results().query_execution_id(second.query_execution_id().unwrap()).send().await.unwrap();
    assert_eq!(values(page.result_set().unwrap())[1], vec![Some("9992".into())]);
    // Without the reuse configuration the query runs again.
    let third = run(&client, sql).await;
    assert!(!third.statistics().unwrap().result_reuse_information().unwrap().reused_previous_result());
}

#[tokio::test]
async fn execution_parameters_bind_placeholders() {
    let client = athena();
    let id = client
        .start_query_execution()
        .query_string("SELECT a FROM many_rows WHERE a = ? OR a = ?")
        .execution_parameters("7")
        .execution_parameters("8")
        .send()
        .await
        .unwrap()
        .query_execution_id
        .unwrap();
    let q = wait(&client, &id).await;
    assert_eq!(q.execution_parameters(), ["7", "8"]);
    assert_eq!(q.query(), Some("SELECT a FROM many_rows WHERE a = ? OR a = ?"));
    let page = client.get_query_results().query_execution_id(&id).send().await.unwrap();
    assert_eq!(values(page.result_set().unwrap()).len(), 3);
}

#[tokio::test]
async fn stop_cancels_a_running_query() {
    let client = athena();
    let id = start(&client, "SELECT count(*) FROM many_rows a CROSS JOIN many_rows b CROSS JOIN many_rows c").await;
    client.stop_query_execution().query_execution_id(&id).send().await.unwrap();
    let q = wait(&client, &id).await;
    assert_eq!(state(&q), QueryExecutionState::Cancelled);
    assert_eq!(q.status().unwrap().state_change_reason(), Some("Query cancelled by user"));
}

#[tokio::test]
async fn statement_kinds_and_utility_results() {
    let client = athena();
    let q = run(&client, "SHOW TABLES").await;
    assert_eq!((q.statement_type().unwrap().as_str(), q.substatement_type()), ("UTILITY", Some("SHOW_TABLES")));
    let loc = q.result_configuration().unwrap().output_location().unwrap().to_owned();
    assert!(loc.ends_with(".txt"));
    let text = String::from_utf8(get_bytes(&loc).await).unwrap();
    assert!(text.lines().any(|l| l == "one_row") && !text.ends_with('\n'), "{text:?}");
    let page = client.get_query_results().query_execution_id(q.query_execution_id().unwrap()).send().await.unwrap();
    assert!(values(page.result_set().unwrap())[0][0].as_deref() != Some("tab_name"), "utility results have no header row");

    let q = run(&client, "SHOW COLUMNS IN one_row").await;
    let text = get_bytes(q.result_configuration().unwrap().output_location().unwrap()).await;
    assert_eq!(text, b"number_of_rows      ");
    let page = client.get_query_results().query_execution_id(q.query_execution_id().unwrap()).send().await.unwrap();
    let info = &page.result_set().unwrap().result_set_metadata().unwrap().column_info()[0];
    assert_eq!((info.name(), info.r#type(), info.precision()), ("field", "string", 0));

    let q = run(&client, "EXPLAIN SELECT 1").await;
    assert_eq!((q.statement_type().unwrap().as_str(), q.substatement_type()), ("DML", Some("EXPLAIN")));

    let q = run(&client, "CREATE TABLE ctas_t AS SELECT a FROM many_rows WHERE a < 5").await;
    assert_eq!(state(&q), QueryExecutionState::Succeeded, "{:?}", q.status());
    assert_eq!(q.substatement_type(), Some("CREATE_TABLE_AS_SELECT"));
    let page = client.get_query_results().query_execution_id(q.query_execution_id().unwrap()).send().await.unwrap();
    assert_eq!(page.update_count(), Some(5));
    let q = run(&client, "INSERT INTO ctas_t VALUES (100), (101)").await;
    assert_eq!(state(&q), QueryExecutionState::Succeeded, "{:?}", q.status());
    let page = client.get_query_results().query_execution_id(q.query_execution_id().unwrap()).send().await.unwrap();
    assert_eq!(page.update_count(), Some(2));
    let q = run(&client, "SELECT sum(a) AS s FROM ctas_t").await;
    let page = client.get_query_results().query_execution_id(q.query_execution_id().unwrap()).send().await.unwrap();
    assert_eq!(values(page.result_set().unwrap())[1], vec![Some("211".into())]);
}

#[tokio::test]
async fn unload_writes_parquet_and_manifest() {
    let client = athena();
    let q = run(&client, "UNLOAD (SELECT a, CAST(a % 100 AS TINYINT) AS t, CAST(a AS DECIMAL(10,2)) AS d, CAST('x' AS VARCHAR) AS s, TIMESTAMP '2024-01-02 03:04:05.678' AS ts FROM many_rows) TO 's3://athena-results/unload-1/' WITH (format = 'PARQUET', compression = 'SNAPPY')").await;
    assert_eq!(state(&q), QueryExecutionState::Succeeded, "{:?}", q.status());
    let manifest = q.statistics().unwrap().data_manifest_location().unwrap().to_owned();
    assert_eq!(manifest, format!("s3://athena-results/{}-manifest.csv", q.query_execution_id().unwrap()));
    assert_eq!(q.result_configuration().unwrap().output_location(), Some(manifest.as_str()), "the result location names the manifest");
    let text = String::from_utf8(get_bytes(&manifest).await).unwrap();
    let files: Vec<&str> = text.lines().collect();
    assert!(!files.is_empty());
    let mut rows = 0;
    for f in &files {
        assert!(f.starts_with("s3://athena-results/unload-1/"));
        let bytes = bytes::Bytes::from(get_bytes(f).await);
        let reader = parquet::file::reader::SerializedFileReader::new(bytes).unwrap();
        use parquet::file::reader::FileReader;
        let meta = reader.metadata();
        rows += meta.file_metadata().num_rows();
        let schema = meta.file_metadata().schema_descr();
        assert_eq!(schema.root_schema().name(), "trino_schema");
        let t = schema.column(1);
        assert_eq!(t.physical_type(), parquet::basic::Type::INT32);
        assert!(matches!(t.logical_type_ref(), Some(parquet::basic::LogicalType::Integer(i)) if i.bit_width == 8));
        assert_eq!(schema.column(2).physical_type(), parquet::basic::Type::FIXED_LEN_BYTE_ARRAY);
        assert_eq!(meta.row_group(0).column(0).compression(), parquet::basic::Compression::SNAPPY);
        // Timestamps as Trino writes them: INT96, nanoseconds of the day then the Julian day.
        assert_eq!(schema.column(4).physical_type(), parquet::basic::Type::INT96);
        assert!(meta.file_metadata().key_value_metadata().is_none_or(|kv| kv.iter().all(|e| e.key != "ARROW:schema")));
        use parquet::column::reader::ColumnReader;
        let ColumnReader::Int96ColumnReader(mut ts) = reader.get_row_group(0).unwrap().get_column_reader(4).unwrap() else {
            panic!("INT96 column reader expected")
        };
        let (mut vals, mut defs) = (Vec::new(), Vec::new());
        ts.read_records(1, Some(&mut defs), None, &mut vals).unwrap();
        let nanos: u64 = ((3 * 3600 + 4 * 60 + 5) * 1000 + 678) * 1_000_000;
        assert_eq!((vals[0].data(), defs[0]), (&[nanos as u32, (nanos >> 32) as u32, 2_460_312][..], 1));
    }
    assert_eq!(rows, 10000);
    let page = client
        .get_query_results()
        .query_execution_id(q.query_execution_id().unwrap())
        .query_result_type(QueryResultType::DataManifest)
        .send()
        .await
        .unwrap();
    assert_eq!(values(page.result_set().unwrap()).len(), files.len());

    // A non-empty prefix is refused; unsupported types fail with Athena's message.
    let again = run(&client, "UNLOAD (SELECT 1 AS a) TO 's3://athena-results/unload-1/' WITH (format = 'PARQUET')").await;
    assert_eq!(state(&again), QueryExecutionState::Failed);
    let bad = run(&client, "UNLOAD (SELECT CAST(col_timestamp AS time) AS t FROM one_row_complex) TO 's3://athena-results/unload-2/' WITH (format = 'PARQUET')").await;
    assert_eq!(bad.status().unwrap().state_change_reason(), Some("NOT_SUPPORTED: Unsupported Hive type: time(3)"));
    // Zero rows: no data files, an empty manifest.
    let empty =
        run(&client, "UNLOAD (SELECT a FROM many_rows WHERE a < 0) TO 's3://athena-results/unload-3/' WITH (format = 'PARQUET')").await;
    assert_eq!(state(&empty), QueryExecutionState::Succeeded);
    assert!(get_bytes(empty.statistics().unwrap().data_manifest_location().unwrap()).await.is_empty());
}

#[tokio::test]
async fn workgroups_and_catalog_metadata() {
    let client = athena();
    let wg = client.get_work_group().work_group("primary").send().await.unwrap();
    let conf = wg.work_group().unwrap().configuration().unwrap();
    assert_eq!(conf.result_configuration().unwrap().output_location(), Some("s3://athena-results/"));
    let managed = run_in(&client, "SELECT 7 AS x", "managed").await;
    assert!(managed.result_configuration().unwrap().output_location().is_none());
    let page = client.get_query_results().query_execution_id(managed.query_execution_id().unwrap()).send().await.unwrap();
    assert_eq!(values(page.result_set().unwrap()), vec![vec![Some("x".into())], vec![Some("7".into())]]);
    let enforced = client
        .start_query_execution()
        .query_string("SELECT 1")
        .work_group("enforced")
        .result_configuration(
            aws_sdk_athena::types::ResultConfiguration::builder().output_location("s3://athena-results/elsewhere/").build(),
        )
        .send()
        .await
        .unwrap();
    let enforced = wait(&client, enforced.query_execution_id().unwrap()).await;
    assert!(enforced.result_configuration().unwrap().output_location().unwrap().starts_with("s3://athena-results/enforced/"));

    let t = client.get_table_metadata().catalog_name("AwsDataCatalog").database_name("default").table_name("one_row").send().await.unwrap();
    let t = t.table_metadata().unwrap();
    assert_eq!(t.columns()[0].name(), "number_of_rows");
    assert_eq!(t.columns()[0].r#type(), Some("int"));
    assert_eq!(t.columns()[0].comment(), Some("some comment"));
    let dbs = client.list_databases().catalog_name("AwsDataCatalog").send().await.unwrap();
    assert!(dbs.database_list().iter().any(|d| d.name() == "default"));
    let tables =
        client.list_table_metadata().catalog_name("AwsDataCatalog").database_name("default").expression("one_row*").send().await.unwrap();
    let names: Vec<&str> = tables.table_metadata_list().iter().map(|t| t.name()).collect();
    assert_eq!(names, ["one_row", "one_row_complex"]);
    let ids = client.list_query_executions().send().await.unwrap();
    assert!(!ids.query_execution_ids().is_empty());
    let batch = client
        .batch_get_query_execution()
        .query_execution_ids(ids.query_execution_ids()[0].clone())
        .query_execution_ids("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(batch.query_executions().len(), 1);
    assert_eq!(batch.unprocessed_query_execution_ids().len(), 1);
}

async fn run_in(client: &aws_sdk_athena::Client, sql: &str, wg: &str) -> aws_sdk_athena::types::QueryExecution {
    let id = client.start_query_execution().query_string(sql).work_group(wg).send().await.unwrap().query_execution_id.unwrap();
    wait(client, &id).await
}

#[tokio::test]
async fn wrong_credentials_are_refused() {
    let bad = athena_at(&shared().endpoint, "wrong-secret");
    let err = bad.list_work_groups().send().await.unwrap_err();
    let text = format!("{:?}", err.into_service_error());
    assert!(text.contains("InvalidSignatureException") || text.contains("signature"), "{text}");
    let bad_s3 = s3_at(&shared().endpoint, "wrong-secret");
    let err = bad_s3.list_buckets().send().await.unwrap_err();
    assert!(format!("{:?}", err.into_service_error()).contains("SignatureDoesNotMatch"));
}

#[tokio::test]
async fn history_and_catalog_survive_restart() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = Emulator::builder().with_data_dir(dir.path()).start().await.unwrap();
    let client = athena_at(&emulator.endpoint(), "test");
    let q = run(&client, "CREATE TABLE kept AS SELECT 42 AS answer").await;
    assert_eq!(state(&q), QueryExecutionState::Succeeded, "{:?}", q.status());
    let id = q.query_execution_id().unwrap().to_owned();
    emulator.shutdown().await;

    let emulator = Emulator::builder().with_data_dir(dir.path()).start().await.unwrap();
    let client = athena_at(&emulator.endpoint(), "test");
    let again = client.get_query_execution().query_execution_id(&id).send().await.unwrap();
    assert_eq!(state(again.query_execution().unwrap()), QueryExecutionState::Succeeded);
    let q = run(&client, "SELECT answer FROM kept").await;
    let page = client.get_query_results().query_execution_id(q.query_execution_id().unwrap()).send().await.unwrap();
    assert_eq!(values(page.result_set().unwrap())[1], vec![Some("42".into())]);
}

#[tokio::test]
async fn views_and_partitioned_unload() {
    let client = athena();
    let q = run(&client, "SELECT number_of_rows FROM view_one_row").await;
    assert_eq!(state(&q), QueryExecutionState::Succeeded, "{:?}", q.status());
    let page = client.get_query_results().query_execution_id(q.query_execution_id().unwrap()).send().await.unwrap();
    assert_eq!(values(page.result_set().unwrap())[1], vec![Some("1".into())]);

    let q = run(
        &client,
        "UNLOAD (SELECT a, a % 3 AS p FROM many_rows WHERE a < 30) TO 's3://athena-results/unload-part/' \
         WITH (format = 'PARQUET', compression = 'ZSTD', partitioned_by = ARRAY['p'])",
    )
    .await;
    assert_eq!(state(&q), QueryExecutionState::Succeeded, "{:?}", q.status());
    let text = String::from_utf8(get_bytes(q.statistics().unwrap().data_manifest_location().unwrap()).await).unwrap();
    let mut folders: Vec<&str> = text.lines().map(|l| l.rsplit_once('/').unwrap().0).collect();
    folders.sort();
    folders.dedup();
    assert_eq!(
        folders,
        ["s3://athena-results/unload-part/p=0", "s3://athena-results/unload-part/p=1", "s3://athena-results/unload-part/p=2"]
    );
}

#[tokio::test]
async fn bench_table_is_generated_deterministically() {
    let emulator = Emulator::builder().with_fixtures(false).with_bench_rows(70_000).start().await.unwrap();
    let client = athena_at(&emulator.endpoint(), "test");
    let q = run(&client, "SELECT count(*) AS n, count(n) AS nn, sum(id) AS s, min(day) AS d FROM bench").await;
    assert_eq!(state(&q), QueryExecutionState::Succeeded, "{:?}", q.status());
    let page = client.get_query_results().query_execution_id(q.query_execution_id().unwrap()).send().await.unwrap();
    let row = &values(page.result_set().unwrap())[1];
    assert_eq!(row[0].as_deref(), Some("70000"));
    assert_eq!(row[2].as_deref(), Some("2449965000"));
    let non_null: i64 = row[1].as_deref().unwrap().parse().unwrap();
    assert!(non_null > 60_000 && non_null < 70_000, "some NULLs: {non_null}");
    emulator.shutdown().await;
}

#[tokio::test]
async fn runtime_statistics_count_the_rows_a_select_returned() {
    let client = athena();
    let q = run(&client, "SELECT a FROM many_rows WHERE a < 1234").await;
    let out = client.get_query_runtime_statistics().query_execution_id(q.query_execution_id().unwrap()).send().await.unwrap();
    let stats = out.query_runtime_statistics().unwrap();
    assert_eq!(stats.rows().and_then(|r| r.output_rows()), Some(1234));
    assert!(stats.timeline().unwrap().total_execution_time_in_millis().is_some());
    // Other statements report no row figures (Athena's are unconfirmed for them).
    let q = run(&client, "SHOW TABLES").await;
    let out = client.get_query_runtime_statistics().query_execution_id(q.query_execution_id().unwrap()).send().await.unwrap();
    assert!(out.query_runtime_statistics().unwrap().rows().is_none());
}

#[tokio::test]
async fn a_minimum_query_time_keeps_quick_queries_running() {
    let emulator = {
        let runtime_emulator =
            athena_emulator::Emulator::builder().with_fixtures(false).with_min_query_time(std::time::Duration::from_millis(400));
        runtime_emulator.start().await.unwrap()
    };
    let client = athena_at(&emulator.endpoint(), "test");
    let started = std::time::Instant::now();
    let q = run(&client, "SELECT 1").await;
    assert_eq!(state(&q), QueryExecutionState::Succeeded);
    assert!(started.elapsed() >= std::time::Duration::from_millis(400), "{:?}", started.elapsed());
    assert!(q.statistics().unwrap().total_execution_time_in_millis().unwrap() >= 400);
}

/// `timestamp with time zone` as Trino prints it: the wall clock in the value's own zone with
/// its precision, then the zone (a region name as written, `UTC` for zero offsets, `+05:30`).
pub const ZONED_CASES: [(&str, &str, i64); 10] = [
    ("from_unixtime(0, 'Asia/Tokyo')", "1970-01-01 09:00:00.000 Asia/Tokyo", 0),
    ("from_unixtime(0)", "1970-01-01 00:00:00.000 UTC", 0),
    ("from_unixtime(1.5, 5, 30)", "1970-01-01 05:30:01.500 +05:30", 1_500),
    ("TIMESTAMP '2020-01-01 00:00:00.000 UTC'", "2020-01-01 00:00:00.000 UTC", 1_577_836_800_000),
    ("TIMESTAMP '2020-06-01 12:00:00.000 America/New_York'", "2020-06-01 12:00:00.000 America/New_York", 1_591_027_200_000),
    ("TIMESTAMP '2020-01-01 00:00:00.000' AT TIME ZONE 'Asia/Tokyo'", "2020-01-01 09:00:00.000 Asia/Tokyo", 1_577_836_800_000),
    ("TIMESTAMP '2020-01-01 09:00:00.000 Asia/Tokyo' AT TIME ZONE 'UTC'", "2020-01-01 00:00:00.000 UTC", 1_577_836_800_000),
    ("with_timezone(TIMESTAMP '2020-01-01 00:00:00.000', 'Asia/Tokyo')", "2020-01-01 00:00:00.000 Asia/Tokyo", 1_577_804_400_000),
    ("CAST(TIMESTAMP '2017-01-01 00:00:00.000' AS timestamp with time zone)", "2017-01-01 00:00:00.000 UTC", 1_483_228_800_000),
    ("CAST('2020-01-01 00:00:00.000 +05:30' AS timestamp with time zone)", "2020-01-01 00:00:00.000 +05:30", 1_577_817_000_000),
];

#[tokio::test]
async fn zoned_timestamps_print_their_own_wall_clock() {
    let client = athena();
    for (expr, text, _) in ZONED_CASES {
        let q = run(&client, &format!("SELECT {expr} AS z")).await;
        assert_eq!(state(&q), QueryExecutionState::Succeeded, "{expr}: {:?}", q.status());
        let page = client.get_query_results().query_execution_id(q.query_execution_id().unwrap()).send().await.unwrap();
        let rs = page.result_set().unwrap();
        let info = &rs.result_set_metadata().unwrap().column_info()[0];
        assert_eq!((info.r#type(), info.precision()), ("timestamp with time zone", 3), "{expr}");
        assert_eq!(values(rs)[1][0].as_deref(), Some(text), "{expr}");
    }
    // UNLOAD refuses them as Athena does.
    let q =
        run(&client, "UNLOAD (SELECT from_unixtime(0, 'Asia/Tokyo') AS z) TO 's3://athena-results/tz-unload/' WITH (format = 'PARQUET')")
            .await;
    assert_eq!(state(&q), QueryExecutionState::Failed);
    assert!(q.status().unwrap().state_change_reason().unwrap().contains("Unsupported Hive type: timestamp"), "{:?}", q.status());
}

pub(crate) async fn ok(client: &aws_sdk_athena::Client, sql: &str) -> aws_sdk_athena::types::QueryExecution {
    let q = run(client, sql).await;
    assert_eq!(state(&q), QueryExecutionState::Succeeded, "{sql}: {:?}", q.status());
    q
}

pub(crate) async fn rows_of(client: &aws_sdk_athena::Client, sql: &str) -> Vec<Vec<Option<String>>> {
    let q = ok(client, sql).await;
    let page = client.get_query_results().query_execution_id(q.query_execution_id().unwrap()).send().await.unwrap();
    // A SELECT's first row is its header; utility results have none.
    let header = usize::from(q.statement_type().map(|t| t.as_str()) == Some("DML"));
    values(page.result_set().unwrap()).into_iter().skip(header).collect()
}

pub(crate) fn texts(rows: &[&[&str]]) -> Vec<Vec<Option<String>>> {
    rows.iter().map(|r| r.iter().map(|v| (*v != "NULL").then(|| v.to_string())).collect()).collect()
}

/// PyAthena's own set-up: Hive TEXTFILE tables over uploaded `.tsv` and gzip files, read with
/// LazySimpleSerDe's rules, described by GetTableMetadata as Glue describes them.
#[tokio::test]
async fn hive_text_tables_read_as_athena_reads_them() {
    let client = athena();
    let s3 = s3();
    let put = |key: &'static str, body: Vec<u8>| {
        let s3 = s3.clone();
        async move { s3.put_object().bucket("athena-results").key(key).body(body.into()).send().await.unwrap() }
    };
    put("hive-it/na/integer_na_values.tsv", b"1\t2\n1\n\n".to_vec()).await;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, b"true\t\\N\tMTIz\t1\x022\t1\x032\x023\x034\t1\x022\t2017-01-01 00:00:00\n").unwrap();
    put("hive-it/cx/one_row_complex.gz", gz.finish().unwrap()).await;
    ok(&client, "CREATE DATABASE IF NOT EXISTS hive_it").await;
    ok(
        &client,
        "CREATE EXTERNAL TABLE IF NOT EXISTS hive_it.na (a INT COMMENT 'some comment', b INT)\nCOMMENT 'table comment'\n\
         ROW FORMAT DELIMITED FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n' STORED AS TEXTFILE\n\
         LOCATION 's3://athena-results/hive-it/na/'",
    )
    .await;
    assert_eq!(rows_of(&client, "SELECT * FROM hive_it.na").await, texts(&[&["1", "2"], &["1", "NULL"], &["NULL", "NULL"]]));
    ok(
        &client,
        "CREATE EXTERNAL TABLE hive_it.cx (b BOOLEAN, s STRING, bin BINARY, a ARRAY<int>, m MAP<int, int>, st STRUCT<a: int, b: int>, ts TIMESTAMP)\n\
         ROW FORMAT DELIMITED FIELDS TERMINATED BY '\\t' STORED AS TEXTFILE LOCATION 's3://athena-results/hive-it/cx/'",
    )
    .await;
    assert_eq!(
        rows_of(&client, "SELECT * FROM hive_it.cx").await,
        texts(&[&["true", "NULL", "31 32 33", "[1, 2]", "{1=2, 3=4}", "{a=1, b=2}", "2017-01-01 00:00:00.000"]])
    );

    // GetTableMetadata: comment, SerDe, formats, its parameters, location without the slash.
    let t = client.get_table_metadata().catalog_name("AwsDataCatalog").database_name("hive_it").table_name("na").send().await.unwrap();
    let t = t.table_metadata().unwrap();
    let p = t.parameters().unwrap();
    assert_eq!(p.get("comment").map(String::as_str), Some("table comment"));
    assert_eq!(p.get("location").map(String::as_str), Some("s3://athena-results/hive-it/na"));
    assert_eq!(p.get("serde.serialization.lib").map(String::as_str), Some("org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"));
    assert_eq!(p.get("inputformat").map(String::as_str), Some("org.apache.hadoop.mapred.TextInputFormat"));
    assert_eq!(p.get("outputformat").map(String::as_str), Some("org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"));
    assert_eq!(p.get("serde.param.field.delim").map(String::as_str), Some("\t"));
    assert_eq!(p.get("serde.param.serialization.format").map(String::as_str), Some("\t"));
    assert_eq!(t.columns()[0].comment(), Some("some comment"));

    // INSERT writes the table's own format, with columns named (the rest NULL).
    ok(&client, "INSERT INTO hive_it.na (b) VALUES (7)").await;
    assert_eq!(rows_of(&client, "SELECT a, b FROM hive_it.na WHERE b = 7").await, texts(&[&["NULL", "7"]]));
    let show = rows_of(&client, "SHOW CREATE TABLE hive_it.na").await;
    assert_eq!(show[0], vec![Some("CREATE EXTERNAL TABLE `hive_it`.`na`(".to_owned())]);
    assert!(show.iter().any(|r| r[0].as_deref() == Some("  's3://athena-results/hive-it/na'")), "{show:?}");
    // DROP TABLE of an external table keeps its files.
    ok(&client, "DROP TABLE hive_it.na").await;
    let listed = s3.list_objects_v2().bucket("athena-results").prefix("hive-it/na/").send().await.unwrap();
    assert_eq!(listed.contents().len(), 2);
}

#[tokio::test]
async fn partitions_are_registered_repaired_and_shown() {
    let client = athena();
    let s3 = s3();
    for (key, body) in [("hive-parts/b=1/x.tsv", "a\n"), ("hive-parts/b=2/x.tsv", "b\nc\n")] {
        s3.put_object().bucket("athena-results").key(key).body(body.as_bytes().to_vec().into()).send().await.unwrap();
    }
    ok(&client, "CREATE EXTERNAL TABLE parts (a STRING) PARTITIONED BY (b INT) ROW FORMAT DELIMITED FIELDS TERMINATED BY '\\t' LOCATION 's3://athena-results/hive-parts/'").await;
    ok(&client, "MSCK REPAIR TABLE parts").await;
    assert_eq!(rows_of(&client, "SHOW PARTITIONS parts").await, texts(&[&["b=1"], &["b=2"]]));
    assert_eq!(rows_of(&client, "SELECT b, count(*) FROM parts GROUP BY b ORDER BY b").await, texts(&[&["1", "1"], &["2", "2"]]));
    ok(&client, "ALTER TABLE parts ADD IF NOT EXISTS PARTITION (b = 3) LOCATION 's3://athena-results/elsewhere/b3/'").await;
    s3.put_object().bucket("athena-results").key("elsewhere/b3/y.tsv").body(b"z\n".to_vec().into()).send().await.unwrap();
    assert_eq!(rows_of(&client, "SELECT a FROM parts WHERE b = 3").await, texts(&[&["z"]]));
    ok(&client, "ALTER TABLE parts DROP PARTITION (b = 3)").await;
    assert_eq!(rows_of(&client, "SHOW PARTITIONS parts").await, texts(&[&["b=1"], &["b=2"]]));
    let d = rows_of(&client, "DESCRIBE parts").await;
    assert!(d.iter().any(|r| r[0].as_deref() == Some("# Partition Information")), "{d:?}");
}

/// Iceberg tables take DELETE and UPDATE; DROP TABLE removes their data; a table created
/// again does not read the rows of the one dropped.
#[tokio::test]
async fn iceberg_rows_change_and_dropped_tables_leave_nothing_behind() {
    let client = athena();
    ok(&client, "CREATE TABLE ice (id int, v string) PARTITIONED BY (bucket(4, id)) LOCATION 's3://athena-results/ice-it/' TBLPROPERTIES ('table_type'='ICEBERG')").await;
    ok(&client, "INSERT INTO ice VALUES (1, 'a'), (2, 'b'), (3, 'c')").await;
    let q = ok(&client, "DELETE FROM ice WHERE id = 2").await;
    let page = client.get_query_results().query_execution_id(q.query_execution_id().unwrap()).send().await.unwrap();
    assert_eq!(page.update_count(), Some(1));
    ok(&client, "UPDATE ice SET v = 'z' WHERE id = 3").await;
    assert_eq!(rows_of(&client, "SELECT id, v FROM ice ORDER BY id").await, texts(&[&["1", "a"], &["3", "z"]]));
    ok(
        &client,
        "CREATE TABLE ice_src WITH (table_type = 'ICEBERG', location = 's3://athena-results/ice-src/', is_external = false) \
         AS SELECT * FROM (VALUES (1, 'm'), (5, 'n')) AS s (id, v)",
    )
    .await;
    let q = ok(
        &client,
        "MERGE INTO ice AS t1 USING ice_src AS t2 ON t1.id = t2.id WHEN MATCHED THEN UPDATE SET v = t2.v \
         WHEN NOT MATCHED THEN INSERT (id, v) VALUES (t2.id, t2.v)",
    )
    .await;
    let page = client.get_query_results().query_execution_id(q.query_execution_id().unwrap()).send().await.unwrap();
    assert_eq!(page.update_count(), Some(2));
    assert_eq!(rows_of(&client, "SELECT id, v FROM ice ORDER BY id").await, texts(&[&["1", "m"], &["3", "z"], &["5", "n"]]));
    // OPTIMIZE rewrites the table's files as one, keeping its rows.
    let files = || async {
        let listed = s3().list_objects_v2().bucket("athena-results").prefix("ice-it/").send().await.unwrap();
        listed.contents().iter().filter(|o| !o.key().unwrap().ends_with('/')).count()
    };
    ok(&client, "INSERT INTO ice VALUES (7, 'x')").await;
    assert!(files().await > 1, "an INSERT adds a file");
    ok(&client, "OPTIMIZE ice REWRITE DATA USING BIN_PACK").await;
    assert_eq!(files().await, 1);
    assert_eq!(rows_of(&client, "SELECT id, v FROM ice ORDER BY id").await, texts(&[&["1", "m"], &["3", "z"], &["5", "n"], &["7", "x"]]));
    ok(&client, "VACUUM ice").await;
    ok(&client, "DROP TABLE ice").await;
    let listed = s3().list_objects_v2().bucket("athena-results").prefix("ice-it/").send().await.unwrap();
    assert!(listed.contents().is_empty(), "{:?}", listed.contents());
    // A plain Hive table refuses row changes, as Athena does.
    let q = run(&client, "DELETE FROM many_rows WHERE a = 1").await;
    assert_eq!(state(&q), QueryExecutionState::Failed);
    assert!(q.status().unwrap().state_change_reason().unwrap().starts_with("NOT_SUPPORTED"));
    for round in 0..2 {
        ok(&client, "DROP TABLE IF EXISTS again").await;
        ok(&client, &format!("CREATE TABLE again AS SELECT {round} AS r")).await;
        assert_eq!(rows_of(&client, "SELECT r FROM again").await, texts(&[&[&round.to_string()]]));
    }
}

#[tokio::test]
async fn trino_functions_analysts_use() {
    let client = athena();
    let cases: [(&str, &str); 21] = [
        ("date_parse('20191030', '%Y%m%d')", "2019-10-30 00:00:00.000"),
        ("date_format(TIMESTAMP '2019-10-30 01:02:03', '%Y/%m/%d %H:%i:%s')", "2019/10/30 01:02:03"),
        ("contains(ARRAY[1, 2], 2)", "true"),
        ("split('a,b', ',')", "[a, b]"),
        ("CAST('123' AS VARBINARY)", "31 32 33"),
        ("date_add('day', 3, DATE '2020-01-30')", "2020-02-02"),
        ("date_diff('day', TIMESTAMP '2020-01-01 00:00:00', TIMESTAMP '2020-01-03 12:00:00')", "2"),
        ("date_diff('month', DATE '2020-01-31', DATE '2020-03-01')", "2"),
        ("'a_c' LIKE 'a\\_c' ESCAPE '\\'", "true"),
        ("'abc' LIKE 'a\\_c' ESCAPE '\\'", "false"),
        ("regexp_like('abc', 'b+')", "true"),
        ("(SELECT count(*) FROM information_schema.tables WHERE table_schema = 'default' AND table_name = 'one_row')", "1"),
        (
            "(SELECT column_name FROM information_schema.columns WHERE table_schema = 'default' AND table_name = 'one_row')",
            "number_of_rows",
        ),
        ("json_extract_scalar('{\"a\": {\"b\": [1, \"x\"]}}', '$.a.b[1]')", "x"),
        ("json_extract('{\"a\": {\"b\": [1, 2]}}', '$.a.b')", "[1,2]"),
        ("json_array_length('[1, 2, 3]')", "3"),
        ("regexp_extract('abc123def', '[0-9]+')", "123"),
        ("regexp_extract('abc123def', '([a-z]+)([0-9]+)', 2)", "123"),
        ("filter(ARRAY[1, 2, 3], x -> x > 1)", "[2, 3]"),
        ("transform(ARRAY[1, 2], x -> x * 2)", "[2, 4]"),
        ("any_match(ARRAY[1, 2], x -> x > 1)", "true"),
    ];
    for (expr, text) in cases {
        assert_eq!(rows_of(&client, &format!("SELECT {expr}")).await, texts(&[&[text]]), "{expr}");
    }
    let q = run(&client, "SELECT no_such_function(1)").await;
    assert!(q.status().unwrap().state_change_reason().unwrap().starts_with("FUNCTION_NOT_FOUND"), "{:?}", q.status());
}

#[tokio::test]
async fn inserts_into_partitioned_and_json_tables_and_other_trino_forms() {
    let client = athena();
    ok(&client, "CREATE EXTERNAL TABLE pins (a STRING) PARTITIONED BY (b INT) ROW FORMAT DELIMITED FIELDS TERMINATED BY '\\t' LOCATION 's3://athena-results/pins/'").await;
    let q = ok(&client, "INSERT INTO pins (b, a) VALUES (1, 'x'), (2, 'y'), (1, 'z')").await;
    let page = client.get_query_results().query_execution_id(q.query_execution_id().unwrap()).send().await.unwrap();
    assert_eq!(page.update_count(), Some(3));
    assert_eq!(rows_of(&client, "SHOW PARTITIONS pins").await, texts(&[&["b=1"], &["b=2"]]));
    assert_eq!(rows_of(&client, "SELECT a, b FROM pins ORDER BY a").await, texts(&[&["x", "1"], &["y", "2"], &["z", "1"]]));
    let q = ok(&client, "SELECT a FROM pins WHERE b = 2").await;
    assert!(q.statistics().unwrap().data_scanned_in_bytes().unwrap() > 0, "text files read are data scanned");
    ok(&client, "CREATE OR REPLACE VIEW v_pins_all AS SELECT a FROM pins").await;
    let q = ok(&client, "SELECT count(*) FROM v_pins_all").await;
    assert!(q.statistics().unwrap().data_scanned_in_bytes().unwrap() > 0, "and so are those a view reads");

    ok(&client, "CREATE EXTERNAL TABLE js (i INT, ts TIMESTAMP, s STRING) ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' LOCATION 's3://athena-results/js/'").await;
    ok(&client, "INSERT INTO js VALUES (1, TIMESTAMP '2020-01-02 03:04:05.006', 'a'), (NULL, NULL, NULL)").await;
    assert_eq!(
        rows_of(&client, "SELECT * FROM js ORDER BY i").await,
        texts(&[&["1", "2020-01-02 03:04:05.006", "a"], &["NULL", "NULL", "NULL"]])
    );

    // LIKE with another escape character, literal window frame offsets, nested ROW casts.
    assert_eq!(rows_of(&client, "SELECT 'a%c' LIKE 'a#%c' ESCAPE '#', 'abc' LIKE 'a#%c' ESCAPE '#'").await, texts(&[&["true", "false"]]));
    assert_eq!(
        rows_of(&client, "SELECT max(a) OVER (ORDER BY a ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) FROM many_rows WHERE a < 3 ORDER BY a")
            .await,
        texts(&[&["0"], &["1"], &["2"]])
    );
    assert_eq!(
        rows_of(&client, "SELECT CAST(ROW(ROW('x', 1), 2.5) AS ROW(h ROW(s VARCHAR, n INTEGER), v DOUBLE))").await,
        texts(&[&["{h={s=x, n=1}, v=2.5}"]])
    );
    // Trino has no RETURNING.
    let err = client.start_query_execution().query_string("INSERT INTO pins VALUES ('q', 3) RETURNING a").send().await.unwrap_err();
    assert!(format!("{:?}", err.into_service_error()).contains("RETURNING"));
    ok(&client, "CREATE OR REPLACE VIEW v_pins AS SELECT a FROM pins WHERE b = 1").await;
    let view = rows_of(&client, "SHOW CREATE VIEW \"default\".\"v_pins\"").await;
    assert_eq!(view, texts(&[&["CREATE VIEW default.v_pins AS"], &["SELECT a"], &["FROM"], &["  pins"], &["WHERE b = 1"]]));
    // Quoted names of every kind.
    ok(&client, "DROP TABLE `default`.`pins`").await;
}

#[tokio::test]
async fn engine_versions_by_workgroup_and_query() {
    let client = athena();
    let wg = client.get_work_group().work_group("primary").send().await.unwrap().work_group.unwrap();
    let engine = wg.configuration().unwrap().engine_version().unwrap();
    assert_eq!((engine.selected_engine_version(), engine.effective_engine_version()), (Some("AUTO"), Some("Athena engine version 3")));
    // Without an override a query runs on its workgroup's engine, reported as selected AUTO.
    let q = run(&client, "SELECT 1 AS one").await;
    let engine = q.engine_version().unwrap();
    assert_eq!((engine.selected_engine_version(), engine.effective_engine_version()), (Some("AUTO"), Some("Athena engine version 3")));
    // StartQueryExecution's EngineVersion names the engine of one query.
    let v3 = athena_with_engine("Athena engine version 3");
    let id = start(&v3, "SELECT 1 AS one").await;
    let q = wait(&client, &id).await;
    assert_eq!(state(&q), QueryExecutionState::Succeeded, "{:?}", q.status());
    let engine = q.engine_version().unwrap();
    assert_eq!(
        (engine.selected_engine_version(), engine.effective_engine_version()),
        (Some("Athena engine version 3"), Some("Athena engine version 3"))
    );
    // Names are exact; AUTO is no engine of a query.
    for name in ["athena engine version 3", "AUTO", "Trino"] {
        let err = athena_with_engine(name).start_query_execution().query_string("SELECT 1").send().await.unwrap_err();
        let err = err.into_service_error();
        assert_eq!(err.meta().code(), Some("InvalidRequestException"), "{name}: {err:?}");
        assert_eq!(
            err.meta().message(),
            Some(format!("Engine version {name:?} is not available; valid values: \"Athena engine version 3\", \"DuckDB\"").as_str()),
            "{name}"
        );
    }
}
