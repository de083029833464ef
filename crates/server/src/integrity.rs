//! Re-verifying what is deployed (`Riskops::verify_deployments`): once at start, in the
//! background so a large artifact does not hold up the listener, then every interval.

use riskops_core::Riskops;
use std::time::Duration;
use tokio::sync::watch;

pub fn spawn(riskops: Riskops, interval: Duration, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // The first tick is at once: the start's verification.
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = stop.changed() => break,
            }
            match riskops.verify_deployments().await {
                Ok(report) if report.problems.is_empty() => {
                    tracing::debug!(checked = report.checked, "every deployment verified");
                }
                Ok(report) => tracing::error!(
                    checked = report.checked,
                    compromised = report.problems.len(),
                    incidents = ?report.opened,
                    "deployments failed their integrity check"
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "the integrity check could not run; it runs again at the next interval")
                }
            }
            if *stop.borrow() {
                break;
            }
        }
    })
}
