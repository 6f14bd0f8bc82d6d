//! The wire of `GetQueryResultStream`, the API that serves a DuckDB query's Athena-managed result
//! as an Arrow IPC stream, as AWS's model binds it (botocore 1.44.18, `rest-json`; aws-sdk-athena
//! 1.128 does not model it yet): `GET /query-executions/{QueryExecutionId}/result-stream`, the byte
//! range in the `Range` header (`bytes=N-M` or `bytes=N-`); the answer the raw Arrow bytes (200,
//! or 206 with `Content-Range: bytes N-M/TOTAL`), RangeNotSatisfiableException (416) past the end,
//! errors named by `x-amzn-ErrorType` with a JSON body.
//!
//! The request goes to the endpoint the SDK's own resolver gives for the connection (region,
//! FIPS, dual-stack, partition, a configured endpoint URL), is signed with aws-sigv4 (service
//! `athena`) using the connection's credentials and sent on the SDK's own HTTP client (its
//! timeouts and connection pool) through aws-smithy-runtime's operation builder; the body is
//! read as it arrives.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4::SigningParams;
use aws_smithy_runtime::client::orchestrator::operation::Operation;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{BeforeTransmitInterceptorContextMut, Error as ErasedError, Output};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse, OrchestratorError};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::client::ser_de::DeserializeResponse;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::timeout::TimeoutConfig;

use crate::error::{Error, Result};

/// The media type of the stream.
pub(crate) const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";

/// One answer of GetQueryResultStream, its body not read yet.
#[derive(Debug)]
pub(crate) struct StreamAnswer {
    pub status: u16,
    pub content_type: Option<String>,
    /// `(first, last, total)` of `Content-Range: bytes first-last/total`.
    pub content_range: Option<(u64, u64, u64)>,
    pub content_length: Option<u64>,
    pub etag: Option<String>,
    /// `x-amzn-ErrorType` of an error answer.
    pub error_type: Option<String>,
    pub body: ByteStream,
}

/// An error answer: its status, the error's name and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StreamError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl StreamError {
    /// Reads an error answer as botocore reads `rest-json` errors: the name from
    /// `x-amzn-ErrorType` (what precedes a `:`), else the body's `code` or `__type` (what follows
    /// a `#`); the message from the body's `message` or `Message`, else the start of the body.
    pub(crate) fn parse(status: u16, error_type: Option<&str>, body: &[u8]) -> Self {
        let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let from_body = ["code", "Code", "__type"].iter().find_map(|k| json.get(*k).and_then(|v| v.as_str()));
        let code = error_type.or(from_body).unwrap_or_default();
        let code = code.split(':').next().unwrap_or(code);
        let code = code.rsplit('#').next().unwrap_or(code).to_owned();
        let message = json.get("message").or_else(|| json.get("Message")).and_then(|v| v.as_str());
        let message = message.map(str::to_owned).unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned());
        Self { status, code, message }
    }

    /// Whether the service says it does not know the operation (the API is not offered there):
    /// the result is then read through GetQueryResults.
    pub(crate) fn unknown_operation(&self) -> bool {
        matches!(self.code.as_str(), "UnknownOperationException" | "UnknownOperation" | "InvalidAction")
            || (self.status == 404 && self.code.is_empty())
    }

    /// Throttling or a server error: worth another attempt.
    pub(crate) fn transient(&self) -> bool {
        self.status >= 500 || matches!(self.code.as_str(), "ThrottlingException" | "TooManyRequestsException" | "SlowDown")
    }
}

/// Calls GetQueryResultStream for a connection.
#[derive(Clone)]
pub(crate) struct ResultStreamClient {
    endpoint: Endpoint,
    region: String,
    http: Option<SharedHttpClient>,
    credentials: Option<SharedCredentialsProvider>,
    cached: Arc<tokio::sync::Mutex<Option<Credentials>>>,
    timeouts: TimeoutConfig,
    sdk: SdkConfig,
}

impl std::fmt::Debug for ResultStreamClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResultStreamClient")
            .field("endpoint", &self.endpoint.url.get())
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl ResultStreamClient {
    /// The client of the connection's Athena endpoint: `sdk` is the configuration the
    /// connection's Athena client was built from and `athena_endpoint` the connection's own
    /// endpoint URL when it sets one.
    pub(crate) fn new(sdk: &SdkConfig, athena_endpoint: Option<&str>, deadline: Duration) -> Result<Self> {
        let region = sdk.region().map(|r| r.to_string()).ok_or_else(|| Error::config("no AWS region"))?;
        let endpoint = Endpoint { params: endpoint_params(sdk, athena_endpoint, &region)?, url: Default::default() };
        let timeouts = TimeoutConfig::builder().operation_attempt_timeout(deadline).connect_timeout(Duration::from_secs(10)).build();
        Ok(Self {
            endpoint,
            region,
            http: sdk.http_client(),
            credentials: sdk.credentials_provider(),
            cached: Default::default(),
            timeouts,
            sdk: sdk.clone(),
        })
    }

    /// The connection's credentials, resolved once and again shortly before they expire.
    async fn credentials(&self) -> Result<Credentials> {
        let mut cached = self.cached.lock().await;
        let fresh = cached.as_ref().is_some_and(|c| c.expiry().is_none_or(|e| e > SystemTime::now() + Duration::from_secs(60)));
        if !fresh {
            let provider = self.credentials.as_ref().ok_or_else(|| Error::Credentials {
                message: "no credentials provider to sign GetQueryResultStream".into(),
                source: None,
            })?;
            let creds = provider.provide_credentials().await.map_err(|e| Error::Credentials {
                message: "cannot resolve credentials to sign GetQueryResultStream".into(),
                source: Some(Box::new(e)),
            })?;
            *cached = Some(creds);
        }
        Ok(cached.clone().expect("just resolved"))
    }

    /// One GetQueryResultStream call for bytes `from..` (`to` inclusive when given).
    pub(crate) async fn get(&self, query_id: &str, from: u64, to: Option<u64>) -> Result<std::result::Result<StreamAnswer, StreamError>> {
        let endpoint = self.endpoint.url().await?;
        let creds = self.credentials().await?;
        let range = match to {
            Some(to) => format!("bytes={from}-{to}"),
            None => format!("bytes={from}-"),
        };
        // A label is percent-encoded whole (`/` included), as the SDKs encode URI labels.
        let path = format!("/query-executions/{}/result-stream", percent_encoding::utf8_percent_encode(query_id, LABEL));
        let mut builder = Operation::builder()
            .service_name("athena")
            .operation_name("GetQueryResultStream")
            .behavior_version(aws_smithy_runtime_api::client::behavior_version::BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .no_auth()
            .no_retry()
            .timeout_config(self.timeouts.clone())
            .interceptor(Signer { credentials: creds, region: self.region.clone() })
            .serializer(move |range: String| {
                let mut request = HttpRequest::new(SdkBody::empty());
                request.set_method("GET").map_err(BoxError::from)?;
                request.set_uri(path.clone()).map_err(BoxError::from)?;
                request.headers_mut().insert("range", range);
                Ok(request)
            })
            .deserializer_impl::<StreamAnswer, StreamCallError>(RawAnswer);
        // The SDK config's HTTP client when it names one, else the SDK's default HTTPS client
        // (the one each SDK client builds for itself).
        if let Some(http) = self.http.clone() {
            builder = builder.http_client(http);
        }
        if let Some(sleep) = self.sdk.sleep_impl() {
            builder = builder.sleep_impl(sleep);
        }
        if let Some(time) = self.sdk.time_source() {
            builder = builder.time_source(time);
        }
        let answer = builder.build().invoke(range).await.map_err(|e| Error::Api {
            operation: "GetQueryResultStream",
            code: None,
            message: crate::error::message_with_causes(&e),
            retryable: true,
            kind: crate::error::ErrorKind::Unreachable,
            source: Some(Box::new(e)),
        })?;
        if matches!(answer.status, 200 | 206) {
            return Ok(Ok(answer));
        }
        let status = answer.status;
        let error_type = answer.error_type.clone();
        let bytes = answer.body.collect().await.map(|b| b.into_bytes()).unwrap_or_default();
        Ok(Err(StreamError::parse(status, error_type.as_deref(), &bytes)))
    }
}

/// What is percent-encoded in a URI label: everything but the unreserved characters.
const LABEL: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// The Athena endpoint of a connection, resolved on first use by the endpoint resolver of
/// aws-sdk-athena (the one the connection's Athena client uses: AWS's endpoint rules for Athena,
/// every partition, FIPS and dual-stack included).
#[derive(Clone)]
struct Endpoint {
    params: aws_sdk_athena::config::endpoint::Params,
    url: Arc<tokio::sync::OnceCell<String>>,
}

impl Endpoint {
    async fn url(&self) -> Result<&str> {
        use aws_sdk_athena::config::endpoint::{DefaultResolver, ResolveEndpoint};
        let url = self
            .url
            .get_or_try_init(|| async {
                let endpoint = DefaultResolver::new()
                    .resolve_endpoint(&self.params)
                    .await
                    .map_err(|e| Error::config(format!("no Athena endpoint for {:?}: {e}", self.params)))?;
                Ok::<_, Error>(endpoint.url().trim_end_matches('/').to_owned())
            })
            .await?;
        Ok(url)
    }
}

/// The parameters of the Athena endpoint resolver for a connection: the region, FIPS and
/// dual-stack as configured, and the endpoint URL the connection or the SDK configuration sets
/// (a service-specific one, e.g. `AWS_ENDPOINT_URL_ATHENA`, before the global one), as
/// `aws_sdk_athena::Config::from(&SdkConfig)` takes them.
fn endpoint_params(sdk: &SdkConfig, athena_endpoint: Option<&str>, region: &str) -> Result<aws_sdk_athena::config::endpoint::Params> {
    let configured = match athena_endpoint {
        Some(url) => Some(url.to_owned()),
        None if sdk.get_origin("endpoint_url").is_client_config() => sdk.endpoint_url().map(str::to_owned),
        None => sdk
            .service_config()
            .and_then(|conf| {
                let key = aws_types::service_config::ServiceConfigKey::builder()
                    .service_id("Athena")
                    .env("AWS_ENDPOINT_URL")
                    .profile("endpoint_url")
                    .build()
                    .expect("all fields are set");
                conf.load_config(key)
            })
            .or_else(|| sdk.endpoint_url().map(str::to_owned)),
    };
    aws_sdk_athena::config::endpoint::Params::builder()
        .region(region.to_owned())
        .use_fips(sdk.use_fips().unwrap_or(false))
        .use_dual_stack(sdk.use_dual_stack().unwrap_or(false))
        .set_endpoint(configured)
        .build()
        .map_err(|e| Error::config(format!("Athena endpoint parameters: {e}")))
}

/// Signs each attempt with SigV4 (service `athena`) once the endpoint is in the request.
#[derive(Debug)]
struct Signer {
    credentials: Credentials,
    region: String,
}

impl Intercept for Signer {
    fn name(&self) -> &'static str {
        "GetQueryResultStreamSigner"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> std::result::Result<(), BoxError> {
        let request = context.request_mut();
        let identity: Identity = self.credentials.clone().into();
        let params = SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("athena")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()?
            .into();
        let body = request.body().bytes().unwrap_or_default().to_vec();
        let headers: Vec<(String, String)> = request.headers().iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
        let signable = SignableRequest::new(
            request.method(),
            request.uri(),
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(&body),
        )?;
        let (instructions, _) = sign(signable, &params)?.into_parts();
        for (name, value) in instructions.headers() {
            request.headers_mut().insert(name.to_owned(), value.to_owned());
        }
        Ok(())
    }
}

/// Every answer, error or not, with its body unread: the caller reads the stream as it arrives
/// and parses error bodies itself.
#[derive(Debug)]
struct RawAnswer;

/// Never produced (the deserializer takes every answer as it is); the operation needs a type.
#[derive(Debug, thiserror::Error)]
#[error("unreachable")]
struct StreamCallError;

impl DeserializeResponse for RawAnswer {
    fn deserialize_streaming_with_config(
        &self,
        response: &mut HttpResponse,
        _cfg: &ConfigBag,
    ) -> Option<std::result::Result<Output, OrchestratorError<ErasedError>>> {
        let header = |name: &str| response.headers().get(name).map(str::to_owned);
        let content_range = header("content-range").as_deref().and_then(parse_content_range);
        let answer = StreamAnswer {
            status: response.status().as_u16(),
            content_type: header("content-type"),
            content_range,
            content_length: header("content-length").and_then(|v| v.parse().ok()),
            etag: header("etag"),
            error_type: header("x-amzn-errortype"),
            body: ByteStream::new(response.take_body()),
        };
        Some(Ok(Output::erase(answer)))
    }

    fn deserialize_nonstreaming_with_config(
        &self,
        _response: &HttpResponse,
        _cfg: &ConfigBag,
    ) -> std::result::Result<Output, OrchestratorError<ErasedError>> {
        Err(OrchestratorError::other("GetQueryResultStream answers are read as streams"))
    }
}

/// `bytes 0-99/1234` -> (0, 99, 1234).
fn parse_content_range(value: &str) -> Option<(u64, u64, u64)> {
    let (range, total) = value.trim().strip_prefix("bytes ")?.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    Some((first.parse().ok()?, last.parse().ok()?, total.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn resolved(region: &'static str, sdk: aws_types::sdk_config::Builder, athena_endpoint: Option<&str>) -> String {
        let sdk = sdk.region(aws_config::Region::new(region)).build();
        let client = ResultStreamClient::new(&sdk, athena_endpoint, Duration::from_secs(1)).unwrap();
        client.endpoint.url().await.unwrap().to_owned()
    }

    #[tokio::test]
    async fn the_endpoint_is_the_sdk_resolvers() {
        let sdk = SdkConfig::builder;
        assert_eq!(resolved("us-east-1", sdk(), None).await, "https://athena.us-east-1.amazonaws.com");
        assert_eq!(resolved("us-east-1", sdk().use_fips(true), None).await, "https://athena-fips.us-east-1.amazonaws.com");
        assert_eq!(resolved("us-east-1", sdk().use_dual_stack(true), None).await, "https://athena.us-east-1.api.aws");
        assert_eq!(resolved("us-east-1", sdk().endpoint_url("http://127.0.0.1:4566/"), None).await, "http://127.0.0.1:4566");
        assert_eq!(resolved("us-east-1", sdk().endpoint_url("http://a:1"), Some("http://b:2")).await, "http://b:2");
        assert_eq!(resolved("cn-north-1", sdk(), None).await, "https://athena.cn-north-1.amazonaws.com.cn");
        assert_eq!(resolved("us-gov-west-1", sdk().use_fips(true), None).await, "https://athena-fips.us-gov-west-1.amazonaws.com");
    }

    #[test]
    fn content_ranges_and_errors() {
        assert_eq!(parse_content_range("bytes 0-99/1234"), Some((0, 99, 1234)));
        assert_eq!(parse_content_range("bytes */1234"), None);
        let e = StreamError { status: 400, code: "UnknownOperationException".into(), message: String::new() };
        assert!(e.unknown_operation() && !e.transient());
        let e = StreamError { status: 400, code: "ThrottlingException".into(), message: String::new() };
        assert!(e.transient());
        let e = StreamError::parse(
            416,
            Some("RangeNotSatisfiableException:http://internal.amazon.com/coral/"),
            br#"{"Message":"past the end"}"#,
        );
        assert_eq!(e, StreamError { status: 416, code: "RangeNotSatisfiableException".into(), message: "past the end".into() });
        let e = StreamError::parse(400, None, br#"{"__type":"com.amazonaws.athena#InvalidRequestException","message":"m"}"#);
        assert_eq!((e.code.as_str(), e.message.as_str()), ("InvalidRequestException", "m"));
        let e = StreamError::parse(404, Some("UnknownOperationException"), b"");
        assert!(e.unknown_operation());
        let e = StreamError::parse(502, None, b"<html>bad gateway</html>");
        assert_eq!((e.code.as_str(), e.message.as_str()), ("", "<html>bad gateway</html>"));
        assert!(e.transient());
    }
}
