//! `riskops risk …`, `riskops taxonomy …` and the context flags of `riskops project`.

use crate::cli::{ContextArgs, Format, RiskCommand, RiskDetails, TaxonomyCommand};
use crate::client::Client;
use crate::output::{emit, show, table};
use anyhow::{Context, Result, bail};
use riskops_api::Document;
use riskops_api::projects::ContextFields;
use riskops_api::risk::{
    AssessmentView, ControlBody, NewRisk, ProposedRisk, RiskList, RiskUpdate, RiskView, TaxonomyView,
};
use serde_json::{Map, Value, json};

/// The context flags given, as the API's fields.
pub fn context_fields(args: ContextArgs) -> ContextFields {
    ContextFields {
        industry: args.industry,
        workflow: args.workflow,
        workflow_description: args.workflow_description,
        data_sensitivity: (!args.data_sensitivity.is_empty()).then_some(args.data_sensitivity),
        autonomy: args.autonomy,
        eu_ai_act: args.eu_ai_act,
        annex_iii_area: args.annex_iii_area,
        template: args.template,
    }
}

/// The details flags: impact (sent as given, so the server names a wrong axis), controls,
/// owner, status, rationale.
struct Details {
    impact: Option<Document>,
    controls: Option<Vec<ControlBody>>,
    owner: Option<String>,
    status: Option<String>,
    rationale: Option<String>,
}

fn details(d: RiskDetails) -> Result<Details> {
    let mut impact = None;
    if let Some(text) = d.impact {
        let mut obj = Map::new();
        for part in text.split(',').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').with_context(|| format!("--impact {part:?}: use name=1..5"))?;
            let n: u8 = v.trim().parse().with_context(|| format!("--impact {part:?}: {v:?} is not a number"))?;
            obj.insert(k.trim().to_string(), json!(n));
        }
        impact = Some(Document(Value::Object(obj)));
    }
    let mut controls = None;
    if !d.controls.is_empty() {
        let mut list = Vec::new();
        for c in d.controls {
            let (id, effect) =
                c.split_once(':').with_context(|| format!("--control {c:?}: use ID:EFFECT, e.g. C07:1"))?;
            let effect: u8 = effect.parse().with_context(|| format!("--control {c:?}: the effect is 0 to 4"))?;
            list.push(ControlBody { control: id.to_string(), effect });
        }
        controls = Some(list);
    }
    Ok(Details { impact, controls, owner: d.owner, status: d.status, rationale: d.rationale })
}

pub async fn risk(client: &Client, format: Format, command: RiskCommand) -> Result<()> {
    match command {
        RiskCommand::Assess { project, dry_run } => {
            let q = if dry_run { "?dry_run=true" } else { "" };
            let path = format!("/api/v1/projects/{project}/risks/assess{q}");
            let a = client.post::<_, AssessmentView>(&path, &json!({})).await?;
            show(format, &a, |a| {
                println!("taxonomy {}: {} proposed, {} added", a.taxonomy_version, a.proposed.len(), a.added.len());
                if dry_run {
                    print_risks(a.proposed.iter().map(RiskRow::proposed));
                } else {
                    print_risks(a.added.iter().map(RiskRow::entry));
                }
            });
        }
        RiskCommand::Add { project, failure_mode, category, severity, likelihood, details: d } => {
            let d = details(d)?;
            let body = NewRisk {
                failure_mode,
                category: category.unwrap_or_default(),
                severity,
                likelihood,
                impact: d.impact,
                controls: d.controls.unwrap_or_default(),
                owner: d.owner.unwrap_or_default(),
                status: d.status,
                rationale: d.rationale.unwrap_or_default(),
            };
            let e = client.post::<_, RiskView>(&format!("/api/v1/projects/{project}/risks"), &body).await?;
            show(format, &e, |e| print_risks(std::iter::once(RiskRow::entry(e))));
        }
        RiskCommand::Update { id, severity, likelihood, details: d } => {
            let d = details(d)?;
            let body = RiskUpdate {
                severity,
                likelihood,
                impact: d.impact,
                controls: d.controls,
                owner: d.owner,
                status: d.status,
                rationale: d.rationale,
            };
            if body == RiskUpdate::default() {
                bail!(
                    "nothing to change: give --severity, --likelihood, --impact, --control, --owner, --status or --rationale"
                );
            }
            let e = client.patch::<_, RiskView>(&format!("/api/v1/risks/{id}"), &body).await?;
            show(format, &e, |e| print_risks(std::iter::once(RiskRow::entry(e))));
        }
        RiskCommand::List { project } => {
            let list = client.get::<RiskList>(&format!("/api/v1/projects/{project}/risks")).await?;
            show(format, &list, |v| print_risks(v.risks.iter().map(RiskRow::entry)));
        }
        RiskCommand::Show { id } => {
            let e = client.get::<RiskView>(&format!("/api/v1/risks/{id}")).await?;
            show(format, &e, |e| {
                print_risks(std::iter::once(RiskRow::entry(e)));
                println!(
                    "\nimpact {}  controls {}  rationale: {}",
                    serde_json::to_string(&e.impact).unwrap_or_default(),
                    serde_json::to_string(&e.controls).unwrap_or_default(),
                    e.rationale
                );
            });
        }
    }
    Ok(())
}

/// A line of the risk table: a register entry, or a proposal (no id yet, band from its score).
struct RiskRow<'a> {
    id: Option<i64>,
    failure_mode: &'a str,
    category: &'a str,
    severity: u8,
    likelihood: u8,
    inherent_score: u8,
    residual_score: u8,
    band: &'a str,
    status: &'a str,
}

impl<'a> RiskRow<'a> {
    fn entry(e: &'a RiskView) -> Self {
        RiskRow {
            id: Some(e.id),
            failure_mode: &e.failure_mode,
            category: &e.category,
            severity: e.severity,
            likelihood: e.likelihood,
            inherent_score: e.inherent_score,
            residual_score: e.residual_score,
            band: &e.band,
            status: &e.status,
        }
    }

    fn proposed(p: &'a ProposedRisk) -> Self {
        RiskRow {
            id: None,
            failure_mode: &p.failure_mode,
            category: &p.category,
            severity: p.severity,
            likelihood: p.likelihood,
            inherent_score: p.inherent_score,
            residual_score: p.residual_score,
            band: riskops_core::risk::band(p.inherent_score.min(25)).as_str(),
            status: &p.status,
        }
    }
}

fn print_risks<'a>(entries: impl Iterator<Item = RiskRow<'a>>) {
    let rows: Vec<Vec<String>> = entries
        .map(|e| {
            vec![
                e.id.map_or_else(|| "-".into(), |id| id.to_string()),
                e.failure_mode.into(),
                e.category.into(),
                e.severity.to_string(),
                e.likelihood.to_string(),
                e.inherent_score.to_string(),
                e.residual_score.to_string(),
                e.band.into(),
                e.status.into(),
            ]
        })
        .collect();
    table(&["ID", "FAILURE MODE", "CATEGORY", "SEV", "LIK", "INHERENT", "RESIDUAL", "BAND", "STATUS"], &rows);
}

pub async fn taxonomy(client: &Client, format: Format, command: TaxonomyCommand) -> Result<()> {
    let shown = match command {
        TaxonomyCommand::Show => client.get::<TaxonomyView>("/api/v1/taxonomy").await?,
        TaxonomyCommand::Set { file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let doc: Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
            let doc = if doc.get("taxonomy").is_some() { doc["taxonomy"].clone() } else { doc };
            client.put("/api/v1/taxonomy", &doc).await?
        }
    };
    // The text form is the answer as sent too: the taxonomy is a document to read whole.
    emit(format, &shown.json, |v| println!("{}", serde_json::to_string_pretty(v).unwrap_or_default()));
    Ok(())
}
