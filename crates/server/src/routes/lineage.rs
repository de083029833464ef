//! Lineage of a dataset or model version, as a graph or as OpenLineage run events.

use crate::error::{ApiError, ErrorBody};
use crate::extract::Caller;
use crate::routes::registry_views::parse_version;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use riskops_api::Document;
use riskops_api::lineage::{Edge, Graph, LineageAnswer, Node};
use riskops_core::Error;
use riskops_core::lineage::{Lineage, NodeKind};
use riskops_core::registry::VersionRef;
use serde::Deserialize;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
pub struct LineagePath {
    /// `dataset` or `model`.
    pub(crate) kind: String,
    pub(crate) name: String,
    /// A version number, or `latest`.
    pub(crate) version: String,
}

#[derive(Deserialize, IntoParams)]
pub struct LineageQuery {
    /// `graph` (default) or `openlineage` (one COMPLETE run event per model version).
    pub(crate) format: Option<String>,
}

/// Upstream and downstream of a version: for a model, the data it was trained and
/// validated on, its code and where it was deployed; for a dataset, the models built from it.
#[utoipa::path(
    get, path = "/api/v1/lineage/{kind}/{name}/{version}", tag = "lineage", security(("bearer" = [])),
    params(LineagePath, LineageQuery),
    responses((status = 200, body = LineageAnswer), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn lineage(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(path): Path<LineagePath>,
    Query(query): Query<LineageQuery>,
) -> Result<Json<LineageAnswer>, ApiError> {
    let r = VersionRef { name: path.name.clone(), version: parse_version(&path.version)? };
    let graph = match path.kind.as_str() {
        "dataset" => state.riskops.dataset_lineage(&ctx, &r).await?,
        "model" => state.riskops.model_lineage(&ctx, &r).await?,
        other => return Err(Error::invalid("kind", format!("must be dataset or model, not {other:?}")).into()),
    };
    match query.format.as_deref().unwrap_or("graph") {
        "graph" => Ok(Json(LineageAnswer::Graph(view(&graph)))),
        "openlineage" => Ok(Json(LineageAnswer::OpenLineage(openlineage(&graph).into_iter().map(Document).collect()))),
        other => Err(Error::invalid("format", format!("must be graph or openlineage, not {other:?}")).into()),
    }
}

fn view(graph: &Lineage) -> Graph {
    Graph {
        nodes: graph
            .nodes
            .iter()
            .map(|n| Node {
                id: n.id.clone(),
                kind: n.kind.as_str().to_string(),
                name: n.name.clone(),
                version: n.version,
                digest: n.digest.clone(),
            })
            .collect(),
        edges: graph
            .edges
            .iter()
            .map(|e| Edge { from: e.from.clone(), to: e.to.clone(), relation: e.relation.as_str().to_string() })
            .collect(),
    }
}

/// The OpenLineage namespace riskops's datasets and jobs live in.
const NAMESPACE: &str = "riskops";
const PRODUCER: &str = "https://github.com/riskops/riskops";
const SCHEMA_URL: &str = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";

/// One COMPLETE run event per model version in the graph: the registration is the run,
/// its training and validation data the inputs, the model version the output.
fn openlineage(graph: &Lineage) -> Vec<Value> {
    graph
        .nodes
        .iter()
        .filter(|n| n.kind == NodeKind::Model)
        .map(|model| {
            let inputs: Vec<Value> = graph
                .edges
                .iter()
                .filter(|e| e.to == model.id)
                .filter_map(|e| graph.nodes.iter().find(|n| n.id == e.from))
                .filter(|n| n.kind == NodeKind::Dataset)
                .map(dataset_json)
                .collect();
            let time = model.created_at.and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_default();
            json!({
                "eventType": "COMPLETE",
                "eventTime": time,
                "producer": PRODUCER,
                "schemaURL": SCHEMA_URL,
                "run": {"runId": run_id(model.digest.as_deref().unwrap_or(&model.id))},
                "job": {"namespace": NAMESPACE, "name": format!("register/{}", model.name)},
                "inputs": inputs,
                "outputs": [dataset_json(model)],
            })
        })
        .collect()
}

fn dataset_json(node: &riskops_core::lineage::Node) -> Value {
    let name = match node.version {
        Some(v) => format!("{}/{}@{v}", node.kind.as_str(), node.name),
        None => format!("{}/{}", node.kind.as_str(), node.name),
    };
    let mut facets = serde_json::Map::new();
    if let Some(digest) = &node.digest {
        facets.insert(
            "version".into(),
            json!({"_producer": PRODUCER, "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet", "datasetVersion": digest}),
        );
    }
    json!({"namespace": NAMESPACE, "name": name, "facets": facets})
}

/// A stable UUID (version 4 layout) from a digest, so the same registration always has the
/// same run id.
fn run_id(seed: &str) -> String {
    let hex: String = seed.trim_start_matches("sha256:").chars().filter(char::is_ascii_hexdigit).collect();
    let mut digits: Vec<char> = format!("{hex:0<32}").chars().take(32).collect();
    digits[12] = '4';
    digits[16] = match digits[16].to_digit(16).unwrap_or(0) & 0x3 {
        0 => '8',
        1 => '9',
        2 => 'a',
        _ => 'b',
    };
    let s: String = digits.into_iter().collect();
    format!("{}-{}-{}-{}-{}", &s[0..8], &s[8..12], &s[12..16], &s[16..20], &s[20..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_uuids() {
        let id = run_id("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
        assert_eq!(id, "01234567-89ab-4def-8123-456789abcdef");
        assert_eq!(id.len(), 36);
    }
}
