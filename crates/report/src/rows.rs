//! What both formats show: wording, numbers, and the rows of each table.

use super::{EvidenceItem, ModelReport};
use riskops_api::alerting::Incident;
use riskops_api::governance::DeploymentView;
use riskops_api::lineage::Graph;
use riskops_api::projects::ProjectView;
use riskops_api::registry::ModelVersionView;
use riskops_api::risk::RiskView;
use riskops_api::window::WindowReport;
use serde_json::Value;

pub(super) fn passed_word(passed: Option<bool>) -> &'static str {
    match passed {
        Some(true) => "passed",
        Some(false) => "failed",
        None => "no verdict",
    }
}

pub(super) fn who_produced(e: &EvidenceItem) -> String {
    match e.produced_by.as_deref() {
        Some("riskops") => format!("riskops (run by {})", e.standing.evidence.created_by),
        Some(other) => format!("{other} (filed by {})", e.standing.evidence.created_by),
        None => format!("uploaded by {}", e.standing.evidence.created_by),
    }
}

pub(super) fn counts_word(e: &EvidenceItem) -> String {
    match &e.standing.does_not_count {
        Some(why) => format!("no: {why}"),
        None if e.standing.counts => "yes".into(),
        None => "-".into(),
    }
}

/// A number for people: integers as such, others to 4 significant places.
pub(super) fn num(v: &Value) -> String {
    match v {
        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), fmt_f64),
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

/// An RFC 3339 time to the minute, for people: `2026-12-05 19:52 UTC` (the JSON keeps it whole).
pub(super) fn when(rfc3339: &str) -> String {
    match (rfc3339.get(..16), rfc3339.ends_with('Z')) {
        (Some(minute), true) if rfc3339.as_bytes().get(10) == Some(&b'T') => {
            format!("{} UTC", minute.replace('T', " "))
        }
        _ => rfc3339.to_string(),
    }
}

pub(super) fn fmt_f64(x: f64) -> String {
    if x == 0.0 || (x.abs() >= 0.001 && x.abs() < 1e6) { format!("{x:.4}") } else { format!("{x:.3e}") }
}

/// `(name, value, ci_low, ci_high)` of a report's `metrics`: `{"auc":{"value",…}}` or
/// `{"auc":0.8}`.
pub(super) fn metrics(report: &Value) -> Vec<(String, f64, Option<f64>, Option<f64>)> {
    let Some(map) = report["metrics"].as_object() else { return Vec::new() };
    map.iter()
        .filter_map(|(k, m)| {
            let value = m.as_f64().or_else(|| m["value"].as_f64())?;
            Some((k.clone(), value, m["ci_low"].as_f64(), m["ci_high"].as_f64()))
        })
        .collect()
}

/// `(mean predicted, observed, count)` of each reliability bin, whichever names it uses.
pub(super) fn calibration_bins(report: &Value) -> Vec<(f64, f64, Option<u64>)> {
    let pick = |b: &Value, keys: &[&str]| keys.iter().find_map(|k| b[*k].as_f64());
    report["calibration"]["bins"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| {
            let predicted = pick(b, &["mean_predicted", "predicted", "mean_score", "confidence", "mean_proba"])?;
            let observed = pick(b, &["fraction_positive", "observed", "mean_label", "positive_rate", "accuracy"])?;
            let n = ["n", "count"].iter().find_map(|k| b[*k].as_u64());
            Some((predicted, observed, n))
        })
        .collect()
}

pub(super) fn checks(report: &Value) -> Vec<&Value> {
    report["checks"].as_array().map(|c| c.iter().collect()).unwrap_or_default()
}

pub(super) fn segments(report: &Value) -> Vec<&Value> {
    report["segments"].as_array().map(|c| c.iter().collect()).unwrap_or_default()
}

/// A check's detail in one line: its failures (with the first inputs) and per-feature values.
pub(super) fn check_detail(check: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(failures) = check["failures"].as_array().filter(|f| !f.is_empty()) {
        let first: Vec<String> = failures
            .iter()
            .take(3)
            .map(|f| {
                let reason = f["reason"].as_str().unwrap_or("");
                format!("{} → {reason}", compact(&f["input"], 80))
            })
            .collect();
        parts.push(format!("{} failure(s): {}", failures.len(), first.join("; ")));
    }
    if let Some(by) = check["by_feature"].as_object().filter(|m| !m.is_empty()) {
        let shown: Vec<String> = by.iter().take(6).map(|(k, v)| format!("{k} {}", compact(v, 40))).collect();
        let more = if by.len() > 6 { format!(" … ({} features)", by.len()) } else { String::new() };
        parts.push(format!("by feature: {}{more}", shown.join(", ")));
    }
    parts.join(" · ")
}

/// A value on one line, cut at `max` characters.
pub(super) fn compact(v: &Value, max: usize) -> String {
    let text = match v {
        Value::Number(_) | Value::Null | Value::Bool(_) | Value::String(_) => num(v),
        other => other.to_string(),
    };
    if text.chars().count() > max { format!("{}…", text.chars().take(max).collect::<String>()) } else { text }
}

/// `key: value` rows of a one-level object (fairness, champion), nested objects in one line.
pub(super) fn flat_rows(v: &Value) -> Vec<(String, String)> {
    v.as_object().into_iter().flatten().map(|(k, v)| (k.clone(), compact(v, 160))).collect()
}

pub(super) fn context_rows(p: &ProjectView) -> Vec<(String, String)> {
    let mut rows = vec![("Tier".to_string(), format!("{} ({})", p.tier, p.tier_source))];
    if let Some(ctx) = p.context.as_ref().and_then(|c| c.0.as_object()) {
        for (k, v) in ctx.iter().filter(|(_, v)| !v.is_null()) {
            let value = match v {
                Value::Array(items) => items.iter().map(|i| compact(i, 60)).collect::<Vec<_>>().join(", "),
                other => compact(other, 300),
            };
            rows.push((sentence_case(&k.replace('_', " ")), value));
        }
    }
    rows
}

/// `workflow description` → `Workflow description`; `eu ai act` keeps its acronym.
fn sentence_case(label: &str) -> String {
    match label {
        "eu ai act" => "EU AI Act".into(),
        "annex iii area" => "Annex III area".into(),
        _ => {
            let mut chars = label.chars();
            chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
        }
    }
}

/// What needs the committee's attention, most serious first: failed evidence and checks,
/// open incidents, unmet requirements of pending promotions, high and critical risks.
pub(super) fn attention(r: &ModelReport) -> Vec<String> {
    let mut items = Vec::new();
    for e in &r.evidence {
        let ev = &e.standing.evidence;
        if ev.passed == Some(false) {
            items.push(format!("{} evidence {} failed ({})", ev.kind, ev.id, who_produced(e)));
        }
        let failed: Vec<&str> = e
            .report
            .as_ref()
            .map(checks)
            .unwrap_or_default()
            .into_iter()
            .filter(|c| c["passed"] == false)
            .filter_map(|c| c["name"].as_str())
            .collect();
        if !failed.is_empty() {
            items.push(format!("failed checks in evidence {}: {}", ev.id, failed.join(", ")));
        }
    }
    for i in &r.incidents {
        items.push(format!("open {} incident {}: {}", i.severity, i.id, i.title));
    }
    for p in r.promotions.iter().filter(|p| p.status == "pending") {
        items.push(format!("promotion {} to {} still needs {}", p.id, p.environment, p.missing.join(", ")));
    }
    for k in r.risks.iter().filter(|k| k.status != "closed" && matches!(k.band.as_str(), "high" | "critical")) {
        items.push(format!("{} residual risk {}: {} ({})", k.band, k.id, k.failure_mode, k.residual_score));
    }
    items
}

pub(super) fn lineage_rows(m: &ModelVersionView) -> Vec<(&'static str, String)> {
    let or_none = |v: &Option<String>| v.clone().unwrap_or_else(|| "not recorded".into());
    vec![
        ("Artifact", format!("{} ({} bytes, {})", m.digest, m.size, m.framework)),
        ("Training data", or_none(&m.training_data)),
        ("Validation data", or_none(&m.validation_data)),
        ("Code repository", or_none(&m.code_repo)),
        ("Code commit", or_none(&m.code_commit)),
        ("Registered", format!("{} by {}", when(&m.created_at), m.author)),
    ]
}

pub(super) fn node_label(graph: &Graph, id: &str) -> String {
    graph
        .nodes
        .iter()
        .find(|n| n.id == id)
        .map(|n| match n.version {
            Some(v) => format!("{} {}@{v}", n.kind, n.name),
            None => format!("{} {}", n.kind, n.name),
        })
        .unwrap_or_else(|| id.to_string())
}

/// The signature's inputs as `name (type, shape)`.
pub(super) fn signature_inputs(m: &ModelVersionView) -> Vec<String> {
    let Some(sig) = &m.signature else { return Vec::new() };
    sig.0["inputs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            format!("{} ({}, {})", i["name"].as_str().unwrap_or("?"), compact(&i["type"], 30), compact(&i["shape"], 30))
        })
        .collect()
}

pub(super) fn window_row(w: &WindowReport) -> Vec<String> {
    let drifted = w.drifted_features();
    vec![
        when(&w.start),
        w.version.clone(),
        w.records.to_string(),
        w.labelled.to_string(),
        format!("{:.0}%", w.drift.share * 100.0),
        if drifted.is_empty() { "-".into() } else { drifted.join(", ") },
        w.performance
            .as_ref()
            .and_then(|p| p.values().first().map(|(k, x)| format!("{k} {x:.3}")))
            .unwrap_or_else(|| "-".into()),
        w.worst_parity_ratio().map_or("-".into(), |(_, p)| format!("{p:.2}")),
    ]
}

pub(super) const WINDOW_HEADERS: [&str; 8] =
    ["Window", "Version", "Records", "Labelled", "Drift share", "Drifted features", "Performance", "Parity ratio"];

pub(super) const RISK_HEADERS: [&str; 10] =
    ["ID", "Failure mode", "Category", "Severity", "Likelihood", "Inherent", "Residual", "Band", "Owner", "Status"];

pub(super) fn risk_cells(k: &RiskView) -> Vec<String> {
    vec![
        k.id.to_string(),
        k.failure_mode.clone(),
        k.category.clone(),
        k.severity.to_string(),
        k.likelihood.to_string(),
        k.inherent_score.to_string(),
        k.residual_score.to_string(),
        k.band.clone(),
        k.owner.clone(),
        k.status.clone(),
    ]
}

pub(super) const EVIDENCE_HEADERS: [&str; 7] =
    ["ID", "Kind", "Result", "Produced by", "At", "Counts toward the gate", "Summary"];

pub(super) fn evidence_cells(e: &EvidenceItem) -> Vec<String> {
    let ev = &e.standing.evidence;
    vec![
        ev.id.to_string(),
        ev.kind.clone(),
        passed_word(ev.passed).into(),
        who_produced(e),
        when(&ev.created_at),
        counts_word(e),
        ev.summary.clone(),
    ]
}

pub(super) fn metric_cells(m: &(String, f64, Option<f64>, Option<f64>)) -> Vec<String> {
    let interval = match (m.2, m.3) {
        (Some(lo), Some(hi)) => format!("{} – {}", fmt_f64(lo), fmt_f64(hi)),
        _ => "-".into(),
    };
    vec![m.0.clone(), fmt_f64(m.1), interval]
}

pub(super) const SEGMENT_HEADERS: [&str; 6] = ["Segment", "Rows", "Metric", "Value", "Gap", "p-value"];

pub(super) fn segment_cells(s: &Value) -> Vec<String> {
    vec![
        compact(&s["segment"], 80),
        num(&s["n"]),
        num(&s["metric"]),
        num(&s["value"]),
        num(&s["gap"]),
        num(&s["p_value"]),
    ]
}

pub(super) const CHECK_HEADERS: [&str; 5] = ["Check", "Result", "Value", "Threshold", "Detail"];

pub(super) fn check_cells(c: &Value) -> Vec<String> {
    vec![
        c["name"].as_str().unwrap_or("?").to_string(),
        passed_word(c["passed"].as_bool()).into(),
        compact(&c["value"], 40),
        compact(&c["threshold"], 40),
        check_detail(c),
    ]
}

pub(super) const DECISION_HEADERS: [&str; 5] = ["Decision", "By", "Roles", "At", "Comment"];

pub(super) fn decision_cells(d: &riskops_api::governance::DecisionView) -> Vec<String> {
    vec![d.decision.clone(), d.by.clone(), d.roles.join(", "), when(&d.at), d.comment.clone()]
}

pub(super) const DEPLOYMENT_HEADERS: [&str; 6] = ["Environment", "Since", "Until", "By", "How", "Signature"];

pub(super) fn deployment_cells(d: &DeploymentView) -> Vec<String> {
    let how = match (d.emergency, d.promotion_id) {
        (true, _) => format!("emergency rollback: {}", d.reason),
        (false, Some(id)) => format!("promotion {id}"),
        (false, None) => d.reason.clone(),
    };
    let signature = d.signature.as_ref().map_or_else(
        || "not signed (not production)".to_string(),
        |s| format!("{} key {} sig {}…", s.algorithm, s.key_id, s.signature.chars().take(16).collect::<String>()),
    );
    vec![
        d.environment.clone(),
        when(&d.since),
        d.until.as_deref().map_or_else(|| "now".into(), when),
        d.by.clone(),
        how,
        signature,
    ]
}

pub(super) const INCIDENT_HEADERS: [&str; 6] = ["ID", "Severity", "State", "Title", "Version", "Opened"];

pub(super) fn incident_cells(i: &Incident) -> Vec<String> {
    vec![
        i.id.to_string(),
        i.severity.clone(),
        i.state.clone(),
        i.title.clone(),
        i.version.to_string(),
        when(&i.opened_at),
    ]
}

pub(super) fn stage_words(r: &ModelReport) -> String {
    if r.stages.is_empty() { "development".into() } else { r.stages.join(" and ") }
}

/// What the results section can and cannot show, in one sentence.
pub(super) fn produced_note(r: &ModelReport) -> String {
    let produced = r.evidence.iter().filter(|e| e.produced_by.as_deref() == Some("riskops")).count();
    let reports = r.produced().count();
    if produced > 0 {
        format!("{produced} piece(s) of evidence were produced by riskops; their results follow.")
    } else if reports > 0 {
        format!(
            "No evidence was produced by riskops; {reports} uploaded file(s) hold results, shown below as filed (not \
             recomputed)."
        )
    } else {
        "Only uploaded evidence is on file: riskops has not produced validation, fairness or stress results for this \
         version (riskops validate, riskops stress). The files are listed with their verdicts as filed."
            .to_string()
    }
}
