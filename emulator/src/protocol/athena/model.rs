//! Athena's API as AWS models it: the route table of the `rest-json` protocol, read from the
//! service model that the AWS SDK for Python ships (`emulator/model/athena/2017-05-18/
//! service-2.json.gz`, botocore's file, byte for byte; `emulator/model/README.md` says which
//! version). Nothing here is typed by hand: methods, paths, which input member travels in the
//! path, the query string, a header or the JSON body, and each error's HTTP status all come from
//! the model, so that a new model is a new file, not new code.
//!
//! The endpoint serves a subset of the operations ([`SERVED`]); the others are known to the
//! router (a request for them is recognised) and answered as Athena answers an operation it does
//! not know.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::LazyLock;

use serde_json::{Map, Value};

/// botocore's Athena model, gzip-compressed as in its wheel.
const MODEL_GZ: &[u8] = include_bytes!("../../../model/athena/2017-05-18/service-2.json.gz");

/// The operations this endpoint implements, in both protocols (GetQueryResultStream only in
/// `rest-json`: see [`Operation::http_bound_output`]).
pub const SERVED: &[&str] = &[
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

/// Where an input member travels in a `rest-json` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A `{label}` of the path.
    Uri(String),
    /// A query-string parameter of this name.
    QueryString(String),
    /// A header of this name.
    Header(String),
    /// A member of the JSON body.
    Body,
}

/// The scalar kind of a member's shape, for turning path, query and header text into JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Integer,
    Boolean,
    /// A list of strings (a repeated query parameter).
    List,
    Other,
}

/// One input member bound outside the JSON body, or in it.
#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    pub location: Location,
    pub kind: Kind,
}

/// One segment of a request path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Literal(String),
    /// `{Name}`: one whole segment, percent-decoded.
    Label(String),
}

/// One operation of the model.
#[derive(Debug, Clone)]
pub struct Operation {
    pub name: String,
    pub method: http::Method,
    pub segments: Vec<Segment>,
    pub members: Vec<Member>,
    /// Output members bound to response headers: (member, header name).
    pub output_headers: Vec<(String, String)>,
    /// The output member that is the whole response body, when the model names one.
    pub output_payload: Option<String>,
    /// The success status (`responseCode`, 200 when the model gives none).
    pub success: u16,
}

impl Operation {
    /// Whether the output is bound to HTTP itself (a payload or headers): such an operation has
    /// no shape in `awsJson1_1`, whose answers are a JSON document and nothing else.
    pub fn http_bound_output(&self) -> bool {
        self.output_payload.is_some() || !self.output_headers.is_empty()
    }

    /// Whether this endpoint implements it.
    pub fn served(&self) -> bool {
        SERVED.contains(&self.name.as_str())
    }
}

/// The whole model: operations by name and the status of every error shape.
#[derive(Debug)]
pub struct Model {
    pub operations: BTreeMap<String, Operation>,
    /// Error shape name -> its HTTP status (`error.httpStatusCode`, else 500 for a fault, else 400).
    pub error_status: BTreeMap<String, u16>,
}

/// The model compiled into the endpoint.
pub fn model() -> &'static Model {
    static MODEL: LazyLock<Model> = LazyLock::new(|| {
        let mut text = String::new();
        flate2::read::GzDecoder::new(MODEL_GZ).read_to_string(&mut text).expect("the bundled model is gzip-compressed UTF-8");
        Model::parse(&serde_json::from_str(&text).expect("the bundled model is JSON")).expect("the bundled model is a service model")
    });
    &MODEL
}

/// Why a model could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("service model: {0}")]
pub struct ModelError(String);

fn field<'a>(v: &'a Value, name: &str, context: &str) -> Result<&'a Value, ModelError> {
    v.get(name).ok_or_else(|| ModelError(format!("{context} has no {name:?}")))
}

fn text<'a>(v: &'a Value, name: &str, context: &str) -> Result<&'a str, ModelError> {
    field(v, name, context)?.as_str().ok_or_else(|| ModelError(format!("{context}: {name:?} is not a string")))
}

fn kind_of(shapes: &Map<String, Value>, shape: &str) -> Kind {
    match shapes.get(shape).and_then(|s| s.get("type")).and_then(Value::as_str) {
        Some("string") => Kind::String,
        Some("integer" | "long") => Kind::Integer,
        Some("boolean") => Kind::Boolean,
        Some("list") => Kind::List,
        _ => Kind::Other,
    }
}

fn segments(uri: &str) -> Result<Vec<Segment>, ModelError> {
    let path = uri.split('?').next().unwrap_or(uri);
    path.split('/')
        .skip(1)
        .filter(|s| !s.is_empty())
        .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(label) if label.ends_with('+') => Err(ModelError(format!("greedy label in {uri:?} (not used by Athena's model)"))),
            Some(label) => Ok(Segment::Label(label.to_owned())),
            None => Ok(Segment::Literal(s.to_owned())),
        })
        .collect()
}

impl Model {
    /// Reads a botocore `service-2.json` document.
    ///
    /// # Errors
    /// When a part the routes need is missing or of another type.
    pub fn parse(doc: &Value) -> Result<Self, ModelError> {
        let protocol = text(field(doc, "metadata", "the model")?, "protocol", "metadata")?;
        if protocol != "rest-json" {
            return Err(ModelError(format!("protocol {protocol:?}: the routes come from a rest-json model")));
        }
        let shapes = field(doc, "shapes", "the model")?.as_object().ok_or_else(|| ModelError("shapes is not an object".into()))?;
        let mut error_status = BTreeMap::new();
        for (name, shape) in shapes {
            if shape.get("exception").and_then(Value::as_bool) == Some(true) {
                let status = shape.pointer("/error/httpStatusCode").and_then(Value::as_u64).map(|s| s as u16);
                let fault = shape.get("fault").and_then(Value::as_bool) == Some(true);
                error_status.insert(name.clone(), status.unwrap_or(if fault { 500 } else { 400 }));
            }
        }
        let mut operations = BTreeMap::new();
        let ops = field(doc, "operations", "the model")?.as_object().ok_or_else(|| ModelError("operations is not an object".into()))?;
        for (name, op) in ops {
            let http_def = field(op, "http", name)?;
            let method: http::Method =
                text(http_def, "method", name)?.parse().map_err(|_| ModelError(format!("{name}: unknown HTTP method")))?;
            let request_uri = text(http_def, "requestUri", name)?;
            let success = http_def.get("responseCode").and_then(Value::as_u64).map_or(200, |c| c as u16);
            let mut members = Vec::new();
            if let Some(input) = op.pointer("/input/shape").and_then(Value::as_str) {
                let shape = shapes.get(input).ok_or_else(|| ModelError(format!("{name}: no shape {input}")))?;
                if shape.get("payload").is_some() {
                    return Err(ModelError(format!("{name}: an input payload member (not used by Athena's model)")));
                }
                for (member, def) in shape.get("members").and_then(Value::as_object).into_iter().flatten() {
                    let location_name = def.get("locationName").and_then(Value::as_str).unwrap_or(member).to_owned();
                    let location = match def.get("location").and_then(Value::as_str) {
                        None => Location::Body,
                        Some("uri") => Location::Uri(location_name),
                        Some("querystring") => Location::QueryString(location_name),
                        Some("header") => Location::Header(location_name),
                        Some(other) => return Err(ModelError(format!("{name}.{member}: location {other:?}"))),
                    };
                    let kind = kind_of(shapes, def.get("shape").and_then(Value::as_str).unwrap_or_default());
                    members.push(Member { name: member.clone(), location, kind });
                }
            }
            let (mut output_headers, mut output_payload) = (Vec::new(), None);
            if let Some(output) = op.pointer("/output/shape").and_then(Value::as_str) {
                let shape = shapes.get(output).ok_or_else(|| ModelError(format!("{name}: no shape {output}")))?;
                output_payload = shape.get("payload").and_then(Value::as_str).map(str::to_owned);
                for (member, def) in shape.get("members").and_then(Value::as_object).into_iter().flatten() {
                    if def.get("location").and_then(Value::as_str) == Some("header") {
                        let header = def.get("locationName").and_then(Value::as_str).unwrap_or(member);
                        output_headers.push((member.clone(), header.to_owned()));
                    }
                }
            }
            let segments = segments(request_uri)?;
            operations
                .insert(name.clone(), Operation { name: name.clone(), method, segments, members, output_headers, output_payload, success });
        }
        Ok(Self { operations, error_status })
    }

    /// The operation a `rest-json` request names, with its path labels percent-decoded: the
    /// route whose method matches and whose template matches the path segment by segment, the
    /// one with most literal segments when several do.
    pub fn route(&self, method: &http::Method, path: &str) -> Option<(&Operation, Vec<(String, String)>)> {
        let parts: Vec<&str> = path.split('/').skip(1).filter(|s| !s.is_empty()).collect();
        let mut best: Option<(&Operation, Vec<(String, String)>, usize)> = None;
        for op in self.operations.values().filter(|op| op.method == *method && op.segments.len() == parts.len()) {
            let mut labels = Vec::new();
            let literals = op.segments.iter().filter(|s| matches!(s, Segment::Literal(_))).count();
            let matched = op.segments.iter().zip(&parts).all(|(segment, part)| match segment {
                Segment::Literal(l) => l == part,
                Segment::Label(name) => {
                    let value = percent_encoding::percent_decode_str(part).decode_utf8_lossy().into_owned();
                    labels.push((name.clone(), value));
                    !part.is_empty()
                }
            });
            if matched && best.as_ref().is_none_or(|(_, _, l)| literals > *l) {
                best = Some((op, labels, literals));
            }
        }
        best.map(|(op, labels, _)| (op, labels))
    }

    /// The HTTP status of an error shape: the model's when it models it, else `fallback`.
    pub fn error_status(&self, error: &str, fallback: u16) -> u16 {
        self.error_status.get(error).copied().unwrap_or(fallback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_model_is_rest_json_and_routes_its_operations() {
        let m = model();
        assert_eq!(m.operations.len(), 76);
        let (op, labels) = m.route(&http::Method::GET, "/query-executions/abc-1/results").unwrap();
        assert_eq!(op.name, "GetQueryResults");
        assert_eq!(labels, vec![("QueryExecutionId".to_owned(), "abc-1".to_owned())]);
        let (op, _) = m.route(&http::Method::POST, "/query-executions").unwrap();
        assert_eq!(op.name, "StartQueryExecution");
        let (op, labels) = m.route(&http::Method::GET, "/tags/arn%3Aaws%3Aathena%3Aus-east-1%3A1%3Aworkgroup%2Fwg").unwrap();
        assert_eq!(op.name, "ListTagsForResource");
        assert_eq!(labels[0].1, "arn:aws:athena:us-east-1:1:workgroup/wg");
        assert!(m.route(&http::Method::PUT, "/query-executions").is_none());
        assert!(m.route(&http::Method::GET, "/query-executions/a/b/c").is_none());
        let stream = &m.operations["GetQueryResultStream"];
        assert!(stream.http_bound_output() && stream.served());
        assert_eq!(m.error_status("RangeNotSatisfiableException", 400), 416);
        assert_eq!(m.error_status("InternalServerException", 400), 500);
        assert_eq!(m.error_status("ThrottlingException", 400), 400);
        for name in SERVED {
            assert!(m.operations.contains_key(*name), "{name} is not in the model");
        }
    }
}
