//! Both of Athena's protocols, as AWS's model binds them: every operation of the model is routed
//! by its method and path (served ones answer, the others answer as an unknown operation), the
//! `awsJson1_1` form of GetQueryResultStream (a guess no model contains) is not answered, errors
//! carry the model's status and `x-amzn-ErrorType`, and services are told apart by what a
//! request is signed for.

use std::sync::{Arc, Mutex};

use aws_sdk_athena::config::interceptors::{AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextMut};
use aws_sdk_athena::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_athena::error::BoxError;
use aws_sdk_athena::types::QueryExecutionState;
use serde_json::{Value, json};

use crate::rest_json::{aws_model, bind};
use crate::*;

/// An answer as it came: status, headers (names in lower case), body.
#[derive(Debug, Clone, Default)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// Replaces the request by `method path` with `headers` and `body` before it is signed for
/// `athena` (`service` when given), and keeps the answer as it came.
#[derive(Debug)]
struct Raw {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    answer: Arc<Mutex<Answer>>,
}

impl Intercept for Raw {
    fn name(&self) -> &'static str {
        "Raw"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        let uri = request.uri().to_owned();
        let origin = uri.trim_end_matches('/').to_owned();
        request.set_uri(format!("{origin}{}", self.path))?;
        request.set_method(self.method.as_str())?;
        request.headers_mut().remove("x-amz-target");
        request.headers_mut().insert("content-length", self.body.len().to_string());
        for (k, v) in &self.headers {
            request.headers_mut().insert(k.clone(), v.clone());
        }
        *request.body_mut() = self.body.clone().into();
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        let mut answer = self.answer.lock().unwrap();
        answer.status = response.status().as_u16();
        answer.headers = response.headers().iter().map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned())).collect();
        answer.body = response.body().bytes().map(<[u8]>::to_vec).unwrap_or_default();
        Ok(())
    }
}

/// Sends `method path` (headers, body) to the shared endpoint, signed for `athena`.
async fn raw(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    let answer = Arc::new(Mutex::new(Answer::default()));
    let raw = Raw {
        method: method.to_owned(),
        path: path.to_owned(),
        headers: headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        body: body.to_vec(),
        answer: answer.clone(),
    };
    // The carrier operation's own parsing of the answer does not matter: the answer is kept.
    let _ = athena_json()
        .list_work_groups()
        .customize()
        .config_override(aws_sdk_athena::config::Config::builder().retry_config(aws_sdk_athena::config::retry::RetryConfig::disabled()))
        .interceptor(raw)
        .send()
        .await;
    answer.lock().unwrap().clone()
}

/// A DuckDB query that succeeded, its results managed (the Arrow stream is offered).
async fn duckdb_query(sql: &str) -> String {
    let client = athena();
    let id = client.start_query_execution().query_string(sql).work_group("duckdb").send().await.unwrap().query_execution_id.unwrap();
    assert_eq!(state(&wait(&client, &id).await), QueryExecutionState::Succeeded);
    id
}

#[tokio::test]
async fn every_operation_of_the_model_is_routed_by_its_method_and_path() {
    let model = aws_model();
    let served = ["StartQueryExecution", "GetQueryExecution", "GetQueryRuntimeStatistics", "BatchGetQueryExecution"];
    let mut unknown = Vec::new();
    for (name, op) in model["operations"].as_object().unwrap() {
        // Labels get a value that needs percent-encoding, which the signature covers twice.
        let shape = &model["shapes"][op["input"]["shape"].as_str().unwrap()];
        let mut input = serde_json::Map::new();
        for (member, def) in shape["members"].as_object().unwrap() {
            if def["location"] == "uri" {
                input.insert(member.clone(), json!("no such/thing:1"));
            }
        }
        let (method, path, headers, body) = bind(name, input);
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let answer = raw(&method, &path, &headers, &body).await;
        let error_type = answer.header("x-amzn-errortype").unwrap_or_default().to_owned();
        assert_ne!(answer.status, 403, "{name}: {method} {path} was not accepted as signed: {}", String::from_utf8_lossy(&answer.body));
        assert!(!error_type.starts_with("InvalidSignature"), "{name}: {}", String::from_utf8_lossy(&answer.body));
        if error_type == "UnknownOperationException" {
            assert_eq!(answer.status, 404, "{name}");
            unknown.push(name.clone());
        } else {
            assert_ne!(answer.status, 404, "{name}: {}", String::from_utf8_lossy(&answer.body));
        }
    }
    // What the endpoint serves (the served list of its README), and nothing else.
    let mut expected: Vec<String> = model["operations"].as_object().unwrap().keys().cloned().collect();
    let serving = [
        "StartQueryExecution",
        "GetQueryExecution",
        "GetQueryRuntimeStatistics",
        "BatchGetQueryExecution",
        "ListQueryExecutions",
        "StopQueryExecution",
        "GetQueryResults",
        "GetQueryResultStream",
        "GetWorkGroup",
        "ListWorkGroups",
        "CreateWorkGroup",
        "UpdateWorkGroup",
        "DeleteWorkGroup",
        "ListEngineVersions",
        "GetDataCatalog",
        "ListDataCatalogs",
        "ListDatabases",
        "GetDatabase",
        "ListTableMetadata",
        "GetTableMetadata",
    ];
    expected.retain(|n| !serving.contains(&n.as_str()));
    assert_eq!(unknown, expected);
    assert!(served.iter().all(|s| !unknown.iter().any(|u| u == s)));
    // Paths that no operation has, in either method.
    for (method, path) in [("GET", "/no-such-resource"), ("PUT", "/query-executions"), ("GET", "/athena-results")] {
        let answer = raw(method, path, &[], b"").await;
        assert_eq!((answer.status, answer.header("x-amzn-errortype")), (404, Some("UnknownOperationException")), "{method} {path}");
    }
}

#[tokio::test]
async fn the_guessed_json_shape_of_the_result_stream_is_not_answered() {
    let id = duckdb_query("SELECT 42 AS x").await;
    let body = serde_json::to_vec(&json!({ "QueryExecutionId": id })).unwrap();
    let target = [("x-amz-target", "AmazonAthena.GetQueryResultStream"), ("content-type", "application/x-amz-json-1.1")];
    let answer = raw("POST", "/", &target, &body).await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.json()["__type"], "UnknownOperationException");
    // An unknown target too; a known one answers.
    let answer = raw("POST", "/", &[("x-amz-target", "AmazonAthena.NoSuchThing")], b"{}").await;
    assert_eq!((answer.status, answer.json()["__type"].as_str()), (404, Some("UnknownOperationException")));
    let answer = raw("POST", "/", &[("x-amz-target", "AmazonAthena.GetQueryExecution")], &body).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["QueryExecution"]["QueryExecutionId"], id.as_str());
}

#[tokio::test]
async fn the_result_stream_as_the_model_binds_it() {
    let id = duckdb_query("SELECT x AS i, 'row ' || x AS s FROM range(1000) t(x)").await;
    let path = format!("/query-executions/{id}/result-stream");
    let whole = raw("GET", &path, &[], b"").await;
    assert_eq!(whole.status, 200);
    assert_eq!(whole.header("content-type"), Some("application/vnd.apache.arrow.stream"));
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
    let total = whole.body.len();
    assert!(total > 1000);
    let part = raw("GET", &path, &[("range", "bytes=100-199")], b"").await;
    assert_eq!(part.status, 206);
    assert_eq!(part.header("content-range"), Some(format!("bytes 100-199/{total}").as_str()));
    assert_eq!(part.body, whole.body[100..200]);
    let tail = raw("GET", &path, &[("range", "bytes=200-")], b"").await;
    assert_eq!((tail.status, &tail.body[..]), (206, &whole.body[200..]));
    let past = raw("GET", &path, &[("range", &format!("bytes={total}-"))], b"").await;
    assert_eq!(past.status, 416);
    assert_eq!(past.header("x-amzn-errortype"), Some("RangeNotSatisfiableException"));
    assert_eq!(past.header("content-range"), Some(format!("bytes */{total}").as_str()));
    assert!(past.json()["Message"].as_str().unwrap().contains("starts past the end"));
    let bad = raw("GET", &path, &[("range", "bytes=-5")], b"").await;
    assert_eq!((bad.status, bad.header("x-amzn-errortype")), (400, Some("InvalidRequestException")));
    // Engine 3 results are not streamed.
    let v3 = run(&athena(), "SELECT 1").await;
    let refused = raw("GET", &format!("/query-executions/{}/result-stream", v3.query_execution_id().unwrap()), &[], b"").await;
    assert_eq!((refused.status, refused.header("x-amzn-errortype")), (400, Some("InvalidRequestException")));
    assert_eq!(refused.json()["AthenaErrorCode"], "INVALID_INPUT");
    assert!(
        refused.json()["Message"]
            .as_str()
            .unwrap()
            .starts_with("GetQueryResultStream is only available for queries run on the DuckDB engine")
    );
}

#[tokio::test]
async fn rest_json_errors_carry_the_model_status_type_and_body() {
    let answer = raw("GET", "/query-executions/not-a-query", &[], b"").await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.header("x-amzn-errortype"), Some("InvalidRequestException"));
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert_eq!(answer.json()["AthenaErrorCode"], "INVALID_INPUT");
    assert!(answer.json()["Message"].as_str().unwrap().contains("not-a-query"));
    // A member bound to the query string with a value of another type.
    let answer = raw("GET", "/query-executions/q/results?MaxResults=many", &[], b"").await;
    assert_eq!((answer.status, answer.header("x-amzn-errortype")), (400, Some("SerializationException")));
    // The SDK reads the same error from either protocol.
    for client in [athena(), athena_json()] {
        let e = client.get_query_execution().query_execution_id("not-a-query").send().await.unwrap_err().into_service_error();
        let aws_sdk_athena::operation::get_query_execution::GetQueryExecutionError::InvalidRequestException(e) = e else {
            panic!("{e:?}");
        };
        assert_eq!(e.athena_error_code(), Some("INVALID_INPUT"));
    }
}

#[tokio::test]
async fn services_are_told_apart_by_what_a_request_is_signed_for() {
    // A rest-json path signed for S3 is an S3 request (for a bucket that does not exist) ...
    let e = s3().list_objects_v2().bucket("query-executions").send().await.unwrap_err().into_service_error();
    assert!(e.is_no_such_bucket(), "{e:?}");
    // ... and a bucket's path signed for Athena is an Athena request.
    let answer = raw("GET", "/athena-results", &[], b"").await;
    assert_eq!(answer.header("x-amzn-errortype"), Some("UnknownOperationException"));
    // A service the endpoint does not serve (routing reads the scope before any signature check).
    let addr = shared().endpoint.trim_start_matches("http://").to_owned();
    let answer = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut tcp = std::net::TcpStream::connect(addr).unwrap();
        let request = "GET / HTTP/1.1\r\nhost: x\r\nx-amz-date: 20261207T000000Z\r\nconnection: close\r\nauthorization: AWS4-HMAC-SHA256 Credential=test/20261207/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=00\r\n\r\n";
        tcp.write_all(request.as_bytes()).unwrap();
        let mut out = String::new();
        tcp.read_to_string(&mut out).unwrap();
        out
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("a service this endpoint serves (athena, kms, s3, sso-oauth, sts), not 'dynamodb'"), "{answer}");
}

#[tokio::test]
async fn a_query_round_trip_in_each_protocol() {
    for client in [athena(), athena_json()] {
        let q = run(&client, "SELECT 'a' AS x UNION ALL SELECT NULL").await;
        assert_eq!(state(&q), QueryExecutionState::Succeeded);
        let id = q.query_execution_id().unwrap();
        let page = client.get_query_results().query_execution_id(id).max_results(2).send().await.unwrap();
        let rows: Vec<Vec<Option<String>>> = page
            .result_set()
            .unwrap()
            .rows()
            .iter()
            .map(|r| r.data().iter().map(|d| d.var_char_value().map(str::to_owned)).collect())
            .collect();
        assert_eq!(rows[0], vec![Some("x".to_owned())]);
        let token = page.next_token().expect("a second page").to_owned();
        let next = client.get_query_results().query_execution_id(id).next_token(token).max_results(2).send().await.unwrap();
        assert_eq!(next.result_set().unwrap().rows().len(), 1);
        let listed = client.list_query_executions().max_results(50).send().await.unwrap();
        assert!(!listed.query_execution_ids().is_empty());
        let tables =
            client.list_table_metadata().catalog_name("AwsDataCatalog").database_name("default").max_results(3).send().await.unwrap();
        assert_eq!(tables.table_metadata_list().len(), 3);
        assert!(tables.next_token().is_some());
    }
}
