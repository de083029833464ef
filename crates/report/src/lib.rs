//! The model report: the document a validation committee and a regulator read, gathered
//! from the API's typed answers and written as one self-contained HTML page (inline CSS and
//! SVG charts, a print stylesheet, no scripts), Markdown, or JSON.
//!
//! Where the answers come from is a [`ReportSource`]: the CLI asks a server over HTTP
//! (`riskops report model`), the console calls the route handlers in process. Both render
//! the same report from the same answers.
//!
//! Evidence that riskops produced (`produced_by: riskops`, a JSON report with `metrics`,
//! `calibration`, `segments`, `checks`) is rendered in full; any other evidence is listed
//! with its result, author and digest, so the report degrades to what is on file.

mod html;
mod markdown;
mod rows;
mod svg;

pub use html::{STYLE, evidence_page, html};
pub use markdown::markdown;

use riskops_api::alerting::Incident;
use riskops_api::governance::{DeploymentView, EvidenceStanding, PromotionResponse, StagesView};
use riskops_api::lineage::Graph;
use riskops_api::projects::ProjectView;
use riskops_api::registry::ModelVersionView;
use riskops_api::risk::RiskView;
use riskops_api::window::WindowReport;
use serde_json::{Value, json};
use std::fmt::Display;
use std::future::Future;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Evidence files up to this size are read to look for a JSON report; larger ones are
/// listed only (a report of metrics and checks is a few kilobytes).
pub const REPORT_LIMIT: u64 = 4 << 20;

/// Monitoring windows shown: the newest daily ones of this many days before the report.
const WINDOWS_SHOWN: usize = 10;
const MONITORING_DAYS: i64 = 90;

/// The API's answers a report is made of, as the signed-in caller may read them. Each
/// method is one API call (named after its route); an error ends the report, except for
/// monitoring, whose absence the report states.
pub trait ReportSource: Sync {
    type Error: Display + Send;

    /// `GET /api/v1/models/{name}/versions/{version}` (`version`: a number or `latest`).
    fn model_version(
        &self,
        name: &str,
        version: &str,
    ) -> impl Future<Output = Result<ModelVersionView, Self::Error>> + Send;
    /// `GET /api/v1/projects/{name}`.
    fn project(&self, name: &str) -> impl Future<Output = Result<ProjectView, Self::Error>> + Send;
    /// `GET /api/v1/lineage/model/{name}/{version}` as a graph.
    fn lineage(&self, name: &str, version: u32) -> impl Future<Output = Result<Graph, Self::Error>> + Send;
    /// `GET /api/v1/projects/{project}/risks`.
    fn risks(&self, project: &str) -> impl Future<Output = Result<Vec<RiskView>, Self::Error>> + Send;
    /// `GET /api/v1/models/{name}/versions/{version}/evidence`: each piece typed, and as the
    /// JSON the server sends (fields a client does not know included).
    fn evidence(
        &self,
        name: &str,
        version: u32,
    ) -> impl Future<Output = Result<Vec<(EvidenceStanding, Value)>, Self::Error>> + Send;
    /// The evidence file when it is at most `limit` bytes (`None` when larger), checked
    /// against its digest.
    fn evidence_file(
        &self,
        name: &str,
        version: u32,
        id: i64,
        limit: u64,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, Self::Error>> + Send;
    /// `GET /api/v1/promotions?model={name}`.
    fn promotions(&self, name: &str) -> impl Future<Output = Result<Vec<PromotionResponse>, Self::Error>> + Send;
    /// `GET /api/v1/models/{name}/stages`.
    fn stages(&self, name: &str) -> impl Future<Output = Result<StagesView, Self::Error>> + Send;
    /// Daily windows from `from` (unix seconds) on:
    /// `GET /api/v1/projects/{project}/models/{name}/monitoring?granularity=day&from=…`.
    fn daily_windows(
        &self,
        project: &str,
        name: &str,
        from: Option<i64>,
    ) -> impl Future<Output = Result<Vec<WindowReport>, Self::Error>> + Send;
    /// `GET /api/v1/incidents?project={project}&model={name}`, all states.
    fn incidents(&self, project: &str, name: &str) -> impl Future<Output = Result<Vec<Incident>, Self::Error>> + Send;
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
    pub windows: Vec<WindowReport>,
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

/// The report of model `name` at `version` (a number or `latest`).
pub async fn gather<S: ReportSource>(source: &S, name: &str, version: &str) -> Result<ModelReport, S::Error> {
    let model = source.model_version(name, version).await?;
    let version = model.version;
    let project = source.project(&model.project).await?;
    let lineage = source.lineage(name, version).await?;
    let risks = source.risks(&project.name).await?;
    let evidence = gather_evidence(source, name, version).await?;
    let promotions = source.promotions(name).await?.into_iter().filter(|p| p.version == version).collect();
    let stages = source.stages(name).await?;
    let deployments: Vec<DeploymentView> = stages.history.iter().filter(|d| d.version == version).cloned().collect();
    let current = stages.versions.iter().find(|s| s.version == version).map(|s| s.stages.clone()).unwrap_or_default();
    let monitoring = gather_monitoring(source, &project.name, name, &stages.at).await;
    let incidents =
        source.incidents(&project.name, name).await?.into_iter().filter(|i| i.state != "resolved").collect();
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

/// A version's evidence, each with its file's JSON report when it has one.
pub async fn gather_evidence<S: ReportSource>(
    source: &S,
    name: &str,
    version: u32,
) -> Result<Vec<EvidenceItem>, S::Error> {
    let mut items = Vec::new();
    for (standing, json) in source.evidence(name, version).await? {
        let report = if standing.evidence.size <= REPORT_LIMIT {
            source
                .evidence_file(name, version, standing.evidence.id, REPORT_LIMIT)
                .await?
                .and_then(|bytes| json_report(&bytes))
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
/// The period ends at the server's time `now` (RFC 3339), so the report asks for what the
/// server has, whatever the reader's clock says.
async fn gather_monitoring<S: ReportSource>(source: &S, project: &str, name: &str, now: &str) -> Monitoring {
    let from = OffsetDateTime::parse(now, &Rfc3339).ok().map(|t| t.unix_timestamp() - MONITORING_DAYS * 86_400);
    match source.daily_windows(project, name, from).await {
        Ok(mut windows) => {
            let skip = windows.len().saturating_sub(WINDOWS_SHOWN);
            windows.drain(..skip);
            let note = windows
                .is_empty()
                .then(|| format!("No monitoring windows in the {MONITORING_DAYS} days before the report"));
            Monitoring { windows, note }
        }
        Err(e) => Monitoring { windows: Vec::new(), note: Some(format!("Monitoring not available: {e}")) },
    }
}

impl ModelReport {
    pub fn title(&self) -> String {
        format!("{}@{}", self.model.name, self.model.version)
    }

    /// The report as JSON: the answers it was made of, and the explanation it shows.
    pub fn to_json(&self) -> Value {
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
            "explanations": self.explanation().map(|e| json!({
                "evidence_id": e.0,
                "method": e.1.method,
                "output": e.1.output,
                "base_value": e.1.base_value,
                "background": e.1.background,
                "rows": e.1.rows.len(),
                "additivity_max_error": e.1.additivity_max_error,
                "permutation_metric": e.1.permutation_metric,
                "global": to(&e.1.global),
            })),
            "promotions": to(&self.promotions),
            "deployments": to(&self.deployments),
            "monitoring": {"windows": self.monitoring.windows, "note": self.monitoring.note},
            "open_incidents": to(&self.incidents),
        })
    }

    /// The newest explanation riskops produced for this version: its evidence id and report.
    fn explanation(&self) -> Option<(i64, riskops_api::explain::ExplanationReport)> {
        self.produced()
            .filter(|e| e.standing.evidence.kind == "explainability" && e.produced_by.as_deref() == Some(PRODUCED_BY))
            .filter_map(|e| Some((e.standing.evidence.id, serde_json::from_value(e.report.clone()?).ok()?)))
            .last()
    }

    fn produced(&self) -> impl Iterator<Item = &EvidenceItem> {
        self.evidence.iter().filter(|e| e.report.is_some())
    }
}

/// A typed answer back as JSON (the types serialise as the server sent them).
fn to<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Who produced evidence riskops computed itself (as the server names it).
const PRODUCED_BY: &str = "riskops";

#[cfg(test)]
mod tests {
    use super::rows::{calibration_bins, metrics, when};
    use super::svg::{metric_bars_svg, reliability_svg};
    use super::*;
    use riskops_core::drift_html::Stylesheet;

    /// A report of one version with the given evidence `(kind, passed, produced_by, report)`.
    fn sample(evidence: &[(&str, bool, Option<&str>, Option<Value>)]) -> ModelReport {
        let model = serde_json::from_value(json!({
            "name": "scorer", "project": "credit", "version": 2, "digest": "sha256:ab", "size": 10,
            "framework": "onnx", "training_data": "loans@1", "validation_data": null, "code_repo": null,
            "code_commit": null, "params": {}, "metrics": {}, "description": "", "tags": {}, "signature": null,
            "author": "dana", "created_at": "2026-11-03T10:00:00Z"
        }))
        .unwrap();
        let project = serde_json::from_value(json!({
            "name": "credit", "description": "", "created_at": "2026-11-01T10:00:00Z", "created_by": "admin",
            "tier": "high", "tier_source": "unassessed", "tier_override": null, "context": null
        }))
        .unwrap();
        let evidence = evidence
            .iter()
            .enumerate()
            .map(|(i, (kind, passed, produced_by, report))| {
                let json = json!({
                    "id": i + 1, "model": "scorer", "version": 2, "kind": kind, "digest": "sha256:cd", "size": 100,
                    "passed": passed, "summary": "", "created_by": "victor",
                    "created_at": "2026-11-03T11:00:00Z", "counts": true, "does_not_count": null,
                    "produced_by": produced_by
                });
                EvidenceItem {
                    standing: serde_json::from_value(json.clone()).unwrap(),
                    produced_by: produced_by.map(str::to_string),
                    report: report.clone(),
                    json,
                }
            })
            .collect();
        ModelReport {
            generated_at: "2026-11-04T09:00:00Z".into(),
            model,
            project,
            lineage: Graph { nodes: Vec::new(), edges: Vec::new() },
            risks: Vec::new(),
            evidence,
            promotions: Vec::new(),
            deployments: Vec::new(),
            stages: Vec::new(),
            monitoring: Monitoring { windows: Vec::new(), note: Some("No monitoring windows".into()) },
            incidents: Vec::new(),
        }
    }

    #[test]
    fn produced_evidence_is_rendered_with_its_results_and_named_as_riskops() {
        let stress = json!({"kind": "stress_test", "passed": false, "checks": [
            {"name": "edge_cases", "passed": false, "value": 2, "threshold": 0,
             "failures": [{"input": {"x": "<missing>"}, "output": null, "reason": "NaN probability"}]}]});
        let r = sample(&[("stress_test", false, Some("riskops"), Some(stress))]);
        let page = html::html(&r, Stylesheet::Inline, "");
        assert!(page.contains("riskops (run by victor)"), "{page}");
        assert!(page.contains("1 piece(s) of evidence were produced by riskops"));
        assert!(page.contains("failed checks in evidence 1: edge_cases"), "the committee's attention");
        assert!(page.contains("{&quot;x&quot;:&quot;&lt;missing&gt;&quot;} → NaN probability"), "escaped failures");
        let text = markdown::markdown(&r);
        assert!(text.contains("| edge_cases | failed | 2 | 0 |"), "{text}");
    }

    #[test]
    fn the_newest_produced_explanation_fills_section_five() {
        let explanation = json!({
            "evidence_id": null, "kind": "explainability", "produced_by": "riskops", "passed": true,
            "model": "scorer@2", "data": "holdout@1", "method": "tree_shap_interventional", "output": "log_odds",
            "base_value": -1.35, "background": "holdout@1", "background_rows": 100,
            "features": ["PAY_0", "LIMIT_BAL"], "permutation_metric": "roc_auc", "additivity_max_error": 1e-15,
            "global": [
                {"feature": "PAY_0", "mean_abs_shap": 0.4033, "permutation_importance": 0.06, "std": 0.006},
                {"feature": "LIMIT_BAL", "mean_abs_shap": 0.1509, "permutation_importance": 0.0144, "std": 0.0061}
            ],
            "rows": [{"row": 0, "output": -1.66, "contributions": [-0.28, 0.27]}],
            "dependence": [{"feature": "PAY_0", "bins": [
                {"label": "0", "rows": 3, "mean_value": 0.0, "mean_shap": -0.3, "min_shap": -0.4, "max_shap": -0.2},
                {"label": "2", "rows": 1, "mean_value": 2.0, "mean_shap": 1.1, "min_shap": 1.1, "max_shap": 1.1}
            ]}]
        });
        let uploaded = sample(&[("explainability", true, None, Some(json!({"note": "a slide deck"})))]);
        assert!(
            html::html(&uploaded, Stylesheet::Inline, "").contains("Not yet produced"),
            "an uploaded file is not an explanation"
        );
        let r = sample(&[("explainability", true, Some("riskops"), Some(explanation))]);
        let page = html::html(&r, Stylesheet::Inline, "");
        assert!(page.contains("aria-label=\"feature importance\"") && page.contains(">PAY_0</text>"), "{page}");
        assert!(page.contains("<td>0.0600 ± 0.0060</td>"), "{page}");
        let text = markdown::markdown(&r);
        assert!(text.contains("| PAY_0 | 0.4033 | 0.0600 ± 0.0060 |"), "{text}");
        // The top features' dependence: a chart per feature, its numbers in Markdown.
        assert!(page.contains("aria-label=\"SHAP values of PAY_0 by its value\""), "{page}");
        assert!(page.contains("<title>2: mean +1.1000 over 1 rows</title>"), "{page}");
        assert!(text.contains("- **PAY_0** (mean SHAP by value): 0 → -0.300, 2 → +1.100"), "{text}");
        let json = r.to_json();
        assert_eq!(json["explanations"]["global"][0]["feature"], "PAY_0");
        assert_eq!(json["explanations"]["evidence_id"], 1);
    }

    #[test]
    fn only_uploaded_evidence_degrades_to_the_list_and_says_so() {
        let r = sample(&[("validation", true, None, None), ("fairness", true, None, None)]);
        let page = html::html(&r, Stylesheet::Inline, "");
        assert!(page.contains("Only uploaded evidence is on file"), "{page}");
        assert!(!page.contains("aria-label=\"metric bars\"") && !page.contains("<h3>Checks</h3>"));
        assert!(page.contains("uploaded by victor") && page.contains("Nothing failed and nothing is open."));
        assert!(page.contains("This version has never been deployed.") && page.contains("No open incidents."));
        let text = markdown::markdown(&r);
        assert!(text.contains("| 2 | fairness | passed | uploaded by victor | 2026-11-03 11:00 UTC | yes |"), "{text}");
        assert!(r.to_json()["evidence"][0]["report"].is_null());
    }

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
    fn a_linked_stylesheet_leaves_no_inline_style_and_the_preface_comes_first() {
        let r = sample(&[("validation", true, None, None)]);
        let page = html::html(&r, Stylesheet::Linked("/assets/model-report.css"), "<p class=\"back\">back</p>");
        assert!(page.contains("<link rel=\"stylesheet\" href=\"/assets/model-report.css\">"), "{page}");
        assert!(!page.contains("<style") && !page.contains("style=\""), "{page}");
        assert!(page.contains("<body><p class=\"back\">back</p><header>"), "{page}");
        let standalone = html::html(&r, Stylesheet::Inline, "");
        assert!(standalone.contains("<style>") && standalone.contains("<body><header>"));
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
