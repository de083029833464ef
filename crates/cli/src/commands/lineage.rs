//! `riskops lineage NAME@V`: as text, JSON, Graphviz dot, or OpenLineage events.

use super::dataset::split_version;
use crate::cli::{Format, LineageArgs};
use crate::client::Client;
use crate::output::str_field;
use anyhow::Result;
use serde_json::Value;

pub async fn run(client: &Client, format: Format, args: LineageArgs) -> Result<()> {
    let (name, v) = split_version(&args.version);
    let kind = match args.kind {
        Some(k) => k,
        // A name can be both a dataset and a model: a model is the usual question.
        None => match client.get(&format!("/api/v1/models/{name}/versions/{v}")).await {
            Ok(_) => "model".to_string(),
            Err(_) => "dataset".to_string(),
        },
    };
    let graph_format = if format == Format::Openlineage { "openlineage" } else { "graph" };
    let doc = client.get(&format!("/api/v1/lineage/{kind}/{name}/{v}?format={graph_format}")).await?;
    match format {
        Format::Json | Format::Openlineage => println!("{}", serde_json::to_string_pretty(&doc)?),
        Format::Dot => print!("{}", dot(&doc)),
        Format::Text | Format::Html | Format::Markdown | Format::Slack => print!("{}", text(&doc)),
    }
    Ok(())
}

fn nodes(doc: &Value) -> impl Iterator<Item = &Value> {
    doc["nodes"].as_array().into_iter().flatten()
}

fn edges(doc: &Value) -> impl Iterator<Item = &Value> {
    doc["edges"].as_array().into_iter().flatten()
}

fn label(doc: &Value, id: &str) -> String {
    nodes(doc)
        .find(|n| n["id"] == id)
        .map(|n| match n["version"].as_u64() {
            Some(v) => format!("{} {}@{v}", str_field(n, "kind"), str_field(n, "name")),
            None => format!("{} {} @ {}", str_field(n, "kind"), str_field(n, "name"), str_field(n, "digest")),
        })
        .unwrap_or_else(|| id.to_string())
}

fn text(doc: &Value) -> String {
    let mut out = String::new();
    for e in edges(doc) {
        out.push_str(&format!(
            "{}  --{}-->  {}\n",
            label(doc, str_field(e, "from")),
            str_field(e, "relation"),
            label(doc, str_field(e, "to"))
        ));
    }
    if out.is_empty() {
        for n in nodes(doc) {
            out.push_str(&format!("{} (no recorded links)\n", label(doc, str_field(n, "id"))));
        }
    }
    out
}

fn dot(doc: &Value) -> String {
    let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let mut out = String::from("digraph lineage {\n  rankdir=LR;\n");
    for n in nodes(doc) {
        let shape = match str_field(n, "kind") {
            "dataset" => "cylinder",
            "model" => "box",
            "code" => "note",
            _ => "ellipse",
        };
        let id = str_field(n, "id");
        out.push_str(&format!("  {} [label={}, shape={shape}];\n", quote(id), quote(&label(doc, id))));
    }
    for e in edges(doc) {
        out.push_str(&format!(
            "  {} -> {} [label={}];\n",
            quote(str_field(e, "from")),
            quote(str_field(e, "to")),
            quote(str_field(e, "relation"))
        ));
    }
    out.push_str("}\n");
    out
}
