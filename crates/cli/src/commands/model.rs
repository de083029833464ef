//! `riskops model register|list|show|pull|diff`.

use super::dataset::{annotate_note, annotate_tags, parse_tags, split_version};
use super::identities::items;
use crate::cli::{Format, ModelCommand, RegisterArgs};
use crate::client::Client;
use crate::output::{emit, str_field, table};
use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::collections::BTreeSet;

pub async fn run(client: &Client, format: Format, command: ModelCommand) -> Result<()> {
    match command {
        ModelCommand::Register(args) => register(client, format, *args).await?,
        ModelCommand::List { project } => {
            let query = project.map(|p| format!("?project={p}")).unwrap_or_default();
            let mut list = client.get(&format!("/api/v1/models{query}")).await?;
            if let Some(models) = list["items"].as_array_mut() {
                for m in models {
                    let stages = stages(client, str_field(m, "name")).await?;
                    m["environments"] = environments(&stages);
                }
            }
            emit(format, &list, print_models);
        }
        ModelCommand::Show { version } => {
            let (name, v) = split_version(&version);
            let mut shown = client.get(&format!("/api/v1/models/{name}/versions/{v}")).await?;
            shown["notes"] =
                client.get(&format!("/api/v1/models/{name}/versions/{}/notes", shown["version"])).await?["notes"]
                    .take();
            let stages = stages(client, &name).await?;
            shown["stages"] = items(&stages, "versions")
                .find(|s| s["version"] == shown["version"])
                .map_or(json!([]), |s| s["stages"].clone());
            shown["environments"] = environments(&stages);
            emit(format, &shown, print_model);
        }
        ModelCommand::Pull { version, output } => {
            let (name, v) = split_version(&version);
            let digest = client.download(&format!("/api/v1/models/{name}/versions/{v}/file"), &output).await?;
            let result = json!({"name": name, "version": v, "digest": digest, "output": output.display().to_string()});
            emit(format, &result, |_| println!("wrote {} ({digest})", output.display()));
        }
        ModelCommand::Diff { from, to } => diff(client, format, &from, &to).await?,
        ModelCommand::Tag { version, tags } => annotate_tags(client, format, "models", &version, &tags).await?,
        ModelCommand::Note { version, text } => annotate_note(client, format, "models", &version, &text).await?,
        ModelCommand::Promote { .. } => bail!("internal: model promote is dispatched separately"),
        ModelCommand::Rollback { name, version, reason, environment } => {
            super::governance::rollback(client, format, &name, version, &environment, &reason).await?
        }
        ModelCommand::Kpi { name, currency, tp, fp, fn_, tn, description } => {
            let given = [tp, fp, fn_, tn];
            let kpi = if given.iter().any(Option::is_some) || currency.is_some() || description.is_some() {
                // Only the values given change; the rest stay as stored.
                let current = client.get(&format!("/api/v1/models/{name}/kpi")).await?["values"].take();
                let mut body = if current.is_object() { current } else { json!({"currency": "USD"}) };
                for (key, value) in [("tp", tp), ("fp", fp), ("fn", fn_), ("tn", tn)] {
                    if let Some(v) = value {
                        body[key] = json!(v);
                    }
                }
                if let Some(c) = currency {
                    body["currency"] = json!(c);
                }
                if let Some(d) = description {
                    body["description"] = json!(d);
                }
                client.put(&format!("/api/v1/models/{name}/kpi"), &body).await?
            } else {
                client.get(&format!("/api/v1/models/{name}/kpi")).await?
            };
            emit(format, &kpi, print_kpi);
        }
        ModelCommand::Stage { name, at } => super::governance::stage(client, format, &name, at.as_deref()).await?,
        ModelCommand::Verify { .. } => bail!("internal: model verify is dispatched separately"),
    }
    Ok(())
}

async fn stages(client: &Client, model: &str) -> Result<Value> {
    client.get(&format!("/api/v1/models/{model}/stages")).await
}

/// `{"staging": 2, "production": 1}` (null where no version is) from a stages answer.
fn environments(stages: &Value) -> Value {
    let envs = stages["environments"].as_object().cloned().unwrap_or_default();
    Value::Object(envs.into_iter().map(|(env, d)| (env, d["version"].clone())).collect())
}

/// `version 3` or `-` for one environment of `environments`.
fn in_env(environments: &Value, env: &str) -> String {
    environments[env].as_u64().map_or("-".to_string(), |v| v.to_string())
}

fn print_models(v: &Value) {
    let rows: Vec<Vec<String>> = items(v, "items")
        .map(|m| {
            vec![
                str_field(m, "name").to_string(),
                str_field(m, "project").to_string(),
                m["latest_version"].to_string(),
                m["versions"].to_string(),
                in_env(&m["environments"], "staging"),
                in_env(&m["environments"], "production"),
                str_field(m, "updated_at").to_string(),
            ]
        })
        .collect();
    table(&["NAME", "PROJECT", "LATEST", "VERSIONS", "STAGING", "PRODUCTION", "UPDATED"], &rows);
}

fn read_json(path: &Option<std::path::PathBuf>, what: &str) -> Result<Value> {
    let Some(path) = path else { return Ok(json!({})) };
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read --{what} {}", path.display()))?;
    let value: Value =
        serde_json::from_str(&text).with_context(|| format!("--{what} {} is not JSON", path.display()))?;
    if !value.is_object() {
        bail!("--{what} {} must hold a JSON object", path.display());
    }
    Ok(value)
}

async fn register(client: &Client, format: Format, args: RegisterArgs) -> Result<()> {
    if !args.artifact.is_file() {
        bail!("--artifact {} is not a readable file", args.artifact.display());
    }
    let metadata = json!({
        "project": args.project,
        "framework": args.framework,
        "training_data": args.training_data,
        "validation_data": args.validation_data,
        "code_repo": args.code_repo,
        "code_commit": args.code_commit,
        "params": read_json(&args.params, "params")?,
        "metrics": read_json(&args.metrics, "metrics")?,
        "description": args.description,
        "tags": parse_tags(&args.tags)?,
    });
    let v = client.upload(&format!("/api/v1/models/{}/versions", args.name), &metadata, &args.artifact).await?;
    emit(format, &v, |v| {
        println!("{}@{} ({}): {}", str_field(v, "name"), v["version"], str_field(v, "project"), str_field(v, "digest"));
    });
    Ok(())
}

fn print_kpi(k: &Value) {
    let values = &k["values"];
    if values.is_null() {
        println!("{}: no values per outcome yet (set them with --tp/--fp/--fn/--tn)", str_field(k, "model"));
    } else {
        println!(
            "{}: per outcome in {}: TP {}  FP {}  FN {}  TN {}",
            str_field(k, "model"),
            str_field(values, "currency"),
            values["tp"],
            values["fp"],
            values["fn"],
            values["tn"]
        );
    }
    let rows: Vec<Vec<String>> = k["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| {
            let m = &v["confusion_matrix"];
            let metric = |k: &str| v[k].as_f64().map_or("-".into(), |x| format!("{x:.3}"));
            vec![
                v["version"].to_string(),
                format!("{}/{}/{}/{}", m["tp"], m["fp"], m["fn"], m["tn"]),
                metric("precision"),
                metric("recall"),
                metric("f1"),
                v["expected_value_per_1000"].as_f64().map_or("-".into(), |x| format!("{x:.2}")),
            ]
        })
        .collect();
    if !rows.is_empty() {
        table(&["VERSION", "TP/FP/FN/TN", "PRECISION", "RECALL", "F1", "VALUE PER 1000 DECISIONS"], &rows);
    }
}

fn print_model(v: &Value) {
    println!(
        "{}@{}  project {}  {}",
        str_field(v, "name"),
        v["version"],
        str_field(v, "project"),
        str_field(v, "framework")
    );
    println!("artifact {} ({} bytes)", str_field(v, "digest"), v["size"]);
    println!("registered {} by {}", str_field(v, "created_at"), str_field(v, "author"));
    println!("stage           {}", super::identities::join(&v["stages"]));
    println!(
        "environments    staging: {}, production: {}",
        in_env(&v["environments"], "staging"),
        in_env(&v["environments"], "production")
    );
    let or_none = |k: &str| if str_field(v, k).is_empty() { "–".to_string() } else { str_field(v, k).to_string() };
    println!("training data   {}", or_none("training_data"));
    println!("validation data {}", or_none("validation_data"));
    if !str_field(v, "code_repo").is_empty() {
        println!("code            {} @ {}", str_field(v, "code_repo"), str_field(v, "code_commit"));
    }
    super::dataset::print_tags_and_notes(v);
    for (title, key) in [("params", "params"), ("metrics", "metrics")] {
        if let Some(map) = v[key].as_object().filter(|m| !m.is_empty()) {
            println!("{title}:");
            for (k, x) in map {
                println!("  {k} = {x}");
            }
        }
    }
    print_signature(&v["signature"]);
}

/// Inputs (name, type, shape; `?` where the model leaves a dimension open) and outputs.
fn print_signature(sig: &Value) {
    let Some(inputs) = sig["inputs"].as_array() else { return };
    println!("signature ({}):", sig["task"].as_str().unwrap_or("-"));
    for input in inputs {
        let dims: Vec<String> = input["shape"]
            .as_array()
            .map(|d| d.iter().map(|x| x.as_i64().map_or("?".into(), |n| n.to_string())).collect())
            .unwrap_or_default();
        println!("  input  {} {} [{}]", str_field(input, "name"), str_field(input, "type"), dims.join(", "));
    }
    println!("  output {} (label)", str_field(&sig["outputs"], "label"));
    match sig["columns"].as_str() {
        Some("features_in_order") => println!(
            "  columns: the feature columns in file order (--label and id-like columns left out), or --features a,b,c"
        ),
        _ => println!("  columns: one per input, by name (--input-map FILE where names differ)"),
    }
    if let Some(classes) = sig["outputs"]["probabilities"]["classes"].as_array() {
        let names: Vec<String> = classes.iter().map(|c| c.as_str().unwrap_or_default().to_string()).collect();
        println!(
            "  output {} (probabilities: {})",
            str_field(&sig["outputs"]["probabilities"], "name"),
            names.join(", ")
        );
    }
}

/// What changed between two versions: parameters, metrics (with the difference), data and code.
async fn diff(client: &Client, format: Format, from: &str, to: &str) -> Result<()> {
    let fetch = |text: &str| {
        let (name, v) = split_version(text);
        async move { client.get(&format!("/api/v1/models/{name}/versions/{v}")).await }
    };
    let (a, b) = (fetch(from).await?, fetch(to).await?);
    let changes = |key: &str| -> Vec<Value> {
        let (ma, mb) =
            (a[key].as_object().cloned().unwrap_or_default(), b[key].as_object().cloned().unwrap_or_default());
        let keys: BTreeSet<&String> = ma.keys().chain(mb.keys()).collect();
        keys.into_iter()
            .filter(|k| ma.get(*k) != mb.get(*k))
            .map(|k| {
                let (x, y) = (ma.get(k).cloned().unwrap_or(Value::Null), mb.get(k).cloned().unwrap_or(Value::Null));
                let delta = match (x.as_f64(), y.as_f64()) {
                    (Some(x), Some(y)) => json!(y - x),
                    _ => Value::Null,
                };
                json!({"name": k, "from": x, "to": y, "change": delta})
            })
            .collect()
    };
    let field = |k: &str| json!({"from": a[k], "to": b[k], "changed": a[k] != b[k]});
    let result = json!({
        "from": format!("{}@{}", str_field(&a, "name"), a["version"]),
        "to": format!("{}@{}", str_field(&b, "name"), b["version"]),
        "params": changes("params"),
        "metrics": changes("metrics"),
        "training_data": field("training_data"),
        "validation_data": field("validation_data"),
        "code_commit": field("code_commit"),
        "framework": field("framework"),
        "digest": field("digest"),
    });
    emit(format, &result, |r| {
        println!("{} → {}", str_field(r, "from"), str_field(r, "to"));
        for k in ["training_data", "validation_data", "code_commit", "framework", "digest"] {
            if r[k]["changed"] == true {
                println!("{k}: {} → {}", r[k]["from"], r[k]["to"]);
            }
        }
        for section in ["params", "metrics"] {
            let rows: Vec<Vec<String>> = r[section]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| {
                    let change = c["change"].as_f64().map(|d| format!("{d:+.4}")).unwrap_or_default();
                    vec![str_field(c, "name").to_string(), c["from"].to_string(), c["to"].to_string(), change]
                })
                .collect();
            if !rows.is_empty() {
                println!();
                table(&[&section.to_uppercase(), "FROM", "TO", "CHANGE"], &rows);
            }
        }
    });
    Ok(())
}
