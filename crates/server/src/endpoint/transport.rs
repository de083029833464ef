//! Requests to a model endpoint: each bounded by a timeout, retried with backoff when the
//! failure may pass (no answer, a timeout, 429 or 5xx), never when the endpoint refused the
//! request (another 4xx: sending it again gives the same answer).

use crate::http_client::client;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use riskops_core::{Error, Result};
use std::time::Duration;

/// The largest answer read from an endpoint: probabilities of a batch are far smaller.
const MAX_ANSWER: usize = 64 << 20;

/// How riskops calls model endpoints (`riskops serve --endpoint-*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointSettings {
    /// Rows per scoring request.
    pub batch_rows: usize,
    /// The longest one request may take, answer included.
    pub timeout: Duration,
    /// Further attempts after a failure that may pass.
    pub retries: u32,
    /// The wait before the first retry; doubled before each next one.
    pub backoff: Duration,
}

impl Default for EndpointSettings {
    fn default() -> Self {
        EndpointSettings {
            batch_rows: 1000,
            timeout: Duration::from_secs(30),
            retries: 3,
            backoff: Duration::from_millis(250),
        }
    }
}

/// Why one attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Failure {
    /// No connection, or the connection broke: whether the port was closed or spoke
    /// something else stays in the server's log (the message must not make riskops a port
    /// scanner of the network it runs in).
    NoAnswer,
    Timeout,
    /// The endpoint answered with this status; the start of its body says why.
    Status(u16, String),
}

impl Failure {
    fn may_pass(&self) -> bool {
        match self {
            Failure::NoAnswer | Failure::Timeout => true,
            Failure::Status(code, _) => *code == 429 || *code >= 500,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::NoAnswer => f.write_str("no HTTP answer"),
            Failure::Timeout => f.write_str("no answer in time"),
            Failure::Status(code, body) if body.is_empty() => write!(f, "HTTP {code}"),
            Failure::Status(code, body) => write!(f, "HTTP {code}: {body}"),
        }
    }
}

pub(super) struct Transport {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    pub(super) settings: EndpointSettings,
}

impl Transport {
    pub(super) fn new(settings: EndpointSettings) -> Result<Transport> {
        Ok(Transport { client: client(HttpConnector::new(), settings.timeout)?, settings })
    }

    /// GET `url`: the answer's bytes, after the retries; the error names the URL.
    pub(super) async fn get(&self, url: &str) -> Result<Bytes> {
        self.with_retries(url, None).await
    }

    /// POST JSON to `url`: the answer's bytes, after the retries; the error names the URL.
    pub(super) async fn post_json(&self, url: &str, body: &serde_json::Value) -> Result<Bytes> {
        self.with_retries(url, Some(Bytes::from(body.to_string()))).await
    }

    async fn with_retries(&self, url: &str, body: Option<Bytes>) -> Result<Bytes> {
        let mut wait = self.settings.backoff;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let failure = match self.once(url, body.clone()).await {
                Ok(answer) => return Ok(answer),
                Err(f) => f,
            };
            if !failure.may_pass() {
                return Err(Error::invalid(
                    "endpoint",
                    format!("the model endpoint {url} refused the request: {failure}"),
                ));
            }
            if attempts > self.settings.retries {
                // Busy: shown to the caller (it names the endpoint), and sending again may do.
                return Err(Error::busy(format!(
                    "the model endpoint {url} failed: {failure} (after {attempts} attempts)"
                )));
            }
            tracing::info!(%url, %failure, attempts, "a model endpoint request failed; trying again");
            tokio::time::sleep(wait).await;
            wait = wait.saturating_mul(2);
        }
    }

    async fn once(&self, url: &str, body: Option<Bytes>) -> std::result::Result<Bytes, Failure> {
        let request = match body {
            Some(b) => http::Request::post(url).header("content-type", "application/json").body(Full::new(b)),
            None => http::Request::get(url).body(Full::new(Bytes::new())),
        };
        let request = request.map_err(|_| Failure::Status(0, "the URL cannot be used".into()))?;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| {
                tracing::info!(%url, error = %e, "a model endpoint did not answer");
                Failure::NoAnswer
            })?;
            let status = response.status();
            let bytes = Limited::new(response.into_body(), MAX_ANSWER)
                .collect()
                .await
                .map_err(|_| Failure::NoAnswer)?
                .to_bytes();
            if status.is_success() { Ok(bytes) } else { Err(Failure::Status(status.as_u16(), snippet(&bytes))) }
        };
        tokio::time::timeout(self.settings.timeout, exchange).await.map_err(|_| Failure::Timeout)?
    }
}

/// The start of an error answer, on one line: servers explain a refusal there.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(300)]);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
