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

    /// Posts raw bytes (a prediction batch) with their content type.
    pub async fn post_bytes(&self, path: &str, content_type: &str, body: Vec<u8>) -> Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.post(&url).header("content-type", content_type).body(body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose());
        }
        let response = request.send().await.map_err(|e| self.send_error(&url, e))?;
        self.answer(&url, response).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Result<Value> {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Result<Value> {
        self.send(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Result<Value> {
        self.send(Method::DELETE, path, None).await
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
        let response = request.send().await.map_err(|e| self.send_error(&url, e))?;
        self.answer(&url, response).await
    }

    fn send_error(&self, url: &str, e: reqwest::Error) -> anyhow::Error {
        if e.is_connect() {
            anyhow!(
                "cannot reach the riskops server at {} (is `riskops serve` running? set --server or RISKOPS_URL)",
                self.base
            )
        } else {
            anyhow!("request to {url} failed: {e}")
        }
    }

    /// The JSON answer, or an error made of the server's error message.
    async fn answer(&self, url: &str, response: reqwest::Response) -> Result<Value> {
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

/// A file upload: `metadata` JSON then the file, streamed from disk with a progress bar.
impl Client {
    pub async fn upload(&self, path: &str, metadata: &Value, file: &std::path::Path) -> Result<Value> {
        let handle = tokio::fs::File::open(file).await.with_context(|| format!("cannot open {}", file.display()))?;
        let size = handle.metadata().await.map(|m| m.len()).unwrap_or(0);
        let bar = std::sync::Arc::new(crate::progress::Progress::bytes(size, "uploading"));
        let counted =
            Counted { inner: tokio_util::io::ReaderStream::with_capacity(handle, 1 << 16), sent: 0, bar: bar.clone() };
        let part = reqwest::multipart::Part::stream_with_length(reqwest::Body::wrap_stream(counted), size)
            .file_name(file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "file".into()))
            .mime_str("application/octet-stream")?;
        let form = reqwest::multipart::Form::new()
            .part("metadata", reqwest::multipart::Part::text(metadata.to_string()).mime_str("application/json")?)
            .part("file", part);
        let url = format!("{}{path}", self.base);
        let mut request = self.http.post(&url).multipart(form);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose());
        }
        let response = request.send().await.map_err(|e| self.send_error(&url, e))?;
        bar.finish();
        self.answer(&url, response).await
    }

    /// Downloads to `dest` (atomically), checking the bytes against the digest the server
    /// states; returns the digest.
    pub async fn download(&self, path: &str, dest: &std::path::Path) -> Result<String> {
        use sha2::Digest as _;
        use tokio::io::AsyncWriteExt;
        let url = format!("{}{path}", self.base);
        let mut request = self.http.get(&url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose());
        }
        let mut response = request.send().await.map_err(|e| self.send_error(&url, e))?;
        if !response.status().is_success() {
            return Err(self.answer(&url, response).await.err().unwrap_or_else(|| anyhow!("download failed")));
        }
        let expected = response
            .headers()
            .get("x-riskops-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| anyhow!("the server sent no digest for {url}"))?;
        let size = response.content_length().unwrap_or(0);
        let bar = crate::progress::Progress::bytes(size, "downloading");
        let dir = dest.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
        let tmp = dir.join(format!(
            ".{}.part{}",
            dest.file_name().map(|n| n.to_string_lossy()).unwrap_or_default(),
            std::process::id()
        ));
        let mut out = tokio::fs::File::create(&tmp).await.with_context(|| format!("cannot write {}", tmp.display()))?;
        let mut hasher = sha2::Sha256::new();
        let mut received = 0u64;
        let result: Result<()> = async {
            while let Some(chunk) = response.chunk().await.with_context(|| format!("download from {url} broke off"))? {
                hasher.update(&chunk);
                out.write_all(&chunk).await?;
                received += chunk.len() as u64;
                bar.set(received);
            }
            out.flush().await?;
            out.sync_all().await?;
            Ok(())
        }
        .await;
        bar.finish();
        let actual = format!("sha256:{}", riskops_core::encode::hex(&hasher.finalize()));
        if let Err(e) = result {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
        if actual != expected {
            let _ = tokio::fs::remove_file(&tmp).await;
            bail!("the downloaded bytes hash to {actual}, not {expected}: nothing written");
        }
        tokio::fs::rename(&tmp, dest).await.with_context(|| format!("cannot write {}", dest.display()))?;
        Ok(actual)
    }
}

/// A byte stream that moves a progress bar as it is read.
struct Counted<S> {
    inner: S,
    sent: u64,
    bar: std::sync::Arc<crate::progress::Progress>,
}

impl<S> futures_core::Stream for Counted<S>
where
    S: futures_core::Stream<Item = std::io::Result<bytes::Bytes>> + Unpin,
{
    type Item = std::io::Result<bytes::Bytes>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_next(cx);
        if let std::task::Poll::Ready(Some(Ok(chunk))) = &polled {
            self.sent += chunk.len() as u64;
            self.bar.set(self.sent);
        }
        polled
    }
}
