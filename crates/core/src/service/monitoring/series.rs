//! A model's chart values over a range: the stored point of each window (written when its
//! monitors judged it), and for a window without one at its current revision (not judged
//! yet, or changed since), the point computed from its state.

use super::{RequestContext, Riskops, WindowReports};
use crate::auth::Operation;
use crate::error::{Error, Result};
use crate::registry::VersionRef;
use crate::series::SeriesPoint;
use riskops_monitor::WindowState;

/// One window's chart values.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowPoint {
    pub version: u32,
    /// Unix seconds.
    pub start: i64,
    pub end: i64,
    pub point: SeriesPoint,
}

impl Riskops {
    /// The chart values of every window of `model` whose start is in `[from, to)`, oldest
    /// first (reads need registry.read, as the window reports).
    pub async fn monitoring_series(
        &self,
        ctx: &RequestContext,
        model: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<WindowPoint>> {
        self.model_version_for(ctx, Operation::RegistryRead, &VersionRef { name: model.into(), version: None }).await?;
        let rows = self.store.series(model, from, to).await?;
        let mut reports: Option<WindowReports<'_>> = None;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let point = match row.point.as_deref().and_then(SeriesPoint::from_text) {
                Some(p) => p,
                None => {
                    let Some(stored) = self
                        .store
                        .windows(model, Some(row.version), row.start, row.start + 1)
                        .await?
                        .into_iter()
                        .next()
                    else {
                        continue;
                    };
                    let state = WindowState::decode(&stored.state)
                        .map_err(|e| Error::internal(format!("stored window: {e}")))?;
                    let reports = match &mut reports {
                        Some(r) => r,
                        None => reports.insert(WindowReports::new(self, model).await?),
                    };
                    SeriesPoint::of(&reports.report(stored.version, stored.start, stored.end, &state).await?)
                }
            };
            out.push(WindowPoint { version: row.version, start: row.start, end: row.end, point });
        }
        Ok(out)
    }
}
