//! `riskops risk …`, `riskops taxonomy …` and the context flags of `riskops project`.

use super::identities::items;
use crate::cli::{ContextArgs, Format, RiskCommand, RiskDetails, TaxonomyCommand};
use crate::client::Client;
use crate::output::{emit, str_field, table};
use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};

/// The context flags given, as the API's fields.
pub fn context_json(args: ContextArgs) -> Map<String, Value> {
    let mut m = Map::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            m.insert(k.to_string(), Value::String(v));
        }
    };
    put("industry", args.industry);
    put("workflow", args.workflow);
    put("workflow_description", args.workflow_description);
    put("autonomy", args.autonomy);
    put("eu_ai_act", args.eu_ai_act);
    put("annex_iii_area", args.annex_iii_area);
    put("template", args.template);
    if !args.data_sensitivity.is_empty() {
        m.insert("data_sensitivity".into(), json!(args.data_sensitivity));
    }
    m
}

fn details_json(d: RiskDetails) -> Result<Map<String, Value>> {
    let mut m = Map::new();
    if let Some(impact) = d.impact {
        let mut obj = Map::new();
        for part in impact.split(',').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').with_context(|| format!("--impact {part:?}: use name=1..5"))?;
            let n: u8 = v.trim().parse().with_context(|| format!("--impact {part:?}: {v:?} is not a number"))?;
            obj.insert(k.trim().to_string(), json!(n));
        }
        m.insert("impact".into(), Value::Object(obj));
    }
    if !d.controls.is_empty() {
        let mut list = Vec::new();
        for c in d.controls {
            let (id, effect) =
                c.split_once(':').with_context(|| format!("--control {c:?}: use ID:EFFECT, e.g. C07:1"))?;
            let effect: u8 = effect.parse().with_context(|| format!("--control {c:?}: the effect is 0 to 4"))?;
            list.push(json!({"control": id, "effect": effect}));
        }
        m.insert("controls".into(), Value::Array(list));
    }
    for (k, v) in [("owner", d.owner), ("status", d.status), ("rationale", d.rationale)] {
        if let Some(v) = v {
            m.insert(k.into(), Value::String(v));
        }
    }
    Ok(m)
}

pub async fn risk(client: &Client, format: Format, command: RiskCommand) -> Result<()> {
    match command {
        RiskCommand::Assess { project, dry_run } => {
            let q = if dry_run { "?dry_run=true" } else { "" };
            let a = client.post(&format!("/api/v1/projects/{project}/risks/assess{q}"), &json!({})).await?;
            emit(format, &a, |a| {
                println!(
                    "taxonomy {}: {} proposed, {} added",
                    str_field(a, "taxonomy_version"),
                    items(a, "proposed").count(),
                    items(a, "added").count()
                );
                print_risks(items(a, if dry_run { "proposed" } else { "added" }));
            });
        }
        RiskCommand::Add { project, failure_mode, category, severity, likelihood, details } => {
            let mut body = details_json(details)?;
            body.insert("failure_mode".into(), json!(failure_mode));
            body.insert("severity".into(), json!(severity));
            body.insert("likelihood".into(), json!(likelihood));
            if let Some(c) = category {
                body.insert("category".into(), json!(c));
            }
            let e = client.post(&format!("/api/v1/projects/{project}/risks"), &Value::Object(body)).await?;
            emit(format, &e, |e| print_risks(std::iter::once(e)));
        }
        RiskCommand::Update { id, severity, likelihood, details } => {
            let mut body = details_json(details)?;
            if let Some(s) = severity {
                body.insert("severity".into(), json!(s));
            }
            if let Some(l) = likelihood {
                body.insert("likelihood".into(), json!(l));
            }
            if body.is_empty() {
                bail!(
                    "nothing to change: give --severity, --likelihood, --impact, --control, --owner, --status or --rationale"
                );
            }
            let e = client.patch(&format!("/api/v1/risks/{id}"), &Value::Object(body)).await?;
            emit(format, &e, |e| print_risks(std::iter::once(e)));
        }
        RiskCommand::List { project } => {
            let list = client.get(&format!("/api/v1/projects/{project}/risks")).await?;
            emit(format, &list, |v| print_risks(items(v, "risks")));
        }
        RiskCommand::Show { id } => {
            let e = client.get(&format!("/api/v1/risks/{id}")).await?;
            emit(format, &e, |e| {
                print_risks(std::iter::once(e));
                println!(
                    "\nimpact {}  controls {}  rationale: {}",
                    e["impact"],
                    e["controls"],
                    str_field(e, "rationale")
                );
            });
        }
    }
    Ok(())
}

fn print_risks<'a>(entries: impl Iterator<Item = &'a Value>) {
    let rows: Vec<Vec<String>> = entries
        .map(|e| {
            vec![
                e.get("id").map(Value::to_string).unwrap_or_else(|| "-".into()),
                str_field(e, "failure_mode").into(),
                str_field(e, "category").into(),
                e["severity"].to_string(),
                e["likelihood"].to_string(),
                e["inherent_score"].to_string(),
                e["residual_score"].to_string(),
                e.get("band").and_then(Value::as_str).unwrap_or_else(|| band_of(&e["inherent_score"])).into(),
                str_field(e, "status").into(),
            ]
        })
        .collect();
    table(&["ID", "FAILURE MODE", "CATEGORY", "SEV", "LIK", "INHERENT", "RESIDUAL", "BAND", "STATUS"], &rows);
}

fn band_of(score: &Value) -> &'static str {
    riskops_core::risk::band(score.as_u64().unwrap_or(0).min(25) as u8).as_str()
}

pub async fn taxonomy(client: &Client, format: Format, command: TaxonomyCommand) -> Result<()> {
    let shown = match command {
        TaxonomyCommand::Show => client.get("/api/v1/taxonomy").await?,
        TaxonomyCommand::Set { file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let doc: Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
            let doc = if doc.get("taxonomy").is_some() { doc["taxonomy"].clone() } else { doc };
            client.put("/api/v1/taxonomy", &doc).await?
        }
    };
    emit(format, &shown, |v| println!("{}", serde_json::to_string_pretty(v).unwrap_or_default()));
    Ok(())
}
