//! The HTTP routes. Each module owns one resource; handlers only translate between JSON
//! and the services of `riskops-core`.

pub mod alerting;
pub mod annotations;
pub mod audit;
pub mod compliance;
pub mod datasets;
pub mod governance;
pub mod identities;
pub mod lineage;
pub mod models;
pub mod monitoring;
pub mod projects;
pub mod registry_views;
pub mod risk;
pub mod system;
pub mod validation;
pub mod window_views;

use crate::error::ApiError;
use crate::state::AppState;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes that take JSON (or nothing) and answer JSON, under the small body limit.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(base_document())
        .routes(routes!(system::healthz))
        .routes(routes!(system::readyz))
        .routes(routes!(governance::verify_integrity))
        .routes(routes!(system::whoami))
        .routes(routes!(system::openapi_json))
        .routes(routes!(system::signing_key))
        .routes(routes!(crate::metrics::prometheus))
        .routes(routes!(projects::create_project, projects::list_projects))
        .routes(routes!(projects::get_project, projects::update_project))
        .routes(routes!(datasets::list_datasets))
        .routes(routes!(datasets::dataset_version))
        .routes(routes!(datasets::dataset_file))
        .routes(routes!(models::list_models))
        .routes(routes!(models::register_endpoint))
        .routes(routes!(models::model_version))
        .routes(routes!(models::model_file))
        .routes(routes!(governance::evidence_file))
        .routes(routes!(lineage::lineage))
        .routes(routes!(annotations::dataset_tags))
        .routes(routes!(annotations::model_tags))
        .routes(routes!(annotations::dataset_note, annotations::dataset_notes))
        .routes(routes!(annotations::model_note, annotations::model_notes))
        .routes(routes!(audit::events))
        .routes(routes!(audit::verify))
        .routes(routes!(identities::create_user, identities::list_users))
        .routes(routes!(identities::grant_role))
        .routes(routes!(identities::revoke_role))
        .routes(routes!(identities::create_token, identities::list_tokens))
        .routes(routes!(identities::revoke_token))
        .routes(routes!(identities::login))
        .routes(routes!(governance::get_policy, governance::put_policy))
        .routes(routes!(governance::promote))
        .routes(routes!(governance::list_promotions))
        .routes(routes!(governance::get_promotion))
        .routes(routes!(governance::approve))
        .routes(routes!(governance::reject))
        .routes(routes!(governance::rollback))
        .routes(routes!(governance::stages))
        .routes(routes!(governance::get_kpi, governance::put_kpi))
        .routes(routes!(risk::get_taxonomy, risk::put_taxonomy))
        .routes(routes!(risk::list_risks, risk::add_risk))
        .routes(routes!(risk::assess))
        .routes(routes!(risk::get_risk, risk::update_risk))
        .routes(routes!(monitoring::monitoring))
        .routes(routes!(monitoring::get_config, monitoring::put_config))
        .routes(routes!(monitoring::segments))
        .routes(routes!(monitoring::segment_file))
        .routes(routes!(alerting::list_monitors, alerting::add_monitor))
        .routes(routes!(alerting::remove_monitor))
        .routes(routes!(alerting::list_incidents))
        .routes(routes!(alerting::get_incident))
        .routes(routes!(alerting::acknowledge_incident))
        .routes(routes!(alerting::resolve_incident))
        .routes(routes!(alerting::list_webhooks, alerting::add_webhook))
        .routes(routes!(alerting::remove_webhook))
        .routes(routes!(alerting::list_deliveries))
        .routes(routes!(alerting::monitoring_status))
        .routes(routes!(audit::checkpoints))
        .routes(routes!(compliance::controls))
        .routes(routes!(compliance::compliance))
}

/// Routes that receive files, under the upload limit.
pub fn uploads() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(datasets::push_dataset, datasets::dataset_versions))
        .routes(routes!(models::register_model, models::model_versions))
        .routes(routes!(governance::add_evidence, governance::list_evidence))
        .routes(routes!(validation::validate))
        .routes(routes!(validation::stress))
        .routes(routes!(validation::explain))
        .routes(routes!(validation::explain_records))
        .routes(routes!(validation::attributions))
        .routes(routes!(compliance::add_attestation, compliance::list_attestations))
}

/// Prediction and label batches, under the batch limit (as sent and once decompressed).
pub fn batches() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(monitoring::predictions)).routes(routes!(monitoring::labels))
}

fn base_document() -> utoipa::openapi::OpenApi {
    let mut doc = utoipa::openapi::OpenApiBuilder::new()
        .info(
            utoipa::openapi::InfoBuilder::new()
                .title("riskops")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Risk management for machine-learning models. Every /api/v1 route except \
                     /api/v1/openapi.json and /api/v1/signing-key needs `Authorization: Bearer <token>`. Errors are \
                     `{\"error\":{\"code\":…,\"message\":…}}`.",
                ))
                .build(),
        )
        .build();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    doc
}

/// A project-scoped path's `{project}` and `{model}`, checked by core's one rule
/// (`Riskops::model_in_project`): a 404 unless the model is that project's and readable.
pub(crate) async fn check_model_in_project(
    state: &AppState,
    ctx: &riskops_core::service::RequestContext,
    project: &str,
    model: &str,
) -> Result<(), ApiError> {
    state.riskops.model_in_project(ctx, project, model).await?;
    Ok(())
}

/// A time on the wire: RFC 3339 in UTC, as `time::serde::rfc3339` writes it.
pub(crate) fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}
