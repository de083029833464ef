//! `riskops report model NAME@V`: the model report (riskops-report), gathered from a server
//! over HTTP and printed as HTML, Markdown (the text form) or JSON.

use super::dataset::split_version;
use crate::cli::{Format, ReportCommand};
use crate::client::Client;
use anyhow::Result;
use riskops_api::alerting::{Incident, IncidentList};
use riskops_api::governance::{EvidenceList, EvidenceStanding, PromotionList, PromotionResponse, StagesView};
use riskops_api::lineage::{Graph, LineageAnswer};
use riskops_api::monitoring::MonitoringView;
use riskops_api::projects::ProjectView;
use riskops_api::registry::ModelVersionView;
use riskops_api::risk::{RiskList, RiskView};
use riskops_api::window::WindowReport;
use riskops_core::drift_html::Stylesheet;
use riskops_report::ReportSource;
use serde_json::Value;

pub async fn run(client: &Client, format: Format, command: ReportCommand) -> Result<()> {
    let ReportCommand::Model { version } = command;
    let (name, v) = split_version(&version);
    let report = riskops_report::gather(client, &name, &v).await?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report.to_json())?),
        Format::Html => print!("{}", riskops_report::html(&report, Stylesheet::Inline, "")),
        // Text is the Markdown: it reads well in a terminal too.
        _ => print!("{}", riskops_report::markdown(&report)),
    }
    Ok(())
}

/// One page for one piece of evidence riskops just produced (`validate`/`stress --format
/// html`): the report section of the model report, on its own, self-contained.
pub async fn evidence_page(client: &Client, name: &str, version: u32, evidence_id: i64) -> Result<String> {
    let items = riskops_report::gather_evidence(client, name, version).await?;
    let item = items
        .iter()
        .find(|e| e.standing.evidence.id == evidence_id)
        .ok_or_else(|| anyhow::anyhow!("evidence {evidence_id} of {name}@{version} is not listed"))?;
    Ok(riskops_report::evidence_page(&format!("{name}@{version}"), item))
}

/// The report's answers over HTTP, as the CLI's caller may read them.
impl ReportSource for Client {
    type Error = anyhow::Error;

    async fn model_version(&self, name: &str, version: &str) -> Result<ModelVersionView> {
        Ok(self.get(&format!("/api/v1/models/{name}/versions/{version}")).await?.body)
    }

    async fn project(&self, name: &str) -> Result<ProjectView> {
        Ok(self.get(&format!("/api/v1/projects/{name}")).await?.body)
    }

    async fn lineage(&self, name: &str, version: u32) -> Result<Graph> {
        Ok(match self.get(&format!("/api/v1/lineage/model/{name}/{version}")).await?.body {
            LineageAnswer::Graph(graph) => graph,
            LineageAnswer::OpenLineage(_) => Graph { nodes: Vec::new(), edges: Vec::new() },
        })
    }

    async fn risks(&self, project: &str) -> Result<Vec<RiskView>> {
        Ok(self.get::<RiskList>(&format!("/api/v1/projects/{project}/risks")).await?.body.risks)
    }

    async fn evidence(&self, name: &str, version: u32) -> Result<Vec<(EvidenceStanding, Value)>> {
        let list = self.get::<EvidenceList>(&format!("/api/v1/models/{name}/versions/{version}/evidence")).await?;
        Ok(list.body.evidence.into_iter().enumerate().map(|(i, e)| (e, list.json["evidence"][i].clone())).collect())
    }

    async fn evidence_file(&self, name: &str, version: u32, id: i64, limit: u64) -> Result<Option<Vec<u8>>> {
        self.get_small_file(&format!("/api/v1/models/{name}/versions/{version}/evidence/{id}/file"), limit).await
    }

    async fn promotions(&self, name: &str) -> Result<Vec<PromotionResponse>> {
        Ok(self.get::<PromotionList>(&format!("/api/v1/promotions?model={name}")).await?.body.promotions)
    }

    async fn stages(&self, name: &str) -> Result<StagesView> {
        Ok(self.get(&format!("/api/v1/models/{name}/stages")).await?.body)
    }

    async fn daily_windows(&self, project: &str, name: &str, from: Option<i64>) -> Result<Vec<WindowReport>> {
        let from = from.map_or_else(String::new, |from| format!("&from={from}"));
        let path = format!("/api/v1/projects/{project}/models/{name}/monitoring?granularity=day{from}");
        Ok(self.get::<MonitoringView>(&path).await?.body.windows)
    }

    async fn incidents(&self, project: &str, name: &str) -> Result<Vec<Incident>> {
        let path = format!("/api/v1/incidents?project={project}&model={name}");
        Ok(self.get::<IncidentList>(&path).await?.body.incidents)
    }
}
