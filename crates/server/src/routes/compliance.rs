//! Compliance: the control catalogue, attestations, and a project's compliance report.
//!
//! `POST /api/v1/projects/{name}/attestations` takes either a JSON body
//! (`{"control","statement"}`, no file) or multipart/form-data with a `metadata` part (the
//! same JSON) and then a `file` part, stored content-addressed like evidence. One path, told
//! apart by Content-Type, because the file is optional and multipart needs one.

use crate::error::{ApiError, ErrorBody};
use crate::extract::Caller;
use crate::state::AppState;
use crate::upload;
use axum::Json;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use riskops_api::Document;
use riskops_api::compliance::{
    AttachedFileView, AttestationList, AttestationMetadata, AttestationView, CatalogueControl, CatalogueView,
    ComplianceView, ControlView, CoverageDetail, FrameworkNotApplicable, StatusCounts,
};
use riskops_core::compliance::{
    AttachedFile, Attestation, Catalogue, ComplianceReport, ControlStatus, Framework, NewAttestation, frameworks_json,
};
use riskops_core::{Error, ErrorKind};
use serde::Deserialize;
use utoipa::IntoParams;

/// Largest JSON attestation (a statement is at most 4 KiB; a file goes as multipart).
const JSON_LIMIT: usize = 64 * 1024;

fn catalogue_view(c: Catalogue) -> CatalogueView {
    CatalogueView {
        version: c.version,
        source: c.source,
        controls: c
            .controls
            .into_iter()
            .map(|c| CatalogueControl {
                check: c.check.as_str().to_string(),
                applies: c.applies.iter().map(|a| a.as_string()).collect(),
                frameworks: Document(frameworks_json(&c.frameworks)),
                id: c.id,
                title: c.title,
                notes: c.notes,
            })
            .collect(),
    }
}

/// The control catalogue in force: 27 controls mapped to NIST AI RMF, the EU AI Act,
/// SR 11-7, HIPAA 164.312 and ISO/IEC 42001.
#[utoipa::path(
    get, path = "/api/v1/controls", tag = "compliance", security(("bearer" = [])),
    responses((status = 200, body = CatalogueView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody))
)]
pub async fn controls(State(state): State<AppState>, Caller(ctx): Caller) -> Result<Json<CatalogueView>, ApiError> {
    Ok(Json(catalogue_view(state.riskops.control_catalogue(&ctx).await?)))
}

#[derive(Deserialize, IntoParams)]
pub struct ComplianceQuery {
    /// Only the controls mapped to `nist-ai-rmf`, `eu-ai-act`, `sr-11-7`, `hipaa` or `iso-42001`.
    pub(crate) framework: Option<String>,
}

fn compliance_view(r: ComplianceReport) -> ComplianceView {
    let mut summary = StatusCounts { satisfied: 0, unsatisfied: 0, not_applicable: 0, attested: 0 };
    for c in &r.controls {
        match c.status {
            ControlStatus::Satisfied => summary.satisfied += 1,
            ControlStatus::Unsatisfied => summary.unsatisfied += 1,
            ControlStatus::NotApplicable => summary.not_applicable += 1,
            ControlStatus::Attested => summary.attested += 1,
        }
    }
    ComplianceView {
        project: r.project,
        tier: r.tier.as_str().to_string(),
        tier_source: r.tier_source.as_str().to_string(),
        framework: r.framework.map(|f| f.as_str().to_string()),
        catalogue_version: r.catalogue_version,
        generated_at: super::rfc3339(r.generated_at),
        coverage: r.coverage.iter().map(|(f, c)| (f.as_str().to_string(), c.ratio())).collect(),
        coverage_detail: r
            .coverage
            .iter()
            .map(|(f, c)| (f.as_str().to_string(), CoverageDetail { met: c.met, applicable: c.applicable }))
            .collect(),
        frameworks_not_applicable: r
            .frameworks_not_applicable
            .into_iter()
            .map(|(f, reason)| FrameworkNotApplicable { framework: f.as_str().to_string(), reason })
            .collect(),
        controls: r
            .controls
            .into_iter()
            .map(|c| ControlView {
                check: c.check.as_str().to_string(),
                status: c.status.as_str().to_string(),
                frameworks: Document(frameworks_json(&c.frameworks)),
                id: c.id,
                title: c.title,
                reason: c.reason,
            })
            .collect(),
        summary,
    }
}

/// A project's compliance status: each control of the catalogue as `satisfied`,
/// `unsatisfied`, `not_applicable` or `attested`, with the reason computed from live data,
/// and the coverage per framework (project.read).
#[utoipa::path(
    get, path = "/api/v1/projects/{name}/compliance", tag = "compliance", security(("bearer" = [])),
    params(("name" = String, Path, description = "project name"), ComplianceQuery),
    responses((status = 200, body = ComplianceView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn compliance(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(name): Path<String>,
    Query(q): Query<ComplianceQuery>,
) -> Result<Json<ComplianceView>, ApiError> {
    let framework = q.framework.as_deref().map(|f| Framework::parse("framework", f)).transpose()?;
    Ok(Json(compliance_view(state.riskops.compliance_report(&ctx, &name, framework).await?)))
}

fn attestation_view(a: Attestation) -> AttestationView {
    AttestationView {
        id: a.id,
        project: a.project,
        control: a.control,
        statement: a.statement,
        evidence: a.evidence.map(|e| AttachedFileView { digest: e.digest.as_str().to_string(), size: e.size }),
        created_by: a.created_by,
        created_at: super::rfc3339(a.created_at),
    }
}

/// Attests that a control holds for a project (admin, risk_officer, validator): JSON
/// `{"control","statement"}`, or multipart with a `metadata` part (that JSON) then a
/// `file` part kept as evidence. The newest attestation of a control counts in the report.
#[utoipa::path(
    post, path = "/api/v1/projects/{name}/attestations", tag = "compliance", security(("bearer" = [])),
    params(("name" = String, Path, description = "project name")),
    request_body(
        description = "JSON without a file, or multipart/form-data: `metadata` (this JSON), then `file`",
        content((AttestationMetadata = "application/json"), (AttestationMetadata = "multipart/form-data"))
    ),
    responses(
        (status = 201, body = AttestationView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, description = "unknown control, empty statement", body = ErrorBody),
    )
)]
pub async fn add_attestation(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(name): Path<String>,
    request: Request,
) -> Result<(StatusCode, Json<AttestationView>), ApiError> {
    let riskops = &state.riskops;
    let content_type =
        request.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_lowercase();
    let attestation = if content_type.starts_with("multipart/form-data") {
        let multipart = Multipart::from_request(request, &state)
            .await
            .map_err(|e| Error::bad_request(format!("malformed upload: {}", e.body_text())))?;
        let (meta, permit, received) =
            upload::receive(multipart, &state.tmp_dir, state.upload_limit, async |m: &AttestationMetadata| {
                riskops.check_attestation(&ctx, &name, &m.control).await
            })
            .await?;
        let new = NewAttestation {
            project: name,
            control: meta.control,
            statement: meta.statement,
            evidence: Some(AttachedFile { digest: received.digest.clone(), size: received.size }),
        };
        riskops.add_attestation(&ctx, permit, Some(&received.path), new).await?
    } else if content_type.starts_with("application/json") {
        let bytes = axum::body::to_bytes(request.into_body(), JSON_LIMIT).await.map_err(|_| {
            Error::new(
                ErrorKind::PayloadTooLarge,
                format!("a JSON attestation is at most {JSON_LIMIT} bytes; attach a document as a file (multipart)"),
            )
        })?;
        let meta: AttestationMetadata = serde_json::from_slice(&bytes).map_err(|e| {
            let kind = if e.is_data() { ErrorKind::Invalid } else { ErrorKind::BadRequest };
            Error::new(kind, format!("attestation: {e}"))
        })?;
        crate::extract::refuse_duplicate_keys("attestation", &bytes)?;
        let permit = riskops.check_attestation(&ctx, &name, &meta.control).await?;
        let new = NewAttestation { project: name, control: meta.control, statement: meta.statement, evidence: None };
        riskops.add_attestation(&ctx, permit, None, new).await?
    } else {
        return Err(Error::bad_request(
            "send `Content-Type: application/json` ({\"control\",\"statement\"}) or multipart/form-data \
             (`metadata`, then `file`)",
        )
        .into());
    };
    Ok((StatusCode::CREATED, Json(attestation_view(attestation))))
}

/// A project's attestations, oldest first (project.read).
#[utoipa::path(
    get, path = "/api/v1/projects/{name}/attestations", tag = "compliance", security(("bearer" = [])),
    params(("name" = String, Path, description = "project name")),
    responses((status = 200, body = AttestationList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn list_attestations(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(name): Path<String>,
) -> Result<Json<AttestationList>, ApiError> {
    let list = state.riskops.attestations(&ctx, &name).await?;
    Ok(Json(AttestationList { attestations: list.into_iter().map(attestation_view).collect() }))
}
