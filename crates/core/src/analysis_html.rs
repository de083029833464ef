//! `riskops monitor analyze --format html`: a back-test as one HTML page of time series,
//! chunk by chunk — each estimated metric with its sampling-error band, alert thresholds
//! and realized values where labels exist, the reconstruction error with its thresholds,
//! the share of drifted features — then a table of every chunk. Inline SVG and the drift
//! report's stylesheet, no scripts; each point carries `data-*` attributes (chunk, value,
//! alert) so a validator can read the numbers from the page. IO-free: report in, text out.

use crate::drift_html::{STYLE, fmt_num};
use crate::encode::escape_html as esc;
use riskops_monitor::analysis::{Analysis, ChunkReport, EstimatedValue};
use std::fmt::Write;

/// One point of a series.
struct Point {
    value: f64,
    lower: f64,
    upper: f64,
    lower_threshold: f64,
    upper_threshold: f64,
    realized: Option<f64>,
    alert: bool,
}

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 34.0;

/// The whole page; `reference` and `analysis` name the inputs as the reader knows them.
pub fn render(report: &Analysis, reference: &str, analysis: &str) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let alerts = report.chunks.iter().filter(|c| chunk_alerts(c) > 0).count();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Monitoring back-test: {an}</title><style>{STYLE}{EXTRA}</style></head><body>\
         <header><h1>Monitoring back-test</h1><p class=\"files\"><b>{an}</b> in {n} chunks of {size} rows against \
         reference <b>{rf}</b> ({nr} rows, {features} features{calibrated}{components})</p></header>",
        an = esc(analysis),
        rf = esc(reference),
        n = report.chunks.len(),
        size = report.chunk_size,
        nr = report.reference.records,
        features = report.reference.features.len(),
        calibrated = match report.reference.calibrated {
            Some(true) => "; scores calibrated (isotonic)",
            Some(false) => "; scores used as probabilities",
            None => "; no score column: nothing estimated",
        },
        components = report.reference.components.map(|k| format!("; {k} principal components")).unwrap_or_default(),
    );
    let (class, headline) = if alerts > 0 {
        ("drift", format!("{alerts} of {} chunks alert", report.chunks.len()))
    } else {
        ("ok", "No chunk alerts".to_string())
    };
    let _ = write!(out, "<section class=\"summary {class}\"><h2>{headline}</h2></section>");
    out.push_str(
        "<p class=\"legend\"><span class=\"swatch estimate\"></span>estimated \
         <span class=\"swatch band\"></span>±3 sampling errors <span class=\"swatch realized\"></span>realized \
         <span class=\"swatch threshold\"></span>thresholds <span class=\"swatch alert\"></span>alert</p>",
    );
    let estimated: Vec<(&str, &str)> = vec![
        ("roc_auc", "Estimated ROC AUC"),
        ("f1", "Estimated F1"),
        ("precision", "Estimated precision"),
        ("recall", "Estimated recall"),
        ("accuracy", "Estimated accuracy"),
    ];
    if report.chunks.iter().any(|c| c.estimated.is_some()) {
        out.push_str("<section><h2>Performance estimated without labels (CBPE)</h2>");
        for (metric, title) in estimated {
            let points: Vec<Point> = report.chunks.iter().map(|c| estimated_point(c, metric)).collect();
            chart(&mut out, metric, title, &points);
        }
        out.push_str("</section>");
    }
    if report.chunks.iter().any(|c| c.multivariate.is_some()) {
        out.push_str("<section><h2>Multivariate drift (data reconstruction error)</h2>");
        let points: Vec<Point> = report
            .chunks
            .iter()
            .map(|c| match &c.multivariate {
                Some(m) => {
                    let r = m.reconstruction_error;
                    Point {
                        value: r.value,
                        lower: r.lower,
                        upper: r.upper,
                        lower_threshold: r.lower_threshold,
                        upper_threshold: r.upper_threshold,
                        realized: None,
                        alert: r.alert,
                    }
                }
                None => empty_point(),
            })
            .collect();
        chart(&mut out, "reconstruction_error", "Reconstruction error", &points);
        out.push_str("</section>");
    }
    out.push_str("<section><h2>Univariate drift</h2>");
    drift_bars(&mut out, report);
    out.push_str("</section><section><h2>Chunks</h2>");
    chunk_table(&mut out, report);
    out.push_str("</section><footer>riskops ");
    out.push_str(env!("CARGO_PKG_VERSION"));
    out.push_str(
        " · chunks, estimates, bands and thresholds as NannyML 0.13.1 computes them; drift as <code>riskops drift</code></footer></body></html>\n",
    );
    out
}

const EXTRA: &str = ".swatch.estimate{background:#4c78a8}.swatch.band{background:#c6d7ea}.swatch.realized{background:#54a24b}\
.swatch.threshold{background:#d1242f;height:2px;vertical-align:4px}.swatch.alert{background:#d1242f;border-radius:6px}\
.series{fill:none;stroke:#4c78a8;stroke-width:2}.band{fill:#c6d7ea;opacity:.7}.realized{fill:none;stroke:#54a24b;stroke-width:1.5;stroke-dasharray:4 3}\
.threshold{stroke:#d1242f;stroke-dasharray:6 4}.point{fill:#4c78a8}.point.alert{fill:#d1242f}.bar{fill:#f58518}.bar.drift{fill:#d1242f}\
td.alert{color:#d1242f;font-weight:600}";

fn empty_point() -> Point {
    Point {
        value: f64::NAN,
        lower: f64::NAN,
        upper: f64::NAN,
        lower_threshold: f64::NAN,
        upper_threshold: f64::NAN,
        realized: None,
        alert: false,
    }
}

fn metric_of<'a>(c: &'a ChunkReport, metric: &str) -> Option<&'a EstimatedValue> {
    let e = c.estimated.as_ref()?;
    Some(match metric {
        "roc_auc" => &e.roc_auc,
        "f1" => &e.f1,
        "precision" => &e.precision,
        "recall" => &e.recall,
        _ => &e.accuracy,
    })
}

fn realized_of(c: &ChunkReport, metric: &str) -> Option<f64> {
    let r = c.realized.as_ref()?;
    let v = match metric {
        "roc_auc" => r.roc_auc,
        "f1" => r.f1,
        "precision" => r.precision,
        "recall" => r.recall,
        _ => r.accuracy,
    };
    v.is_finite().then_some(v)
}

fn estimated_point(c: &ChunkReport, metric: &str) -> Point {
    match metric_of(c, metric) {
        Some(e) => Point {
            value: e.value,
            lower: e.lower,
            upper: e.upper,
            lower_threshold: e.lower_threshold,
            upper_threshold: e.upper_threshold,
            realized: realized_of(c, metric),
            alert: e.alert,
        },
        None => empty_point(),
    }
}

/// Alerts in a chunk: estimated metrics and the reconstruction error.
fn chunk_alerts(c: &ChunkReport) -> usize {
    let estimated = ["roc_auc", "f1", "precision", "recall", "accuracy"]
        .iter()
        .filter(|m| metric_of(c, m).is_some_and(|e| e.alert))
        .count();
    estimated + usize::from(c.multivariate.is_some_and(|m| m.reconstruction_error.alert))
}

/// One time series: band, thresholds, estimate line and points, realized line.
fn chart(out: &mut String, id: &str, title: &str, points: &[Point]) {
    let finite = |v: f64| v.is_finite().then_some(v);
    let values: Vec<f64> = points
        .iter()
        .flat_map(|p| [p.value, p.lower, p.upper, p.lower_threshold, p.upper_threshold, p.realized.unwrap_or(f64::NAN)])
        .filter_map(finite)
        .collect();
    let (Some(lo), Some(hi)) = (values.iter().copied().reduce(f64::min), values.iter().copied().reduce(f64::max))
    else {
        return;
    };
    let pad = ((hi - lo) * 0.08).max(1e-9);
    let (lo, hi) = (lo - pad, hi + pad);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let n = points.len().max(1);
    let x = |k: usize| LEFT + plot_w * (k as f64 + 0.5) / n as f64;
    let y = |v: f64| TOP + plot_h * (1.0 - (v - lo) / (hi - lo));
    let _ = write!(
        out,
        "<h3>{t}</h3><svg class=\"chart series-chart\" data-metric=\"{id}\" role=\"img\" aria-label=\"{t} per chunk\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" xmlns=\"http://www.w3.org/2000/svg\">\
         <line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{b:.1}\" class=\"axis\"/>\
         <line x1=\"{LEFT}\" y1=\"{b:.1}\" x2=\"{r:.1}\" y2=\"{b:.1}\" class=\"axis\"/>\
         <text x=\"{tx:.1}\" y=\"{ty:.1}\" text-anchor=\"end\" class=\"tick\">{hi}</text>\
         <text x=\"{tx:.1}\" y=\"{b:.1}\" text-anchor=\"end\" class=\"tick\">{lo}</text>",
        t = esc(title),
        b = TOP + plot_h,
        r = WIDTH - RIGHT,
        tx = LEFT - 4.0,
        ty = TOP + 8.0,
        hi = fmt_num(hi),
        lo = fmt_num(lo),
    );
    // The band, as one polygon over the chunks that have one.
    let band: Vec<(usize, f64, f64)> = points
        .iter()
        .enumerate()
        .filter(|(_, p)| p.lower.is_finite() && p.upper.is_finite())
        .map(|(k, p)| (k, p.lower, p.upper))
        .collect();
    if !band.is_empty() {
        let upper = band.iter().map(|&(k, _, u)| format!("{:.1},{:.1}", x(k), y(u)));
        let lower = band.iter().rev().map(|&(k, l, _)| format!("{:.1},{:.1}", x(k), y(l)));
        let _ =
            write!(out, "<polygon class=\"band\" points=\"{}\"/>", upper.chain(lower).collect::<Vec<_>>().join(" "));
    }
    for (threshold, side) in [
        (points.iter().find_map(|p| finite(p.lower_threshold)), "lower"),
        (points.iter().find_map(|p| finite(p.upper_threshold)), "upper"),
    ] {
        if let Some(t) = threshold {
            let _ = write!(
                out,
                "<line class=\"threshold\" data-threshold=\"{side}\" data-value=\"{t}\" x1=\"{LEFT}\" y1=\"{yy:.1}\" x2=\"{r:.1}\" y2=\"{yy:.1}\"/>",
                yy = y(t),
                r = WIDTH - RIGHT,
            );
        }
    }
    let line = |get: &dyn Fn(&Point) -> Option<f64>| -> String {
        points
            .iter()
            .enumerate()
            .filter_map(|(k, p)| get(p).map(|v| format!("{:.1},{:.1}", x(k), y(v))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let _ = write!(out, "<polyline class=\"series\" points=\"{}\"/>", line(&|p| finite(p.value)));
    let realized = line(&|p| p.realized);
    if !realized.is_empty() {
        let _ = write!(out, "<polyline class=\"realized\" points=\"{realized}\"/>");
    }
    for (k, p) in points.iter().enumerate() {
        if let Some(v) = finite(p.value) {
            let _ = write!(
                out,
                "<circle class=\"point{a}\" data-chunk=\"{k}\" data-value=\"{v}\" data-alert=\"{alert}\"{real} cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"{rad}\"><title>chunk {k}: {fv}{rt}{at}</title></circle>",
                a = if p.alert { " alert" } else { "" },
                alert = p.alert,
                real = p.realized.map(|r| format!(" data-realized=\"{r}\"")).unwrap_or_default(),
                cx = x(k),
                cy = y(v),
                rad = if p.alert { 4.5 } else { 3.0 },
                fv = fmt_num(v),
                rt = p.realized.map(|r| format!(", realized {}", fmt_num(r))).unwrap_or_default(),
                at = if p.alert { " — alert" } else { "" },
            );
        }
        if k % n.div_ceil(12) == 0 {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"tick\">{k}</text>",
                x(k),
                HEIGHT - 12.0
            );
        }
    }
    out.push_str("</svg>");
}

/// The share of drifted features per chunk, as bars.
fn drift_bars(out: &mut String, report: &Analysis) {
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let n = report.chunks.len().max(1);
    let w = plot_w / n as f64;
    let _ = write!(
        out,
        "<svg class=\"chart series-chart\" data-metric=\"drift_share\" role=\"img\" aria-label=\"share of drifted features per chunk\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" xmlns=\"http://www.w3.org/2000/svg\">\
         <line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{b:.1}\" class=\"axis\"/>\
         <text x=\"{tx:.1}\" y=\"{ty:.1}\" text-anchor=\"end\" class=\"tick\">100%</text>\
         <text x=\"{tx:.1}\" y=\"{b:.1}\" text-anchor=\"end\" class=\"tick\">0%</text>",
        b = TOP + plot_h,
        tx = LEFT - 4.0,
        ty = TOP + 8.0,
    );
    for (k, c) in report.chunks.iter().enumerate() {
        let share = if c.drift.share.is_finite() { c.drift.share.clamp(0.0, 1.0) } else { 0.0 };
        let h = plot_h * share;
        let drifted: Vec<&str> = c.drift.features.iter().filter(|f| f.drifted).map(|f| f.name.as_str()).collect();
        let _ = write!(
            out,
            "<rect class=\"bar{d}\" data-chunk=\"{k}\" data-value=\"{share}\" x=\"{bx:.1}\" y=\"{by:.1}\" width=\"{bw:.1}\" height=\"{h:.1}\"><title>chunk {k}: {pct:.0}% drifted{names}</title></rect>",
            d = if c.drift.drifted { " drift" } else { "" },
            share = c.drift.share,
            bx = LEFT + w * k as f64 + w * 0.15,
            by = TOP + plot_h - h,
            bw = w * 0.7,
            pct = share * 100.0,
            names = if drifted.is_empty() { String::new() } else { format!(" ({})", esc(&drifted.join(", "))) },
        );
    }
    out.push_str("</svg>");
}

/// Every chunk as a row of numbers.
fn chunk_table(out: &mut String, report: &Analysis) {
    out.push_str(
        "<table class=\"overview chunks\"><thead><tr><th>Chunk</th><th>Rows</th><th>Drifted features</th>\
         <th>Est. ROC AUC [band]</th><th>Realized ROC AUC</th><th>Est. F1</th><th>Realized F1</th>\
         <th>Reconstruction error</th></tr></thead><tbody>",
    );
    for (k, c) in report.chunks.iter().enumerate() {
        let est = |m: &str| match metric_of(c, m) {
            Some(e) => format!(
                "<td{cls}>{} [{}, {}]</td>",
                fmt_num(e.value),
                fmt_num(e.lower),
                fmt_num(e.upper),
                cls = if e.alert { " class=\"alert\"" } else { "" }
            ),
            None => "<td>–</td>".into(),
        };
        let real = |m: &str| format!("<td>{}</td>", realized_of(c, m).map(fmt_num).unwrap_or_else(|| "–".into()));
        let recon = match &c.multivariate {
            Some(m) => format!(
                "<td{cls}>{}</td>",
                fmt_num(m.reconstruction_error.value),
                cls = if m.reconstruction_error.alert { " class=\"alert\"" } else { "" }
            ),
            None => "<td>–</td>".into(),
        };
        let drifted: Vec<String> = c.drift.features.iter().filter(|f| f.drifted).map(|f| esc(&f.name)).collect();
        let _ = write!(
            out,
            "<tr data-chunk=\"{k}\"><td>{k}</td><td>{s}–{e}</td><td>{d}</td>{ea}{ra}{ef}{rf}{recon}</tr>",
            s = c.start,
            e = c.end,
            d = if drifted.is_empty() { "none".into() } else { drifted.join(", ") },
            ea = est("roc_auc"),
            ra = real("roc_auc"),
            ef = est("f1"),
            rf = real("f1"),
        );
    }
    out.push_str("</tbody></table>");
}
