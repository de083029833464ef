//! The checkpointer: signs the audit chain's head soon after every change.
//!
//! A middleware pokes a [`Notify`] after every successful request that may have written
//! (anything but GET/HEAD); the task then waits a moment, so a burst of writes costs one
//! signature, and asks core to checkpoint the head if it moved. A periodic tick catches
//! writes that came another way (another replica on the same PostgreSQL, bootstrap), and a
//! last checkpoint is written on graceful shutdown, after in-flight requests finished.

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use riskops_core::Riskops;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// How long after a poke the head is signed: writes within it share one checkpoint.
const DEBOUNCE: Duration = Duration::from_millis(200);

/// Runs until `stop` turns true (or its sender is dropped), then writes a last checkpoint.
pub fn spawn(
    riskops: Riskops,
    poked: Arc<Notify>,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let stopping = tokio::select! {
                _ = poked.notified() => {
                    tokio::time::sleep(DEBOUNCE).await;
                    false
                }
                _ = ticks.tick() => false,
                _ = stop.changed() => true,
            };
            checkpoint(&riskops).await;
            if stopping || *stop.borrow() {
                break;
            }
        }
    })
}

async fn checkpoint(riskops: &Riskops) {
    match riskops.checkpoint_audit().await {
        Ok(Some(cp)) => tracing::debug!(seq = cp.seq, key_id = %cp.key_id, "signed an audit checkpoint"),
        Ok(None) => {}
        // Logged, not fatal: the next poke or tick tries again, and verification reports
        // the events not yet covered as `unsigned_tail`.
        Err(e) => tracing::warn!(error = %e, "could not write an audit checkpoint"),
    }
}

/// Pokes the checkpointer after a successful request that may have changed something.
pub async fn poke_after_writes(State(poked): State<Arc<Notify>>, request: Request, next: Next) -> Response {
    let may_write = !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let response = next.run(request).await;
    if may_write && response.status().is_success() {
        poked.notify_one();
    }
    response
}
