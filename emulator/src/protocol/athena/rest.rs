//! Athena's `rest-json` protocol (what botocore 1.44.18 and later send): a request's operation
//! is found by its method and path in the model's route table, its input document is assembled
//! from the path labels, query string, headers and JSON body exactly as the model binds each
//! member, and answers go back as the model binds the output: the success status, a JSON body,
//! and errors with the error shape's status, `x-amzn-ErrorType` and `{"Message", ...}`.

use bytes::Bytes;
use http::Response;
use s3s::Body;
use serde_json::{Map, Value};

use crate::protocol::athena::ApiError;
use crate::protocol::athena::model::{Kind, Location, Operation, model};

/// The media type of `rest-json` bodies.
const JSON: &str = "application/json";

/// The answer to a request for an operation the endpoint does not know. A Smithy-based AWS
/// service answers a request that no operation claims with `UnknownOperationException` and HTTP
/// 404 (smithy-lang/smithy#1368, an AWS engineer's answer), in either protocol.
pub fn unknown_operation(what: &str) -> ApiError {
    ApiError { status: 404, aws_type: "UnknownOperationException", athena_code: None, message: what.to_owned() }
}

fn serialization(message: String) -> ApiError {
    ApiError { status: 400, aws_type: "SerializationException", athena_code: None, message }
}

/// Text from the path, query string or a header as the JSON value of a member of `kind`.
fn typed(member: &str, kind: Kind, text: &str) -> Result<Value, ApiError> {
    match kind {
        Kind::Integer => {
            text.parse::<i64>().map(Value::from).map_err(|_| serialization(format!("Value {text:?} of {member} is not an integer")))
        }
        Kind::Boolean => match text {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(serialization(format!("Value {text:?} of {member} is not a boolean"))),
        },
        _ => Ok(Value::String(text.to_owned())),
    }
}

/// The operation a `rest-json` request calls and its input document.
///
/// # Errors
/// `UnknownOperationException` (404) when no operation of the model matches the method and path
/// or the endpoint does not serve it; `SerializationException` (400) for a body that is not a
/// JSON object or a bound value of the wrong type.
pub fn decode(parts: &http::request::Parts, body: &[u8]) -> Result<(&'static Operation, Value), ApiError> {
    let path = parts.uri.path();
    let Some((op, labels)) = model().route(&parts.method, path) else {
        return Err(unknown_operation(&format!("No operation of Athena's API is {} {path}", parts.method)));
    };
    if !op.served() {
        return Err(unknown_operation(&format!("Operation {} is not served by this endpoint", op.name)));
    }
    let mut document = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(serialization("The request body is not a JSON object".into())),
            Err(e) => return Err(serialization(e.to_string())),
        }
    };
    // Only body members come from the body: a member the model binds elsewhere is taken from
    // there, whatever the body says.
    document.retain(|name, _| op.members.iter().any(|m| m.name == *name && m.location == Location::Body));
    let pairs = crate::protocol::url_pairs(parts.uri.query().unwrap_or(""), false);
    for member in &op.members {
        let value = match &member.location {
            Location::Body => continue,
            Location::Uri(label) => match labels.iter().find(|(l, _)| l == label) {
                Some((_, v)) => typed(&member.name, member.kind, v)?,
                None => continue,
            },
            Location::QueryString(key) => {
                let values: Vec<&str> = pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect();
                match (member.kind, values.as_slice()) {
                    (_, []) => continue,
                    (Kind::List, values) => Value::from(values.iter().map(|v| Value::from(*v)).collect::<Vec<_>>()),
                    (kind, [one]) => typed(&member.name, kind, one)?,
                    (_, _) => return Err(serialization(format!("{key} is given {} times", values.len()))),
                }
            }
            Location::Header(name) => match parts.headers.get(name.as_str()).map(|v| v.to_str()) {
                Some(Ok(v)) => typed(&member.name, member.kind, v)?,
                Some(Err(_)) => return Err(serialization(format!("Header {name} is not ASCII"))),
                None => continue,
            },
        };
        document.insert(member.name.clone(), value);
    }
    Ok((op, Value::Object(document)))
}

fn response(status: u16, body: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", JSON)
        .header("x-amzn-RequestId", uuid::Uuid::new_v4().to_string())
        .body(Body::from(Bytes::from(serde_json::to_vec(body).expect("serialisable"))))
        .expect("valid response")
}

/// A successful answer: `output`'s header-bound members as headers, the rest as the JSON body.
pub fn output(op: &Operation, mut output: Value) -> Response<Body> {
    let mut headers = Vec::new();
    if let Value::Object(map) = &mut output {
        for (member, header) in &op.output_headers {
            if let Some(Value::String(v)) = map.remove(member) {
                headers.push((header.clone(), v));
            }
        }
    }
    let mut resp = response(op.success, &output);
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (http::HeaderName::try_from(name), http::HeaderValue::try_from(value)) {
            resp.headers_mut().insert(name, value);
        }
    }
    resp
}

/// An error answer: the model's status for a modelled error shape (else the error's own), the
/// shape's name in `x-amzn-ErrorType`, and `Message` (and `AthenaErrorCode` where Athena gives
/// one) in the JSON body.
pub fn error(e: &ApiError) -> Response<Body> {
    let mut body = serde_json::json!({ "Message": e.message });
    if let Some(code) = e.athena_code {
        body["AthenaErrorCode"] = Value::from(code);
    }
    let mut resp = response(model().error_status(e.aws_type, e.status), &body);
    resp.headers_mut().insert("x-amzn-ErrorType", http::HeaderValue::from_static(e.aws_type));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(method: &str, uri: &str, headers: &[(&str, &str)]) -> http::request::Parts {
        let mut req = http::Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.body(()).unwrap().into_parts().0
    }

    #[test]
    fn members_come_from_where_the_model_binds_them() {
        let p = parts("GET", "/query-executions/q%201/results?MaxResults=5&NextToken=a%2Bb", &[]);
        let (op, input) = decode(&p, b"").unwrap();
        assert_eq!(op.name, "GetQueryResults");
        assert_eq!(input, serde_json::json!({"QueryExecutionId": "q 1", "MaxResults": 5, "NextToken": "a+b"}));
        let p = parts("GET", "/query-executions/q1/result-stream", &[("range", "bytes=0-9")]);
        assert_eq!(decode(&p, b"").unwrap().1, serde_json::json!({"QueryExecutionId": "q1", "Range": "bytes=0-9"}));
        // The body never overrides a member bound to the path.
        let p = parts("POST", "/query-executions/q1/stop", &[]);
        assert_eq!(decode(&p, br#"{"QueryExecutionId":"other"}"#).unwrap().1, serde_json::json!({"QueryExecutionId": "q1"}));
        let p = parts("POST", "/query-executions", &[]);
        let (op, input) = decode(&p, br#"{"QueryString":"SELECT 1","WorkGroup":"primary"}"#).unwrap();
        assert_eq!((op.name.as_str(), input["QueryString"].as_str()), ("StartQueryExecution", Some("SELECT 1")));
        let p = parts("DELETE", "/workgroups/wg?RecursiveDeleteOption=true", &[]);
        assert_eq!(decode(&p, b"").unwrap().1, serde_json::json!({"WorkGroup": "wg", "RecursiveDeleteOption": true}));
        let p = parts("GET", "/data-catalogs/AwsDataCatalog/databases?AttributesToGet=a&AttributesToGet=b", &[]);
        assert_eq!(decode(&p, b"").unwrap().1["AttributesToGet"], serde_json::json!(["a", "b"]));
    }

    #[test]
    fn refusals() {
        let unknown = |m: &str, u: &str| decode(&parts(m, u, &[]), b"").unwrap_err();
        let e = unknown("GET", "/no-such-thing");
        assert_eq!((e.status, e.aws_type), (404, "UnknownOperationException"));
        let e = unknown("POST", "/workgroups/wg/notebooks");
        assert_eq!(
            (e.status, e.aws_type, e.message.as_str()),
            (404, "UnknownOperationException", "Operation CreateNotebook is not served by this endpoint")
        );
        let e = decode(&parts("GET", "/query-executions/q/results?MaxResults=ten", &[]), b"").unwrap_err();
        assert_eq!((e.status, e.aws_type), (400, "SerializationException"));
        let e = decode(&parts("POST", "/query-executions", &[]), b"[1]").unwrap_err();
        assert_eq!(e.aws_type, "SerializationException");
    }

    #[test]
    fn errors_take_the_model_status() {
        let e = ApiError { status: 400, aws_type: "RangeNotSatisfiableException", athena_code: None, message: "past the end".into() };
        let r = error(&e);
        assert_eq!(r.status(), 416);
        assert_eq!(r.headers()["x-amzn-ErrorType"], "RangeNotSatisfiableException");
        let r = error(&ApiError::invalid("INVALID_INPUT", "bad"));
        assert_eq!(r.status(), 400);
    }
}
