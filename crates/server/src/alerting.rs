//! The alerting task: evaluates monitors on windows as they close, sends webhook
//! deliveries and drops raw-record segments past their retention, on its own schedule, so
//! ingestion never waits for any of it.
//!
//! Both steps read their work from the store (windows due, deliveries due), so a restart
//! loses nothing: what was not done is done on the next pass. Webhooks go out over hyper
//! with rustls (ring), each request bounded by [`SEND_TIMEOUT`], never to an internal address
//! unless the operator allowed that host (see `riskops_core::webhook_guard`).

use crate::http_client::client;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use riskops_core::Riskops;
use riskops_core::service::WebhookTransport;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The longest a receiver may take to answer.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// When the alerting task runs and when a window counts as closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertingSettings {
    /// How often windows and deliveries are checked.
    pub interval: Duration,
    /// A window that has ended closes once nothing was added to it for this long (a later
    /// window of the same model closes it at once).
    pub quiet: Duration,
    /// `HOST` or `HOST:PORT` webhook receivers allowed although they resolve to a loopback,
    /// private or link-local address (`--webhook-allow-host`).
    pub webhook_allow_hosts: Vec<String>,
}

impl Default for AlertingSettings {
    fn default() -> Self {
        AlertingSettings {
            interval: Duration::from_secs(2),
            quiet: Duration::from_secs(10),
            webhook_allow_hosts: Vec::new(),
        }
    }
}

/// Runs until `stop` turns true (or its sender is dropped): one loop judges windows, settles
/// risks and drops expired segments; another sends webhooks, so a slow receiver delays
/// only notifications.
pub fn spawn(
    riskops: Riskops,
    settings: AlertingSettings,
    stop: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, riskops_core::Error> {
    let transport = HttpTransport::new(settings.webhook_allow_hosts.clone())?;
    let judge = every(settings.interval, stop.clone(), {
        let riskops = riskops.clone();
        let quiet = i64::try_from(settings.quiet.as_secs()).unwrap_or(i64::MAX);
        move || {
            let riskops = riskops.clone();
            async move {
                match riskops.evaluate_monitors(quiet).await {
                    Ok(s) if !s.opened.is_empty() || !s.extended.is_empty() => tracing::info!(
                        windows = s.windows, opened = ?s.opened, extended = ?s.extended, "monitors evaluated"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "could not evaluate monitors"),
                }
                match riskops.expire_segments().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(segments = n, "raw-record segments past their retention dropped"),
                    Err(e) => tracing::warn!(error = %e, "could not drop expired segments"),
                }
            }
        }
    });
    let transport = Arc::new(transport);
    let send = every(settings.interval, stop, move || {
        let (riskops, transport) = (riskops.clone(), transport.clone());
        async move {
            if let Err(e) = riskops.deliver_webhooks(transport.as_ref()).await {
                tracing::warn!(error = %e, "could not send webhook deliveries");
            }
        }
    });
    Ok(tokio::spawn(async move {
        let _ = tokio::join!(judge, send);
    }))
}

/// Runs `work` every `interval` until `stop` turns true.
fn every<F, Fut>(interval: Duration, mut stop: watch::Receiver<bool>, work: F) -> tokio::task::JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = stop.changed() => break,
            }
            if *stop.borrow() {
                break;
            }
            work().await;
        }
    })
}

/// Webhook requests over HTTP(S): through a resolver that refuses internal addresses, or,
/// for the hosts the operator allowed, through the system's.
struct HttpTransport {
    guarded: Client<HttpsConnector<HttpConnector<GuardedResolver>>, Full<Bytes>>,
    allowed: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    allow: Vec<String>,
}

impl HttpTransport {
    fn new(allow: Vec<String>) -> Result<HttpTransport, riskops_core::Error> {
        Ok(HttpTransport {
            guarded: client(HttpConnector::new_with_resolver(GuardedResolver), SEND_TIMEOUT)?,
            allowed: client(HttpConnector::new(), SEND_TIMEOUT)?,
            allow,
        })
    }
}

/// Resolves a receiver's name and refuses it when any of its addresses is internal: checked
/// here, where the connection's addresses come from, so a name that changes its answer between
/// a check and the connection (DNS rebinding) cannot slip through.
#[derive(Clone)]
struct GuardedResolver;

impl tower::Service<Name> for GuardedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            if let Some(internal) = addrs.iter().find(|a| riskops_core::webhook_guard::is_internal(a.ip())) {
                return Err(std::io::Error::new(std::io::ErrorKind::PermissionDenied, Refused(internal.ip())));
            }
            Ok(addrs.into_iter())
        })
    }
}

/// Why a receiver was not contacted: it resolved to an internal address.
#[derive(Debug)]
struct Refused(std::net::IpAddr);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "resolves to the internal address {}", self.0)
    }
}

impl std::error::Error for Refused {}

#[async_trait::async_trait]
impl WebhookTransport for HttpTransport {
    async fn post(&self, url: &str, headers: &[(String, String)], body: Vec<u8>) -> Result<u16, String> {
        let mut request = http::Request::post(url).header("user-agent", concat!("riskops/", env!("CARGO_PKG_VERSION")));
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        // Errors name the host only: a URL's path or query may carry a receiver's token.
        let request = request.body(Full::new(Bytes::from(body))).map_err(|_| "the URL cannot be used".to_string())?;
        let host = request.uri().host().unwrap_or_default().trim_matches(['[', ']']).to_string();
        let port =
            request.uri().port_u16().unwrap_or(if request.uri().scheme_str() == Some("https") { 443 } else { 80 });
        let allowed = riskops_core::webhook_guard::allowed(&self.allow, &host, port);
        // An address literal is not resolved (the connector dials it as it is): checked here.
        if !allowed
            && let Ok(ip) = host.parse::<std::net::IpAddr>()
            && riskops_core::webhook_guard::is_internal(ip)
        {
            return Err(refused_message(&host));
        }
        let send = async {
            let response =
                if allowed { self.allowed.request(request).await } else { self.guarded.request(request).await };
            let response = response.map_err(|e| {
                if crate::error::chain_has::<Refused>(&e) {
                    return refused_message(&host);
                }
                // Whether the port was closed, filtered or spoke something else stays in the
                // server's log: project users must not learn it (that would make the delivery
                // list a port scanner).
                tracing::info!(%host, error = %error_chain(&e), "a webhook delivery failed");
                format!("no HTTP answer from {host}")
            })?;
            let status = response.status().as_u16();
            // Read (and drop) the body so the connection can be reused.
            let _ = response.into_body().collect().await;
            Ok(status)
        };
        match tokio::time::timeout(SEND_TIMEOUT, send).await {
            Ok(result) => result,
            Err(_) => {
                tracing::info!(%host, "a webhook receiver did not answer in time");
                Err(format!("no HTTP answer from {host}"))
            }
        }
    }
}

fn refused_message(host: &str) -> String {
    format!(
        "{host} is a loopback, private or link-local address; webhooks are not sent there unless the server allows it (riskops serve --webhook-allow-host {host})"
    )
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::str::FromStr;

    #[tokio::test]
    async fn names_that_resolve_to_internal_addresses_are_refused_at_delivery() {
        let err = tower::Service::call(&mut GuardedResolver, Name::from_str("localhost").unwrap()).await.unwrap_err();
        assert!(crate::error::chain_has::<Refused>(&err), "{err}");
        let transport = HttpTransport::new(Vec::new()).unwrap();
        for url in ["http://localhost:9/x", "http://127.0.0.1:9/x", "http://[::ffff:127.0.0.1]:9/x"] {
            let said = transport.post(url, &[], b"{}".to_vec()).await.unwrap_err();
            assert!(said.contains("--webhook-allow-host"), "{url}: {said}");
        }
    }

    #[tokio::test]
    async fn a_closed_port_and_a_port_that_speaks_something_else_fail_alike() {
        // Allowed hosts, so the connection is attempted: one port closed, one not HTTP.
        let transport = HttpTransport::new(vec!["127.0.0.1".into()]).unwrap();
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let closed_port = closed.local_addr().unwrap().port();
        drop(closed);
        let other = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let other_port = other.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut tcp, _)) = other.accept().await {
                use tokio::io::AsyncWriteExt;
                let _ = tcp.write_all(b"SSH-2.0-OpenSSH_9.6\r\n").await;
            }
        });
        let a = transport.post(&format!("http://127.0.0.1:{closed_port}/"), &[], Vec::new()).await.unwrap_err();
        let b = transport.post(&format!("http://127.0.0.1:{other_port}/"), &[], Vec::new()).await.unwrap_err();
        assert_eq!(a, "no HTTP answer from 127.0.0.1");
        assert_eq!(a, b);
    }
}
