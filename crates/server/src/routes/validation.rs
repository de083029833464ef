//! Evidence riskops produces: `POST …/validations` runs the model over a dataset version on
//! the server and files `validation` (and `fairness`) evidence with `produced_by: riskops`.

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::routes::governance::EvidencePath;
use crate::routes::registry_views::{VersionPath, parse_version};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use riskops_api::explain::{
    ContributionView, ExplainRecordsRequest, ExplainRequest, ExplanationReport, ReasonView, RecordExplanationView,
    RecordExplanations,
};
use riskops_api::validation::{StressReport, StressRequest, ValidationReport, ValidationRequest};
use riskops_core::Error;
use riskops_core::reasons::Adverse;
use riskops_core::registry::VersionRef;
use riskops_core::service::PRODUCED_BY;
use riskops_core::service::{ExplainMethod, ExplainOptions, ReasonsWanted, StressOptions, ValidationOptions};
use serde::Deserialize;
use utoipa::IntoParams;

/// Validates a model version on a dataset version: metrics with 95% intervals (DeLong for
/// ROC AUC, seeded bootstrap otherwise), calibration, weak segments, the version in
/// production on the same rows, fairness for protected attributes, and checks against the
/// policy's thresholds for the project's tier. The report is filed as evidence produced by
/// riskops (permission: `evidence.add`).
#[utoipa::path(
    post, path = "/api/v1/models/{name}/versions/{version}/validations", tag = "governance", security(("bearer" = [])),
    params(VersionPath),
    request_body = ValidationRequest,
    responses((status = 201, body = ValidationReport), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn validate(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(path): Path<VersionPath>,
    ApiJson(req): ApiJson<ValidationRequest>,
) -> Result<(StatusCode, Json<ValidationReport>), ApiError> {
    let r = VersionRef { name: path.name.clone(), version: parse_version(&path.version)? };
    let data = VersionRef::parse("data", &req.data)?;
    let compare_with_production = match req.compare_with.as_deref() {
        None => false,
        Some("production") => true,
        Some(other) => {
            return Err(Error::invalid("compare_with", format!("{other:?}: only `production` is known")).into());
        }
    };
    if let Some(t) = req.threshold.filter(|t| !(0.0..=1.0).contains(t) || t.is_nan()) {
        return Err(Error::invalid("threshold", format!("{t} is not a probability in [0, 1]")).into());
    }
    let options = ValidationOptions {
        label: req.label,
        protected: req.protected,
        segments: req.segments,
        threshold: req.threshold,
        compare_with_production,
        seed: req.seed.unwrap_or(0),
    };
    let filed = state.riskops.produce_validation(&ctx, &r, &data, options).await?;
    let mut reports = Vec::new();
    for (evidence, bytes) in filed {
        let mut report: ValidationReport =
            serde_json::from_slice(&bytes).map_err(|e| Error::internal(format!("reading back the report: {e}")))?;
        report.evidence_id = Some(evidence.id);
        reports.push(report);
    }
    let fairness_id = reports.iter().find(|r| r.kind == "fairness").and_then(|r| r.evidence_id);
    let mut report = reports
        .into_iter()
        .find(|r| r.kind == "validation")
        .ok_or_else(|| Error::internal("no validation report was produced"))?;
    report.fairness_evidence_id = fairness_id;
    Ok((StatusCode::CREATED, Json(report)))
}

/// Stress-tests a model version on a dataset version: edge cases, noise robustness, shift
/// degradation (with a label), unseen data (with `unseen`) and declared monotone constraints,
/// seeded, judged against the policy's `stress.*` thresholds; filed as `stress_test` evidence
/// produced by riskops (permission: `evidence.add`).
#[utoipa::path(
    post, path = "/api/v1/models/{name}/versions/{version}/stress-tests", tag = "governance", security(("bearer" = [])),
    params(VersionPath),
    request_body = StressRequest,
    responses((status = 201, body = StressReport), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn stress(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(path): Path<VersionPath>,
    ApiJson(req): ApiJson<StressRequest>,
) -> Result<(StatusCode, Json<StressReport>), ApiError> {
    let r = VersionRef { name: path.name.clone(), version: parse_version(&path.version)? };
    let data = VersionRef::parse("data", &req.data)?;
    let unseen = req.unseen.as_deref().map(|u| VersionRef::parse("unseen", u)).transpose()?;
    let monotone = req.monotone.iter().map(|m| parse_monotone(m)).collect::<Result<Vec<_>, Error>>()?;
    let options = StressOptions { label: req.label, monotone, seed: req.seed.unwrap_or(0) };
    let filed = state.riskops.produce_stress(&ctx, &r, &data, unseen.as_ref(), options).await?;
    let (evidence, bytes) = filed.into_iter().next().ok_or_else(|| Error::internal("no stress report was produced"))?;
    let mut report: StressReport =
        serde_json::from_slice(&bytes).map_err(|e| Error::internal(format!("reading back the report: {e}")))?;
    report.evidence_id = Some(evidence.id);
    Ok((StatusCode::CREATED, Json(report)))
}

/// Explains a tree-ensemble model's outputs on a sample of a dataset version's rows: exact
/// interventional TreeSHAP against a background sample (additivity checked on every row),
/// global importance (mean |SHAP|) and, with a label, scikit-learn's permutation importance;
/// filed as `explainability` evidence produced by riskops (permission: `evidence.add`).
#[utoipa::path(
    post, path = "/api/v1/models/{name}/versions/{version}/explanations", tag = "governance", security(("bearer" = [])),
    params(VersionPath),
    request_body = ExplainRequest,
    responses((status = 201, body = ExplanationReport), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn explain(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(path): Path<VersionPath>,
    ApiJson(req): ApiJson<ExplainRequest>,
) -> Result<(StatusCode, Json<ExplanationReport>), ApiError> {
    let r = VersionRef { name: path.name.clone(), version: parse_version(&path.version)? };
    let data = VersionRef::parse("data", &req.data)?;
    let background = req.background.as_deref().map(|b| VersionRef::parse("background", b)).transpose()?;
    let method = match (ExplainMethod::parse(req.method.as_deref().unwrap_or("auto"))?, req.covers.as_deref()) {
        (ExplainMethod::TreePath { .. }, None | Some("counts")) => ExplainMethod::TreePath { hessians: false },
        (ExplainMethod::TreePath { .. }, Some("hessians")) => ExplainMethod::TreePath { hessians: true },
        (ExplainMethod::TreePath { .. }, Some(other)) => {
            return Err(Error::invalid("covers", format!("{other:?}: give counts or hessians")).into());
        }
        (_, Some(_)) => return Err(Error::invalid("covers", "goes with method tree-path").into()),
        (method, None) => method,
    };
    // Sampling costs orderings × 2 × features × background model calls per row: fewer rows.
    let default_rows = if method == ExplainMethod::Permutation { 100 } else { 1000 };
    let as_usize = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    let options = ExplainOptions {
        rows: as_usize(req.rows.unwrap_or(default_rows)),
        label: req.label,
        repeats: req.repeats.unwrap_or(5),
        seed: req.seed.unwrap_or(0),
        method,
        background_rows: as_usize(req.background_rows.unwrap_or(100)),
        orderings: as_usize(u64::from(req.permutations.unwrap_or(10))),
    };
    let filed = state.riskops.produce_explanation(&ctx, &r, &data, background.as_ref(), options).await?;
    let (evidence, bytes) = filed.into_iter().next().ok_or_else(|| Error::internal("no explanation was produced"))?;
    let mut report: ExplanationReport =
        serde_json::from_slice(&bytes).map_err(|e| Error::internal(format!("reading back the report: {e}")))?;
    report.evidence_id = Some(evidence.id);
    report.rows_artifact = Some(format!(
        "/api/v1/models/{}/versions/{}/evidence/{}/attributions",
        evidence.model, evidence.version, evidence.id
    ));
    Ok((StatusCode::CREATED, Json(report)))
}

/// The rows' SHAP values of an explanation riskops produced, as a Parquet table (`row`,
/// `output`, one column per feature), derived from the filed report (its digest checked).
#[utoipa::path(
    get, path = "/api/v1/models/{name}/versions/{version}/evidence/{id}/attributions", tag = "governance",
    security(("bearer" = [])), params(EvidencePath),
    responses(
        (status = 200, description = "Parquet, its SHA-256 in `x-riskops-digest`", content_type = "application/vnd.apache.parquet"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)
    )
)]
pub async fn attributions(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(path): Path<EvidencePath>,
) -> Result<axum::response::Response, ApiError> {
    let r = VersionRef { name: path.name.clone(), version: parse_version(&path.version)? };
    let (evidence, file) = state.riskops.evidence_file(&ctx, &r, path.id).await?;
    let none = || Error::not_found(format!("evidence {} holds no attributions riskops produced", path.id));
    if evidence.kind != "explainability" || evidence.produced_by.as_deref() != Some(PRODUCED_BY) {
        return Err(none().into());
    }
    let bytes = tokio::fs::read(&file.path)
        .await
        .map_err(|e| Error::unavailable(format!("reading {}: {e}", file.path.display())))?;
    let report: ExplanationReport = serde_json::from_slice(&bytes).map_err(|_| none())?;
    let table = tokio::task::spawn_blocking(move || crate::produce::attributions_parquet(&report))
        .await
        .map_err(|e| Error::internal(format!("the conversion stopped: {e}")))??;
    let filename = format!("{}-v{}-attributions-{}.parquet", evidence.model, evidence.version, evidence.id);
    Ok(crate::routes::registry_views::bytes_response(table, "application/vnd.apache.parquet", &filename))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ProjectVersionPath {
    project: String,
    model: String,
    /// A version number, or `latest`.
    version: String,
}

/// Reasons for single decisions: for each record (one, or up to 1,000), the model's label,
/// its output, the base value and each feature's SHAP contribution (exact interventional
/// TreeSHAP against 100 rows of the version's validation or training data), largest first.
/// A read: nothing is filed.
#[utoipa::path(
    post, path = "/api/v1/projects/{project}/models/{model}/versions/{version}/explain", tag = "governance", security(("bearer" = [])),
    params(ProjectVersionPath),
    request_body = ExplainRecordsRequest,
    responses((status = 200, body = RecordExplanations), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn explain_records(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(path): Path<ProjectVersionPath>,
    ApiJson(req): ApiJson<ExplainRecordsRequest>,
) -> Result<Json<RecordExplanations>, ApiError> {
    let r = VersionRef { name: path.model.clone(), version: parse_version(&path.version)? };
    let records = match (req.record, req.records) {
        (Some(one), None) => vec![one],
        (None, Some(many)) => many,
        _ => return Err(Error::invalid("records", "give `record` (one) or `records` (several), not both").into()),
    };
    let reasons =
        ReasonsWanted { wanted: req.reasons, adverse: Adverse::parse(req.adverse.as_deref().unwrap_or("increase"))? };
    let explained = state.riskops.explain_records(&ctx, &path.project, &r, records, reasons).await?;
    let explanations = explained
        .into_iter()
        .map(|e| RecordExplanationView {
            prediction: e.prediction,
            output: e.output,
            base_value: e.base_value,
            output_space: e.output_space,
            contributions: e
                .contributions
                .into_iter()
                .map(|c| ContributionView { feature: c.feature, value: c.value, contribution: c.contribution })
                .collect(),
            reasons: e
                .reasons
                .into_iter()
                .map(|r| ReasonView {
                    rank: r.rank as u32,
                    feature: r.feature,
                    value: r.value,
                    weight: r.weight,
                    text: r.text,
                })
                .collect(),
        })
        .collect();
    Ok(Json(RecordExplanations { explanations }))
}

/// `COL:+` (increasing) or `COL:-` (decreasing).
fn parse_monotone(text: &str) -> Result<(String, bool), Error> {
    match text.rsplit_once(':') {
        Some((col, "+")) if !col.is_empty() => Ok((col.to_string(), true)),
        Some((col, "-")) if !col.is_empty() => Ok((col.to_string(), false)),
        _ => Err(Error::invalid("monotone", format!("{text:?}: give COL:+ (increasing) or COL:- (decreasing)"))),
    }
}
