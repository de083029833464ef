//! The HTTP client the commands use: adds the token, turns error responses into messages.

use anyhow::{Context, Result, anyhow, bail};
use reqwest::{Method, StatusCode};
use riskops_core::secret::Secret;
use serde_json::Value;

pub struct Client {
    base: String,
    token: Option<Secret<String>>,
    http: reqwest::Client,
}

impl Client {
    pub fn new(server: &str, token: Option<Secret<String>>) -> Result<Self> {
        let base = server.trim_end_matches('/').to_string();
        if !base.starts_with("http://") && !base.starts_with("https://") {
            bail!("--server must be an http:// URL, e.g. http://127.0.0.1:8080 (got {server:?})");
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("riskops-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Client { base, token, http })
    }

    pub async fn get(&self, path: &str) -> Result<Value> {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value> {
        self.send(Method::POST, path, Some(body)).await
    }

    async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method, &url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose());
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| {
            if e.is_connect() {
                anyhow!(
                    "cannot reach the riskops server at {} (is `riskops serve` running? set --server or RISKOPS_URL)",
                    self.base
                )
            } else {
                anyhow!("request to {url} failed: {e}")
            }
        })?;
        let status = response.status();
        let bytes = response.bytes().await.with_context(|| format!("reading the answer from {url}"))?;
        let value: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .with_context(|| format!("the server at {} answered something other than JSON", self.base))?
        };
        if status.is_success() {
            return Ok(value);
        }
        let code = value.pointer("/error/code").and_then(Value::as_str).unwrap_or("error");
        let message = value.pointer("/error/message").and_then(Value::as_str).unwrap_or("no message");
        let hint = match status {
            StatusCode::UNAUTHORIZED if self.token.is_none() => " (no token given: use --token or RISKOPS_TOKEN)",
            _ => "",
        };
        bail!("{message}{hint} [{code}, HTTP {}]", status.as_u16())
    }
}
