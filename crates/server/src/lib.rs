//! The riskops HTTP server.
//!
//! [`start`] opens the store (running migrations), bootstraps the first admin, binds the
//! listener and serves [`router`] until the shutdown future resolves; in-flight requests
//! then finish. A request passes: request id → trace span → panic guard → body limit →
//! JSON error rewriting → route → [`extract::Caller`] (authentication) → handler → the
//! `riskops-core` service (authorization, validation) → the store.

mod access;
mod alerting;
mod checkpointer;
mod console;
pub mod endpoint;
pub mod error;
pub mod extract;
mod http_client;
mod integrity;
mod metrics;
mod models;
mod plain_http;
mod produce;
mod profiling;
pub mod record_tables;
pub mod routes;
mod segments;
mod serve;
pub mod signing;
pub mod state;
pub mod tls;
mod upload;

pub use alerting::AlertingSettings;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use riskops_core::clock::Clock;
use riskops_core::secret::Secret;
use riskops_core::service::BootstrapOutcome;
use riskops_core::store::StoreKind;
use riskops_core::{Error, Riskops};
use state::AppState;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

/// The default limit on a request body: enough for any JSON document riskops takes;
/// uploads of datasets and artifacts stream through their own routes.
pub const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// Validated settings for one server.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `postgres://…` to keep metadata in PostgreSQL; SQLite in `data_dir` when absent.
    pub database_url: Option<Secret<String>>,
    pub bootstrap_token: Option<Secret<String>>,
    pub body_limit: usize,
    /// The largest dataset or model file accepted.
    pub upload_limit: u64,
    /// The largest prediction or label batch, as sent and once decompressed.
    pub batch_limit: usize,
    /// S3-compatible storage for artifacts; `<data_dir>/artifacts` when absent.
    pub artifact_store: Option<riskops_s3::S3Config>,
    /// The Ed25519 key (PKCS#8) that signs audit checkpoints and production models;
    /// `<data_dir>/signing-key.pk8` when absent. Created (mode 0600) on first start.
    pub signing_key_file: Option<PathBuf>,
    /// How often the audit head is signed even when no request to this server changed it.
    pub checkpoint_interval: Duration,
    /// When monitors are evaluated and windows close.
    pub alerting: AlertingSettings,
    /// How model endpoints are called: batch size, timeout, retries.
    pub endpoints: endpoint::EndpointSettings,
    /// Serve HTTPS with this certificate and key (reloaded on SIGHUP); plain HTTP when absent.
    pub tls: Option<tls::TlsFiles>,
    /// With `tls`, also listen here in plain HTTP: `/healthz` and `/readyz` answered, every
    /// other request redirected to HTTPS. Refused without `tls`.
    pub http_listen: Option<SocketAddr>,
    /// How often every current deployment is verified again (artifact digest, registry
    /// digest, production signature); also once at start.
    pub integrity_interval: Duration,
    /// Thresholds of the access rules that open security incidents (bursts of failed
    /// sign-ins, 401/429s and 403s).
    pub access: riskops_core::access::AccessSettings,
    /// How often denied requests are written to the audit trail (per subject, route and
    /// ended minute) and access findings become incidents; also once at shutdown.
    pub access_flush_interval: Duration,
    /// The project access incidents are filed under, so its webhooks hear them and its roles
    /// see them; none by default (global roles only, no webhooks).
    pub access_project: Option<String>,
    /// After the shutdown signal, how long to go on serving with `/readyz` at 503, so a load
    /// balancer stops sending before the listener closes; then in-flight requests finish.
    pub drain: Duration,
}

/// The default [`Settings::integrity_interval`]: hourly, as each pass hashes every deployed
/// artifact again.
pub const DEFAULT_INTEGRITY_INTERVAL: Duration = Duration::from_secs(3600);

/// The default [`Settings::access_flush_interval`].
pub const DEFAULT_ACCESS_FLUSH_INTERVAL: Duration = Duration::from_secs(10);

/// The default [`Settings::checkpoint_interval`].
pub const DEFAULT_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(30);

/// The default batch limit: 64 MiB holds 100,000 records of 20 features several times
/// over, and bounds what a gzip body may expand to.
pub const DEFAULT_BATCH_LIMIT: usize = 64 << 20;

/// The default upload limit: 16 GiB (files stream to disk; memory does not grow with size).
pub const DEFAULT_UPLOAD_LIMIT: u64 = 16 << 30;

/// The OpenAPI document of every route, built once.
pub fn openapi() -> utoipa::openapi::OpenApi {
    static DOC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOC.get_or_init(|| routes::api().merge(routes::uploads()).merge(routes::batches()).split_for_parts().1).clone()
}

/// The full application with its middleware stack.
pub fn router(state: AppState, body_limit: usize) -> Router {
    let request_id = HeaderName::from_static(extract::REQUEST_ID_HEADER);
    let upload_limit = usize::try_from(state.upload_limit).unwrap_or(usize::MAX);
    let (api, _) = routes::api()
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(RequestBodyLimitLayer::new(body_limit))
        .split_for_parts();
    let (uploads, _) = routes::uploads()
        .layer(DefaultBodyLimit::max(upload_limit))
        .layer(RequestBodyLimitLayer::new(upload_limit))
        .split_for_parts();
    // Batch handlers read their body themselves, after authorization, under the same limit.
    let (batches, _) = routes::batches()
        .layer(DefaultBodyLimit::max(state.batch_limit))
        .layer(RequestBodyLimitLayer::new(state.batch_limit))
        .split_for_parts();
    // Layers run outside-in from the bottom: an id is set first, so every log line and
    // every error carries it; json_errors sits outside the body limits and the panic
    // guard so that their answers become JSON too.
    let poked = state.audit_written.clone();
    let riskops = state.riskops.clone();
    // The console's forms are small: a sign-in or a comment.
    let console = console::router().layer(DefaultBodyLimit::max(64 << 10)).layer(RequestBodyLimitLayer::new(64 << 10));
    api.merge(uploads)
        .merge(batches)
        .merge(console)
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn_with_state(poked, checkpointer::poke_after_writes))
        .layer(CatchPanicLayer::new())
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(axum::middleware::from_fn_with_state(riskops, access::count_denied))
        .layer(axum::middleware::from_fn(error::json_errors))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let id = req.headers().get(extract::REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    // Only method, path and id: headers (tokens) and bodies never reach the log.
                    tracing::info_span!("request", id = %id, method = %req.method(), path = %req.uri().path())
                })
                .on_request(())
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

/// Creates the data directory, its artifacts/ and tmp/ folders (each the server's user's only,
/// 0700, also when an earlier version made them 0755) and empties tmp/ of what a killed
/// server was receiving; the number of files removed. Errors name no path to clients: they
/// stop the server at start, where the operator reads them.
fn prepare_data_dir(
    data_dir: &std::path::Path,
    artifacts: &std::path::Path,
    tmp_dir: &std::path::Path,
) -> Result<usize, Error> {
    use riskops_store::artifacts::{clear_dir, private_dir, restrict_dir};
    for dir in [data_dir, artifacts, tmp_dir] {
        private_dir(dir)
            .and_then(|()| restrict_dir(dir))
            .map_err(|e| Error::unavailable(format!("cannot create {}: {e}", dir.display())))?;
    }
    clear_dir(tmp_dir).map_err(|e| Error::unavailable(format!("cannot empty {}: {e}", tmp_dir.display())))
}

/// A server that is accepting connections.
pub struct Running {
    pub local_addr: SocketAddr,
    /// The plain-HTTP listener beside TLS, when asked for.
    pub http_addr: Option<SocketAddr>,
    pub store_kind: StoreKind,
    pub bootstrap: BootstrapOutcome,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Waits until the server has shut down and every in-flight request has finished.
    pub async fn finished(self) -> Result<(), Error> {
        match self.task.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Error::internal(format!("the server stopped with an error: {e}"))),
            Err(e) => Err(Error::internal(format!("the server task failed: {e}"))),
        }
    }
}

/// `shutdown`, then the drain: readiness turns 503 at once and the listener closes `drain`
/// later, so a load balancer that checks `/readyz` stops sending first.
async fn drain_then(shutdown: impl Future<Output = ()>, draining: Arc<std::sync::atomic::AtomicBool>, drain: Duration) {
    shutdown.await;
    draining.store(true, std::sync::atomic::Ordering::SeqCst);
    if !drain.is_zero() {
        tracing::info!(seconds = drain.as_secs_f64(), "draining: /readyz answers 503, requests are still served");
        tokio::time::sleep(drain).await;
    }
    tracing::info!("no new connections; finishing the requests in flight");
}

/// Opens the store, bootstraps, binds `settings.listen` and serves until `shutdown`
/// resolves.
pub async fn start(
    settings: Settings,
    clock: Arc<dyn Clock>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Running, Error> {
    if settings.http_listen.is_some() && settings.tls.is_none() {
        return Err(Error::invalid(
            "http_listen",
            "a plain-HTTP listener goes beside TLS (--tls-cert, --tls-key); without them --listen is plain HTTP already",
        ));
    }
    let tmp_dir = settings.data_dir.join("tmp");
    let artifacts = settings.data_dir.join("artifacts");
    let removed_tmp = prepare_data_dir(&settings.data_dir, &artifacts, &tmp_dir)?;
    let database_url = settings.database_url.as_ref().map(|u| u.expose().as_str());
    let store = riskops_store::open(database_url, &settings.data_dir).await?;
    let store_kind = store.kind();
    let artifacts: Arc<dyn riskops_core::artifact::ArtifactStore> = match &settings.artifact_store {
        Some(config) => Arc::new(riskops_s3::S3Artifacts::connect(config.clone(), tmp_dir.clone()).await?),
        None => Arc::new(riskops_store::artifacts::LocalArtifacts::new(artifacts)?),
    };
    let artifact_kind = artifacts.kind();
    let key_file = settings.signing_key_file.clone().unwrap_or_else(|| settings.data_dir.join(signing::KEY_FILE_NAME));
    if key_file.starts_with(&settings.data_dir) {
        // The embedded default keeps the quick start to one command, but whoever holds a copy
        // of the data directory then holds the key too, and could re-sign a rewritten trail.
        tracing::warn!(
            key = %key_file.display(),
            "the signing key is inside the data directory; for audits you must be able to trust, keep it elsewhere (--signing-key-file) and out of copies of the data"
        );
    }
    let key = tokio::task::spawn_blocking(move || signing::load_or_create(&key_file))
        .await
        .map_err(|e| Error::internal(format!("loading the signing key failed: {e}")))??;
    let riskops = Riskops::new(store, artifacts, clock)
        .with_signing_key(Arc::new(key))
        .with_segment_writer(Arc::new(segments::ParquetSegments { tmp_dir: tmp_dir.clone() }))
        .with_record_tables(Arc::new(record_tables::FileRecordTables))
        .with_model_inspector(Arc::new(models::Inspector { endpoints: settings.endpoints.clone() }))
        .with_evidence_producer(
            Arc::new(produce::ModelRunner { endpoints: settings.endpoints.clone() }),
            tmp_dir.join("produced"),
        )
        .with_window_explainer(Arc::new(produce::WindowAttributions::default()))
        .with_webhook_allow_hosts(settings.alerting.webhook_allow_hosts.clone())
        .with_access_monitor(Arc::new(riskops_core::access::AccessMonitor::new(settings.access)))
        .with_access_project(settings.access_project.clone());
    let orphans = riskops.remove_unreferenced_artifacts().await?;
    if removed_tmp + orphans > 0 {
        tracing::info!(
            temporary_files = removed_tmp,
            unreferenced_objects = orphans,
            "removed what an earlier run left behind (uploads cut off by a crash, objects no record refers to)"
        );
    }
    let bootstrap = riskops.bootstrap(settings.bootstrap_token.as_ref()).await?;
    let public_key = riskops.register_signing_key().await?;

    // A certificate that cannot be read stops the start, before anything listens.
    let tls = settings.tls.clone().map(tls::Tls::load).transpose()?;
    if let Some(t) = &tls {
        t.reload_on_sighup()?;
    }
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|e| Error::unavailable(format!("cannot listen on {}: {e}", settings.listen)))?;
    let local_addr = listener.local_addr().map_err(|e| Error::internal(e.to_string()))?;
    let plain = match settings.http_listen {
        None => None,
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| Error::unavailable(format!("cannot listen on {addr}: {e}")))?,
        ),
    };
    let http_addr = plain.as_ref().map(|l| l.local_addr()).transpose().map_err(|e| Error::internal(e.to_string()))?;
    let draining = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // One shutdown for every listener: after the drain, each stops accepting.
    let (stop_listening, listening) = tokio::sync::watch::channel(false);
    let drain = settings.drain;
    let draining_flag = draining.clone();
    tokio::spawn(async move {
        drain_then(shutdown, draining_flag, drain).await;
        let _ = stop_listening.send(true);
    });
    let stop_accepting = |mut listening: tokio::sync::watch::Receiver<bool>| async move {
        let _ = listening.wait_for(|stop| *stop).await;
    };
    let audit_written = Arc::new(tokio::sync::Notify::new());
    let (stop_checkpoints, stopped) = tokio::sync::watch::channel(false);
    let checkpoints =
        checkpointer::spawn(riskops.clone(), audit_written.clone(), settings.checkpoint_interval, stopped);
    let alerts = alerting::spawn(riskops.clone(), settings.alerting.clone(), stop_checkpoints.subscribe())?;
    let integrity = integrity::spawn(riskops.clone(), settings.integrity_interval, stop_checkpoints.subscribe());
    // Stopped before the checkpointer, so the last counts are under the final signature.
    let (stop_access, access_stopped) = tokio::sync::watch::channel(false);
    let access = access::spawn(riskops.clone(), settings.access_flush_interval, access_stopped);
    let state = AppState {
        riskops,
        tmp_dir,
        upload_limit: settings.upload_limit,
        batch_limit: settings.batch_limit,
        audit_written,
        https: tls.is_some(),
        draining: draining.clone(),
    };
    let state_for_plain = state.clone();
    let app = router(state, settings.body_limit);
    // Under TLS, browsers are told to come back only over HTTPS (a year, as is usual).
    let app = match tls {
        Some(_) => app.layer(axum::middleware::map_response(|mut response: axum::response::Response| async move {
            response.headers_mut().insert(
                axum::http::header::STRICT_TRANSPORT_SECURITY,
                axum::http::HeaderValue::from_static("max-age=31536000"),
            );
            response
        })),
        None => app,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let plain = plain.map(|l| {
        let redirects = plain_http::router(state_for_plain, local_addr.port());
        tokio::spawn(serve::serve(l, redirects, stop_accepting(listening.clone()), None))
    });
    let task = tokio::spawn(async move {
        let served = serve::serve(listener, app, stop_accepting(listening), tls).await;
        if let Some(plain) = plain
            && let Ok(Err(e)) = plain.await
        {
            tracing::warn!(error = %e, "the plain-HTTP listener stopped with an error");
        }
        // Requests are done: write the last denied counts, then sign the final head before
        // reporting the server stopped.
        let _ = stop_access.send(true);
        if let Err(e) = access.await {
            tracing::warn!(error = %e, "the access monitoring task failed");
        }
        let _ = stop_checkpoints.send(true);
        if let Err(e) = checkpoints.await {
            tracing::warn!(error = %e, "the checkpointer task failed");
        }
        if let Err(e) = alerts.await {
            tracing::warn!(error = %e, "the alerting task failed");
        }
        if let Err(e) = integrity.await {
            tracing::warn!(error = %e, "the integrity task failed");
        }
        served
    });
    tracing::info!(%local_addr, scheme, store = store_kind.as_str(), artifacts = artifact_kind, data_dir = %settings.data_dir.display(), key_id = %public_key.key_id(), "riskops is listening");
    if let Some(addr) = http_addr {
        tracing::info!(%addr, "plain HTTP here answers /healthz and /readyz and redirects the rest to HTTPS");
    }
    Ok(Running { local_addr, http_addr, store_kind, bootstrap, task })
}
