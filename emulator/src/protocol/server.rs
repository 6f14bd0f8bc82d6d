//! One loopback port, three services told apart by what a request is signed for: Athena (in
//! `awsJson1_1` and `rest-json`, verified here), STS (verified here) and S3 (the s3s service,
//! which verifies S3's SigV4 itself).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use s3s::Body;
use s3s::service::S3Service;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::protocol::athena::{ApiError, Athena};
use crate::protocol::auth::{Keys, verify_sigv4};
use crate::protocol::identity_center::IdentityContext as Identity;

/// Largest JSON request body accepted (Athena's query text limit is 256 KiB).
const MAX_JSON_BODY: usize = 1 << 20;

pub struct Router {
    pub athena: Arc<Athena>,
    pub realism: Arc<crate::config::Realism>,
    pub s3: S3Service,
    pub keys: Keys,
    pub region: String,
    pub counters: Arc<S3Counters>,
    /// Where each successful S3 GET (`GET <path> <range or -> <body bytes>`) and each Athena call
    /// (`ATHENA <Operation> <input JSON>`) is recorded, when asked for.
    pub request_log: Option<std::sync::Mutex<std::fs::File>>,
    /// The OpenID Connect providers STS trusts for AssumeRoleWithWebIdentity.
    pub oidc_providers: Vec<crate::protocol::oidc::OidcProvider>,
    /// KMS keys (GenerateDataKey, Decrypt).
    pub kms: crate::formats::kms::Kms,
    /// Identity Center applications (CreateTokenWithIAM) and the identity contexts they vouch for.
    pub idc: Arc<crate::protocol::identity_center::IdentityCenter>,
}

/// S3 requests received, by method (tests and benchmarks count round trips with them).
#[derive(Debug, Default)]
pub struct S3Counters {
    pub get: std::sync::atomic::AtomicU64,
    /// Body bytes of successful GETs (Content-Length): what clients downloaded.
    pub get_bytes: std::sync::atomic::AtomicU64,
    pub head: std::sync::atomic::AtomicU64,
    pub other: std::sync::atomic::AtomicU64,
}

fn json_response(status: u16, body: &serde_json::Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amzn-RequestId", uuid::Uuid::new_v4().to_string())
        .body(Body::from(Bytes::from(serde_json::to_vec(body).expect("serialisable"))))
        .expect("valid response")
}

fn api_error(e: &ApiError) -> Response<Body> {
    let mut resp = json_response(e.status, &e.body());
    if let Ok(v) = e.aws_type.parse() {
        resp.headers_mut().insert("x-amzn-ErrorType", v);
    }
    resp
}

impl Router {
    /// Routes a request by the service it is signed for (the credential scope's service): Athena
    /// (either protocol), STS or S3; never by the shape of its path. An unsigned request has no
    /// scope: with `X-Amz-Target` it is an Athena JSON call (refused for want of a signature), a
    /// form-encoded POST to `/` is an STS call, anything else goes to S3 (anonymous requests are
    /// S3's to refuse).
    pub async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Result<Response<Body>, ConnectionReset> {
        let service = crate::protocol::auth::signed_service(req.headers(), req.uri());
        let service = service.as_deref().unwrap_or_else(|| {
            if req.headers().contains_key("x-amz-target") {
                "athena"
            } else if crate::protocol::sts::is_sts_request(&req) {
                "sts"
            } else {
                "s3"
            }
        });
        Ok(match service {
            "athena" => self.athena_call(req).await,
            "sts" => self.sts_call(req).await,
            "kms" => self.kms_call(req).await,
            "sso-oauth" => self.sso_call(req).await,
            "s3" if req.method() == http::Method::GET && self.realism.roll(self.realism.fault_reset_rate) => return Err(ConnectionReset),
            "s3" => self.s3_call(req).await,
            other => api_error(&ApiError {
                status: 400,
                aws_type: "InvalidSignatureException",
                athena_code: None,
                message: format!(
                    "Credential should be scoped to a service this endpoint serves (athena, kms, s3, sso-oauth, sts), not '{other}'."
                ),
            }),
        })
    }

    async fn s3_call(&self, req: Request<Incoming>) -> Response<Body> {
        let counter = match *req.method() {
            http::Method::GET => &self.counters.get,
            http::Method::HEAD => &self.counters.head,
            _ => &self.counters.other,
        };
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Err((status, code, message)) =
            self.keys.s3_precheck(req.headers(), req.uri()).and_then(|()| crate::protocol::s3::check_request_path(req.uri().path()))
        {
            return crate::protocol::s3::error_response(status, code, &message);
        }
        let is_get = req.method() == http::Method::GET;
        let logged = (is_get && self.request_log.is_some()).then(|| {
            let range = req.headers().get(http::header::RANGE).and_then(|v| v.to_str().ok()).unwrap_or("-").to_owned();
            format!("GET {} {range}", req.uri().path())
        });
        match self.s3.call(req.map(Body::from)).await {
            Ok(resp) => {
                let len = resp.headers().get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
                if let (Some(line), Some(log), true) = (&logged, &self.request_log, resp.status().is_success()) {
                    // The body's length last: what the GET sent.
                    let line = format!("{line} {}\n", len.unwrap_or(0));
                    let _ = std::io::Write::write_all(&mut *log.lock().unwrap(), line.as_bytes());
                }
                if is_get && resp.status().is_success() {
                    self.counters.get_bytes.fetch_add(len.unwrap_or(0), std::sync::atomic::Ordering::Relaxed);
                }
                resp
            }
            Err(e) => {
                tracing::warn!("S3 request failed: {e:?}");
                Response::builder().status(StatusCode::INTERNAL_SERVER_ERROR).body(Body::empty()).expect("valid response")
            }
        }
    }

    /// An Athena call in either protocol: `awsJson1_1` when it names its operation in
    /// `X-Amz-Target`, `rest-json` (the operation found by method and path in AWS's model)
    /// otherwise. Errors answer in the protocol of the request.
    async fn athena_call(&self, req: Request<Incoming>) -> Response<Body> {
        let target = req.headers().get("x-amz-target").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (parts, body) = req.into_parts();
        let answer = async {
            let body = Limited::new(body, MAX_JSON_BODY)
                .collect()
                .await
                .map_err(|e| ApiError {
                    status: 400,
                    aws_type: "SerializationException",
                    athena_code: None,
                    message: format!("cannot read body: {e}"),
                })?
                .to_bytes();
            let caller =
                verify_sigv4(&self.keys, &self.region, "athena", &parts.method, &parts.uri, &parts.headers, &body).map_err(|e| {
                    ApiError {
                        status: if matches!(e, crate::protocol::auth::AuthError::Missing) { 403 } else { 400 },
                        aws_type: e.aws_type(),
                        athena_code: None,
                        message: e.to_string(),
                    }
                })?;
            // The Identity Center user the caller's session acts for, if any.
            let identity = self.keys.identity(&caller);
            match &target {
                Some(target) => self.json_call(target, &body, identity.as_ref()).await,
                None => self.rest_call(&parts, &body, identity.as_ref()).await,
            }
        };
        match (answer.await, target.is_some()) {
            (Ok(resp), _) => resp,
            (Err(e), true) => api_error(&e),
            (Err(e), false) => crate::protocol::athena::rest::error(&e),
        }
    }

    /// `awsJson1_1`: `POST /`, the operation in `X-Amz-Target`, the input the JSON body.
    async fn json_call(&self, target: &str, body: &[u8], identity: Option<&Identity>) -> Result<Response<Body>, ApiError> {
        let Some(operation) = target.strip_prefix("AmazonAthena.") else {
            return Err(crate::protocol::athena::rest::unknown_operation(&format!("Unknown target {target}")));
        };
        // An operation whose answer is bound to HTTP (GetQueryResultStream: a raw body and
        // headers) has no awsJson1_1 form: no model defines one and the service is not known to
        // answer it.
        let known = crate::protocol::athena::model::model().operations.get(operation);
        if known.is_none_or(|op| op.http_bound_output() || !op.served()) {
            return Err(crate::protocol::athena::rest::unknown_operation(&format!("Unknown operation {operation}")));
        }
        let input: serde_json::Value = if body.is_empty() {
            serde_json::json!({})
        } else {
            serde_json::from_slice(body).map_err(|e| ApiError {
                status: 400,
                aws_type: "SerializationException",
                athena_code: None,
                message: e.to_string(),
            })?
        };
        self.log_athena(operation, &input);
        let output = self.athena.call_for(operation, input, identity).await?;
        Ok(json_response(200, &output))
    }

    /// Records an Athena call in the request log (`ATHENA <Operation> <input as JSON>`), when
    /// there is one: tests read what Athena was asked (the SQL a pushdown produced, say).
    fn log_athena(&self, operation: &str, input: &serde_json::Value) {
        if let Some(log) = &self.request_log {
            let line = format!("ATHENA {operation} {input}\n");
            let _ = std::io::Write::write_all(&mut *log.lock().unwrap(), line.as_bytes());
        }
    }

    /// `rest-json`: the operation and its input as AWS's model binds them.
    async fn rest_call(&self, parts: &http::request::Parts, body: &[u8], identity: Option<&Identity>) -> Result<Response<Body>, ApiError> {
        let (op, input) = crate::protocol::athena::rest::decode(parts, body)?;
        self.log_athena(&op.name, &input);
        if op.name == "GetQueryResultStream" {
            return self.athena.result_stream(&input).await;
        }
        let output = self.athena.call_for(&op.name, input, identity).await?;
        Ok(crate::protocol::athena::rest::output(op, output))
    }
}

impl Router {
    /// KMS (`awsJson1_1`, `TrentService.<Op>`), signed for `kms`; errors are KMS's JSON shape.
    async fn kms_call(&self, req: Request<Incoming>) -> Response<Body> {
        let target = req.headers().get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let (parts, body) = req.into_parts();
        let error =
            |status: u16, code: &str, message: &str| json_response(status, &serde_json::json!({ "__type": code, "message": message }));
        let body = match Limited::new(body, MAX_JSON_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => return error(400, "SerializationException", &format!("cannot read body: {e}")),
        };
        let caller = match verify_sigv4(&self.keys, &self.region, "kms", &parts.method, &parts.uri, &parts.headers, &body) {
            Ok(caller) => caller,
            Err(e) => {
                let status = if matches!(e, crate::protocol::auth::AuthError::Missing) { 403 } else { 400 };
                return error(status, e.aws_type(), &e.to_string());
            }
        };
        let Some(operation) = target.strip_prefix("TrentService.") else {
            return error(400, "UnknownOperationException", &format!("Unknown target {target}"));
        };
        let input: serde_json::Value = match serde_json::from_slice(if body.is_empty() { b"{}" } else { &body }) {
            Ok(v) => v,
            Err(e) => return error(400, "SerializationException", &e.to_string()),
        };
        let principal = crate::protocol::sts::caller_principal(&self.keys, &caller).0;
        match crate::protocol::kms::call(&self.kms, operation, &input, &principal) {
            Ok(output) => json_response(200, &output),
            Err(e) => error(400, e.code, &e.message),
        }
    }

    /// SSO-OIDC (rest-json), signed for `sso-oauth`: `POST /token?aws_iam=t` (CreateTokenWithIAM);
    /// errors as its model gives them (`x-amzn-ErrorType`, `{"error", "error_description"}`).
    async fn sso_call(&self, req: Request<Incoming>) -> Response<Body> {
        let (parts, body) = req.into_parts();
        let error = |e: &crate::protocol::identity_center::SsoError| {
            let mut resp = json_response(e.status, &e.body());
            if let Ok(v) = e.exception.parse() {
                resp.headers_mut().insert("x-amzn-ErrorType", v);
            }
            resp
        };
        let plain = |status: u16, exception: &'static str, error: &'static str, description: String| {
            crate::protocol::identity_center::SsoError { exception, status, error, description }
        };
        let body = match Limited::new(body, MAX_JSON_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => return error(&plain(400, "InvalidRequestException", "invalid_request", format!("cannot read body: {e}"))),
        };
        if let Err(e) = verify_sigv4(&self.keys, &self.region, "sso-oauth", &parts.method, &parts.uri, &parts.headers, &body) {
            let mut resp = json_response(
                if matches!(e, crate::protocol::auth::AuthError::Missing) { 403 } else { 400 },
                &serde_json::json!({ "message": e.to_string() }),
            );
            if let Ok(v) = e.aws_type().parse() {
                resp.headers_mut().insert("x-amzn-ErrorType", v);
            }
            return resp;
        }
        let is_token = parts.method == http::Method::POST && parts.uri.path() == "/token" && parts.uri.query() == Some("aws_iam=t");
        if !is_token {
            let mut resp = json_response(404, &serde_json::json!({ "message": format!("No operation at {} {}", parts.method, parts.uri) }));
            resp.headers_mut().insert("x-amzn-ErrorType", http::HeaderValue::from_static("UnknownOperationException"));
            return resp;
        }
        let input: serde_json::Value = match serde_json::from_slice(if body.is_empty() { b"{}" } else { &body }) {
            Ok(v) => v,
            Err(e) => return error(&plain(400, "InvalidRequestException", "invalid_request", e.to_string())),
        };
        match self.idc.create_token_with_iam(&self.oidc_providers, &input) {
            Ok(output) => json_response(200, &output),
            Err(e) => error(&e),
        }
    }

    /// STS (query protocol): AssumeRole, AssumeRoleWithWebIdentity, GetSessionToken,
    /// GetCallerIdentity.
    async fn sts_call(&self, req: Request<Incoming>) -> Response<Body> {
        let (parts, body) = req.into_parts();
        let body = match Limited::new(body, MAX_JSON_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => return crate::protocol::sts::error_response(400, "InvalidRequest", &format!("cannot read body: {e}")),
        };
        let signed =
            parts.headers.contains_key(http::header::AUTHORIZATION) || parts.uri.query().is_some_and(|q| q.contains("X-Amz-Signature"));
        let form = crate::protocol::sts::parse_form(&body);
        if !signed && crate::protocol::sts::is_unsigned_action(&form) {
            return crate::protocol::sts::call(&self.keys, &self.oidc_providers, &self.idc, None, &form);
        }
        let caller = match verify_sigv4(&self.keys, &self.region, "sts", &parts.method, &parts.uri, &parts.headers, &body) {
            Ok(caller) => caller,
            Err(e) => {
                let code = match e {
                    crate::protocol::auth::AuthError::Missing => "MissingAuthenticationToken",
                    crate::protocol::auth::AuthError::UnknownKey => "InvalidClientTokenId",
                    _ => "SignatureDoesNotMatch",
                };
                return crate::protocol::sts::error_response(403, code, &e.to_string());
            }
        };
        crate::protocol::sts::call(&self.keys, &self.oidc_providers, &self.idc, Some(&caller), &form)
    }
}

/// A request answered by resetting its connection (fault injection): hyper drops the connection
/// without an answer, and with `SO_LINGER` 0 its socket closes with a TCP RST.
#[derive(Debug)]
pub struct ConnectionReset;

impl std::fmt::Display for ConnectionReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset (fault injection)")
    }
}

impl std::error::Error for ConnectionReset {}

/// Bounds on what clients may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest a client may take to send a request's headers (hyper's header read timeout): a
    /// connection that stalls is closed rather than held. Default 30 s.
    pub header_read_timeout: Duration,
    /// Connections served at once; further clients wait in the listen backlog. Default 1024.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { header_read_timeout: Duration::from_secs(30), max_connections: 1024 }
    }
}

/// Accepts connections until the task is aborted; aborting it closes every connection.
///
/// At most `limits.max_connections` are served at once, each closed when its headers do not
/// arrive within `limits.header_read_timeout`; when accepting fails (descriptors exhausted, say) the loop
/// backs off instead of spinning, and goes on when connections close.
pub async fn serve(listener: TcpListener, router: Arc<Router>, limits: Limits) {
    let mut connections = JoinSet::new();
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let mut backoff = Duration::ZERO;
    loop {
        // A permit first, then a connection: both cancel-safe, so reaping finished connections
        // can interrupt the wait.
        let next = async {
            let permit = permits.clone().acquire_owned().await.expect("the semaphore is never closed");
            listener.accept().await.map(|(stream, _)| (stream, permit))
        };
        tokio::select! {
            accepted = next => {
                let (stream, permit) = match accepted {
                    Ok(accepted) => {
                        backoff = Duration::ZERO;
                        accepted
                    }
                    Err(e) => {
                        // EMFILE/ENFILE and friends: retrying at once would spin a core.
                        backoff = (backoff * 2).clamp(Duration::from_millis(5), Duration::from_secs(1));
                        tracing::warn!("accept failed ({e}); retrying in {backoff:?}");
                        tokio::time::sleep(backoff).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                if router.realism.fault_reset_rate > 0.0 {
                    // A connection dropped by fault injection ends with a TCP RST, not a FIN.
                    let _ = stream.set_zero_linger();
                }
                let router = router.clone();
                connections.spawn(async move {
                    let _permit = permit;
                    let service = hyper::service::service_fn(move |req| router.clone().handle(req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(limits.header_read_timeout)
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}
