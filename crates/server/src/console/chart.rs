//! Time-series charts as inline SVG: one point per window (or per day), a line through the
//! defined ones, the value range on the axis, and markers (incidents, deployments) as
//! vertical lines. No script and no style attribute: presentation attributes only, which the
//! CSP allows.

use super::html::esc;
use std::fmt::Write as _;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 150.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 22.0;

/// A moment marked on the time axis.
pub(super) struct Marker {
    /// Unix seconds.
    pub at: i64,
    pub label: String,
    pub kind: MarkerKind,
}

#[derive(Clone, Copy)]
pub(super) enum MarkerKind {
    Incident,
    Deployment,
}

impl MarkerKind {
    /// (class, colour, dash pattern)
    fn look(self) -> (&'static str, &'static str, &'static str) {
        match self {
            MarkerKind::Incident => ("marker incident", "#b3261e", "3 3"),
            MarkerKind::Deployment => ("marker deployment", "#1a7f37", "6 2"),
        }
    }
}

/// One chart. `points`: (unix seconds, value) per window, `None` where the window has no
/// value; `span`: the time range shown; `floor_zero`: the axis starts at 0 (counts, shares).
pub(super) struct Chart<'a> {
    pub title: &'a str,
    pub points: Vec<(i64, Option<f64>)>,
    pub span: (i64, i64),
    pub floor_zero: bool,
    /// Drawn as vertical lines.
    pub markers: &'a [Marker],
    /// How a value is written (axis and tooltips).
    pub format: fn(f64) -> String,
}

impl Chart<'_> {
    pub fn render(&self) -> String {
        let defined: Vec<(i64, f64)> = self.points.iter().filter_map(|(t, v)| v.map(|v| (*t, v))).collect();
        let mut out = format!(
            "<figure class=\"chart\">\n<figcaption>{}</figcaption>\n<svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{} over time, {} windows\" data-windows=\"{}\">\n",
            esc(self.title),
            esc(self.title),
            self.points.len(),
            self.points.len()
        );
        let (t0, t1) = (self.span.0 as f64, (self.span.1.max(self.span.0 + 1)) as f64);
        let x = |t: i64| LEFT + (t as f64 - t0) / (t1 - t0) * (WIDTH - LEFT - RIGHT);
        let (mut lo, mut hi) =
            defined.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, v)| (lo.min(*v), hi.max(*v)));
        if defined.is_empty() {
            (lo, hi) = (0.0, 1.0);
        }
        if self.floor_zero {
            lo = lo.min(0.0);
        }
        if hi - lo < 1e-12 {
            hi = lo + if lo.abs() > 1e-12 { lo.abs() * 0.1 } else { 1.0 };
        }
        let y = |v: f64| TOP + (hi - v) / (hi - lo) * (HEIGHT - TOP - BOTTOM);
        let (bottom, right) = (HEIGHT - BOTTOM, WIDTH - RIGHT);
        let _ =
            writeln!(out, "<line x1=\"{LEFT}\" y1=\"{bottom}\" x2=\"{right}\" y2=\"{bottom}\" stroke=\"#9aa3af\"/>");
        let _ = writeln!(out, "<line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{bottom}\" stroke=\"#9aa3af\"/>");
        for (v, at) in [(hi, TOP + 4.0), (lo, bottom)] {
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{at}\" text-anchor=\"end\" font-size=\"10\" fill=\"#5b6472\">{}</text>",
                LEFT - 4.0,
                esc(&(self.format)(v))
            );
        }
        for (t, anchor, label) in [(self.span.0, "start", day(self.span.0)), (self.span.1, "end", day(self.span.1))] {
            let _ = writeln!(
                out,
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"{anchor}\" font-size=\"10\" fill=\"#5b6472\">{label}</text>",
                x(t),
                HEIGHT - 6.0
            );
        }
        for m in self.markers.iter().filter(|m| (self.span.0..=self.span.1).contains(&m.at)) {
            let (class, colour, dash) = m.kind.look();
            let _ = writeln!(
                out,
                "<line class=\"{class}\" x1=\"{0:.1}\" y1=\"{TOP}\" x2=\"{0:.1}\" y2=\"{bottom}\" stroke=\"{colour}\" stroke-dasharray=\"{dash}\"><title>{1}</title></line>",
                x(m.at),
                esc(&m.label)
            );
        }
        if defined.len() > 1 {
            let path: Vec<String> = defined.iter().map(|(t, v)| format!("{:.1},{:.1}", x(*t), y(*v))).collect();
            let _ = writeln!(
                out,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"#1f5fbf\" stroke-width=\"1.5\"/>",
                path.join(" ")
            );
        }
        for (t, v) in &defined {
            let _ = writeln!(
                out,
                "<circle class=\"pt\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"#1f5fbf\"><title>{}: {}</title></circle>",
                x(*t),
                y(*v),
                riskops_monitor::rfc3339(*t),
                esc(&(self.format)(*v))
            );
        }
        if defined.is_empty() {
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"12\" fill=\"#5b6472\">no value in these windows</text>",
                WIDTH / 2.0,
                HEIGHT / 2.0
            );
        }
        out.push_str("</svg>\n</figure>\n");
        out
    }
}

/// `2026-12-05` of unix seconds.
fn day(t: i64) -> String {
    riskops_monitor::rfc3339(t).chars().take(10).collect()
}

pub(super) fn share(v: f64) -> String {
    format!("{:.0}%", v * 100.0)
}

pub(super) fn three(v: f64) -> String {
    format!("{v:.3}")
}

pub(super) fn count(v: f64) -> String {
    format!("{v:.0}")
}

pub(super) fn one(v: f64) -> String {
    format!("{v:.1}")
}
