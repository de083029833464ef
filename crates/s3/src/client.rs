//! A minimal S3 client: the object and bucket calls the artifact store needs, signed with
//! SigV4, over hyper with rustls (ring), retrying transient failures.
//!
//! Every error message names the bucket and the endpoint (scheme and host only) and never
//! a credential: credentials only ever enter the `Authorization` and
//! `x-amz-security-token` headers.

use crate::config::{S3Config, Target};
use crate::sigv4;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use riskops_core::clock::{Clock, SystemClock};
use riskops_core::{Error, Result};
use sha2::{Digest as _, Sha256};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Time allowed to open a TCP connection; an endpoint that does not answer by then is down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time allowed from sending a request (including an up to 16 MiB part) to its response
/// headers.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(120);
/// Time allowed between two pieces of a response body.
pub(crate) const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Attempts per request for connection failures and 5xx answers (S3 asks clients to retry
/// `500 InternalError` and `503 SlowDown`).
const ATTEMPTS: u32 = 3;
/// The most of an error body read to find its `<Code>` and `<Message>`.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

use crate::credentials::{CredentialCache, Credentials, HttpClient};

/// A client for one bucket. Cheap to clone (the connection pool is shared).
#[derive(Clone)]
pub struct S3Client {
    config: Arc<S3Config>,
    target: Arc<Target>,
    http: HttpClient,
    /// The keys requests are signed with, renewed before they expire when temporary.
    credentials: Arc<CredentialCache>,
    /// Signatures carry the time; S3 refuses those more than 15 minutes off.
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for S3Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Client")
            .field("bucket", &self.config.bucket)
            .field("endpoint", &self.target.display())
            .finish()
    }
}

impl S3Client {
    /// Checks the configuration and prepares connections; makes no request.
    pub fn new(config: S3Config) -> Result<Self> {
        let target = config.target()?;
        // The crypto provider is passed in rather than installed process-wide, so this crate
        // neither depends on nor changes what other TLS users in the process chose.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = match hyper_rustls::HttpsConnectorBuilder::new().with_provider_and_native_roots(provider.clone()) {
            Ok(builder) => builder,
            Err(e) if target.https => {
                return Err(Error::unavailable(format!(
                    "cannot use the S3 endpoint {}: no trusted CA certificates could be loaded: {e}",
                    target.display()
                )));
            }
            // Plain HTTP needs no roots; a machine without a CA bundle can still use it.
            Err(_) => {
                let config = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| Error::internal(format!("TLS setup failed: {e}")))?
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth();
                hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config)
            }
        };
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_connect_timeout(Some(CONNECT_TIMEOUT));
        tcp.set_nodelay(true);
        let connector = tls.https_or_http().enable_http1().wrap_connector(tcp);
        let http = Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(30)).build(connector);
        let keys = match (&config.access_key_id, &config.secret_access_key) {
            (Some(access_key_id), Some(secret)) => Some(Credentials {
                access_key_id: access_key_id.clone(),
                secret_access_key: secret.clone(),
                session_token: config.session_token.clone(),
                expires: None,
            }),
            _ => None,
        };
        let credentials = Arc::new(CredentialCache::new(config.credential_source.clone(), keys));
        Ok(S3Client {
            config: Arc::new(config),
            target: Arc::new(target),
            http,
            credentials,
            clock: Arc::new(SystemClock),
        })
    }

    /// Signs with `clock`'s time instead of the system's.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn config(&self) -> &S3Config {
        &self.config
    }

    /// The keys the next request will be signed with (fetched or renewed if need be);
    /// `None`: unsigned.
    pub async fn credentials(&self) -> Result<Option<Credentials>> {
        self.credentials.get(&self.http, self.clock.now()).await
    }

    /// Where the keys come from, for logs.
    pub fn credential_source(&self) -> &crate::credentials::CredentialSource {
        self.credentials.source()
    }

    /// `bucket <name> at <endpoint>`, for messages.
    pub fn describe(&self) -> String {
        format!("bucket {} at {}", self.config.bucket, self.target.display())
    }

    /// Succeeds when the bucket exists and the credentials may use it.
    pub async fn head_bucket(&self) -> Result<()> {
        let response = self.send(Method::HEAD, None, &[], &[], Bytes::new()).await?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        // AWS answers a request signed for the wrong region with 301 and the right region.
        let region = response.headers().get("x-amz-bucket-region").and_then(|v| v.to_str().ok()).map(str::to_string);
        match (status, region) {
            (StatusCode::MOVED_PERMANENTLY | StatusCode::BAD_REQUEST, Some(region)) if region != self.config.region => {
                Err(Error::unavailable(format!(
                    "{} is in region {region}, not {}: set AWS_REGION={region}",
                    self.describe(),
                    self.config.region
                )))
            }
            (StatusCode::NOT_FOUND, _) => Err(Error::unavailable(format!("{} does not exist", self.describe()))),
            _ => Err(self.failure("checking", response).await),
        }
    }

    /// Creates the bucket; one that exists and is ours already is fine. For tests and setup
    /// tools: the artifact store itself never creates buckets.
    pub async fn create_bucket(&self) -> Result<()> {
        // Outside us-east-1, S3 wants the region repeated in the body.
        let body = if self.config.region == crate::config::DEFAULT_REGION {
            Bytes::new()
        } else {
            Bytes::from(format!(
                "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
                 <LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
                self.config.region
            ))
        };
        let response = self.send(Method::PUT, None, &[], &[], body).await?;
        if response.status().is_success() {
            return Ok(());
        }
        let failure = self.failure("creating", response).await;
        if failure.message.contains("BucketAlreadyOwnedByYou") { Ok(()) } else { Err(failure) }
    }

    /// The object's size, or `None` when there is no such object.
    pub async fn head_object(&self, key: &str) -> Result<Option<u64>> {
        let response = self.send(Method::HEAD, Some(key), &[], &[], Bytes::new()).await?;
        match response.status() {
            status if status.is_success() => Ok(Some(content_length(&response))),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(self.failure(&format!("looking up object {key} in"), response).await),
        }
    }

    /// The object's response, body unread, or `None` when there is no such object.
    pub(crate) async fn get_object(&self, key: &str) -> Result<Option<Response<Incoming>>> {
        let response = self.send(Method::GET, Some(key), &[], &[], Bytes::new()).await?;
        match response.status() {
            status if status.is_success() => Ok(Some(response)),
            status => {
                let failure = self.failure(&format!("reading object {key} from"), response).await;
                if status == StatusCode::NOT_FOUND && !is_missing_bucket(&failure) { Ok(None) } else { Err(failure) }
            }
        }
    }

    /// A whole object from memory, in one request (S3 allows up to 5 GiB; the store uses it
    /// only below its part size).
    pub async fn put_object(&self, key: &str, bytes: Bytes) -> Result<()> {
        let response = self.send(Method::PUT, Some(key), &[], &[], bytes).await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(self.failure(&format!("writing object {key} to"), response).await)
        }
    }

    /// Deleting an object that is not there succeeds, as in S3 itself.
    pub async fn delete_object(&self, key: &str) -> Result<()> {
        let response = self.send(Method::DELETE, Some(key), &[], &[], Bytes::new()).await?;
        match response.status() {
            status if status.is_success() => Ok(()),
            status => {
                let failure = self.failure(&format!("deleting object {key} from"), response).await;
                if status == StatusCode::NOT_FOUND && !is_missing_bucket(&failure) { Ok(()) } else { Err(failure) }
            }
        }
    }

    /// Starts a multipart upload and returns its id.
    pub(crate) async fn create_multipart(&self, key: &str) -> Result<String> {
        let response = self.send(Method::POST, Some(key), &[("uploads", "")], &[], Bytes::new()).await?;
        if !response.status().is_success() {
            return Err(self.failure(&format!("starting an upload of {key} to"), response).await);
        }
        let body = self.read_text(response).await?;
        xml_text(&body, "UploadId").ok_or_else(|| {
            Error::unavailable(format!("{} answered a multipart upload request without an UploadId", self.describe()))
        })
    }

    /// Sends one part (1-based number) and returns its ETag, needed to complete the upload.
    pub(crate) async fn upload_part(&self, key: &str, upload_id: &str, number: u32, bytes: Bytes) -> Result<String> {
        let number_text = number.to_string();
        let query = [("partNumber", number_text.as_str()), ("uploadId", upload_id)];
        let response = self.send(Method::PUT, Some(key), &query, &[], bytes).await?;
        if !response.status().is_success() {
            return Err(self.failure(&format!("writing part {number} of {key} to"), response).await);
        }
        response.headers().get(http::header::ETAG).and_then(|v| v.to_str().ok()).map(str::to_string).ok_or_else(|| {
            Error::unavailable(format!("{} answered part {number} of {key} without an ETag", self.describe()))
        })
    }

    pub(crate) async fn complete_multipart(&self, key: &str, upload_id: &str, parts: &[(u32, String)]) -> Result<()> {
        let mut body = String::from("<CompleteMultipartUpload>");
        for (number, etag) in parts {
            body.push_str(&format!(
                "<Part><PartNumber>{number}</PartNumber><ETag>{}</ETag></Part>",
                riskops_core::encode::escape_html(etag)
            ));
        }
        body.push_str("</CompleteMultipartUpload>");
        let response = self
            .send(
                Method::POST,
                Some(key),
                &[("uploadId", upload_id)],
                &[("content-type", "application/xml")],
                Bytes::from(body),
            )
            .await?;
        if !response.status().is_success() {
            return Err(self.failure(&format!("completing the upload of {key} to"), response).await);
        }
        // S3 may answer 200 and then report a failure in the body, once the parts are joined.
        let text = self.read_text(response).await?;
        if text.contains("<Error>") {
            return Err(Error::unavailable(format!(
                "S3 refused completing the upload of {key} to {}: {}",
                self.describe(),
                error_summary(&text)
            )));
        }
        Ok(())
    }

    /// Best effort: parts of an abandoned upload otherwise stay billed until a lifecycle
    /// rule removes them.
    pub(crate) async fn abort_multipart(&self, key: &str, upload_id: &str) {
        match self.send(Method::DELETE, Some(key), &[("uploadId", upload_id)], &[], Bytes::new()).await {
            Ok(response) if response.status().is_success() || response.status() == StatusCode::NOT_FOUND => {}
            Ok(response) => {
                let failure = self.failure(&format!("aborting the upload of {key} to"), response).await;
                tracing::warn!(error = %failure, "S3 multipart upload left behind");
            }
            Err(e) => tracing::warn!(error = %e, "S3 multipart upload left behind"),
        }
    }

    /// Signs and sends one request, retrying connection failures and 5xx answers. A
    /// response with any other status is returned for the caller to interpret.
    async fn send(
        &self,
        method: Method,
        key: Option<&str>,
        query: &[(&str, &str)],
        extra_headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Response<Incoming>> {
        let path = self.path(key);
        let query = sigv4::canonical_query(query);
        let keys = self.credentials().await?;
        let mut last_error = String::new();
        for attempt in 1..=ATTEMPTS {
            if attempt > 1 {
                // 0.2 s, then 0.8 s: enough for a throttled S3 or a restarting server.
                tokio::time::sleep(Duration::from_millis(200 * 4u64.pow(attempt - 2))).await;
            }
            // Signed anew each attempt: the signature carries the time.
            let request = self.request(&method, &path, &query, extra_headers, body.clone(), keys.as_ref())?;
            match tokio::time::timeout(RESPONSE_TIMEOUT, self.http.request(request)).await {
                Ok(Ok(response)) if response.status().is_server_error() && attempt < ATTEMPTS => {
                    last_error = format!("HTTP {}", response.status());
                    tracing::warn!(status = %response.status(), attempt, "S3 server error; retrying");
                }
                Ok(Ok(response)) => return Ok(response),
                Ok(Err(e)) => {
                    last_error = error_chain(&e);
                    tracing::warn!(error = %last_error, attempt, "S3 request failed");
                }
                Err(_) => {
                    last_error = format!("no answer within {} s", RESPONSE_TIMEOUT.as_secs());
                    tracing::warn!(attempt, "S3 request timed out");
                }
            }
        }
        Err(Error::unavailable(format!("cannot reach {}: {last_error}", self.describe())))
    }

    fn request(
        &self,
        method: &Method,
        path: &str,
        query: &str,
        extra_headers: &[(&str, &str)],
        body: Bytes,
        keys: Option<&Credentials>,
    ) -> Result<Request<Full<Bytes>>> {
        // Hashed at each attempt: a retry is rare, and a part is hashed in milliseconds.
        let payload_sha256 =
            if body.is_empty() { sigv4::EMPTY_SHA256.to_string() } else { sigv4::hex(&Sha256::digest(&body)) };
        let payload_sha256 = payload_sha256.as_str();
        let amz_date = self
            .clock
            .now()
            .to_offset(time::UtcOffset::UTC)
            .format(time::macros::format_description!("[year][month][day]T[hour][minute][second]Z"))
            .map_err(|e| Error::internal(format!("cannot format the request time: {e}")))?;
        let mut headers: Vec<(String, String)> = vec![
            ("host".into(), self.target.authority.clone()),
            ("x-amz-content-sha256".into(), payload_sha256.to_string()),
            ("x-amz-date".into(), amz_date.clone()),
        ];
        headers.extend(extra_headers.iter().map(|(n, v)| (n.to_string(), v.to_string())));
        if let Some(token) = keys.and_then(|k| k.session_token.as_ref()) {
            headers.push(("x-amz-security-token".into(), token.expose().clone()));
        }
        let authorization = match keys {
            Some(k) => Some(sigv4::authorization(
                &sigv4::Request { method: method.as_str(), path, query, headers: &headers, payload_sha256 },
                &sigv4::Key {
                    access_key_id: &k.access_key_id,
                    secret_access_key: k.secret_access_key.expose(),
                    region: &self.config.region,
                },
                &amz_date,
            )?),
            None => None,
        };
        let scheme = if self.target.https { "https" } else { "http" };
        let uri = if query.is_empty() {
            format!("{scheme}://{}{path}", self.target.authority)
        } else {
            format!("{scheme}://{}{path}?{query}", self.target.authority)
        };
        let mut builder = Request::builder().method(method.clone()).uri(uri);
        if *method == Method::PUT || *method == Method::POST {
            // hyper leaves Content-Length out of empty bodies, and S3 answers 411 to a PUT
            // without it. Not signed: proxies may rewrite it.
            builder = builder.header(http::header::CONTENT_LENGTH, body.len());
        }
        for (name, value) in &headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some(authorization) = authorization {
            builder = builder.header(http::header::AUTHORIZATION, authorization);
        }
        builder.body(Full::new(body)).map_err(|e| {
            // The error names the part at fault, never a header value.
            Error::invalid("S3 configuration", format!("cannot build a request to {}: {e}", self.target.display()))
        })
    }

    /// The encoded URI path of the bucket (`key` None) or of an object.
    fn path(&self, key: Option<&str>) -> String {
        let mut raw = self.target.base_path.clone();
        if self.target.path_style {
            raw.push('/');
            raw.push_str(&self.config.bucket);
        }
        match key {
            Some(key) => {
                raw.push('/');
                raw.push_str(key);
            }
            None if !self.target.path_style => raw.push('/'),
            None => {}
        }
        sigv4::encode_path(&raw)
    }

    /// A small response body as text (XML answers).
    async fn read_text(&self, response: Response<Incoming>) -> Result<String> {
        let bytes = tokio::time::timeout(BODY_IDLE_TIMEOUT, response.into_body().collect())
            .await
            .map_err(|_| Error::unavailable(format!("{} stopped answering", self.describe())))?
            .map_err(|e| {
                Error::unavailable(format!("cannot read an answer from {}: {}", self.describe(), error_chain(&e)))
            })?
            .to_bytes();
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The error for an unexpected answer, with S3's error code and message when it sent one.
    async fn failure(&self, doing: &str, response: Response<Incoming>) -> Error {
        let status = response.status();
        let mut body = Vec::new();
        let mut incoming = response.into_body();
        while body.len() < ERROR_BODY_LIMIT {
            match tokio::time::timeout(Duration::from_secs(5), incoming.frame()).await {
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        body.extend_from_slice(&data);
                    }
                }
                _ => break,
            }
        }
        let summary = error_summary(&String::from_utf8_lossy(&body));
        let hint = match status {
            StatusCode::FORBIDDEN => {
                " (check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the bucket policy; without s3:ListBucket, \
                 S3 answers 403 rather than 404 for objects that do not exist)"
            }
            _ => "",
        };
        Error::unavailable(format!("S3 refused {doing} {}: HTTP {status}{summary}{hint}", self.describe()))
    }
}

fn content_length(response: &Response<Incoming>) -> u64 {
    response
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A 404 for an object may mean the bucket itself is gone: that is an outage, not a
/// missing object. S3 says which in the error code of the body, which HEAD answers do not
/// carry; for those, a missing bucket shows up at the next GET or PUT.
fn is_missing_bucket(failure: &Error) -> bool {
    failure.message.contains(": NoSuchBucket")
}

/// `: <Code>: <Message>` from an S3 error document, or nothing.
fn error_summary(body: &str) -> String {
    match (xml_text(body, "Code"), xml_text(body, "Message")) {
        (Some(code), Some(message)) => format!(": {code}: {message}"),
        (Some(code), None) => format!(": {code}"),
        _ => String::new(),
    }
}

/// The text of the first `<tag>…</tag>` in a small XML document. S3's answers are flat
/// and well-known, so this stands in for an XML parser.
pub(crate) fn xml_text(body: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = body.find(&open)? + open.len();
    let end = start + body[start..].find(&format!("</{tag}>"))?;
    Some(xml_unescape(&body[start..end]))
}

fn xml_unescape(text: &str) -> String {
    text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

/// An error and its causes on one line: hyper's own message ("client error (Connect)")
/// alone does not say that the connection was refused.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_answers_are_read() {
        let body = "<?xml version=\"1.0\"?><InitiateMultipartUploadResult><Bucket>b</Bucket>\
                    <UploadId>abc&amp;def</UploadId></InitiateMultipartUploadResult>";
        assert_eq!(xml_text(body, "UploadId").as_deref(), Some("abc&def"));
        assert_eq!(xml_text(body, "Key"), None);
        let error = "<Error><Code>NoSuchKey</Code><Message>The key does not exist</Message></Error>";
        assert_eq!(error_summary(error), ": NoSuchKey: The key does not exist");
        // What the Complete request escapes, an answer's reader takes back.
        let etag = "\"e&t<a>g\"";
        let sent = format!("<ETag>{}</ETag>", riskops_core::encode::escape_html(etag));
        assert_eq!(xml_text(&sent, "ETag").as_deref(), Some(etag));
    }

    /// A whole request as the store sends it (path style, query, session token), against
    /// the signature botocore's `S3SigV4Auth` computes for the same request.
    #[tokio::test]
    async fn requests_are_signed_as_botocore_signs_them() {
        let clock = riskops_core::clock::ManualClock::new(time::macros::datetime!(2026-11-27 04:18:13 UTC));
        let client = S3Client::new(
            S3Config::new("my-bucket")
                .with_endpoint("http://127.0.0.1:9000")
                .with_allow_http(true)
                .with_region("eu-west-1")
                .with_credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
                .with_session_token("session-token-x"),
        )
        .unwrap()
        .with_clock(Arc::new(clock));
        let body = Bytes::from_static(b"part bytes");
        let payload = sigv4::hex(&Sha256::digest(&body));
        let path = client.path(Some("team/sha256/ab/abcd"));
        let query = sigv4::canonical_query(&[("uploadId", "a/b+c="), ("partNumber", "2")]);
        let keys = client.credentials().await.unwrap();
        let request = client.request(&Method::PUT, &path, &query, &[], body, keys.as_ref()).unwrap();
        assert_eq!(
            request.uri().to_string(),
            "http://127.0.0.1:9000/my-bucket/team/sha256/ab/abcd?partNumber=2&uploadId=a%2Fb%2Bc%3D"
        );
        assert_eq!(
            request.headers()["authorization"],
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/eu-west-1/s3/aws4_request,\
             SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,\
             Signature=eb526f75c3adf0a2efc8f48be971154aab4656e358ad1a13d387fd31a221d4f3"
        );
        assert_eq!(request.headers()["x-amz-security-token"], "session-token-x");
        assert_eq!(request.headers()["x-amz-content-sha256"], payload.as_str());
        assert!(!format!("{client:?}").contains("session-token-x"));
    }

    #[test]
    fn paths_follow_the_addressing_style() {
        let minio =
            S3Client::new(S3Config::new("bucket").with_endpoint("http://127.0.0.1:9000/base/").with_allow_http(true))
                .unwrap();
        assert_eq!(minio.path(None), "/base/bucket");
        assert_eq!(minio.path(Some("p/sha256/ab/abcd")), "/base/bucket/p/sha256/ab/abcd");
        assert_eq!(minio.describe(), "bucket bucket at http://127.0.0.1:9000/base");
        let aws = S3Client::new(S3Config::new("bucket")).unwrap();
        assert_eq!(aws.path(None), "/");
        assert_eq!(aws.path(Some("a b")), "/a%20b");
    }
}
