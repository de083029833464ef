//! `riskops project create|list|show|update`.

use crate::cli::{Format, ProjectCommand};
use crate::client::Client;
use crate::output::{show, table};
use anyhow::Result;
use riskops_api::projects::{CreateProject, ProjectList, ProjectView, UpdateProject};

pub async fn run(client: &Client, format: Format, command: ProjectCommand) -> Result<()> {
    match command {
        ProjectCommand::Create { name, description, context } => {
            let body = CreateProject { name, description, context: super::risk::context_fields(context) };
            let made = client.post::<_, ProjectView>("/api/v1/projects", &body).await?;
            show(format, &made, |p| println!("created project {}", p.name));
        }
        ProjectCommand::List => {
            let list = client.get::<ProjectList>("/api/v1/projects").await?;
            show(format, &list, |v| {
                let rows: Vec<Vec<String>> = v
                    .projects
                    .iter()
                    .map(|p| vec![p.name.clone(), p.created_at.clone(), p.created_by.clone(), p.description.clone()])
                    .collect();
                table(&["NAME", "CREATED", "BY", "DESCRIPTION"], &rows);
            });
        }
        ProjectCommand::Show { name } => {
            let project = client.get::<ProjectView>(&format!("/api/v1/projects/{name}")).await?;
            show(format, &project, |p| {
                let fields = [
                    ("name", &p.name),
                    ("description", &p.description),
                    ("tier", &p.tier),
                    ("tier_source", &p.tier_source),
                    ("created_at", &p.created_at),
                    ("created_by", &p.created_by),
                ];
                for (key, value) in fields {
                    println!("{:<13} {}", format!("{}:", key.replace('_', " ")), value);
                }
                // The context is a document core validates; its fields are shown as they are.
                if let Some(c) = p.context.as_ref().map(|c| &c.0).filter(|c| c.is_object()) {
                    for key in ["industry", "workflow", "autonomy", "eu_ai_act", "template"] {
                        println!("{:<13} {}", format!("{}:", key.replace('_', " ")), c[key].as_str().unwrap_or("-"));
                    }
                    println!("{:<13} {}", "data:", super::identities::join(&c["data_sensitivity"]));
                }
            });
        }
        ProjectCommand::Update { name, tier, clear_tier, reason, context } => {
            let mut body =
                UpdateProject { tier: None, reason: String::new(), context: super::risk::context_fields(context) };
            if tier.is_some() || clear_tier {
                body.tier = Some(tier);
                body.reason = reason.unwrap_or_default();
            }
            if body.tier.is_none() && body.context.is_empty() {
                anyhow::bail!("nothing to change: give --tier/--clear-tier with --reason, or context flags");
            }
            let project = client.patch::<_, ProjectView>(&format!("/api/v1/projects/{name}"), &body).await?;
            show(format, &project, |p| println!("{} is now {} tier", p.name, p.tier));
        }
    }
    Ok(())
}
