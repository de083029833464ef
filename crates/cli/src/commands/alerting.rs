//! `riskops monitor add|list|remove|status`, `riskops incident …` and `riskops webhook …`.

use super::identities::items;
use crate::cli::{Format, IncidentCommand, MonitorAlertCommand, WebhookCommand};
use crate::client::Client;
use crate::output::{emit, str_field, table, table_or};
use anyhow::Result;
use serde_json::{Value, json};

/// A path segment or query value with everything but unreserved characters
/// percent-encoded (monitor ids such as `default:drift_share`).
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `?k=v&…` of the pairs with a value, or "".
fn query(pairs: &[(&str, Option<String>)]) -> String {
    let parts: Vec<String> =
        pairs.iter().filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", encode(v)))).collect();
    if parts.is_empty() { String::new() } else { format!("?{}", parts.join("&")) }
}

/// A JSON value as short text: strings without quotes, null as "-".
fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn monitors_path(project: &str, model: &str) -> String {
    format!("/api/v1/projects/{}/models/{}/monitors", encode(project), encode(model))
}

pub async fn monitor(client: &Client, format: Format, command: MonitorAlertCommand) -> Result<()> {
    match command {
        MonitorAlertCommand::Add { project, model, metric, above, below, relative, persistence, severity } => {
            let mut body = json!({"metric": metric, "relative": relative});
            if let Some(x) = above {
                body["above"] = json!(x);
            }
            if let Some(x) = below {
                body["below"] = json!(x);
            }
            if let Some(n) = persistence {
                body["for"] = json!(n);
            }
            if let Some(s) = severity {
                body["severity"] = json!(s);
            }
            let added = client.post(&monitors_path(&project, &model), &body).await?;
            emit(format, &added, |m| {
                println!(
                    "added monitor {} to {model}: {} ({})",
                    str_field(m, "id"),
                    str_field(m, "description"),
                    str_field(m, "severity")
                )
            });
        }
        MonitorAlertCommand::List { project, model } => {
            let view = client.get(&monitors_path(&project, &model)).await?;
            emit(format, &view, print_monitors);
        }
        MonitorAlertCommand::Remove { project, model, id } => {
            client.delete(&format!("{}/{}", monitors_path(&project, &model), encode(&id))).await?;
            let done = json!({"model": model, "removed": id});
            emit(format, &done, |_| {
                if id.starts_with("default:") {
                    println!("switched the tier default {id} off for {model}");
                } else {
                    println!("removed monitor {id} from {model}");
                }
            });
        }
        MonitorAlertCommand::Status { project } => {
            let status = client.get(&format!("/api/v1/projects/{}/monitoring/status", encode(&project))).await?;
            emit(format, &status, print_status);
        }
    }
    Ok(())
}

fn print_monitors(view: &Value) {
    println!("{} (project {}, tier {})", str_field(view, "model"), str_field(view, "project"), str_field(view, "tier"));
    let rows: Vec<Vec<String>> = items(view, "monitors")
        .map(|m| {
            vec![
                str_field(m, "id").to_string(),
                str_field(m, "severity").to_string(),
                str_field(m, "origin").to_string(),
                str_field(m, "description").to_string(),
            ]
        })
        .collect();
    table_or("no monitors in force", &["ID", "SEVERITY", "ORIGIN", "CONDITION"], &rows);
    let off: Vec<&str> = items(view, "disabled_defaults").filter_map(Value::as_str).collect();
    if !off.is_empty() {
        println!("switched off: {}", off.join(", "));
    }
}

fn print_status(status: &Value) {
    let models: Vec<&Value> = items(status, "models").collect();
    if models.is_empty() {
        println!("project {} has no models", str_field(status, "project"));
        return;
    }
    for (i, m) in models.into_iter().enumerate() {
        if i > 0 {
            println!();
        }
        let stages: Vec<String> = m["stages"]
            .as_object()
            .map(|o| o.iter().map(|(env, v)| format!("{env} v{}", text(v))).collect())
            .unwrap_or_default();
        let stages = if stages.is_empty() { "not deployed".to_string() } else { stages.join(", ") };
        println!("{}  (tier {}; {stages})", str_field(m, "model"), str_field(m, "tier"));
        let w = &m["last_window"];
        if w.is_null() {
            println!("  last window  none in the last 30 days");
        } else {
            let drifted: Vec<&str> = items(w, "drifted_features").filter_map(Value::as_str).collect();
            let share = w["drift_share"].as_f64().map_or("-".to_string(), |s| format!("{:.0}%", s * 100.0));
            let f1 = w["performance"]["f1"].as_f64().map(|x| format!(", f1 {x:.3}")).unwrap_or_default();
            println!(
                "  last window  {} v{}: {} records ({} labelled), drift {share}{}{f1}",
                str_field(w, "start"),
                text(&w["version"]),
                text(&w["records"]),
                text(&w["labelled"]),
                if drifted.is_empty() { String::new() } else { format!(" ({})", drifted.join(", ")) },
            );
        }
        let incidents: Vec<&Value> = items(m, "open_incidents").collect();
        if incidents.is_empty() {
            println!("  incidents    none open");
        }
        for (j, inc) in incidents.into_iter().enumerate() {
            println!(
                "  {}#{} {} {}: {} (since {})",
                if j == 0 { "incidents    " } else { "             " },
                text(&inc["id"]),
                str_field(inc, "severity"),
                str_field(inc, "state"),
                str_field(inc, "title"),
                str_field(inc, "since"),
            );
        }
        for a in items(m, "advice") {
            println!("  advice       {}", str_field(a, "reason"));
        }
    }
}

pub async fn incident(client: &Client, format: Format, command: IncidentCommand) -> Result<()> {
    match command {
        IncidentCommand::List { project, model, state } => {
            let q = query(&[("project", project), ("model", model), ("state", state)]);
            let list = client.get(&format!("/api/v1/incidents{q}")).await?;
            emit(format, &list, print_incidents);
        }
        IncidentCommand::Show { id } => {
            let incident = client.get(&format!("/api/v1/incidents/{id}")).await?;
            emit(format, &incident, print_incident);
        }
        IncidentCommand::Ack { id, note } => {
            let body = json!({"note": note});
            let incident = client.post(&format!("/api/v1/incidents/{id}/acknowledge"), &body).await?;
            emit(format, &incident, |i| println!("incident {id} acknowledged by {}", text(&i["acknowledged_by"])));
        }
        IncidentCommand::Resolve { id, note } => {
            let body = json!({"note": note});
            let incident = client.post(&format!("/api/v1/incidents/{id}/resolve"), &body).await?;
            emit(format, &incident, |i| {
                let risks: Vec<String> = items(i, "raised_risks").map(text).collect();
                let lowered =
                    if risks.is_empty() { String::new() } else { format!("; risks lowered: {}", risks.join(", ")) };
                println!("incident {id} resolved by {}{lowered}", text(&i["resolved_by"]));
            });
        }
    }
    Ok(())
}

fn print_incidents(list: &Value) {
    let rows: Vec<Vec<String>> = items(list, "incidents")
        .map(|i| {
            vec![
                text(&i["id"]),
                str_field(i, "state").to_string(),
                str_field(i, "severity").to_string(),
                format!("{}@{}", str_field(i, "model"), text(&i["version"])),
                str_field(i, "first_window").to_string(),
                str_field(i, "title").to_string(),
            ]
        })
        .collect();
    table_or("no incidents", &["ID", "STATE", "SEVERITY", "MODEL", "SINCE", "TITLE"], &rows);
}

fn print_incident(i: &Value) {
    println!(
        "incident {} [{}, {}]: {}",
        text(&i["id"]),
        str_field(i, "severity"),
        str_field(i, "state"),
        str_field(i, "title")
    );
    println!(
        "project {}, model {}@{}, monitor {}",
        str_field(i, "project"),
        str_field(i, "model"),
        text(&i["version"]),
        str_field(i, "monitor_id")
    );
    println!(
        "{} window(s) from {} to {}; opened {}",
        text(&i["windows"]),
        str_field(i, "first_window"),
        str_field(i, "last_window"),
        str_field(i, "opened_at")
    );
    if !i["acknowledged_by"].is_null() {
        println!("acknowledged by {} at {}", text(&i["acknowledged_by"]), text(&i["acknowledged_at"]));
    }
    if !i["resolved_by"].is_null() {
        println!("resolved by {} at {}", text(&i["resolved_by"]), text(&i["resolved_at"]));
    }
    if !str_field(i, "note").is_empty() {
        println!("note: {}", str_field(i, "note"));
    }
    let values: Vec<Vec<String>> = items(&i["evidence"], "values")
        .map(|v| {
            let at = if v["at"].is_null() { String::new() } else { text(&v["at"]) };
            vec![str_field(v, "window").to_string(), text(&v["value"]), at]
        })
        .collect();
    if !values.is_empty() {
        table(&["WINDOW", "VALUE", "WHERE"], &values);
    }
    if let Some(reason) = i["advice"]["reason"].as_str() {
        println!("advice: {reason}");
    }
    let risks: Vec<String> = items(i, "raised_risks").map(text).collect();
    if !risks.is_empty() {
        println!("raised risks: {}", risks.join(", "));
    }
}

pub async fn webhook(client: &Client, format: Format, command: WebhookCommand) -> Result<()> {
    match command {
        WebhookCommand::Add { project, url, secret, payload } => {
            // `--format slack|json` names the payload too, as `riskops webhook add … --format slack`.
            let payload = match (payload.as_deref(), format) {
                (Some(p), Format::Slack) if p != "slack" => {
                    anyhow::bail!("--payload {p} and --format slack disagree; give one of them")
                }
                (Some(p), _) => p.to_string(),
                (None, Format::Slack) => "slack".to_string(),
                (None, _) => "json".to_string(),
            };
            let body = json!({"url": url, "secret": secret.expose(), "format": payload});
            let added = client.post(&format!("/api/v1/projects/{}/webhooks", encode(&project)), &body).await?;
            emit(format, &added, |w| {
                println!(
                    "added webhook {} to {project}: {} ({}); the secret is not shown again",
                    text(&w["id"]),
                    str_field(w, "url"),
                    str_field(w, "format")
                )
            });
        }
        WebhookCommand::List { project } => {
            let list = client.get(&format!("/api/v1/projects/{}/webhooks", encode(&project))).await?;
            emit(format, &list, |l| {
                let rows: Vec<Vec<String>> = items(l, "webhooks")
                    .map(|w| {
                        vec![
                            text(&w["id"]),
                            str_field(w, "format").to_string(),
                            str_field(w, "created_by").to_string(),
                            str_field(w, "created_at").to_string(),
                            str_field(w, "url").to_string(),
                        ]
                    })
                    .collect();
                table_or("no webhooks", &["ID", "FORMAT", "CREATED BY", "CREATED", "URL"], &rows);
            });
        }
        WebhookCommand::Remove { project, id } => {
            client.delete(&format!("/api/v1/projects/{}/webhooks/{id}", encode(&project))).await?;
            emit(format, &json!({"project": project, "removed": id}), |_| println!("removed webhook {id}"));
        }
        WebhookCommand::Deliveries { project, webhook, limit } => {
            let q = query(&[("webhook", webhook.map(|w| w.to_string())), ("limit", Some(limit.to_string()))]);
            let list = client.get(&format!("/api/v1/projects/{}/webhooks/deliveries{q}", encode(&project))).await?;
            emit(format, &list, |l| {
                let rows: Vec<Vec<String>> = items(l, "deliveries")
                    .map(|d| {
                        let last = match (&d["last_status"], &d["last_error"]) {
                            (Value::Null, Value::Null) => "-".to_string(),
                            (status, Value::Null) => text(status),
                            (_, error) => text(error),
                        };
                        vec![
                            text(&d["id"]),
                            text(&d["webhook_id"]),
                            text(&d["incident_id"]),
                            str_field(d, "event").to_string(),
                            str_field(d, "state").to_string(),
                            text(&d["attempts"]),
                            str_field(d, "created_at").to_string(),
                            last,
                        ]
                    })
                    .collect();
                table_or(
                    "no deliveries",
                    &["ID", "WEBHOOK", "INCIDENT", "EVENT", "STATE", "ATTEMPTS", "CREATED", "LAST"],
                    &rows,
                );
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_values_are_percent_encoded() {
        assert_eq!(encode("default:drift_share"), "default%3Adrift_share");
        assert_eq!(encode("m1"), "m1");
        assert_eq!(query(&[("project", Some("a b".into())), ("model", None)]), "?project=a%20b");
        assert_eq!(query(&[("model", None)]), "");
    }

    #[test]
    fn the_grammar_is_consistent_and_parses_negative_thresholds() {
        use clap::Parser;
        // Catches an option clashing with a global one (`--format`) before a user does, in
        // the grammar as `main` builds it (each command's own `--format`).
        crate::cli::command().debug_assert();
        let cli = crate::cli::Cli::try_parse_from([
            "riskops",
            "monitor",
            "add",
            "--project",
            "p",
            "--model",
            "m",
            "--metric",
            "performance.f1",
            "--relative",
            "--below",
            "-0.05",
            "--for",
            "3",
        ])
        .unwrap();
        let crate::cli::Command::Monitor(crate::cli::MonitorGroup::Alerts(MonitorAlertCommand::Add {
            below,
            relative,
            persistence,
            ..
        })) = cli.command
        else {
            panic!("not monitor add");
        };
        assert_eq!((below, relative, persistence), (Some(-0.05), true, Some(3)));
        let both = crate::cli::Cli::try_parse_from([
            "riskops",
            "monitor",
            "add",
            "--project",
            "p",
            "--model",
            "m",
            "--metric",
            "volume",
            "--above",
            "1",
            "--below",
            "2",
        ]);
        assert!(both.is_err(), "--above and --below exclude each other");
    }
}
