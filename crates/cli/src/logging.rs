//! Log set-up: structured lines on stderr, level from RISKOPS_LOG.

use crate::cli::LogFormat;
use std::io::IsTerminal;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::prelude::*;

/// `default` applies when RISKOPS_LOG is unset or unreadable (a warning says so).
pub fn init(format: LogFormat, default: LevelFilter) {
    let (filter, problem) = match std::env::var("RISKOPS_LOG") {
        Ok(spec) => match spec.parse::<Targets>() {
            Ok(t) => (t, None),
            Err(e) => (Targets::new().with_default(default), Some(format!("RISKOPS_LOG={spec:?} ignored: {e}"))),
        },
        Err(_) => (Targets::new().with_default(default), None),
    };
    let registry = tracing_subscriber::registry().with(filter);
    let colour = std::io::stderr().is_terminal();
    let result = match format {
        LogFormat::Text => {
            registry.with(tracing_subscriber::fmt::layer().with_ansi(colour).with_writer(std::io::stderr)).try_init()
        }
        LogFormat::Json => registry
            .with(tracing_subscriber::fmt::layer().json().with_current_span(true).with_writer(std::io::stderr))
            .try_init(),
    };
    if result.is_ok()
        && let Some(problem) = problem
    {
        tracing::warn!("{problem}");
    }
}
