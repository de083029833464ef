//! `riskops lineage NAME@V`: as text, JSON, Graphviz dot, or OpenLineage events.

use super::dataset::split_version;
use crate::cli::{Format, LineageArgs};
use crate::client::Client;
use anyhow::{Result, bail};
use riskops_api::lineage::{Graph, LineageAnswer};
use riskops_api::registry::ModelVersionView;

pub async fn run(client: &Client, format: Format, args: LineageArgs) -> Result<()> {
    let (name, v) = split_version(&args.version);
    let kind = match args.kind {
        Some(k) => k,
        // A name can be both a dataset and a model: a model is the usual question.
        None => match client.get::<ModelVersionView>(&format!("/api/v1/models/{name}/versions/{v}")).await {
            Ok(_) => "model".to_string(),
            Err(_) => "dataset".to_string(),
        },
    };
    let graph_format = if format == Format::Openlineage { "openlineage" } else { "graph" };
    let doc = client.get::<LineageAnswer>(&format!("/api/v1/lineage/{kind}/{name}/{v}?format={graph_format}")).await?;
    match (format, &doc.body) {
        (Format::Json | Format::Openlineage, _) => println!("{}", serde_json::to_string_pretty(&doc.json)?),
        (Format::Dot, LineageAnswer::Graph(graph)) => print!("{}", dot(graph)),
        (Format::Text | Format::Html | Format::Markdown | Format::Slack, LineageAnswer::Graph(graph)) => {
            print!("{}", text(graph))
        }
        (_, LineageAnswer::OpenLineage(_)) => {
            bail!("the server answered OpenLineage events where a graph was asked for")
        }
    }
    Ok(())
}

fn label(graph: &Graph, id: &str) -> String {
    graph
        .nodes
        .iter()
        .find(|n| n.id == id)
        .map(|n| match n.version {
            Some(v) => format!("{} {}@{v}", n.kind, n.name),
            None => format!("{} {} @ {}", n.kind, n.name, n.digest.as_deref().unwrap_or("")),
        })
        .unwrap_or_else(|| id.to_string())
}

fn text(graph: &Graph) -> String {
    let mut out = String::new();
    for e in &graph.edges {
        out.push_str(&format!("{}  --{}-->  {}\n", label(graph, &e.from), e.relation, label(graph, &e.to)));
    }
    if out.is_empty() {
        for n in &graph.nodes {
            out.push_str(&format!("{} (no recorded links)\n", label(graph, &n.id)));
        }
    }
    out
}

fn dot(graph: &Graph) -> String {
    let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let mut out = String::from("digraph lineage {\n  rankdir=LR;\n");
    for n in &graph.nodes {
        let shape = match n.kind.as_str() {
            "dataset" => "cylinder",
            "model" => "box",
            "code" => "note",
            _ => "ellipse",
        };
        out.push_str(&format!("  {} [label={}, shape={shape}];\n", quote(&n.id), quote(&label(graph, &n.id))));
    }
    for e in &graph.edges {
        out.push_str(&format!("  {} -> {} [label={}];\n", quote(&e.from), quote(&e.to), quote(&e.relation)));
    }
    out.push_str("}\n");
    out
}
