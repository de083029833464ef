//! The model page's monitoring charts: one point per window for ranges up to
//! [`HOURLY_UP_TO_DAYS`], daily means beyond (a year of hourly windows is 8,760 points per
//! chart, more than a chart can show and than a page can compute in time), with incidents
//! and deployments marked on the time axis.

use super::chart::{self, Chart, Marker};
use riskops_api::window::WindowReport;
use riskops_core::series::{HEADLINE_METRICS, SeriesPoint};
use riskops_core::service::WindowPoint;
use std::collections::BTreeMap;

/// Ranges up to this many days show every window; longer ones show daily means.
pub(super) const HOURLY_UP_TO_DAYS: u32 = 14;

const DAY: i64 = 86_400;

/// The chart values of windows as the API reports them, by start.
pub(super) fn points_of(windows: &[WindowReport], start: impl Fn(&str) -> i64) -> Vec<(i64, SeriesPoint)> {
    windows
        .iter()
        .map(|r| {
            let performance = r.performance.as_ref().and_then(|p| {
                HEADLINE_METRICS.iter().find_map(|m| p.get(m).filter(|x| x.is_finite()).map(|x| (m.to_string(), x)))
            });
            let point = SeriesPoint {
                drift_share: Some(r.drift.share),
                performance,
                lowest_parity_ratio: r.worst_parity_ratio().map(|(_, x)| x),
                records: Some(r.records as f64),
                worst_missing_rate: r.quality.missing_rate.highest().map(|(_, x)| x),
                latency_p95_ms: r.latency.as_ref().and_then(|l| l.p95_ms),
                value_per_1000: r.business.as_ref().map(|b| b.value_per_1000),
            };
            (start(&r.start), point)
        })
        .collect()
}

/// One point per UTC day: the mean of each value over the day's windows, at the day's start.
pub(super) fn daily_means(windows: &[WindowPoint]) -> Vec<(i64, SeriesPoint)> {
    let mut days: BTreeMap<i64, Vec<&SeriesPoint>> = BTreeMap::new();
    for w in windows {
        days.entry(w.start.div_euclid(DAY) * DAY).or_default().push(&w.point);
    }
    days.into_iter().map(|(day, points)| (day, SeriesPoint::mean(&points))).collect()
}

/// The charts of `points` over `span`, with `markers`.
pub(super) fn charts(points: &[(i64, SeriesPoint)], span: (i64, i64), markers: &[Marker]) -> String {
    let series = |f: &dyn Fn(&SeriesPoint) -> Option<f64>| -> Vec<(i64, Option<f64>)> {
        points.iter().map(|(t, p)| (*t, f(p))).collect()
    };
    let metric = points.iter().find_map(|(_, p)| p.performance.as_ref().map(|(m, _)| m.as_str()));
    let performance_title = format!("Performance ({})", metric.unwrap_or("no labels yet"));
    let chart =
        |title: &str, points, floor_zero, format| Chart { title, points, span, floor_zero, markers, format }.render();
    let mut out = String::from("<div class=\"charts\">\n");
    for c in [
        chart("Drift share (features drifted)", series(&|p| p.drift_share), true, chart::share as fn(f64) -> String),
        chart(
            &performance_title,
            series(&|p| p.performance.as_ref().filter(|(m, _)| Some(m.as_str()) == metric).map(|(_, x)| *x)),
            false,
            chart::three,
        ),
        chart("Lowest demographic parity ratio", series(&|p| p.lowest_parity_ratio), false, chart::three),
        chart("Volume (records)", series(&|p| p.records), true, chart::count),
        chart("Worst missing rate", series(&|p| p.worst_missing_rate), true, chart::share),
        chart("Latency p95 (ms)", series(&|p| p.latency_p95_ms), true, chart::one),
        chart("Business value per 1,000 decisions", series(&|p| p.value_per_1000), false, chart::one),
    ] {
        out.push_str(&c);
    }
    out.push_str("</div>\n");
    out
}

/// What the charts' points are, said above them.
pub(super) fn rule(days: u32, points: usize, windows: usize) -> String {
    if days > HOURLY_UP_TO_DAYS {
        format!(
            "<p class=\"muted\">Daily means: {points} points, each the mean of that day's windows ({windows} windows in the range). Ranges up to {HOURLY_UP_TO_DAYS} days show one point per window.</p>\n"
        )
    } else {
        format!(
            "<p class=\"muted\">One point per window ({windows}). Ranges over {HOURLY_UP_TO_DAYS} days are shown as daily means.</p>\n"
        )
    }
}
