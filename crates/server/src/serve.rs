//! The accept loop: one HTTP/1 connection per client, with what `axum::serve` cannot set.
//!
//! - A **header-read timeout**: a client that trickles its request head (a header line every
//!   few seconds, to hold a connection and a task open) is cut off after
//!   [`HEADER_READ_TIMEOUT`]; so is a kept-alive connection idle for that long.
//! - **Every error is JSON**: hyper answers a request it cannot parse (400, a URI over 64 KiB:
//!   414, headers over its buffer: 431) itself, before any middleware sees it, with an empty
//!   body. [`JsonErrorsIo`] rewrites those heads into riskops's error shape on the way out.
//! - Graceful shutdown: no new connections once `shutdown` resolves; in-flight requests finish.

use crate::error::{ErrorBody, ErrorDetail, code_for_status};
use crate::tls::Tls;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tower::ServiceExt;

/// How long a client may take to send a request's head (and a kept-alive connection may idle).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `shutdown` resolves, then waits for open requests. With
/// `tls`, each connection is a TLS handshake first (within [`HEADER_READ_TIMEOUT`]).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()>,
    tls: Option<Arc<Tls>>,
) -> io::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let watcher = graceful.watcher();
        let acceptor = tls.as_ref().map(|t| t.acceptor());
        tokio::spawn(async move {
            let ended = match acceptor {
                None => connection(stream, peer, app, watcher).await,
                Some(acceptor) => match tokio::time::timeout(HEADER_READ_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => connection(stream, peer, app, watcher).await,
                    Ok(Err(e)) => {
                        tracing::debug!(error = %e, %peer, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%peer, "TLS handshake timed out");
                        return;
                    }
                },
            };
            if let Err(e) = ended {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// One HTTP/1 connection over `stream` (TCP, or TLS over TCP), until it ends or the server
/// shuts down gracefully.
async fn connection<S>(
    stream: S,
    peer: std::net::SocketAddr,
    app: Router,
    watcher: hyper_util::server::graceful::Watcher,
) -> Result<(), hyper::Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        app.clone().oneshot(request.map(axum::body::Body::new))
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        // One buffer per response head, so JsonErrorsIo sees hyper's own answers whole.
        .writev(false)
        .serve_connection(TokioIo::new(JsonErrorsIo::new(stream)), service);
    watcher.watch(connection).await
}

/// A stream whose outgoing error heads without a body (hyper's automatic answers; every
/// answer of riskops's own is JSON with a content type) are replaced by the JSON error shape.
struct JsonErrorsIo<S> {
    inner: S,
    /// A rewritten answer not yet fully written.
    pending: Vec<u8>,
    written: usize,
}

impl<S: AsyncWrite + Unpin> JsonErrorsIo<S> {
    fn new(inner: S) -> Self {
        JsonErrorsIo { inner, pending: Vec::new(), written: 0 }
    }

    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

/// The JSON version of an error head hyper wrote without a body, or `None` to send it as is.
fn as_json_error(head: &[u8]) -> Option<Vec<u8>> {
    let end = head.windows(4).position(|w| w == b"\r\n\r\n")?;
    let text = std::str::from_utf8(&head[..end]).ok()?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next()?;
    let code: u16 = status_line.strip_prefix("HTTP/1.")?.get(2..5)?.parse().ok()?;
    let status = axum::http::StatusCode::from_u16(code).ok()?;
    let headers: Vec<&str> = lines.collect();
    let has_body = |h: &&str| {
        let h = h.to_ascii_lowercase();
        h.starts_with("content-type:") || (h.starts_with("content-length:") && h.trim_end() != "content-length: 0")
    };
    if !(status.is_client_error() || status.is_server_error()) || headers.iter().any(has_body) {
        return None;
    }
    let message = match code {
        414 => "the request URI is too long",
        431 => "the request headers are too large",
        _ => "the request could not be read as HTTP",
    };
    let body = ErrorBody {
        error: ErrorDetail { code: code_for_status(status).to_string(), message: message.into(), field: None },
    };
    let body = serde_json::to_vec(&body).ok()?;
    let mut out = format!("{status_line}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n", body.len());
    for h in headers.iter().filter(|h| !h.to_ascii_lowercase().starts_with("content-length:")) {
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(&body);
    out.extend_from_slice(&head[end + 4..]);
    Some(out)
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for JsonErrorsIo<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for JsonErrorsIo<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        if buf.starts_with(b"HTTP/1.")
            && let Some(rewritten) = as_json_error(buf)
        {
            self.pending = rewritten;
            // The caller's bytes are taken whole; the rewrite goes out on this and later polls.
            let _ = self.poll_pending(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::as_json_error;

    #[test]
    fn hyper_heads_without_a_body_become_json() {
        let head = b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\nconnection: close\r\ndate: x\r\n\r\n";
        let out = String::from_utf8(as_json_error(head).unwrap()).unwrap();
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 414 URI Too Long\r\ncontent-type: application/json\r\n"), "{head}");
        assert!(head.contains(&format!("content-length: {}", body.len())), "{head}");
        assert!(head.contains("connection: close"), "{head}");
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"]["code"], "uri_too_long");
    }

    #[test]
    fn answers_that_are_already_json_or_successes_pass_as_they_are() {
        assert!(
            as_json_error(
                b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 9\r\n\r\n{\"a\":1}"
            )
            .is_none()
        );
        assert!(as_json_error(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(as_json_error(b"HTTP/1.1 404 Not Found\r\ncontent-length: 12\r\n\r\n").is_none());
    }
}
