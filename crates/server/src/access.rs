//! Access monitoring at the edge: every answer 401, 403 or 429 is counted by
//! `Riskops::record_denied` with the caller (when one authenticated), the peer address and
//! the route template; and the task that flushes the counts to the audit trail in aggregate
//! and opens security incidents (`Riskops::flush_access`) every interval and at shutdown.

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use riskops_core::Riskops;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// Where the extractors that authenticate leave the caller's name, so the middleware can
/// count a denial against the principal rather than the address.
#[derive(Clone, Default)]
pub struct CallerSlot(Arc<Mutex<Option<String>>>);

impl CallerSlot {
    pub fn set(&self, name: &str) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(name.to_string());
        }
    }

    fn get(&self) -> Option<String> {
        self.0.lock().ok().and_then(|s| s.clone())
    }
}

/// Leaves a [`CallerSlot`] in the request and counts a denied answer.
pub async fn count_denied(State(riskops): State<Riskops>, mut request: Request, next: Next) -> Response {
    let slot = CallerSlot::default();
    request.extensions_mut().insert(slot.clone());
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_string();
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_string(), |c| c.0.ip().to_string());
    let response = next.run(request).await;
    let status = response.status().as_u16();
    if matches!(status, 401 | 403 | 429) {
        riskops.record_denied(slot.get().as_deref(), &client, &route, status);
    }
    response
}

pub fn spawn(riskops: Riskops, interval: Duration, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let last = tokio::select! {
                _ = ticks.tick() => false,
                _ = stop.changed() => true,
            };
            // At shutdown the minute still open is written too: counts are in memory only.
            match riskops.flush_access(last).await {
                Ok(flush) if flush.opened.is_empty() => {
                    tracing::debug!(audited = flush.audited, "denied requests audited");
                }
                Ok(flush) => tracing::warn!(
                    audited = flush.audited,
                    incidents = ?flush.opened,
                    "access monitoring opened security incidents"
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "access monitoring could not write; it tries again at the next interval")
                }
            }
            if last {
                break;
            }
        }
    })
}
