//! `riskops monitor add|list|remove|status`, `riskops incident …` and `riskops webhook …`.

use super::identities::items;
use crate::cli::{Format, IncidentCommand, MonitorAlertCommand, WebhookCommand};
use crate::client::Client;
use crate::output::{emit, show, str_field, table, table_or};
use anyhow::Result;
use riskops_api::alerting::{
    DeliveryList, Incident, IncidentList, Monitor, MonitorList, MonitoringStatus, Webhook, WebhookList,
};
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
            let added = client.post::<_, Monitor>(&monitors_path(&project, &model), &body).await?;
            show(format, &added, |m| println!("added monitor {} to {model}: {} ({})", m.id, m.description, m.severity));
        }
        MonitorAlertCommand::List { project, model } => {
            let view = client.get::<MonitorList>(&monitors_path(&project, &model)).await?;
            show(format, &view, print_monitors);
        }
        MonitorAlertCommand::Remove { project, model, id } => {
            client.delete::<()>(&format!("{}/{}", monitors_path(&project, &model), encode(&id))).await?;
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
            let path = format!("/api/v1/projects/{}/monitoring/status", encode(&project));
            let status = client.get::<MonitoringStatus>(&path).await?;
            show(format, &status, print_status);
        }
    }
    Ok(())
}

fn print_monitors(view: &MonitorList) {
    println!("{} (project {}, tier {})", view.model, view.project, view.tier);
    let rows: Vec<Vec<String>> = view
        .monitors
        .iter()
        .map(|m| vec![m.id.clone(), m.severity.clone(), m.origin.clone().unwrap_or_default(), m.description.clone()])
        .collect();
    table_or("no monitors in force", &["ID", "SEVERITY", "ORIGIN", "CONDITION"], &rows);
    if !view.disabled_defaults.is_empty() {
        println!("switched off: {}", view.disabled_defaults.join(", "));
    }
}

fn print_status(status: &MonitoringStatus) {
    if status.models.is_empty() {
        println!("project {} has no models", status.project);
        return;
    }
    for (i, m) in status.models.iter().enumerate() {
        if i > 0 {
            println!();
        }
        let stages: Vec<String> = m.stages.iter().map(|(env, v)| format!("{env} v{v}")).collect();
        let stages = if stages.is_empty() { "not deployed".to_string() } else { stages.join(", ") };
        println!("{}  (tier {}; {stages})", m.model, m.tier);
        match &m.last_window {
            None => println!("  last window  none in the last 30 days"),
            Some(w) => {
                let f1 = w.performance.as_ref().and_then(|p| p.get("f1"));
                println!(
                    "  last window  {} v{}: {} records ({} labelled), drift {:.0}%{}{}",
                    w.start,
                    w.version,
                    w.records,
                    w.labelled,
                    w.drift_share * 100.0,
                    if w.drifted_features.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", w.drifted_features.join(", "))
                    },
                    f1.map(|x| format!(", f1 {x:.3}")).unwrap_or_default(),
                );
            }
        }
        if m.open_incidents.is_empty() {
            println!("  incidents    none open");
        }
        for (j, inc) in m.open_incidents.iter().enumerate() {
            println!(
                "  {}#{} {} {}: {} (since {})",
                if j == 0 { "incidents    " } else { "             " },
                inc.id,
                inc.severity,
                inc.state,
                inc.title,
                inc.since,
            );
        }
        for a in &m.advice {
            println!("  advice       {}", str_field(&a.0, "reason"));
        }
    }
}

pub async fn incident(client: &Client, format: Format, command: IncidentCommand) -> Result<()> {
    match command {
        IncidentCommand::List { project, model, state, kind } => {
            let q = query(&[("project", project), ("model", model), ("state", state), ("kind", kind)]);
            let list = client.get::<IncidentList>(&format!("/api/v1/incidents{q}")).await?;
            show(format, &list, print_incidents);
        }
        IncidentCommand::Show { id } => {
            let incident = client.get::<Incident>(&format!("/api/v1/incidents/{id}")).await?;
            show(format, &incident, print_incident);
        }
        IncidentCommand::Ack { id, note } => {
            let body = json!({"note": note});
            let incident = client.post::<_, Incident>(&format!("/api/v1/incidents/{id}/acknowledge"), &body).await?;
            show(format, &incident, |i| println!("incident {id} acknowledged by {}", or_dash(&i.acknowledged_by)));
        }
        IncidentCommand::Resolve { id, note } => {
            let body = json!({"note": note});
            let incident = client.post::<_, Incident>(&format!("/api/v1/incidents/{id}/resolve"), &body).await?;
            show(format, &incident, |i| {
                let risks: Vec<String> = i.raised_risks.iter().map(i64::to_string).collect();
                let lowered =
                    if risks.is_empty() { String::new() } else { format!("; risks lowered: {}", risks.join(", ")) };
                println!("incident {id} resolved by {}{lowered}", or_dash(&i.resolved_by));
            });
        }
    }
    Ok(())
}

/// An optional text, or "-".
fn or_dash(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".to_string())
}

fn print_incidents(list: &IncidentList) {
    let rows: Vec<Vec<String>> = list
        .incidents
        .iter()
        .map(|i| {
            vec![
                i.id.to_string(),
                i.state.clone(),
                i.severity.clone(),
                // Access incidents (kind security) concern no model and no window.
                if i.model.is_empty() { "-".to_string() } else { format!("{}@{}", i.model, i.version) },
                if i.windows == 0 { i.opened_at.clone() } else { i.first_window.clone() },
                i.title.clone(),
            ]
        })
        .collect();
    table_or("no incidents", &["ID", "STATE", "SEVERITY", "MODEL", "SINCE", "TITLE"], &rows);
}

fn print_incident(i: &Incident) {
    println!("incident {} [{}, {}]: {}", i.id, i.severity, i.state, i.title);
    println!("project {}, model {}@{}, monitor {}", i.project, i.model, i.version, i.monitor_id);
    println!("{} window(s) from {} to {}; opened {}", i.windows, i.first_window, i.last_window, i.opened_at);
    if i.acknowledged_by.is_some() {
        println!("acknowledged by {} at {}", or_dash(&i.acknowledged_by), or_dash(&i.acknowledged_at));
    }
    if i.resolved_by.is_some() {
        println!("resolved by {} at {}", or_dash(&i.resolved_by), or_dash(&i.resolved_at));
    }
    if !i.note.is_empty() {
        println!("note: {}", i.note);
    }
    // The evidence and the advice are documents: what the monitor saw, as recorded.
    let values: Vec<Vec<String>> = items(&i.evidence.0, "values")
        .map(|v| {
            let at = if v["at"].is_null() { String::new() } else { text(&v["at"]) };
            vec![str_field(v, "window").to_string(), text(&v["value"]), at]
        })
        .collect();
    if !values.is_empty() {
        table(&["WINDOW", "VALUE", "WHERE"], &values);
    }
    if let Some(reason) = i.advice.as_ref().and_then(|a| a.0["reason"].as_str()) {
        println!("advice: {reason}");
    }
    let risks: Vec<String> = i.raised_risks.iter().map(i64::to_string).collect();
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
            let path = format!("/api/v1/projects/{}/webhooks", encode(&project));
            let added = client.post::<_, Webhook>(&path, &body).await?;
            show(format, &added, |w| {
                println!("added webhook {} to {project}: {} ({}); the secret is not shown again", w.id, w.url, w.format)
            });
        }
        WebhookCommand::List { project } => {
            let list = client.get::<WebhookList>(&format!("/api/v1/projects/{}/webhooks", encode(&project))).await?;
            show(format, &list, |l| {
                let rows: Vec<Vec<String>> = l
                    .webhooks
                    .iter()
                    .map(|w| {
                        vec![
                            w.id.to_string(),
                            w.format.clone(),
                            w.created_by.clone(),
                            w.created_at.clone(),
                            w.url.clone(),
                        ]
                    })
                    .collect();
                table_or("no webhooks", &["ID", "FORMAT", "CREATED BY", "CREATED", "URL"], &rows);
            });
        }
        WebhookCommand::Remove { project, id } => {
            client.delete::<()>(&format!("/api/v1/projects/{}/webhooks/{id}", encode(&project))).await?;
            emit(format, &json!({"project": project, "removed": id}), |_| println!("removed webhook {id}"));
        }
        WebhookCommand::Deliveries { project, webhook, limit } => {
            let q = query(&[("webhook", webhook.map(|w| w.to_string())), ("limit", Some(limit.to_string()))]);
            let path = format!("/api/v1/projects/{}/webhooks/deliveries{q}", encode(&project));
            let list = client.get::<DeliveryList>(&path).await?;
            show(format, &list, |l| {
                let rows: Vec<Vec<String>> = l
                    .deliveries
                    .iter()
                    .map(|d| {
                        let last = match (&d.last_status, &d.last_error) {
                            (None, None) => "-".to_string(),
                            (Some(status), None) => status.to_string(),
                            (_, Some(error)) => error.clone(),
                        };
                        vec![
                            d.id.to_string(),
                            d.webhook_id.to_string(),
                            d.incident_id.to_string(),
                            d.event.clone(),
                            d.state.clone(),
                            d.attempts.to_string(),
                            d.created_at.clone(),
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
