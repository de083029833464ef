//! The values a model page charts for one window, kept beside the window (the store's
//! `monitoring_series`) when monitors judge it, so a long range is drawn from a few numbers
//! per window instead of decoding every window's state and computing its report; and the
//! daily means long ranges are shown as.

use crate::monitoring::MonitoredWindow;
use riskops_monitor::PerformanceReport;
use serde::{Deserialize, Serialize};

/// The chart values of one window (`None`: the window has no such value).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    pub drift_share: Option<f64>,
    /// The headline performance metric (`roc_auc`, else `f1`, else `r2`) and its value.
    pub performance: Option<(String, f64)>,
    pub lowest_parity_ratio: Option<f64>,
    pub records: Option<f64>,
    pub worst_missing_rate: Option<f64>,
    pub latency_p95_ms: Option<f64>,
    pub value_per_1000: Option<f64>,
}

/// The metrics a page headlines, best first.
pub const HEADLINE_METRICS: [&str; 3] = ["roc_auc", "f1", "r2"];

impl SeriesPoint {
    /// The values of a window's report.
    pub fn of(window: &MonitoredWindow) -> SeriesPoint {
        let r = &window.report;
        let performance = r
            .performance
            .as_ref()
            .and_then(|p| HEADLINE_METRICS.iter().find_map(|m| headline(p, m).map(|x| (m.to_string(), x))));
        SeriesPoint {
            drift_share: Some(r.drift.share),
            performance,
            lowest_parity_ratio: r
                .fairness
                .iter()
                .filter_map(|(_, f)| f.demographic_parity_ratio.filter(|x| x.is_finite()))
                .min_by(f64::total_cmp),
            records: Some(r.records as f64),
            worst_missing_rate: r.quality.missing_rate.iter().filter_map(|(_, x)| *x).max_by(f64::total_cmp),
            latency_p95_ms: r.latency.as_ref().and_then(|l| l.p95_ms),
            value_per_1000: window.business.as_ref().map(|b| b.value_per_1000),
        }
    }

    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_text(text: &str) -> Option<SeriesPoint> {
        serde_json::from_str(text).ok()
    }

    /// The mean of each value over `points` (over the points that have it).
    pub fn mean(points: &[&SeriesPoint]) -> SeriesPoint {
        fn avg(values: impl Iterator<Item = f64>) -> Option<f64> {
            let (sum, n) = values.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
            (n > 0).then(|| sum / n as f64)
        }
        let metric = points.iter().find_map(|p| p.performance.as_ref().map(|(m, _)| m.clone()));
        let performance = metric.and_then(|m| {
            avg(points.iter().filter_map(|p| p.performance.as_ref().filter(|(n, _)| *n == m).map(|(_, x)| *x)))
                .map(|x| (m, x))
        });
        SeriesPoint {
            drift_share: avg(points.iter().filter_map(|p| p.drift_share)),
            performance,
            lowest_parity_ratio: avg(points.iter().filter_map(|p| p.lowest_parity_ratio)),
            records: avg(points.iter().filter_map(|p| p.records)),
            worst_missing_rate: avg(points.iter().filter_map(|p| p.worst_missing_rate)),
            latency_p95_ms: avg(points.iter().filter_map(|p| p.latency_p95_ms)),
            value_per_1000: avg(points.iter().filter_map(|p| p.value_per_1000)),
        }
    }
}

fn headline(p: &PerformanceReport, metric: &str) -> Option<f64> {
    match (p, metric) {
        (PerformanceReport::Binary(b), "roc_auc") => b.roc_auc,
        (PerformanceReport::Binary(b), "f1") => b.f1,
        (PerformanceReport::Regression(r), "r2") => r.r2,
        _ => None,
    }
    .filter(|x| x.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_survives_its_text_and_means_skip_missing_values() {
        let a = SeriesPoint {
            drift_share: Some(0.2),
            performance: Some(("f1".into(), 0.8)),
            records: Some(100.0),
            ..SeriesPoint::default()
        };
        let b = SeriesPoint { drift_share: Some(0.4), records: Some(300.0), ..SeriesPoint::default() };
        assert_eq!(SeriesPoint::from_text(&a.to_text()), Some(a.clone()));
        let m = SeriesPoint::mean(&[&a, &b]);
        assert!((m.drift_share.unwrap() - 0.3).abs() < 1e-12 && m.records == Some(200.0));
        assert_eq!(m.performance, Some(("f1".into(), 0.8)), "only a has it");
        assert_eq!(m.latency_p95_ms, None);
    }
}
