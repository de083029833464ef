//! `riskops project create|list|show|update`.

use crate::cli::{Format, ProjectCommand};
use crate::client::Client;
use crate::output::{emit, str_field, table};
use anyhow::Result;
use serde_json::{Value, json};

pub async fn run(client: &Client, format: Format, command: ProjectCommand) -> Result<()> {
    match command {
        ProjectCommand::Create { name, description, context } => {
            let mut body = super::risk::context_json(context);
            body.insert("name".into(), json!(name));
            body.insert("description".into(), json!(description));
            let made = client.post("/api/v1/projects", &Value::Object(body)).await?;
            emit(format, &made, |p| println!("created project {}", str_field(p, "name")));
        }
        ProjectCommand::List => {
            let list = client.get("/api/v1/projects").await?;
            emit(format, &list, |v| {
                let rows: Vec<Vec<String>> = v
                    .get("projects")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|p| {
                        ["name", "created_at", "created_by", "description"]
                            .iter()
                            .map(|k| str_field(p, k).to_string())
                            .collect()
                    })
                    .collect();
                table(&["NAME", "CREATED", "BY", "DESCRIPTION"], &rows);
            });
        }
        ProjectCommand::Show { name } => {
            let project = client.get(&format!("/api/v1/projects/{name}")).await?;
            emit(format, &project, |p| {
                for key in ["name", "description", "tier", "tier_source", "created_at", "created_by"] {
                    println!("{:<13} {}", format!("{}:", key.replace('_', " ")), str_field(p, key));
                }
                if let Some(c) = p.get("context").filter(|c| c.is_object()) {
                    for key in ["industry", "workflow", "autonomy", "eu_ai_act", "template"] {
                        println!("{:<13} {}", format!("{}:", key.replace('_', " ")), c[key].as_str().unwrap_or("-"));
                    }
                    println!("{:<13} {}", "data:", super::identities::join(&c["data_sensitivity"]));
                }
            });
        }
        ProjectCommand::Update { name, tier, clear_tier, reason, context } => {
            let mut body = super::risk::context_json(context);
            if tier.is_some() || clear_tier {
                body.insert("tier".into(), json!(tier));
                body.insert("reason".into(), json!(reason.unwrap_or_default()));
            }
            if body.is_empty() {
                anyhow::bail!("nothing to change: give --tier/--clear-tier with --reason, or context flags");
            }
            let project = client.patch(&format!("/api/v1/projects/{name}"), &Value::Object(body)).await?;
            emit(format, &project, |p| println!("{} is now {} tier", str_field(p, "name"), str_field(p, "tier")));
        }
    }
    Ok(())
}
