//! `riskops serve`: resolve the configuration, start the server, stop it gracefully.

use crate::cli::ServeArgs;
use crate::config;
use anyhow::{Context, Result};
use riskops_core::clock::SystemClock;
use riskops_core::service::BootstrapOutcome;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use tracing_subscriber::filter::LevelFilter;

pub async fn run(args: ServeArgs) -> Result<ExitCode> {
    let config = config::resolve(args, std::env::var("RISKOPS_BOOTSTRAP_TOKEN").ok())?;
    crate::logging::init(config.log_format, LevelFilter::INFO);
    let data_dir = config.settings.data_dir.clone();
    let scheme = if config.settings.tls.is_some() { "https" } else { "http" };
    let running = riskops_server::start(config.settings, Arc::new(SystemClock), shutdown_signal())
        .await
        .context("riskops could not start")?;

    match &running.bootstrap {
        BootstrapOutcome::Created { generated_token: Some(token) } => {
            // Printed once, straight to the terminal: never through the logger.
            eprintln!(
                "\nriskops: created the first administrator `admin`. Its API token, shown only this once:\n\n    {}\n\n\
                 Keep it safe, e.g. `export RISKOPS_TOKEN=<token>` for the CLI.\n",
                token.expose()
            );
        }
        BootstrapOutcome::Created { generated_token: None } => {
            tracing::info!("created the first administrator `admin` with the token from RISKOPS_BOOTSTRAP_TOKEN");
        }
        BootstrapOutcome::AlreadyInitialised => {
            if std::env::var_os("RISKOPS_BOOTSTRAP_TOKEN").is_some() {
                tracing::info!("RISKOPS_BOOTSTRAP_TOKEN ignored: this store already has its administrator");
            }
        }
    }
    eprintln!(
        "riskops listening on {scheme}://{} (store: {}, data: {})",
        running.local_addr,
        running.store_kind.as_str(),
        data_dir.display()
    );
    if let Some(addr) = running.http_addr {
        eprintln!("plain HTTP on http://{addr}: /healthz and /readyz, everything else redirected to HTTPS");
    }
    let _ = std::io::stderr().flush();
    running.finished().await?;
    tracing::info!("riskops stopped");
    Ok(ExitCode::SUCCESS)
}

/// Resolves on Ctrl-C or SIGTERM; the server then stops accepting and lets in-flight
/// requests finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("Ctrl-C received, shutting down"),
        _ = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}
