//! `riskops report model NAME@V`: the document a validation committee and a regulator read,
//! gathered through the API (typed answers) and written as one self-contained HTML page
//! (inline CSS and SVG charts, a print stylesheet, no scripts), Markdown, or JSON.
//!
//! Evidence that riskops produced (`produced_by: riskops`, a JSON report with `metrics`,
//! `calibration`, `segments`, `checks`) is rendered in full; any other evidence is listed
//! with its result, author and digest, so the report degrades to what is on file.

use super::dataset::split_version;
use crate::cli::{Format, ReportCommand};
use crate::client::Client;
use anyhow::Result;
use riskops_api::alerting::{Incident, IncidentList};
use riskops_api::governance::{
    DeploymentView, EvidenceList, EvidenceStanding, PromotionList, PromotionResponse, StagesView,
};
use riskops_api::lineage::{Graph, LineageAnswer};
use riskops_api::monitoring::MonitoringView;
use riskops_api::projects::ProjectView;
use riskops_api::registry::ModelVersionView;
use riskops_api::risk::{RiskList, RiskView};
use riskops_core::encode::escape_html as esc;
use serde_json::{Value, json};
use std::fmt::Write;

/// Evidence files up to this size are read to look for a JSON report; larger ones are
/// listed only (a report of metrics and checks is a few kilobytes).
const REPORT_LIMIT: u64 = 4 << 20;

/// Monitoring windows shown: the newest ones.
const WINDOWS_SHOWN: usize = 10;

pub async fn run(client: &Client, format: Format, command: ReportCommand) -> Result<()> {
    let ReportCommand::Model { version } = command;
    let report = gather(client, &version).await?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report.to_json())?),
        Format::Html => print!("{}", html(&report)),
        // Text is the Markdown: it reads well in a terminal too.
        _ => print!("{}", markdown(&report)),
    }
    Ok(())
}

/// One piece of evidence with what its file says, when it is a JSON report.
pub struct EvidenceItem {
    pub standing: EvidenceStanding,
    /// `riskops` for evidence riskops produced (validate, stress); null for uploads.
    pub produced_by: Option<String>,
    /// The file's JSON report (`metrics`, `calibration`, `segments`, `checks`, …), if any.
    pub report: Option<Value>,
    /// The evidence as the server sent it (fields this CLI does not know included).
    pub json: Value,
}

/// Monitoring of the model: the newest windows, or why there are none.
pub struct Monitoring {
    pub windows: Vec<Value>,
    pub note: Option<String>,
}

pub struct ModelReport {
    /// The server's time when the report was gathered.
    pub generated_at: String,
    pub model: ModelVersionView,
    pub project: ProjectView,
    pub lineage: Graph,
    pub risks: Vec<RiskView>,
    pub evidence: Vec<EvidenceItem>,
    pub promotions: Vec<PromotionResponse>,
    pub deployments: Vec<DeploymentView>,
    /// The environments this version is in now.
    pub stages: Vec<String>,
    pub monitoring: Monitoring,
    pub incidents: Vec<Incident>,
}

async fn gather(client: &Client, reference: &str) -> Result<ModelReport> {
    let (name, v) = split_version(reference);
    let model = client.get::<ModelVersionView>(&format!("/api/v1/models/{name}/versions/{v}")).await?.body;
    let version = model.version;
    let project = client.get::<ProjectView>(&format!("/api/v1/projects/{}", model.project)).await?.body;
    let lineage = match client.get::<LineageAnswer>(&format!("/api/v1/lineage/model/{name}/{version}")).await?.body {
        LineageAnswer::Graph(graph) => graph,
        LineageAnswer::OpenLineage(_) => Graph { nodes: Vec::new(), edges: Vec::new() },
    };
    let risks = client.get::<RiskList>(&format!("/api/v1/projects/{}/risks", project.name)).await?.body.risks;
    let evidence = gather_evidence(client, &name, version).await?;
    let promotions = client.get::<PromotionList>(&format!("/api/v1/promotions?model={name}")).await?.body.promotions;
    let promotions: Vec<PromotionResponse> = promotions.into_iter().filter(|p| p.version == version).collect();
    let stages = client.get::<StagesView>(&format!("/api/v1/models/{name}/stages")).await?.body;
    let deployments: Vec<DeploymentView> = stages.history.iter().filter(|d| d.version == version).cloned().collect();
    let current = stages.versions.iter().find(|s| s.version == version).map(|s| s.stages.clone()).unwrap_or_default();
    let monitoring = gather_monitoring(client, &project.name, &name).await;
    let incidents = client
        .get::<IncidentList>(&format!("/api/v1/incidents?project={}&model={name}", project.name))
        .await?
        .body
        .incidents
        .into_iter()
        .filter(|i| i.state != "resolved")
        .collect();
    Ok(ModelReport {
        generated_at: stages.at,
        model,
        project,
        lineage,
        risks,
        evidence,
        promotions,
        deployments,
        stages: current,
        monitoring,
        incidents,
    })
}

async fn gather_evidence(client: &Client, name: &str, version: u32) -> Result<Vec<EvidenceItem>> {
    let path = format!("/api/v1/models/{name}/versions/{version}/evidence");
    let list = client.get::<EvidenceList>(&path).await?;
    let mut items = Vec::new();
    for (i, standing) in list.body.evidence.into_iter().enumerate() {
        let json = list.json["evidence"][i].clone();
        let report = if standing.evidence.size <= REPORT_LIMIT {
            let file = format!("{path}/{}/file", standing.evidence.id);
            client.get_small_file(&file, REPORT_LIMIT).await?.and_then(|bytes| json_report(&bytes))
        } else {
            None
        };
        let produced_by = json["produced_by"]
            .as_str()
            .or_else(|| report.as_ref().and_then(|r| r["produced_by"].as_str()))
            .map(str::to_string);
        items.push(EvidenceItem { standing, produced_by, report, json });
    }
    Ok(items)
}

/// The file as a report when it is a JSON object holding results a report can show.
fn json_report(bytes: &[u8]) -> Option<Value> {
    let value: Value = serde_json::from_slice(bytes).ok()?;
    let keys = ["metrics", "calibration", "segments", "checks", "fairness"];
    keys.iter().any(|k| !value[*k].is_null()).then_some(value)
}

/// Monitoring is optional: a model without windows (or not configured) says so instead.
async fn gather_monitoring(client: &Client, project: &str, name: &str) -> Monitoring {
    let path = format!("/api/v1/projects/{project}/models/{name}/monitoring?granularity=day");
    match client.get::<MonitoringView>(&path).await {
        Ok(view) => {
            let mut windows: Vec<Value> = view.body.windows.into_iter().map(|w| w.0).collect();
            let skip = windows.len().saturating_sub(WINDOWS_SHOWN);
            windows.drain(..skip);
            let note = windows.is_empty().then(|| "no monitoring windows in the last 7 days".to_string());
            Monitoring { windows, note }
        }
        Err(e) => Monitoring { windows: Vec::new(), note: Some(format!("monitoring not available: {e}")) },
    }
}

impl ModelReport {
    fn title(&self) -> String {
        format!("{}@{}", self.model.name, self.model.version)
    }

    fn to_json(&self) -> Value {
        json!({
            "report": "model",
            "generated_at": self.generated_at,
            "model": to(&self.model),
            "project": to(&self.project),
            "stages": self.stages,
            "lineage": to(&self.lineage),
            "risks": to(&self.risks),
            "evidence": self.evidence.iter().map(|e| {
                let mut j = e.json.clone();
                if let Some(map) = j.as_object_mut() {
                    map.insert("produced_by".into(), json!(e.produced_by));
                    map.insert("report".into(), e.report.clone().unwrap_or(Value::Null));
                }
                j
            }).collect::<Vec<_>>(),
            "explanations": null,
            "promotions": to(&self.promotions),
            "deployments": to(&self.deployments),
            "monitoring": {"windows": self.monitoring.windows, "note": self.monitoring.note},
            "open_incidents": to(&self.incidents),
        })
    }

    fn produced(&self) -> impl Iterator<Item = &EvidenceItem> {
        self.evidence.iter().filter(|e| e.report.is_some())
    }
}

/// A typed answer back as JSON (the types serialise as the server sent them).
fn to<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

// ---------------------------------------------------------------- shared wording

fn passed_word(passed: Option<bool>) -> &'static str {
    match passed {
        Some(true) => "passed",
        Some(false) => "failed",
        None => "no verdict",
    }
}

fn who_produced(e: &EvidenceItem) -> String {
    match e.produced_by.as_deref() {
        Some("riskops") => format!("riskops (run by {})", e.standing.evidence.created_by),
        Some(other) => format!("{other} (filed by {})", e.standing.evidence.created_by),
        None => format!("uploaded by {}", e.standing.evidence.created_by),
    }
}

fn counts_word(e: &EvidenceItem) -> String {
    match &e.standing.does_not_count {
        Some(why) => format!("no: {why}"),
        None if e.standing.counts => "yes".into(),
        None => "-".into(),
    }
}

/// A number for people: integers as such, others to 4 significant places.
fn num(v: &Value) -> String {
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
fn when(rfc3339: &str) -> String {
    match (rfc3339.get(..16), rfc3339.ends_with('Z')) {
        (Some(minute), true) if rfc3339.as_bytes().get(10) == Some(&b'T') => {
            format!("{} UTC", minute.replace('T', " "))
        }
        _ => rfc3339.to_string(),
    }
}

fn fmt_f64(x: f64) -> String {
    if x == 0.0 || (x.abs() >= 0.001 && x.abs() < 1e6) { format!("{x:.4}") } else { format!("{x:.3e}") }
}

/// `(name, value, ci_low, ci_high)` of a report's `metrics`: `{"auc":{"value",…}}` or
/// `{"auc":0.8}`.
fn metrics(report: &Value) -> Vec<(String, f64, Option<f64>, Option<f64>)> {
    let Some(map) = report["metrics"].as_object() else { return Vec::new() };
    map.iter()
        .filter_map(|(k, m)| {
            let value = m.as_f64().or_else(|| m["value"].as_f64())?;
            Some((k.clone(), value, m["ci_low"].as_f64(), m["ci_high"].as_f64()))
        })
        .collect()
}

/// `(mean predicted, observed, count)` of each reliability bin, whichever names it uses.
fn calibration_bins(report: &Value) -> Vec<(f64, f64, Option<u64>)> {
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

fn checks(report: &Value) -> Vec<&Value> {
    report["checks"].as_array().map(|c| c.iter().collect()).unwrap_or_default()
}

fn segments(report: &Value) -> Vec<&Value> {
    report["segments"].as_array().map(|c| c.iter().collect()).unwrap_or_default()
}

/// A check's detail in one line: its failures (with the first inputs) and per-feature values.
fn check_detail(check: &Value) -> String {
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
fn compact(v: &Value, max: usize) -> String {
    let text = match v {
        Value::Number(_) | Value::Null | Value::Bool(_) | Value::String(_) => num(v),
        other => other.to_string(),
    };
    if text.chars().count() > max { format!("{}…", text.chars().take(max).collect::<String>()) } else { text }
}

/// `key: value` rows of a one-level object (fairness, champion), nested objects in one line.
fn flat_rows(v: &Value) -> Vec<(String, String)> {
    v.as_object().into_iter().flatten().map(|(k, v)| (k.clone(), compact(v, 160))).collect()
}

fn context_rows(p: &ProjectView) -> Vec<(String, String)> {
    let mut rows = vec![("Tier".to_string(), format!("{} ({})", p.tier, p.tier_source))];
    if let Some(ctx) = p.context.as_ref().and_then(|c| c.0.as_object()) {
        for (k, v) in ctx.iter().filter(|(_, v)| !v.is_null()) {
            let value = match v {
                Value::Array(items) => items.iter().map(|i| compact(i, 60)).collect::<Vec<_>>().join(", "),
                other => compact(other, 300),
            };
            rows.push((k.replace('_', " "), value));
        }
    }
    rows
}

fn lineage_rows(m: &ModelVersionView) -> Vec<(&'static str, String)> {
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

fn node_label(graph: &Graph, id: &str) -> String {
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
fn signature_inputs(m: &ModelVersionView) -> Vec<String> {
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

fn window_row(w: &Value) -> Vec<String> {
    let perf = &w["performance"];
    let drifted: Vec<&str> = w["drift"]["features"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["drifted"] == true)
        .filter_map(|f| f["name"].as_str())
        .collect();
    let parity = w["fairness"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(_, f)| f["demographic_parity_ratio"].as_f64())
        .min_by(f64::total_cmp);
    vec![
        w["start"].as_str().unwrap_or("").to_string(),
        num(&w["version"]),
        num(&w["records"]),
        num(&w["labelled"]),
        w["drift"]["share"].as_f64().map_or("-".into(), |s| format!("{:.0}%", s * 100.0)),
        if drifted.is_empty() { "-".into() } else { drifted.join(", ") },
        ["roc_auc", "f1", "accuracy", "r2", "rmse"]
            .iter()
            .find_map(|k| perf[*k].as_f64().map(|x| format!("{k} {x:.3}")))
            .unwrap_or_else(|| "-".into()),
        parity.map_or("-".into(), |p| format!("{p:.2}")),
    ]
}

const WINDOW_HEADERS: [&str; 8] =
    ["Window", "Version", "Records", "Labelled", "Drift share", "Drifted features", "Performance", "Parity ratio"];

// ---------------------------------------------------------------- Markdown

/// Text safe in a Markdown table cell: markup as HTML references, pipes escaped, one line.
fn md(text: &str) -> String {
    esc(&text.replace('\\', "\\\\").replace('|', "\\|")).replace(['\n', '\r'], " ")
}

fn md_table(out: &mut String, headers: &[&str], rows: &[Vec<String>]) {
    let _ = writeln!(out, "| {} |", headers.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(headers.len()));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| md(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
}

fn markdown(r: &ModelReport) -> String {
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

    let _ = writeln!(out, "## 5. Explanations\n\nNot yet produced.\n");

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

fn markdown_results(out: &mut String, e: &EvidenceItem) {
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

// ---------------------------------------------------------------- table rows (both formats)

const RISK_HEADERS: [&str; 10] =
    ["ID", "Failure mode", "Category", "Severity", "Likelihood", "Inherent", "Residual", "Band", "Owner", "Status"];

fn risk_cells(k: &RiskView) -> Vec<String> {
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

const EVIDENCE_HEADERS: [&str; 7] = ["ID", "Kind", "Result", "Produced by", "At", "Counts toward the gate", "Summary"];

fn evidence_cells(e: &EvidenceItem) -> Vec<String> {
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

fn metric_cells(m: &(String, f64, Option<f64>, Option<f64>)) -> Vec<String> {
    let interval = match (m.2, m.3) {
        (Some(lo), Some(hi)) => format!("{} – {}", fmt_f64(lo), fmt_f64(hi)),
        _ => "-".into(),
    };
    vec![m.0.clone(), fmt_f64(m.1), interval]
}

const SEGMENT_HEADERS: [&str; 6] = ["Segment", "Rows", "Metric", "Value", "Gap", "p-value"];

fn segment_cells(s: &Value) -> Vec<String> {
    vec![
        compact(&s["segment"], 80),
        num(&s["n"]),
        num(&s["metric"]),
        num(&s["value"]),
        num(&s["gap"]),
        num(&s["p_value"]),
    ]
}

const CHECK_HEADERS: [&str; 5] = ["Check", "Result", "Value", "Threshold", "Detail"];

fn check_cells(c: &Value) -> Vec<String> {
    vec![
        c["name"].as_str().unwrap_or("?").to_string(),
        passed_word(c["passed"].as_bool()).into(),
        compact(&c["value"], 40),
        compact(&c["threshold"], 40),
        check_detail(c),
    ]
}

const DECISION_HEADERS: [&str; 5] = ["Decision", "By", "Roles", "At", "Comment"];

fn decision_cells(d: &riskops_api::governance::DecisionView) -> Vec<String> {
    vec![d.decision.clone(), d.by.clone(), d.roles.join(", "), when(&d.at), d.comment.clone()]
}

const DEPLOYMENT_HEADERS: [&str; 6] = ["Environment", "Since", "Until", "By", "How", "Signature"];

fn deployment_cells(d: &DeploymentView) -> Vec<String> {
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

const INCIDENT_HEADERS: [&str; 6] = ["ID", "Severity", "State", "Title", "Version", "Opened"];

fn incident_cells(i: &Incident) -> Vec<String> {
    vec![
        i.id.to_string(),
        i.severity.clone(),
        i.state.clone(),
        i.title.clone(),
        i.version.to_string(),
        when(&i.opened_at),
    ]
}

fn stage_words(r: &ModelReport) -> String {
    if r.stages.is_empty() { "development".into() } else { r.stages.join(" and ") }
}

/// What the results section can and cannot show, in one sentence.
fn produced_note(r: &ModelReport) -> String {
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

// ---------------------------------------------------------------- HTML

const STYLE: &str = "\
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
.placeholder{border:1px dashed var(--line);color:var(--muted);padding:.8rem;border-radius:.4rem}\
.charts{display:flex;flex-wrap:wrap;gap:1.2rem;align-items:flex-start}figure{margin:.4rem 0}\
figcaption{font-size:.8rem;color:var(--muted);margin-top:.2rem}svg text{font-family:inherit}\
.result{border:1px solid var(--line);border-radius:.5rem;padding:.2rem 1rem .6rem;margin:1rem 0}\
footer{color:var(--muted);font-size:.8rem;margin-top:2.5rem;border-top:1px solid var(--line);padding-top:.6rem}\
@media print{body{max-width:none;padding:0;font-size:10.5pt}@page{size:A4;margin:14mm 12mm}\
h2{break-after:avoid}table,figure,.result,.card{break-inside:avoid}.cards{grid-template-columns:repeat(5,1fr)}\
header{border-bottom-width:2px}a{color:inherit;text-decoration:none}}";

fn html(r: &ModelReport) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let title = esc(&r.title());
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Model report: {title}</title><style>{STYLE}</style></head><body>\
         <header><p class=\"kicker\">Model risk report · for the validation committee</p>\
         <h1>{title}</h1><p class=\"meta\">Project <strong>{}</strong> · {} · registered {} by {} · generated {}</p>\
         </header>",
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
    out.push_str(
        "<section><h2>5. Explanations</h2><p class=\"placeholder\">Not yet produced: riskops has no explanations \
         (feature attributions) on file for this version.</p></section>",
    );
    html_approvals(&mut out, r);
    html_monitoring(&mut out, r);
    out.push_str("<section><h2>8. Open incidents</h2>");
    if r.incidents.is_empty() {
        out.push_str("<p>No open incidents.</p>");
    } else {
        let rows: Vec<Vec<String>> = r.incidents.iter().map(incident_cells).collect();
        html_table(&mut out, &INCIDENT_HEADERS, &rows, &[1, 2]);
    }
    let _ = write!(
        out,
        "</section><footer>riskops {} · model report of {title} · figures as recorded in riskops at the time shown; \
         uploaded evidence is reported as filed</footer></body></html>\n",
        env!("CARGO_PKG_VERSION")
    );
    out
}

/// A badge whose class is the word itself when it is one of the styled words.
fn badge(word: &str) -> String {
    let class = match word {
        "passed" | "failed" | "low" | "medium" | "high" | "critical" | "completed" | "rejected" | "pending" | "yes" => {
            word
        }
        _ => "none",
    };
    format!("<span class=\"badge {class}\">{}</span>", esc(word))
}

/// A table; the cells of the `badged` columns are shown as badges.
fn html_table(out: &mut String, headers: &[&str], rows: &[Vec<String>], badged: &[usize]) {
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

fn html_kv(out: &mut String, rows: &[(String, String)]) {
    out.push_str("<table class=\"kv\"><tbody>");
    for (k, v) in rows {
        let _ = write!(out, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v));
    }
    out.push_str("</tbody></table>");
}

fn html_cards(out: &mut String, r: &ModelReport) {
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
}

fn html_intended_use(out: &mut String, r: &ModelReport) {
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

fn html_lineage(out: &mut String, r: &ModelReport) {
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

fn html_risks(out: &mut String, r: &ModelReport) {
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

fn html_results(out: &mut String, r: &ModelReport) {
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

fn html_result(out: &mut String, e: &EvidenceItem) {
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

fn html_approvals(out: &mut String, r: &ModelReport) {
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

fn html_monitoring(out: &mut String, r: &ModelReport) {
    out.push_str("<section><h2>7. Monitoring</h2>");
    match &r.monitoring.note {
        Some(note) => {
            let _ = write!(out, "<p>{}.</p>", esc(note.trim_end_matches('.')));
        }
        None => {
            out.push_str(
                "<p class=\"meta\">Daily windows of the last 7 days, newest last (all versions of the model).</p>",
            );
            let rows: Vec<Vec<String>> = r.monitoring.windows.iter().map(window_row).collect();
            html_table(out, &WINDOW_HEADERS, &rows, &[]);
        }
    }
    out.push_str("</section>");
}

// ---------------------------------------------------------------- SVG charts

/// Horizontal bars of metrics in [0, 1], each with its interval as a whisker.
fn metric_bars_svg(ms: &[(String, f64, Option<f64>, Option<f64>)]) -> String {
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
fn reliability_svg(bins: &[(f64, f64, Option<u64>)]) -> String {
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
fn risk_matrix_svg(risks: &[RiskView]) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_file_is_recognised_by_its_results_and_other_files_are_not() {
        assert!(json_report(br#"{"checks":[{"name":"edge_cases","passed":true}]}"#).is_some());
        assert!(json_report(br#"{"metrics":{"roc_auc":{"value":0.8}}}"#).is_some());
        assert!(json_report(br#"{"tp":1}"#).is_none());
        assert!(json_report(b"validation report, signed").is_none());
    }

    #[test]
    fn metrics_and_bins_are_read_whichever_shape_they_come_in() {
        let r = json!({
            "metrics": {"roc_auc": {"value": 0.81, "ci_low": 0.78, "ci_high": 0.84}, "brier": 0.12},
            "calibration": {"ece": 0.02, "bins": [{"mean_predicted": 0.1, "fraction_positive": 0.12, "n": 40},
                                                  {"predicted": 0.9, "observed": 0.85}]}
        });
        let ms = metrics(&r);
        assert_eq!(ms.len(), 2);
        assert!(ms.contains(&("roc_auc".to_string(), 0.81, Some(0.78), Some(0.84))));
        assert!(ms.contains(&("brier".to_string(), 0.12, None, None)));
        assert_eq!(calibration_bins(&r), vec![(0.1, 0.12, Some(40)), (0.9, 0.85, None)]);
        let svg = reliability_svg(&calibration_bins(&r));
        assert!(svg.starts_with("<svg") && svg.contains("<polyline") && svg.matches("<circle").count() == 2);
    }

    #[test]
    fn times_are_shown_to_the_minute() {
        assert_eq!(when("2026-12-05T19:52:24.40624Z"), "2026-12-05 19:52 UTC");
        assert_eq!(when("soon"), "soon");
    }

    #[test]
    fn svg_text_is_escaped() {
        let svg = metric_bars_svg(&[("<b>auc</b>".to_string(), 0.5, None, None)]);
        assert!(svg.contains("&lt;b&gt;auc&lt;/b&gt;") && !svg.contains("<b>"));
    }
}
