//! The HTTP client the commands use: adds the token, turns error responses into messages.

use anyhow::{Context, Result, anyhow, bail};
use reqwest::{Method, StatusCode};
use riskops_api::ErrorBody;
use riskops_core::secret::Secret;
use serde::Serialize;
use serde::de::{Deserialize, DeserializeOwned};
use serde_json::Value;

/// A successful answer: read into its `riskops-api` type for text output, and the JSON as
/// the server sent it (its field order kept) for `--format json`, which prints that, so a
/// field a newer server adds is shown too.
#[derive(Debug)]
pub struct Answer<T> {
    pub body: T,
    pub json: Value,
}

impl<T: DeserializeOwned> Answer<T> {
    fn read(path: &str, json: Value) -> Result<Self> {
        let body = T::deserialize(&json)
            .with_context(|| format!("the answer to {path} is not what this riskops expects (another version?)"))?;
        Ok(Answer { body, json })
    }
}

impl<T> std::ops::Deref for Answer<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.body
    }
}

/// The rustls error behind a failed request, if TLS is what failed (it travels inside
/// io::Errors, whose `source()` skips their payload).
fn rustls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = e.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    if let Some(inner) = e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
        return rustls_error(inner);
    }
    e.source().and_then(rustls_error)
}

/// A reqwest client builder whose TLS uses rustls with ring (reqwest is built without a
/// provider of its own, so the process's default is set first; the system's CAs are
/// trusted through the platform verifier).
pub fn http_builder() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

pub struct Client {
    base: String,
    token: Option<Secret<String>>,
    http: reqwest::Client,
}

impl Client {
    pub fn new(server: &str, token: Option<Secret<String>>, ca_cert: Option<&std::path::Path>) -> Result<Self> {
        let base = server.trim_end_matches('/').to_string();
        if !base.starts_with("http://") && !base.starts_with("https://") {
            bail!("--server must be an http:// or https:// URL, e.g. http://127.0.0.1:8080 (got {server:?})");
        }
        let mut builder = http_builder().user_agent(concat!("riskops-cli/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = ca_cert {
            let pem = std::fs::read(path).with_context(|| format!("cannot read --ca-cert {}", path.display()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .with_context(|| format!("--ca-cert {} holds no PEM certificate", path.display()))?;
            if certs.is_empty() {
                bail!("--ca-cert {} holds no PEM certificate", path.display());
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder.build().context("cannot build the HTTP client")?;
        Ok(Client { base, token, http })
    }

    /// GETs `path` and reads the answer into its `riskops-api` type.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<Answer<T>> {
        Answer::read(path, self.send(Method::GET, path, None::<&()>).await?)
    }

    pub async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<Answer<T>> {
        Answer::read(path, self.send(Method::POST, path, Some(body)).await?)
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

    pub async fn put<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<Answer<T>> {
        Answer::read(path, self.send(Method::PUT, path, Some(body)).await?)
    }

    pub async fn patch<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<Answer<T>> {
        Answer::read(path, self.send(Method::PATCH, path, Some(body)).await?)
    }

    /// DELETEs `path`; `T` is `()` for routes that answer 204 without a body.
    pub async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<Answer<T>> {
        Answer::read(path, self.send(Method::DELETE, path, None::<&()>).await?)
    }

    async fn send<B: Serialize>(&self, method: Method, path: &str, body: Option<&B>) -> Result<Value> {
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
        // A certificate the client does not trust is a connect error too; say which it is.
        if let Some(tls) = rustls_error(&e) {
            return anyhow!(
                "the TLS connection to {} failed: {tls} (for a private CA, give its certificate with --ca-cert)",
                self.base
            );
        }
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
        let error = ErrorBody::deserialize(&value).ok().map(|b| b.error);
        let code = error.as_ref().map_or("error", |e| e.code.as_str());
        let message = error.as_ref().map_or("no message", |e| e.message.as_str());
        let hint = match status {
            StatusCode::UNAUTHORIZED if self.token.is_none() => " (no token given: use --token or RISKOPS_TOKEN)",
            _ => "",
        };
        bail!("{message}{hint} [{code}, HTTP {}]", status.as_u16())
    }
}

/// A file upload: `metadata` JSON then the file, streamed from disk with a progress bar.
impl Client {
    pub async fn upload<M: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        metadata: &M,
        file: &std::path::Path,
    ) -> Result<Answer<T>> {
        let metadata = serde_json::to_string(metadata)?;
        let handle = tokio::fs::File::open(file).await.with_context(|| format!("cannot open {}", file.display()))?;
        let size = handle.metadata().await.map(|m| m.len()).unwrap_or(0);
        let bar = std::sync::Arc::new(crate::progress::Progress::bytes(size, "uploading"));
        let counted =
            Counted { inner: tokio_util::io::ReaderStream::with_capacity(handle, 1 << 16), sent: 0, bar: bar.clone() };
        let part = reqwest::multipart::Part::stream_with_length(reqwest::Body::wrap_stream(counted), size)
            .file_name(file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "file".into()))
            .mime_str("application/octet-stream")?;
        let form = reqwest::multipart::Form::new()
            .part("metadata", reqwest::multipart::Part::text(metadata).mime_str("application/json")?)
            .part("file", part);
        let url = format!("{}{path}", self.base);
        let mut request = self.http.post(&url).multipart(form);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose());
        }
        let response = request.send().await.map_err(|e| self.send_error(&url, e))?;
        bar.finish();
        Answer::read(path, self.answer(&url, response).await?)
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

impl Client {
    /// A small file (an evidence report) read into memory and checked against the digest the
    /// server states; `None` when it is larger than `limit` bytes (left unread).
    pub async fn get_small_file(&self, path: &str, limit: u64) -> Result<Option<Vec<u8>>> {
        use sha2::Digest as _;
        let url = format!("{}{path}", self.base);
        let mut request = self.http.get(&url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose());
        }
        let response = request.send().await.map_err(|e| self.send_error(&url, e))?;
        if !response.status().is_success() {
            return Err(self.answer(&url, response).await.err().unwrap_or_else(|| anyhow!("download failed")));
        }
        if response.content_length().is_some_and(|n| n > limit) {
            return Ok(None);
        }
        let expected = response
            .headers()
            .get("x-riskops-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| anyhow!("the server sent no digest for {url}"))?;
        let bytes = response.bytes().await.with_context(|| format!("download from {url} broke off"))?;
        if bytes.len() as u64 > limit {
            return Ok(None);
        }
        let actual = format!("sha256:{}", riskops_core::encode::hex(&sha2::Sha256::digest(&bytes)));
        if actual != expected {
            bail!("the bytes of {url} hash to {actual}, not {expected}");
        }
        Ok(Some(bytes.to_vec()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use riskops_api::system::WhoAmI;

    #[test]
    fn an_answer_is_typed_and_keeps_the_json_as_sent() {
        // Fields in the server's order, plus one this CLI does not know (a newer server).
        let sent = r#"{"roles":["admin"],"name":"ada","kind":"user","since":"2026"}"#;
        let answer = Answer::<WhoAmI>::read("/api/v1/whoami", serde_json::from_str(sent).unwrap()).unwrap();
        assert_eq!(answer.name, "ada");
        assert_eq!(answer.roles, vec!["admin".to_string()]);
        assert_eq!(answer.json.to_string(), sent, "--format json prints what was sent");
    }

    #[test]
    fn an_answer_of_another_shape_is_a_clear_error() {
        let wrong = serde_json::json!({"name": "ada", "roles": "admin"});
        let error = Answer::<WhoAmI>::read("/api/v1/whoami", wrong).unwrap_err();
        let text = format!("{error:#}");
        assert!(text.contains("the answer to /api/v1/whoami is not what this riskops expects"), "{text}");
    }
}
