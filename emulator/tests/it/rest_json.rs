//! The `rest-json` binding of Athena's requests, for the Rust SDK (which sends `awsJson1_1`):
//! [`RestJson`] rebinds each request before it is signed, as botocore 1.44.18 would send it, from
//! AWS's model (the file the endpoint bundles, read here on its own, so that the endpoint's
//! reading of the model is checked against a second one). Answers need no rebinding: both
//! protocols answer a JSON document, and the SDK reads an error's name from `x-amzn-ErrorType`.

use std::io::Read;
use std::sync::OnceLock;

use aws_sdk_athena::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_athena::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_athena::error::BoxError;
use serde_json::{Map, Value};

/// botocore's Athena model (`emulator/model/athena/2017-05-18/service-2.json.gz`).
pub fn aws_model() -> &'static Value {
    static MODEL: OnceLock<Value> = OnceLock::new();
    MODEL.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/model/athena/2017-05-18/service-2.json.gz");
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap()).read_to_string(&mut text).unwrap();
        serde_json::from_str(&text).unwrap()
    })
}

/// Percent-encodes a URI label or query value: everything but the unreserved characters.
pub fn encode(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `(method, path and query, headers, body)` of `operation` called with `input`, bound as the
/// model says.
pub fn bind(operation: &str, mut input: Map<String, Value>) -> (String, String, Vec<(String, String)>, Vec<u8>) {
    let model = aws_model();
    let op = &model["operations"][operation];
    let method = op["http"]["method"].as_str().unwrap().to_owned();
    let mut path = op["http"]["requestUri"].as_str().unwrap().to_owned();
    let (mut query, mut headers) = (Vec::new(), Vec::new());
    let shape = op["input"]["shape"].as_str().map(|s| &model["shapes"][s]);
    for (name, member) in shape.and_then(|s| s["members"].as_object()).into_iter().flatten() {
        let Some(location) = member["location"].as_str() else { continue };
        let Some(value) = input.remove(name) else { continue };
        let wire = member["locationName"].as_str().unwrap_or(name);
        match location {
            "uri" => path = path.replace(&format!("{{{wire}}}"), &encode(&scalar(&value))),
            "querystring" => match &value {
                Value::Array(items) => query.extend(items.iter().map(|i| format!("{wire}={}", encode(&scalar(i))))),
                v => query.push(format!("{wire}={}", encode(&scalar(v)))),
            },
            "header" => headers.push((wire.to_owned(), scalar(&value))),
            other => panic!("location {other}"),
        }
    }
    if !query.is_empty() {
        path = format!("{path}?{}", query.join("&"));
    }
    let has_body = shape.and_then(|s| s["members"].as_object()).is_some_and(|m| m.values().any(|m| m.get("location").is_none()));
    let body = if has_body { serde_json::to_vec(&Value::Object(input)).unwrap() } else { Vec::new() };
    (method, path, headers, body)
}

/// Rebinds an `awsJson1_1` request (`X-Amz-Target`, the input as the JSON body) as `rest-json`.
#[derive(Debug)]
pub struct RestJson;

impl Intercept for RestJson {
    fn name(&self) -> &'static str {
        "RestJson"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        let Some(operation) = request.headers().get("x-amz-target").and_then(|t| t.strip_prefix("AmazonAthena.")).map(str::to_owned) else {
            return Ok(());
        };
        let input = match serde_json::from_slice(request.body().bytes().unwrap_or_default())? {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let (method, path, headers, body) = bind(&operation, input);
        let uri = request.uri().to_owned();
        let origin = match uri.find("://").map(|i| i + 3) {
            Some(start) => &uri[..uri[start..].find('/').map_or(uri.len(), |i| start + i)],
            None => "",
        };
        request.set_uri(format!("{origin}{path}"))?;
        request.set_method(method.as_str())?;
        request.headers_mut().remove("x-amz-target");
        request.headers_mut().insert("content-type", "application/json");
        request.headers_mut().insert("content-length", body.len().to_string());
        for (name, value) in headers {
            request.headers_mut().insert(name, value);
        }
        *request.body_mut() = body.into();
        Ok(())
    }
}
