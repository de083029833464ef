//! A version's lineage as a picture: what it came from on the left (data, code), the version
//! in the middle, what came of it on the right (deployments, evidence, models built on it),
//! each edge named by its relation. Inline SVG, no script.

use super::html::esc;
use riskops_api::lineage::Graph;
use std::fmt::Write as _;

const NODE_W: f64 = 210.0;
const NODE_H: f64 = 30.0;
const GAP: f64 = 12.0;
const WIDTH: f64 = 760.0;

pub(super) fn render(graph: &Graph, center: &str) -> String {
    let upstream: Vec<&str> = graph.edges.iter().filter(|e| e.to == center).map(|e| e.from.as_str()).collect();
    let downstream: Vec<&str> = graph.edges.iter().filter(|e| e.from == center).map(|e| e.to.as_str()).collect();
    let rows = upstream.len().max(downstream.len()).max(1);
    let height = rows as f64 * (NODE_H + GAP) + GAP;
    let y_of = |i: usize, n: usize| {
        let block = n as f64 * (NODE_H + GAP) - GAP;
        (height - block) / 2.0 + i as f64 * (NODE_H + GAP)
    };
    let label = |id: &str| -> String {
        graph.nodes.iter().find(|n| n.id == id).map_or_else(
            || id.to_string(),
            |n| match n.version {
                Some(v) => format!("{} {}@{v}", n.kind, n.name),
                None => format!("{} {}", n.kind, n.name),
            },
        )
    };
    let mut out = format!(
        "<figure class=\"chart lineage\">\n<svg viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"Lineage of {}\">\n",
        esc(&label(center))
    );
    let (left_x, mid_x, right_x) = (GAP, (WIDTH - NODE_W) / 2.0, WIDTH - NODE_W - GAP);
    let mid_y = (height - NODE_H) / 2.0;
    let node = |out: &mut String, x: f64, y: f64, text: &str, strong: bool| {
        let (fill, stroke) = if strong { ("#e8effa", "#1f5fbf") } else { ("#ffffff", "#9aa3af") };
        let _ = writeln!(
            out,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{NODE_W}\" height=\"{NODE_H}\" rx=\"5\" fill=\"{fill}\" stroke=\"{stroke}\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#1d2430\">{}</text>",
            x + NODE_W / 2.0,
            y + NODE_H / 2.0 + 4.0,
            esc(&shorten(text, 32))
        );
    };
    let relation = |from: &str, to: &str| {
        graph.edges.iter().find(|e| e.from == from && e.to == to).map(|e| e.relation.clone()).unwrap_or_default()
    };
    for (i, id) in upstream.iter().enumerate() {
        let y = y_of(i, upstream.len());
        edge(&mut out, left_x + NODE_W, y + NODE_H / 2.0, mid_x, mid_y + NODE_H / 2.0, &relation(id, center));
        node(&mut out, left_x, y, &label(id), false);
    }
    for (i, id) in downstream.iter().enumerate() {
        let y = y_of(i, downstream.len());
        edge(&mut out, mid_x + NODE_W, mid_y + NODE_H / 2.0, right_x, y + NODE_H / 2.0, &relation(center, id));
        node(&mut out, right_x, y, &label(id), false);
    }
    node(&mut out, mid_x, mid_y, &label(center), true);
    out.push_str("</svg>\n</figure>\n");
    out
}

fn edge(out: &mut String, x1: f64, y1: f64, x2: f64, y2: f64, relation: &str) {
    let _ = writeln!(
        out,
        "<line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" stroke=\"#9aa3af\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" text-anchor=\"middle\" fill=\"#5b6472\">{}</text>",
        (x1 + x2) / 2.0,
        (y1 + y2) / 2.0 - 3.0,
        esc(relation)
    );
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(max - 1).collect::<String>())
    }
}
