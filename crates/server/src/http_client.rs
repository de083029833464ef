//! The server's one HTTP client stack (hyper + rustls with ring), for webhook deliveries and
//! model endpoints alike: one TLS setup, no second client library.

use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::sync::Arc;
use std::time::Duration;

/// A client (HTTP/1, redirects never followed: hyper's client does not) over `http`.
pub(crate) fn client<R>(
    mut http: HttpConnector<R>,
    connect_timeout: Duration,
) -> Result<Client<HttpsConnector<HttpConnector<R>>, Full<Bytes>>, riskops_core::Error>
where
    R: Clone + Send + Sync + 'static,
    HttpConnector<R>: tower::Service<http::Uri>,
    HttpsConnector<HttpConnector<R>>: hyper_util::client::legacy::connect::Connect,
{
    // The provider is passed in, not installed process-wide (as the S3 client does).
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = match hyper_rustls::HttpsConnectorBuilder::new().with_provider_and_native_roots(provider.clone()) {
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
    http.set_connect_timeout(Some(connect_timeout));
    http.enforce_http(false);
    let connector = builder.https_or_http().enable_http1().wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}
