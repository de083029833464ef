//! Lineage: which data and code a model version came from, and what was built from a
//! dataset version. A graph of nodes and typed edges, built from the registry's links.

use crate::registry::{DatasetVersion, ModelVersion, VersionRef};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeKind {
    Dataset,
    Model,
    Code,
    /// A model version running in an environment (governance adds these).
    Deployment,
}

impl NodeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Dataset => "dataset",
            NodeKind::Model => "model",
            NodeKind::Code => "code",
            NodeKind::Deployment => "deployment",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Relation {
    TrainedOn,
    ValidatedOn,
    BuiltFrom,
    DeployedAs,
}

impl Relation {
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::TrainedOn => "trained_on",
            Relation::ValidatedOn => "validated_on",
            Relation::BuiltFrom => "built_from",
            Relation::DeployedAs => "deployed_as",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// `dataset:NAME@V`, `model:NAME@V`, `code:REPO@COMMIT`.
    pub id: String,
    pub kind: NodeKind,
    pub name: String,
    pub version: Option<u32>,
    pub digest: Option<String>,
    /// When the version was registered (datasets and models).
    pub created_at: Option<time::OffsetDateTime>,
}

/// `from` was used to make `to`: data → model (trained_on, validated_on), code → model
/// (built_from), model → deployment (deployed_as).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub relation: Relation,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lineage {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

pub fn dataset_id(r: &VersionRef) -> String {
    format!("dataset:{r}")
}

pub fn model_id(name: &str, version: u32) -> String {
    format!("model:{name}@{version}")
}

impl Lineage {
    fn add_node(&mut self, node: Node) {
        if !self.nodes.iter().any(|n| n.id == node.id) {
            self.nodes.push(node);
        }
    }

    fn add_edge(&mut self, from: String, to: String, relation: Relation) {
        let edge = Edge { from, to, relation };
        if !self.edges.contains(&edge) {
            self.edges.push(edge);
        }
    }

    pub fn add_dataset(&mut self, d: &DatasetVersion) -> String {
        let id = dataset_id(&VersionRef::exact(&d.name, d.version));
        self.add_node(Node {
            id: id.clone(),
            kind: NodeKind::Dataset,
            name: d.name.clone(),
            version: Some(d.version),
            digest: Some(d.digest.to_string()),
            created_at: Some(d.created_at),
        });
        id
    }

    /// A dataset version riskops validated the model `model_node` on (produced evidence).
    pub fn add_validated_on(&mut self, d: &DatasetVersion, model_node: &str) {
        let from = self.add_dataset(d);
        self.add_edge(from, model_node.to_string(), Relation::ValidatedOn);
    }

    /// A model version with its upstream: data it was trained and validated on, its code.
    /// `datasets` resolves a dataset reference to its version (for the digest).
    pub fn add_model(&mut self, m: &ModelVersion, datasets: &[DatasetVersion]) -> String {
        let id = model_id(&m.name, m.version);
        self.add_node(Node {
            id: id.clone(),
            kind: NodeKind::Model,
            name: m.name.clone(),
            version: Some(m.version),
            digest: Some(m.digest.to_string()),
            created_at: Some(m.created_at),
        });
        for (link, relation) in [(&m.training_data, Relation::TrainedOn), (&m.validation_data, Relation::ValidatedOn)] {
            let Some(r) = link else { continue };
            let found = datasets.iter().find(|d| Some(d.version) == r.version && d.name == r.name);
            let from = dataset_id(r);
            self.add_node(Node {
                id: from.clone(),
                kind: NodeKind::Dataset,
                name: r.name.clone(),
                version: r.version,
                digest: found.map(|d| d.digest.to_string()),
                created_at: found.map(|d| d.created_at),
            });
            self.add_edge(from, id.clone(), relation);
        }
        if let Some(code) = &m.code {
            let from = format!("code:{}@{}", code.repo, code.commit);
            self.add_node(Node {
                id: from.clone(),
                kind: NodeKind::Code,
                name: code.repo.clone(),
                version: None,
                digest: Some(code.commit.clone()),
                created_at: None,
            });
            self.add_edge(from, id.clone(), Relation::BuiltFrom);
        }
        id
    }

    /// A stay of a model version in an environment (model → deployment, `deployed_as`):
    /// the name is the environment, `created_at` when the stay began.
    pub fn add_deployment(&mut self, d: &crate::promotion::Deployment) -> String {
        let model = model_id(&d.model, d.version);
        let id = format!("deployment:{}@{}/{}@{}", d.model, d.version, d.environment, d.since.unix_timestamp());
        self.add_node(Node {
            id: id.clone(),
            kind: NodeKind::Deployment,
            name: d.environment.as_str().to_string(),
            version: Some(d.version),
            digest: Some(d.digest.to_string()),
            created_at: Some(d.since),
        });
        self.add_edge(model, id.clone(), Relation::DeployedAs);
        id
    }
}
