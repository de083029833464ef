//! `riskops project create|list|show|update`.

use crate::cli::{Format, ProjectCommand};
use crate::client::Client;
use crate::output::{emit, str_field, table};
use anyhow::Result;
use serde_json::{Value, json};

pub async fn run(client: &Client, format: Format, command: ProjectCommand) -> Result<()> {
    match command {
        ProjectCommand::Create { name, description } => {
            let made = client.post("/api/v1/projects", &json!({"name": name, "description": description})).await?;
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
                for key in ["name", "description", "tier", "created_at", "created_by"] {
                    println!("{:<12} {}", format!("{}:", key.replace('_', " ")), str_field(p, key));
                }
            });
        }
        ProjectCommand::Update { name, tier, clear_tier: _, reason } => {
            let project =
                client.patch(&format!("/api/v1/projects/{name}"), &json!({"tier": tier, "reason": reason})).await?;
            emit(format, &project, |p| println!("{} is now {} tier", str_field(p, "name"), str_field(p, "tier")));
        }
    }
    Ok(())
}
