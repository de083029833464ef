//! The alerting task: evaluates monitors on windows as they close, sends webhook
//! deliveries and drops raw-record segments past their retention, on its own schedule, so
//! ingestion never waits for any of it.
//!
//! Both steps read their work from the store (windows due, deliveries due), so a restart
//! loses nothing: what was not done is done on the next pass. Webhooks go out over hyper
//! with rustls (ring), each request bounded by [`SEND_TIMEOUT`].

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use riskops_core::Riskops;
use riskops_core::service::WebhookTransport;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The longest a receiver may take to answer.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// When the alerting task runs and when a window counts as closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertingSettings {
    /// How often windows and deliveries are checked.
    pub interval: Duration,
    /// A window that has ended closes once nothing was added to it for this long (a later
    /// window of the same model closes it at once).
    pub quiet: Duration,
}

impl Default for AlertingSettings {
    fn default() -> Self {
        AlertingSettings { interval: Duration::from_secs(2), quiet: Duration::from_secs(10) }
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
    let transport = HttpTransport::new()?;
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

/// Webhook requests over HTTP(S).
struct HttpTransport {
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl HttpTransport {
    fn new() -> Result<HttpTransport, riskops_core::Error> {
        // The provider is passed in, not installed process-wide (as the S3 client does).
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = match hyper_rustls::HttpsConnectorBuilder::new().with_provider_and_native_roots(provider.clone())
        {
            Ok(b) => b,
            // Without a CA bundle, http:// receivers still work; https:// ones fail per attempt.
            Err(_) => {
                let config = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| riskops_core::Error::internal(format!("TLS setup failed: {e}")))?
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth();
                hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config)
            }
        };
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(SEND_TIMEOUT));
        http.enforce_http(false);
        let connector = builder.https_or_http().enable_http1().wrap_connector(http);
        Ok(HttpTransport { http: Client::builder(TokioExecutor::new()).build(connector) })
    }
}

#[async_trait::async_trait]
impl WebhookTransport for HttpTransport {
    async fn post(&self, url: &str, headers: &[(String, String)], body: Vec<u8>) -> Result<u16, String> {
        let mut request = http::Request::post(url).header("user-agent", concat!("riskops/", env!("CARGO_PKG_VERSION")));
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        // Errors name the host only: a URL's path or query may carry a receiver's token.
        let request = request.body(Full::new(Bytes::from(body))).map_err(|_| "the URL cannot be used".to_string())?;
        let host = request.uri().host().unwrap_or_default().to_string();
        let send = async {
            let response = self.http.request(request).await.map_err(|e| format!("cannot reach {host}: {e}"))?;
            let status = response.status().as_u16();
            // Read (and drop) the body so the connection can be reused.
            let _ = response.into_body().collect().await;
            Ok(status)
        };
        match tokio::time::timeout(SEND_TIMEOUT, send).await {
            Ok(result) => result,
            Err(_) => Err(format!("{host} did not answer within {} s", SEND_TIMEOUT.as_secs())),
        }
    }
}
