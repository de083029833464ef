//! Lineage of a dataset or model version.

use crate::Document;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Node {
    pub id: String,
    /// `dataset`, `model`, `code` or `deployment`.
    pub kind: String,
    pub name: String,
    pub version: Option<u32>,
    pub digest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Edge {
    pub from: String,
    pub to: String,
    /// `trained_on`, `validated_on`, `built_from` or `deployed_as`.
    pub relation: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

/// The graph (`?format=graph`, the default), or OpenLineage COMPLETE run events, one per
/// model version (`?format=openlineage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum LineageAnswer {
    Graph(Graph),
    OpenLineage(Vec<Document>),
}
