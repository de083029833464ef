//! The report as one HTML page: inline SVG charts, a print stylesheet, no scripts. The CLI
//! writes it with its stylesheet inline (a file that stands alone); the console links it, under
//! a Content-Security-Policy that allows no inline style.

use super::rows::*;
use super::svg::{metric_bars_svg, reliability_svg, risk_matrix_svg};
use super::{EvidenceItem, ModelReport};
use riskops_core::drift_html::Stylesheet;
use riskops_core::encode::escape_html as esc;
use std::fmt::Write;

/// The report's stylesheet (inline in a standalone file, served by the console).
pub const STYLE: &str = "\
:root{--ink:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#f6f8fa;--ok:#1a7f37;--okbg:#dafbe1;--bad:#cf222e;\
--badbg:#ffebe9;--warn:#9a6700;--warnbg:#fff8c5;--blue:#0969da}\
*{box-sizing:border-box}body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0 auto;\
max-width:68rem;padding:2rem 1.5rem;color:var(--ink);line-height:1.45;font-size:15px}\
header{border-bottom:3px solid var(--ink);padding-bottom:.8rem;margin-bottom:1.2rem}\
header .kicker{text-transform:uppercase;letter-spacing:.08em;font-size:.75rem;color:var(--muted);margin:0}\
h1{margin:.2rem 0 .3rem;font-size:1.9rem}h2{margin:2rem 0 .6rem;font-size:1.3rem;border-bottom:1px solid var(--line);\
padding-bottom:.25rem}h3{margin:1.4rem 0 .4rem;font-size:1.05rem}p.meta{color:var(--muted);margin:0}\
.cards{display:grid;grid-template-columns:repeat(5,1fr);gap:.6rem;margin:1rem 0}\
.card{border:1px solid var(--line);border-radius:.5rem;padding:.6rem .75rem;background:var(--soft)}\
.card .label{font-size:.72rem;text-transform:uppercase;letter-spacing:.05em;color:var(--muted)}\
.card .value{font-size:1.25rem;font-weight:650;margin-top:.15rem}\
table{border-collapse:collapse;width:100%;margin:.6rem 0 1rem;font-size:.9rem}\
th,td{border-bottom:1px solid var(--line);padding:.35rem .5rem;text-align:left;vertical-align:top}\
th{background:var(--soft);font-weight:600}table.kv th{width:14rem;background:none;color:var(--muted);font-weight:500}\
td.num{text-align:right;font-variant-numeric:tabular-nums}code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;\
font-size:.85em;word-break:break-all}\
.badge{display:inline-block;padding:.05rem .5rem;border-radius:1rem;font-size:.78em;font-weight:600;white-space:nowrap}\
.passed,.low,.yes,.completed{background:var(--okbg);color:var(--ok)}.failed,.critical,.rejected{background:var(--badbg);\
color:var(--bad)}.high{background:#ffd8b5;color:#953800}.medium,.pending{background:var(--warnbg);color:var(--warn)}\
.none{background:#eaeef2;color:var(--muted)}\
.note{border-left:4px solid var(--blue);background:#ddf4ff;padding:.5rem .8rem;margin:.6rem 0;border-radius:0 .3rem .3rem 0}\
.attention{border-left:4px solid var(--bad);background:var(--badbg);padding:.5rem .9rem;margin:.6rem 0 1rem;\
border-radius:0 .3rem .3rem 0}.attention ul{margin:.3rem 0 0;padding-left:1.2rem}.attention.ok{border-left-color:var(--ok);\
background:var(--okbg)}.placeholder{border:1px dashed var(--line);color:var(--muted);padding:.8rem;border-radius:.4rem}\
.charts{display:flex;flex-wrap:wrap;gap:1.2rem;align-items:flex-start}figure{margin:.4rem 0}\
figcaption{font-size:.8rem;color:var(--muted);margin-top:.2rem}svg text{font-family:inherit}\
.result{border:1px solid var(--line);border-radius:.5rem;padding:.2rem 1rem .6rem;margin:1rem 0}\
footer{color:var(--muted);font-size:.8rem;margin-top:2.5rem;border-top:1px solid var(--line);padding-top:.6rem}\
p.back{margin:0 0 1rem;font-size:.9rem}\
@media print{p.back{display:none}body{max-width:none;padding:0;font-size:10.5pt}@page{size:A4;margin:14mm 12mm}\
h2{break-after:avoid}table,figure,.result,.card{break-inside:avoid}.cards{grid-template-columns:repeat(5,1fr)}\
header{border-bottom-width:2px}a{color:inherit;text-decoration:none}}";

/// The whole report. `preface` is HTML put first in the body (a way back, for a page inside
/// an application; the caller escapes it), empty for none.
pub fn html(r: &ModelReport, stylesheet: Stylesheet<'_>, preface: &str) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let title = esc(&r.title());
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Model report: {title}</title>{}</head><body>{preface}\
         <header><p class=\"kicker\">Model risk report · for the validation committee</p>\
         <h1>{title}</h1><p class=\"meta\">Project <strong>{}</strong> · {} · registered {} by {} · generated {}</p>\
         </header>",
        style_element(stylesheet),
        esc(&r.project.name),
        esc(&r.model.framework),
        esc(&when(&r.model.created_at)),
        esc(&r.model.author),
        esc(&when(&r.generated_at))
    );
    html_cards(&mut out, r);
    html_intended_use(&mut out, r);
    html_lineage(&mut out, r);
    html_risks(&mut out, r);
    html_results(&mut out, r);
    html_explanations(&mut out, r);
    html_approvals(&mut out, r);
    html_monitoring(&mut out, r);
    out.push_str("<section><h2>8. Open incidents</h2>");
    if r.incidents.is_empty() {
        out.push_str("<p>No open incidents.</p>");
    } else {
        let rows: Vec<Vec<String>> = r.incidents.iter().map(incident_cells).collect();
        html_table(&mut out, &INCIDENT_HEADERS, &rows, &[1, 2]);
    }
    let _ = writeln!(
        out,
        "</section><footer>riskops {} · model report of {title} · figures as recorded in riskops at the time shown; \
         uploaded evidence is reported as filed</footer></body></html>",
        env!("CARGO_PKG_VERSION")
    );
    out
}

/// A self-contained page of one piece of evidence and its results (what `riskops validate`
/// and `riskops stress` print with `--format html`).
pub fn evidence_page(model: &str, e: &EvidenceItem) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let kind = e.standing.evidence.kind.replace('_', " ");
    let title = format!("{kind} of {model}");
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>\
         <header><p class=\"kicker\">Evidence produced by riskops</p><h1>{}</h1>\
         <p class=\"meta\">{} · {}</p></header><section>",
        esc(&title),
        esc(&title),
        esc(&who_produced(e)),
        esc(&when(&e.standing.evidence.created_at))
    );
    html_result(&mut out, e);
    let _ = writeln!(
        out,
        "</section><footer>riskops {} · evidence {} of {} · the same section as in `riskops report model`</footer></body></html>",
        env!("CARGO_PKG_VERSION"),
        e.standing.evidence.id,
        esc(model)
    );
    out
}

fn style_element(stylesheet: Stylesheet<'_>) -> String {
    match stylesheet {
        Stylesheet::Inline => format!("<style>{STYLE}</style>"),
        Stylesheet::Linked(href) => format!("<link rel=\"stylesheet\" href=\"{}\">", esc(href)),
    }
}

/// A badge whose class is the word itself when it is one of the styled words.
pub(super) fn badge(word: &str) -> String {
    let class = match word {
        "passed" | "failed" | "low" | "medium" | "high" | "critical" | "completed" | "rejected" | "pending" | "yes" => {
            word
        }
        _ => "none",
    };
    format!("<span class=\"badge {class}\">{}</span>", esc(word))
}

/// A table; the cells of the `badged` columns are shown as badges.
pub(super) fn html_table(out: &mut String, headers: &[&str], rows: &[Vec<String>], badged: &[usize]) {
    out.push_str("<table><thead><tr>");
    for h in headers {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            if badged.contains(&i) {
                let _ = write!(out, "<td>{}</td>", badge(cell));
            } else {
                let _ = write!(out, "<td>{}</td>", esc(cell));
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

pub(super) fn html_kv(out: &mut String, rows: &[(String, String)]) {
    out.push_str("<table class=\"kv\"><tbody>");
    for (k, v) in rows {
        let _ = write!(out, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v));
    }
    out.push_str("</tbody></table>");
}

pub(super) fn html_cards(out: &mut String, r: &ModelReport) {
    let passed = r.evidence.iter().filter(|e| e.standing.evidence.passed == Some(true)).count();
    let top = r.risks.iter().filter(|k| k.status != "closed").max_by_key(|k| k.residual_score);
    let top = top.map_or("none registered".to_string(), |k| format!("{} ({})", k.residual_score, k.band));
    let cards = [
        ("Risk tier", r.project.tier.clone()),
        ("Stage", stage_words(r)),
        ("Evidence passed", format!("{passed} of {}", r.evidence.len())),
        ("Top residual risk", top),
        ("Open incidents", r.incidents.len().to_string()),
    ];
    out.push_str("<div class=\"cards\">");
    for (label, value) in cards {
        let _ = write!(
            out,
            "<div class=\"card\"><div class=\"label\">{label}</div><div class=\"value\">{}</div></div>",
            esc(&value)
        );
    }
    out.push_str("</div>");
    let points = attention(r);
    if points.is_empty() {
        out.push_str("<p class=\"attention ok\">Nothing failed and nothing is open.</p>");
    } else {
        out.push_str("<div class=\"attention\"><strong>For the committee's attention</strong><ul>");
        for point in &points {
            let _ = write!(out, "<li>{}</li>", esc(point));
        }
        out.push_str("</ul></div>");
    }
}

pub(super) fn html_intended_use(out: &mut String, r: &ModelReport) {
    out.push_str("<section><h2>1. Intended use</h2>");
    if !r.project.description.is_empty() {
        let _ = write!(out, "<p>{}</p>", esc(&r.project.description));
    }
    if !r.model.description.is_empty() {
        let _ = write!(out, "<p><strong>This model:</strong> {}</p>", esc(&r.model.description));
    }
    let mut rows = context_rows(&r.project);
    let inputs = signature_inputs(&r.model);
    if !inputs.is_empty() {
        rows.push(("Inputs".into(), inputs.join(", ")));
    }
    if let Some(task) = r.model.signature.as_ref().and_then(|s| s.0["task"].as_str()) {
        rows.push(("Task".into(), task.to_string()));
    }
    html_kv(out, &rows);
    out.push_str("</section>");
}

pub(super) fn html_lineage(out: &mut String, r: &ModelReport) {
    out.push_str("<section><h2>2. Data and code lineage</h2>");
    let rows: Vec<(String, String)> = lineage_rows(&r.model).into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    html_kv(out, &rows);
    if !r.lineage.edges.is_empty() {
        out.push_str("<table><thead><tr><th>From</th><th>Relation</th><th>To</th></tr></thead><tbody>");
        for e in &r.lineage.edges {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&node_label(&r.lineage, &e.from)),
                esc(&e.relation.replace('_', " ")),
                esc(&node_label(&r.lineage, &e.to))
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>");
}

pub(super) fn html_risks(out: &mut String, r: &ModelReport) {
    let _ = write!(out, "<section><h2>3. Risk register</h2><p>Project {} · ", esc(&r.project.name));
    if r.risks.is_empty() {
        out.push_str("no risks are registered.</p></section>");
        return;
    }
    out.push_str(
        "inherent score = severity × likelihood; residual after the linked controls. Bands: ≤ 4 low, 5–9 medium, \
         10–16 high, ≥ 17 critical.</p><div class=\"charts\"><figure>",
    );
    out.push_str(&risk_matrix_svg(&r.risks));
    out.push_str("<figcaption>Register entries by severity and likelihood (inherent)</figcaption></figure></div>");
    let rows: Vec<Vec<String>> = r.risks.iter().map(risk_cells).collect();
    html_table(out, &RISK_HEADERS, &rows, &[7]);
    out.push_str("</section>");
}

pub(super) fn html_results(out: &mut String, r: &ModelReport) {
    out.push_str("<section><h2>4. Validation, fairness and stress testing</h2>");
    if r.evidence.is_empty() {
        out.push_str("<p>No evidence is on file for this version.</p>");
    } else {
        let rows: Vec<Vec<String>> = r.evidence.iter().map(evidence_cells).collect();
        html_table(out, &EVIDENCE_HEADERS, &rows, &[2]);
        out.push_str("<p class=\"meta\">Files: ");
        let digests: Vec<String> = r
            .evidence
            .iter()
            .map(|e| format!("#{} <code>{}</code>", e.standing.evidence.id, esc(&e.standing.evidence.digest)))
            .collect();
        out.push_str(&digests.join(" · "));
        out.push_str("</p>");
    }
    let _ = write!(out, "<p class=\"note\">{}</p>", esc(&produced_note(r)));
    for e in r.produced() {
        html_result(out, e);
    }
    out.push_str("</section>");
}

pub(super) fn html_result(out: &mut String, e: &EvidenceItem) {
    let Some(report) = &e.report else { return };
    let ev = &e.standing.evidence;
    let _ = write!(
        out,
        "<div class=\"result\"><h3>{} {} <small class=\"meta\">evidence {} · {} · {}</small></h3>",
        esc(&ev.kind.replace('_', " ")),
        badge(passed_word(ev.passed)),
        ev.id,
        esc(&who_produced(e)),
        esc(&when(&ev.created_at))
    );
    if let Some(n) = report["n"].as_u64() {
        let _ = write!(out, "<p>{n} rows scored.</p>");
    }
    let ms = metrics(report);
    let bins = calibration_bins(report);
    if !ms.is_empty() || !bins.is_empty() {
        out.push_str("<div class=\"charts\">");
        let bounded: Vec<_> = ms.iter().filter(|m| (0.0..=1.0).contains(&m.1)).cloned().collect();
        if !bounded.is_empty() {
            let _ = write!(
                out,
                "<figure>{}<figcaption>Metrics with 95% intervals</figcaption></figure>",
                metric_bars_svg(&bounded)
            );
        }
        if !bins.is_empty() {
            let ece =
                report["calibration"]["ece"].as_f64().map(|x| format!(" · ECE {}", fmt_f64(x))).unwrap_or_default();
            let _ = write!(
                out,
                "<figure>{}<figcaption>Reliability diagram{}</figcaption></figure>",
                reliability_svg(&bins),
                esc(&ece)
            );
        }
        out.push_str("</div>");
    }
    if !ms.is_empty() {
        let rows: Vec<Vec<String>> = ms.iter().map(metric_cells).collect();
        html_table(out, &["Metric", "Value", "95% interval"], &rows, &[]);
    }
    let segs = segments(report);
    if !segs.is_empty() {
        out.push_str("<h3>Weak segments</h3>");
        let rows: Vec<Vec<String>> = segs.iter().map(|s| segment_cells(s)).collect();
        html_table(out, &SEGMENT_HEADERS, &rows, &[]);
    }
    for (title, key) in [("Fairness", "fairness"), ("Champion (in production, same rows)", "champion")] {
        let rows = flat_rows(&report[key]);
        if !rows.is_empty() {
            let _ = write!(out, "<h3>{}</h3>", esc(title));
            html_kv(out, &rows);
        }
    }
    let cs = checks(report);
    if !cs.is_empty() {
        out.push_str("<h3>Checks</h3>");
        let rows: Vec<Vec<String>> = cs.iter().map(|c| check_cells(c)).collect();
        html_table(out, &CHECK_HEADERS, &rows, &[1]);
    }
    out.push_str("</div>");
}

pub(super) fn html_approvals(out: &mut String, r: &ModelReport) {
    out.push_str("<section><h2>6. Approvals and deployment history</h2>");
    if r.promotions.is_empty() {
        out.push_str("<p>No promotion has been requested for this version.</p>");
    }
    for p in &r.promotions {
        let _ = write!(
            out,
            "<h3>Promotion {} to {} {}</h3><p class=\"meta\">tier {} · requested by {} at {}{}</p>",
            p.id,
            esc(&p.environment),
            badge(&p.status),
            esc(&p.tier),
            esc(&p.requested_by),
            esc(&when(&p.created_at)),
            if p.reason.is_empty() { String::new() } else { format!(" · “{}”", esc(&p.reason)) }
        );
        let rows: Vec<Vec<String>> = p.decisions.iter().map(decision_cells).collect();
        if !rows.is_empty() {
            html_table(out, &DECISION_HEADERS, &rows, &[]);
        }
        for m in &p.missing_reasons {
            let _ = write!(out, "<p>Missing {}: {}</p>", esc(&m.requirement), esc(&m.reason));
        }
        if let Some(reason) = &p.closed_reason {
            let _ = write!(out, "<p>Closed: {}</p>", esc(reason));
        }
    }
    out.push_str("<h3>Deployments</h3>");
    if r.deployments.is_empty() {
        out.push_str("<p>This version has never been deployed.</p>");
    } else {
        let rows: Vec<Vec<String>> = r.deployments.iter().map(deployment_cells).collect();
        html_table(out, &DEPLOYMENT_HEADERS, &rows, &[]);
    }
    out.push_str("</section>");
}

pub(super) fn html_monitoring(out: &mut String, r: &ModelReport) {
    out.push_str("<section><h2>7. Monitoring</h2>");
    match &r.monitoring.note {
        Some(note) => {
            let _ = write!(out, "<p>{}.</p>", esc(note.trim_end_matches('.')));
        }
        None => {
            out.push_str(
                "<p class=\"meta\">Daily windows, the newest ten of the 90 days before the report, newest last (all versions of the model).</p>",
            );
            let rows: Vec<Vec<String>> = r.monitoring.windows.iter().map(window_row).collect();
            html_table(out, &WINDOW_HEADERS, &rows, &[]);
        }
    }
    out.push_str("</section>");
}

/// Section 5: what the newest explanation riskops produced says the model relies on.
fn html_explanations(out: &mut String, r: &ModelReport) {
    out.push_str("<section><h2>5. Explanations</h2>");
    let Some((id, e)) = r.explanation() else {
        out.push_str(
            "<p class=\"placeholder\">Not yet produced: run <code>riskops explain</code> on this version to file \
             feature attributions.</p></section>",
        );
        return;
    };
    let _ = write!(
        out,
        "<p>Evidence {id}: {} ({}) of {} rows of {} against {} background rows of {}, in the model's {} \
         (base value {:.4}); base value + contributions equal the output on every row (largest error {:.1e}).</p>",
        match e.sampling_error {
            Some(_) => "SHAP values sampled over feature orderings",
            None => "exact TreeSHAP",
        },
        esc(&e.method),
        e.rows.len(),
        esc(&e.data),
        e.background_rows,
        esc(&e.background),
        esc(&e.output),
        e.base_value,
        e.additivity_max_error
    );
    let top: Vec<(String, f64)> = e.global.iter().take(12).map(|g| (g.feature.clone(), g.mean_abs_shap)).collect();
    out.push_str("<figure>");
    out.push_str(&super::svg::importance_svg(&top));
    out.push_str("<figcaption>Mean |SHAP| per feature, the twelve largest.</figcaption></figure>");
    let metric = e.permutation_metric.as_deref().unwrap_or("score");
    let rows: Vec<Vec<String>> = e
        .global
        .iter()
        .take(12)
        .map(|g| {
            let permutation = match (g.permutation_importance, g.std) {
                (Some(m), Some(s)) => format!("{m:.4} ± {s:.4}"),
                _ => "–".to_string(),
            };
            vec![g.feature.clone(), format!("{:.4}", g.mean_abs_shap), permutation]
        })
        .collect();
    let permutation = format!("Permutation importance ({metric} drop)");
    html_table(out, &["Feature", "Mean |SHAP|", &permutation], &rows, &[]);
    if let (Some(orderings), Some(error)) = (e.orderings, e.sampling_error) {
        let _ = write!(
            out,
            "<p>Sampled over {orderings} feature orderings per row: the largest standard error of a value is \
             {error:.2e}.</p>"
        );
    }
    if !e.dependence.is_empty() {
        out.push_str("<h3>How the top features' values move the output</h3><div class=\"charts\">");
        for d in &e.dependence {
            out.push_str("<figure>");
            out.push_str(&super::svg::dependence_svg(&d.feature, &d.bins));
            let _ = write!(
                out,
                "<figcaption>{}: mean SHAP value per value bin (dot; red raises the output, blue lowers it) and \
                 the range of the rows' values (grey).</figcaption></figure>",
                esc(&d.feature)
            );
        }
        out.push_str("</div>");
    }
    out.push_str("</section>");
}
