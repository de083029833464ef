//! riskops-drift's report as one HTML page: no scripts, fonts or images from the network; one
//! inline SVG chart per compared column, drifted columns first. The CLI writes it with its
//! stylesheet inline (`riskops drift --format html`, a file that stands alone); the web
//! console serves it with the stylesheet linked, under a Content-Security-Policy that
//! allows no inline style. Nothing here reads or writes: a report in, text out.

use crate::encode::escape_html as esc;
use riskops_drift::{ColumnDrift, DriftReport, Plot};
use std::fmt::Write;

/// Where the page's stylesheet ([`STYLE`]) comes from.
#[derive(Debug, Clone, Copy)]
pub enum Stylesheet<'a> {
    /// In a `<style>` element: the page stands alone.
    Inline,
    /// A `<link>` to this URL, which serves [`STYLE`].
    Linked(&'a str),
}

/// What the page says it compares, and what surrounds the report.
#[derive(Debug, Clone, Copy)]
pub struct Labels<'a> {
    /// The reference and current data, as the reader knows them (file names, a dataset
    /// version, a monitoring window).
    pub reference: &'a str,
    pub current: &'a str,
    /// HTML put first in the body (a way back, for a page inside an application); empty for
    /// none. The caller escapes it.
    pub preface: &'a str,
}

const REFERENCE_COLOUR: &str = "#4c78a8";
const CURRENT_COLOUR: &str = "#f58518";

/// The whole page.
pub fn render(report: &DriftReport, labels: Labels<'_>, stylesheet: Stylesheet<'_>) -> String {
    let mut columns: Vec<&ColumnDrift> = report.columns.iter().collect();
    columns.sort_by_key(|c| !c.drifted);
    let mut out = String::with_capacity(64 * 1024);
    let style = match stylesheet {
        Stylesheet::Inline => format!("<style>{STYLE}</style>"),
        Stylesheet::Linked(href) => format!("<link rel=\"stylesheet\" href=\"{}\">", esc(href)),
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Data drift: {cur} against {rf}</title>{style}</head><body>{preface}\
         <header><h1>Data drift report</h1><p class=\"files\">current <b>{cur}</b> ({nc} rows) against reference \
         <b>{rf}</b> ({nr} rows)</p></header>",
        cur = esc(labels.current),
        rf = esc(labels.reference),
        nc = report.n_current,
        nr = report.n_reference,
        preface = labels.preface,
    );
    let (class, headline) =
        if report.drifted { ("drift", "Dataset drift detected") } else { ("ok", "No dataset drift") };
    let _ = write!(
        out,
        "<section class=\"summary {class}\"><h2>{headline}</h2><p>{}</p>{}</section>",
        esc(&verdict(report)),
        share_bar(report)
    );
    out.push_str(
        "<section><h2>Columns</h2><table class=\"overview\"><thead><tr><th>Column</th><th>Type</th><th>Method</th>\
                  <th>Statistic</th><th>p-value</th><th>Threshold</th><th>Verdict</th></tr></thead><tbody>",
    );
    for c in &columns {
        let _ = write!(
            out,
            "<tr><td><a href=\"#col-{id}\">{name}</a></td><td>{ty}</td><td>{method}</td><td>{stat}</td><td>{p}</td>\
             <td>{thr}</td><td>{badge}</td></tr>",
            id = anchor(&c.name),
            name = esc(&c.name),
            ty = c.column_type.name(),
            method = c.method.name(),
            stat = fmt_num(c.statistic),
            p = c.p_value.map(fmt_num).unwrap_or_else(|| "–".into()),
            thr = fmt_num(c.threshold),
            badge = badge(c.drifted),
        );
    }
    out.push_str("</tbody></table>");
    for s in &report.skipped {
        let _ = write!(out, "<p class=\"skipped\">Not compared: <b>{}</b> — {}</p>", esc(&s.name), esc(&s.reason));
    }
    out.push_str("</section><section><h2>Distributions</h2>");
    let _ = write!(
        out,
        "<p class=\"legend\"><span class=\"swatch reference\"></span>reference \
         <span class=\"swatch current\"></span>current</p>"
    );
    for c in &columns {
        column_card(&mut out, c);
    }
    out.push_str("</section><footer>riskops ");
    out.push_str(env!("CARGO_PKG_VERSION"));
    out.push_str(" · methods and thresholds follow Evidently's DataDriftPreset defaults unless overridden</footer></body></html>\n");
    out
}

fn column_card(out: &mut String, c: &ColumnDrift) {
    let score = match c.p_value {
        Some(p) => format!(
            "statistic {} · p-value {} (drift below {})",
            fmt_num(c.statistic),
            fmt_num(p),
            fmt_num(c.threshold)
        ),
        None => format!("distance {} (drift at {} and above)", fmt_num(c.statistic), fmt_num(c.threshold)),
    };
    let _ = write!(
        out,
        "<article id=\"col-{id}\" class=\"column {cls}\"><h3>{name} {badge}</h3><p class=\"meta\">{ty} · {title} · {score} · \
         {nr} reference and {nc} current values, {nv} distinct</p>",
        id = anchor(&c.name),
        cls = if c.drifted { "drift" } else { "ok" },
        name = esc(&c.name),
        badge = badge(c.drifted),
        ty = c.column_type.name(),
        title = esc(c.method.title()),
        nr = c.n_reference,
        nc = c.n_current,
        nv = c.n_values,
    );
    match &c.plot {
        Plot::Histogram { edges, reference, current } => histogram(out, &c.name, edges, reference, current),
        Plot::Bars { labels, reference, current, other } => bars(out, &c.name, labels, reference, current, *other),
    }
    out.push_str("</article>");
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 84.0;
const BOTTOM: f64 = 72.0;
const TOP: f64 = 12.0;

/// Overlaid histograms of both samples' shares over common bins.
fn histogram(out: &mut String, name: &str, edges: &[f64], reference: &[f64], current: &[f64]) {
    let peak = reference.iter().chain(current).fold(0.0f64, |m, &v| m.max(v)).max(1e-12);
    let plot_w = WIDTH - LEFT - 12.0;
    let plot_h = HEIGHT - BOTTOM - TOP;
    let bin_w = plot_w / reference.len().max(1) as f64;
    chart_open(out, name, "histogram", peak);
    for (series, colour) in [(reference, REFERENCE_COLOUR), (current, CURRENT_COLOUR)] {
        for (i, &share) in series.iter().enumerate() {
            let h = share / peak * plot_h;
            let _ = write!(
                out,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{colour}\" fill-opacity=\"0.55\">\
                 <title>[{}, {}): {:.2}%</title></rect>",
                LEFT + i as f64 * bin_w + 0.5,
                TOP + plot_h - h,
                (bin_w - 1.0).max(0.5),
                h,
                fmt_num(edges[i]),
                fmt_num(edges[i + 1]),
                share * 100.0
            );
        }
    }
    // Axis labels: the first, middle and last edge.
    let last = edges.len() - 1;
    for (i, anchor) in [(0usize, "start"), (last / 2, "middle"), (last, "end")] {
        let x = LEFT + i as f64 * bin_w;
        let _ = write!(
            out,
            "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\" class=\"tick\">{}</text>",
            TOP + plot_h + 16.0,
            fmt_num(edges[i])
        );
    }
    out.push_str("</svg>");
}

/// Side-by-side bars per category.
fn bars(
    out: &mut String,
    name: &str,
    labels: &[String],
    reference: &[f64],
    current: &[f64],
    other: Option<(f64, f64)>,
) {
    let mut labels: Vec<String> = labels.to_vec();
    let mut reference = reference.to_vec();
    let mut current = current.to_vec();
    if let Some((r, c)) = other {
        labels.push("(other)".into());
        reference.push(r.max(0.0));
        current.push(c.max(0.0));
    }
    let peak = reference.iter().chain(&current).fold(0.0f64, |m, &v| m.max(v)).max(1e-12);
    let plot_w = WIDTH - LEFT - 12.0;
    let plot_h = HEIGHT - BOTTOM - TOP;
    let group_w = plot_w / labels.len().max(1) as f64;
    let bar_w = (group_w * 0.4).min(40.0);
    chart_open(out, name, "bars", peak);
    for (i, label) in labels.iter().enumerate() {
        let centre = LEFT + (i as f64 + 0.5) * group_w;
        for (offset, share, colour) in [(-bar_w, reference[i], REFERENCE_COLOUR), (0.0, current[i], CURRENT_COLOUR)] {
            let h = share / peak * plot_h;
            let _ = write!(
                out,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{bar_w:.1}\" height=\"{h:.1}\" fill=\"{colour}\"><title>{}: {:.2}%</title></rect>",
                centre + offset,
                TOP + plot_h - h,
                esc(label),
                share * 100.0
            );
        }
        let short: String =
            if label.chars().count() > 16 { label.chars().take(15).chain(['…']).collect() } else { label.clone() };
        let _ = write!(
            out,
            "<text x=\"{centre:.1}\" y=\"{:.1}\" text-anchor=\"end\" transform=\"rotate(-35 {centre:.1} {:.1})\" class=\"tick\">{}</text>",
            TOP + plot_h + 14.0,
            TOP + plot_h + 14.0,
            esc(&short)
        );
    }
    out.push_str("</svg>");
}

/// The SVG element with its axes and the y scale (share of each sample).
fn chart_open(out: &mut String, name: &str, kind: &str, peak: f64) {
    let plot_h = HEIGHT - BOTTOM - TOP;
    let _ = write!(
        out,
        "<svg class=\"chart {kind}\" data-column=\"{}\" role=\"img\" aria-label=\"distribution of {}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" xmlns=\"http://www.w3.org/2000/svg\">\
         <line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{:.1}\" class=\"axis\"/>\
         <line x1=\"{LEFT}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" class=\"axis\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" class=\"tick\">{:.0}%</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" class=\"tick\">0%</text>",
        esc(name),
        esc(name),
        TOP + plot_h,
        TOP + plot_h,
        WIDTH - 12.0,
        TOP + plot_h,
        LEFT - 4.0,
        TOP + 8.0,
        peak * 100.0,
        LEFT - 4.0,
        TOP + plot_h,
    );
}

fn badge(drifted: bool) -> &'static str {
    if drifted { "<span class=\"badge drift\">drift</span>" } else { "<span class=\"badge ok\">no drift</span>" }
}

/// The share of drifted columns as a bar, with the dataset threshold marked. SVG with
/// presentation attributes, not `style`: a page under a CSP without inline styles shows it.
fn share_bar(report: &DriftReport) -> String {
    let at = |share: f64| (share.clamp(0.0, 1.0) * 1000.0).round() / 10.0;
    format!(
        "<svg class=\"share\" viewBox=\"0 0 100 4\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"{:.0}% of columns drifted, threshold {:.0}%\">\
         <rect width=\"100\" height=\"4\" rx=\"2\" fill=\"#e6e8eb\"/><rect width=\"{}\" height=\"4\" rx=\"2\" fill=\"#d1242f\"/>\
         <rect x=\"{}\" width=\"0.4\" height=\"4\" fill=\"#1f2328\"/></svg>",
        report.drift_share * 100.0,
        report.drift_share_threshold * 100.0,
        at(report.drift_share),
        (at(report.drift_share_threshold) - 0.2).max(0.0),
    )
}

/// An id-safe version of a column name.
fn anchor(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect()
}

/// The report's stylesheet.
pub const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:980px;padding:24px;color:#1f2328}\
h1{margin:0 0 4px}h2{margin:28px 0 8px}h3{margin:0 0 4px;font-size:1.05em}.files{color:#57606a;margin:0}\
.summary{border-radius:8px;padding:12px 18px;margin-top:18px}.summary.drift{background:#fff1f0;border:1px solid #f5a3a3}\
.summary.ok{background:#effaf1;border:1px solid #9ad3a6}.summary h2{margin:4px 0}\
svg.share{display:block;width:100%;height:12px;margin:8px 0 4px}\
table.overview{border-collapse:collapse;width:100%;font-size:.92em}table.overview th,table.overview td{border-bottom:1px solid #d8dee4;padding:5px 8px;text-align:left}\
.badge{display:inline-block;border-radius:10px;padding:1px 8px;font-size:.8em;font-weight:600}\
.badge.drift{background:#d1242f;color:#fff}.badge.ok{background:#dafbe1;color:#116329}\
article.column{border:1px solid #d8dee4;border-radius:8px;padding:12px 14px;margin:12px 0}article.column.drift{border-left:4px solid #d1242f}\
.meta{color:#57606a;font-size:.88em;margin:0 0 6px}.legend{color:#57606a}.swatch{display:inline-block;width:12px;height:12px;margin:0 4px 0 10px;vertical-align:-1px}\
.swatch.reference{background:#4c78a8}.swatch.current{background:#f58518}.back{margin:0 0 12px}\
svg.chart{width:100%;height:auto}.axis{stroke:#8c959f}.tick{font-size:11px;fill:#57606a}.skipped{color:#57606a}\
footer{margin-top:32px;color:#8c959f;font-size:.85em}";

/// A number as the report writes it: up to four decimals, scientific when tiny or huge.
pub fn fmt_num(x: f64) -> String {
    if !x.is_finite() {
        return if x.is_nan() { "–".into() } else { "∞".into() };
    }
    if x != 0.0 && (x.abs() < 1e-3 || x.abs() >= 1e6) {
        return format!("{x:.3e}");
    }
    let fixed = format!("{x:.4}");
    fixed.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The report's one-line verdict.
pub fn verdict(report: &DriftReport) -> String {
    format!(
        "{} of {} columns drifted ({:.0}%; the dataset drifts at {:.0}%)",
        report.n_drifted,
        report.columns.len(),
        report.drift_share * 100.0,
        report.drift_share_threshold * 100.0
    )
}
