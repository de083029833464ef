//! Inline SVG charts: metric bars with intervals, the reliability diagram, the risk matrix.

use riskops_api::risk::RiskView;
use riskops_core::encode::escape_html as esc;
use std::fmt::Write;

/// Horizontal bars of metrics in [0, 1], each with its interval as a whisker.
pub(super) fn metric_bars_svg(ms: &[(String, f64, Option<f64>, Option<f64>)]) -> String {
    let (label_w, bar_w, row_h) = (120.0, 260.0, 26.0);
    let height = 24.0 + row_h * ms.len() as f64;
    let width = label_w + bar_w + 70.0;
    let x = |v: f64| label_w + bar_w * v.clamp(0.0, 1.0);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
         role=\"img\" aria-label=\"metric bars\">"
    );
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let _ = write!(
            s,
            "<line x1=\"{0:.1}\" y1=\"4\" x2=\"{0:.1}\" y2=\"{1:.1}\" stroke=\"#d1d9e0\"/><text x=\"{0:.1}\" y=\"{2:.1}\" \
             font-size=\"10\" fill=\"#59636e\" text-anchor=\"middle\">{tick}</text>",
            x(tick),
            height - 14.0,
            height - 3.0
        );
    }
    for (i, (name, value, lo, hi)) in ms.iter().enumerate() {
        let y = 6.0 + row_h * i as f64;
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\" fill=\"#1f2328\">{}</text>\
             <rect x=\"{label_w}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"16\" rx=\"2\" fill=\"#54aeff\"/>",
            label_w - 8.0,
            y + 12.0,
            esc(name),
            x(*value) - label_w
        );
        if let (Some(lo), Some(hi)) = (lo, hi) {
            let mid = y + 8.0;
            let _ = write!(
                s,
                "<line x1=\"{0:.1}\" y1=\"{2:.1}\" x2=\"{1:.1}\" y2=\"{2:.1}\" stroke=\"#1f2328\" stroke-width=\"1.5\"/>\
                 <line x1=\"{0:.1}\" y1=\"{3:.1}\" x2=\"{0:.1}\" y2=\"{4:.1}\" stroke=\"#1f2328\"/>\
                 <line x1=\"{1:.1}\" y1=\"{3:.1}\" x2=\"{1:.1}\" y2=\"{4:.1}\" stroke=\"#1f2328\"/>",
                x(*lo),
                x(*hi),
                mid,
                mid - 5.0,
                mid + 5.0
            );
        }
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#1f2328\">{:.3}</text>",
            label_w + bar_w + 8.0,
            y + 12.0,
            value
        );
    }
    s.push_str("</svg>");
    s
}

/// Observed frequency against mean predicted probability per bin, with the diagonal of
/// perfect calibration; a point's size follows its bin's row count.
pub(super) fn reliability_svg(bins: &[(f64, f64, Option<u64>)]) -> String {
    let (left, top, side) = (44.0, 10.0, 220.0);
    let width = left + side + 16.0;
    let height = top + side + 40.0;
    let px = |v: f64| left + side * v.clamp(0.0, 1.0);
    let py = |v: f64| top + side * (1.0 - v.clamp(0.0, 1.0));
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
         role=\"img\" aria-label=\"reliability diagram\"><rect x=\"{left}\" y=\"{top}\" width=\"{side}\" height=\"{side}\" \
         fill=\"#f6f8fa\" stroke=\"#d1d9e0\"/>"
    );
    for tick in [0.0, 0.5, 1.0] {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#59636e\" text-anchor=\"middle\">{tick}</text>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#59636e\" text-anchor=\"end\">{tick}</text>",
            px(tick),
            top + side + 13.0,
            left - 5.0,
            py(tick) + 3.0
        );
    }
    let _ = write!(
        s,
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#8c959f\" stroke-dasharray=\"4 3\"/>",
        px(0.0),
        py(0.0),
        px(1.0),
        py(1.0)
    );
    let mut sorted = bins.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let points: Vec<String> = sorted.iter().map(|(p, o, _)| format!("{:.1},{:.1}", px(*p), py(*o))).collect();
    let _ =
        write!(s, "<polyline points=\"{}\" fill=\"none\" stroke=\"#0969da\" stroke-width=\"2\"/>", points.join(" "));
    let most = sorted.iter().filter_map(|b| b.2).max().unwrap_or(1).max(1) as f64;
    for (p, o, n) in &sorted {
        let radius = n.map_or(3.5, |n| 2.5 + 3.5 * (n as f64 / most).sqrt());
        let _ = write!(s, "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{radius:.1}\" fill=\"#0969da\"/>", px(*p), py(*o));
    }
    let _ = write!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#1f2328\" text-anchor=\"middle\">mean predicted probability</text>\
         <text transform=\"translate(12 {:.1}) rotate(-90)\" font-size=\"11\" fill=\"#1f2328\" text-anchor=\"middle\">observed frequency</text>",
        left + side / 2.0,
        top + side + 30.0,
        top + side / 2.0
    );
    s.push_str("</svg>");
    s
}

/// A 5 × 5 severity × likelihood grid coloured by band, with each entry's id in its cell.
pub(super) fn risk_matrix_svg(risks: &[RiskView]) -> String {
    let (left, top, cell) = (34.0, 8.0, 46.0);
    let width = left + cell * 5.0 + 10.0;
    let height = top + cell * 5.0 + 40.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
         role=\"img\" aria-label=\"risk matrix\">"
    );
    for severity in 1..=5u8 {
        for likelihood in 1..=5u8 {
            let score = severity * likelihood;
            let fill = match score {
                0..=4 => "#dafbe1",
                5..=9 => "#fff8c5",
                10..=16 => "#ffd8b5",
                _ => "#ffcecb",
            };
            let x = left + cell * f64::from(likelihood - 1);
            let y = top + cell * f64::from(5 - severity);
            let _ = write!(
                s,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{cell}\" height=\"{cell}\" fill=\"{fill}\" stroke=\"#ffffff\" stroke-width=\"2\"/>"
            );
            let ids: Vec<String> = risks
                .iter()
                .filter(|k| k.severity.clamp(1, 5) == severity && k.likelihood.clamp(1, 5) == likelihood)
                .map(|k| format!("#{}", k.id))
                .collect();
            for (i, line) in ids.chunks(2).take(3).enumerate() {
                let _ = write!(
                    s,
                    "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" font-weight=\"600\" text-anchor=\"middle\" fill=\"#1f2328\">{}</text>",
                    x + cell / 2.0,
                    y + 16.0 + 12.0 * i as f64,
                    esc(&line.join(" "))
                );
            }
        }
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#59636e\" text-anchor=\"end\">{severity}</text>",
            left - 6.0,
            top + cell * f64::from(5 - severity) + cell / 2.0 + 3.0
        );
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#59636e\" text-anchor=\"middle\">{severity}</text>",
            left + cell * f64::from(severity - 1) + cell / 2.0,
            top + cell * 5.0 + 13.0
        );
    }
    let _ = write!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#1f2328\">likelihood</text>\
         <text transform=\"translate(11 {:.1}) rotate(-90)\" font-size=\"11\" text-anchor=\"middle\" fill=\"#1f2328\">severity</text></svg>",
        left + cell * 2.5,
        top + cell * 5.0 + 30.0,
        top + cell * 2.5
    );
    s
}

/// Horizontal bars of the features' mean |SHAP|, scaled to the largest.
pub(super) fn importance_svg(features: &[(String, f64)]) -> String {
    let (label_w, bar_w, row_h) = (160.0, 260.0, 22.0);
    let height = 8.0 + row_h * features.len() as f64;
    let width = label_w + bar_w + 80.0;
    let top = features.iter().map(|f| f.1).fold(0.0_f64, f64::max).max(f64::MIN_POSITIVE);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
         role=\"img\" aria-label=\"feature importance\">"
    );
    for (i, (name, value)) in features.iter().enumerate() {
        let y = 4.0 + row_h * i as f64;
        let w = bar_w * (value / top).clamp(0.0, 1.0);
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#1f2328\" text-anchor=\"end\">{}</text>\
             <rect x=\"{label_w}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"#0969da\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#59636e\">{value:.4}</text>",
            label_w - 6.0,
            y + 13.0,
            esc(name),
            row_h - 8.0,
            label_w + w + 4.0,
            y + 13.0,
        );
    }
    s.push_str("</svg>");
    s
}

/// A feature's dependence summary: per value bin, the range of its SHAP values (a thin grey
/// bar) and their mean (a dot), against the zero line; labels under the bins.
pub(super) fn dependence_svg(feature: &str, bins: &[riskops_api::explain::DependenceBin]) -> String {
    let (left, top, plot_h, bin_w) = (52.0, 10.0, 150.0, 46.0);
    let width = left + bin_w * bins.len().max(1) as f64 + 10.0;
    let height = top + plot_h + 48.0;
    let low = bins.iter().map(|b| b.min_shap).fold(0.0, f64::min);
    let high = bins.iter().map(|b| b.max_shap).fold(0.0, f64::max);
    let span = (high - low).max(1e-12);
    let py = |v: f64| top + plot_h * (high - v) / span;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
         role=\"img\" aria-label=\"SHAP values of {} by its value\">",
        esc(feature)
    );
    let _ = write!(
        s,
        "<line x1=\"{left}\" y1=\"{0:.1}\" x2=\"{1:.1}\" y2=\"{0:.1}\" stroke=\"#8c959f\"/>\
         <text x=\"{2:.1}\" y=\"{3:.1}\" font-size=\"10\" fill=\"#59636e\" text-anchor=\"end\">0</text>\
         <text x=\"{2:.1}\" y=\"{4:.1}\" font-size=\"10\" fill=\"#59636e\" text-anchor=\"end\">{5:+.2}</text>\
         <text x=\"{2:.1}\" y=\"{6:.1}\" font-size=\"10\" fill=\"#59636e\" text-anchor=\"end\">{7:+.2}</text>",
        py(0.0),
        width - 10.0,
        left - 6.0,
        py(0.0) + 3.0,
        top + 8.0,
        high,
        top + plot_h,
        low
    );
    for (i, b) in bins.iter().enumerate() {
        let x = left + bin_w * (i as f64 + 0.5);
        let colour = if b.mean_shap >= 0.0 { "#cf222e" } else { "#0969da" };
        let label: String = b.label.chars().take(9).collect();
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#d1d9e0\" stroke-width=\"8\"/>\
             <circle cx=\"{x:.1}\" cy=\"{:.1}\" r=\"4.5\" fill=\"{colour}\"><title>{}: mean {:+.4} over {} rows</title></circle>\
             <text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#1f2328\" text-anchor=\"middle\">{}</text>",
            py(b.max_shap),
            py(b.min_shap).max(py(b.max_shap) + 1.0),
            py(b.mean_shap),
            esc(&b.label),
            b.mean_shap,
            b.rows,
            top + plot_h + 14.0,
            esc(&label)
        );
    }
    let _ = write!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#1f2328\" text-anchor=\"middle\">{}</text>",
        left + bin_w * bins.len() as f64 / 2.0,
        top + plot_h + 36.0,
        esc(feature)
    );
    s.push_str("</svg>");
    s
}
