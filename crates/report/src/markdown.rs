//! The report as Markdown (also its text form); charts are left out, their numbers are in the tables.

use super::rows::*;
use super::{EvidenceItem, ModelReport};
use riskops_core::encode::escape_html as esc;
use std::fmt::Write;

/// Text safe in a Markdown table cell: markup as HTML references, pipes escaped, one line.
pub(super) fn md(text: &str) -> String {
    esc(&text.replace('\\', "\\\\").replace('|', "\\|")).replace(['\n', '\r'], " ")
}

pub(super) fn md_table(out: &mut String, headers: &[&str], rows: &[Vec<String>]) {
    let _ = writeln!(out, "| {} |", headers.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(headers.len()));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| md(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
}

/// The whole report as Markdown.
pub fn markdown(r: &ModelReport) -> String {
    let m = &r.model;
    let mut out = String::new();
    let _ = writeln!(out, "# Model report: {}\n", md(&r.title()));
    let _ = writeln!(
        out,
        "Project {} · tier {} · stage {} · generated {}\n",
        md(&r.project.name),
        md(&r.project.tier),
        md(&stage_words(r)),
        md(&when(&r.generated_at))
    );

    let points = attention(r);
    if points.is_empty() {
        let _ = writeln!(out, "**Attention:** nothing failed, nothing open.\n");
    } else {
        let _ = writeln!(out, "**Attention:**\n");
        for point in &points {
            let _ = writeln!(out, "- {}", md(point));
        }
        out.push('\n');
    }
    let _ = writeln!(out, "## 1. Intended use\n");
    if !r.project.description.is_empty() {
        let _ = writeln!(out, "{}\n", md(&r.project.description));
    }
    if !m.description.is_empty() {
        let _ = writeln!(out, "Model: {}\n", md(&m.description));
    }
    let rows: Vec<Vec<String>> = context_rows(&r.project).into_iter().map(|(k, v)| vec![k, v]).collect();
    md_table(&mut out, &["Context", "Value"], &rows);
    let inputs = signature_inputs(m);
    if !inputs.is_empty() {
        let _ = writeln!(out, "Inputs: {}\n", md(&inputs.join(", ")));
    }

    let _ = writeln!(out, "## 2. Data and code lineage\n");
    let rows: Vec<Vec<String>> = lineage_rows(m).into_iter().map(|(k, v)| vec![k.to_string(), v]).collect();
    md_table(&mut out, &["", ""], &rows);
    for e in &r.lineage.edges {
        let _ = writeln!(
            out,
            "- {} — {} → {}",
            md(&node_label(&r.lineage, &e.from)),
            md(&e.relation),
            md(&node_label(&r.lineage, &e.to))
        );
    }
    out.push('\n');

    let _ = writeln!(out, "## 3. Risk register ({})\n", md(&r.project.name));
    if r.risks.is_empty() {
        let _ = writeln!(out, "No risks are registered for the project.\n");
    } else {
        let rows: Vec<Vec<String>> = r.risks.iter().map(risk_cells).collect();
        md_table(&mut out, &RISK_HEADERS, &rows);
    }

    let _ = writeln!(out, "## 4. Validation, fairness and stress testing\n");
    if r.evidence.is_empty() {
        let _ = writeln!(out, "No evidence is on file for this version.\n");
    } else {
        let rows: Vec<Vec<String>> = r.evidence.iter().map(evidence_cells).collect();
        md_table(&mut out, &EVIDENCE_HEADERS, &rows);
    }
    let _ = writeln!(out, "{}\n", md(&produced_note(r)));
    for e in r.produced() {
        markdown_results(&mut out, e);
    }

    match r.explanation() {
        None => {
            let _ = writeln!(out, "## 5. Explanations\n\nNot yet produced: run `riskops explain` on this version.\n");
        }
        Some((id, e)) => {
            let _ = writeln!(
                out,
                "## 5. Explanations\n\nEvidence {id}: {} ({}) of {} rows of {}, in the model's {} (base value \
                 {:.4}); additivity holds to {:.1e}.\n\n| Feature | Mean \\|SHAP\\| | Permutation importance |\n|---|---:|---:|",
                match e.sampling_error {
                    Some(_) => "SHAP values sampled over feature orderings",
                    None => "exact TreeSHAP",
                },
                e.method,
                e.rows.len(),
                e.data,
                e.output,
                e.base_value,
                e.additivity_max_error
            );
            for g in e.global.iter().take(12) {
                let permutation = match (g.permutation_importance, g.std) {
                    (Some(m), Some(s)) => format!("{m:.4} ± {s:.4}"),
                    _ => "–".to_string(),
                };
                let _ = writeln!(out, "| {} | {:.4} | {permutation} |", g.feature, g.mean_abs_shap);
            }
            out.push('\n');
            for d in &e.dependence {
                let bins: Vec<String> = d.bins.iter().map(|b| format!("{} → {:+.3}", b.label, b.mean_shap)).collect();
                let _ = writeln!(out, "- **{}** (mean SHAP by value): {}", d.feature, bins.join(", "));
            }
            if !e.dependence.is_empty() {
                out.push('\n');
            }
        }
    }

    let _ = writeln!(out, "## 6. Approvals and deployment history\n");
    if r.promotions.is_empty() {
        let _ = writeln!(out, "No promotion has been requested for this version.\n");
    }
    for p in &r.promotions {
        let _ = writeln!(
            out,
            "**Promotion {} to {}**: {} (tier {}, requested by {} at {}).\n",
            p.id,
            md(&p.environment),
            md(&p.status),
            md(&p.tier),
            md(&p.requested_by),
            md(&when(&p.created_at))
        );
        let rows: Vec<Vec<String>> = p.decisions.iter().map(decision_cells).collect();
        if !rows.is_empty() {
            md_table(&mut out, &DECISION_HEADERS, &rows);
        }
        if !p.missing.is_empty() {
            let _ = writeln!(out, "Still missing: {}\n", md(&p.missing.join(", ")));
        }
    }
    if r.deployments.is_empty() {
        let _ = writeln!(out, "This version has never been deployed.\n");
    } else {
        let rows: Vec<Vec<String>> = r.deployments.iter().map(deployment_cells).collect();
        md_table(&mut out, &DEPLOYMENT_HEADERS, &rows);
    }

    let _ = writeln!(out, "## 7. Monitoring\n");
    match &r.monitoring.note {
        Some(note) => {
            let _ = writeln!(out, "{}\n", md(note));
        }
        None => {
            let rows: Vec<Vec<String>> = r.monitoring.windows.iter().map(window_row).collect();
            md_table(&mut out, &WINDOW_HEADERS, &rows);
        }
    }

    let _ = writeln!(out, "## 8. Open incidents\n");
    if r.incidents.is_empty() {
        let _ = writeln!(out, "No open incidents.\n");
    } else {
        let rows: Vec<Vec<String>> = r.incidents.iter().map(incident_cells).collect();
        md_table(&mut out, &INCIDENT_HEADERS, &rows);
    }
    let _ = writeln!(out, "---\nriskops {} · model report of {}", env!("CARGO_PKG_VERSION"), md(&r.title()));
    out
}

pub(super) fn markdown_results(out: &mut String, e: &EvidenceItem) {
    let Some(report) = &e.report else { return };
    let ev = &e.standing.evidence;
    let _ = writeln!(out, "### {} (evidence {}, {})\n", md(&ev.kind), ev.id, md(passed_word(ev.passed)));
    let ms = metrics(report);
    if !ms.is_empty() {
        let rows: Vec<Vec<String>> = ms.iter().map(metric_cells).collect();
        md_table(out, &["Metric", "Value", "95% interval"], &rows);
    }
    if let Some(ece) = report["calibration"]["ece"].as_f64() {
        let _ = writeln!(out, "Calibration: expected calibration error {}.\n", fmt_f64(ece));
    }
    let segs = segments(report);
    if !segs.is_empty() {
        let rows: Vec<Vec<String>> = segs.iter().map(|s| segment_cells(s)).collect();
        md_table(out, &SEGMENT_HEADERS, &rows);
    }
    for (title, key) in [("Fairness", "fairness"), ("Champion", "champion")] {
        let rows: Vec<Vec<String>> = flat_rows(&report[key]).into_iter().map(|(k, v)| vec![k, v]).collect();
        if !rows.is_empty() {
            let _ = writeln!(out, "{title}:\n");
            md_table(out, &["", ""], &rows);
        }
    }
    let cs = checks(report);
    if !cs.is_empty() {
        let rows: Vec<Vec<String>> = cs.iter().map(|c| check_cells(c)).collect();
        md_table(out, &CHECK_HEADERS, &rows);
    }
}
