//! `riskops model register|list|show|pull|diff`.

use super::dataset::{annotate_note, annotate_tags, parse_tags, split_version};
use crate::cli::{Format, ModelCommand, RegisterArgs};
use crate::client::Client;
use crate::output::{emit, show, str_field, table};
use anyhow::{Context, Result, bail};
use riskops_api::Document;
use riskops_api::annotations::{NoteList, NoteView};
use riskops_api::governance::{KpiView, StagesView};
use riskops_api::registry::{EntryList, EntryView, ModelVersionView, RegisterEndpoint, RegisterMetadata};
use serde_json::{Value, json};
use std::collections::BTreeSet;

pub async fn run(client: &Client, format: Format, command: ModelCommand) -> Result<()> {
    match command {
        ModelCommand::Register(args) => register(client, format, *args).await?,
        ModelCommand::List { project } => {
            let query = project.map(|p| format!("?project={p}")).unwrap_or_default();
            let mut list = client.get::<EntryList>(&format!("/api/v1/models{query}")).await?;
            let mut deployed = Vec::new();
            for m in &list.body.items {
                deployed.push(Deployed::of(&stages(client, &m.name).await?));
            }
            // `--format json` shows each model with its environments, as one document.
            for (m, d) in list.json["items"].as_array_mut().into_iter().flatten().zip(&deployed) {
                m["environments"] = d.json();
            }
            show(format, &list, |l| print_models(&l.items, &deployed));
        }
        ModelCommand::Show { version } => {
            let (name, v) = split_version(&version);
            let mut shown = client.get::<ModelVersionView>(&format!("/api/v1/models/{name}/versions/{v}")).await?;
            let path = format!("/api/v1/models/{name}/versions/{}/notes", shown.version);
            let mut notes = client.get::<NoteList>(&path).await?;
            let stages = stages(client, &name).await?;
            let stage: Vec<String> =
                stages.versions.iter().find(|s| s.version == shown.version).map_or(Vec::new(), |s| s.stages.clone());
            let deployed = Deployed::of(&stages);
            // `--format json` shows the version with its notes, stages and environments, as one document.
            shown.json["notes"] = notes.json["notes"].take();
            shown.json["stages"] = json!(stage);
            shown.json["environments"] = deployed.json();
            show(format, &shown, |v| print_model(v, &notes.notes, &stage, &deployed));
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
                let current = client.get::<KpiView>(&format!("/api/v1/models/{name}/kpi")).await?.body.values;
                let mut body = match current {
                    Some(values) => serde_json::to_value(values)?,
                    None => json!({"currency": "USD"}),
                };
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
                client.put::<_, KpiView>(&format!("/api/v1/models/{name}/kpi"), &body).await?
            } else {
                client.get::<KpiView>(&format!("/api/v1/models/{name}/kpi")).await?
            };
            show(format, &kpi, print_kpi);
        }
        ModelCommand::Stage { name, at } => super::governance::stage(client, format, &name, at.as_deref()).await?,
        ModelCommand::Verify { .. } => bail!("internal: model verify is dispatched separately"),
    }
    Ok(())
}

async fn stages(client: &Client, model: &str) -> Result<StagesView> {
    Ok(client.get::<StagesView>(&format!("/api/v1/models/{model}/stages")).await?.body)
}

/// The version in each environment (none where no version is), from a stages answer.
struct Deployed {
    staging: Option<u32>,
    production: Option<u32>,
    /// `production v1: <what is wrong>` for each deployment the server's integrity check
    /// found compromised.
    compromised: Vec<String>,
}

impl Deployed {
    fn of(stages: &StagesView) -> Self {
        let e = &stages.environments;
        let compromised = [&e.staging, &e.production]
            .into_iter()
            .flatten()
            .filter_map(|d| d.compromised.as_ref().map(|why| format!("{} v{}: {why}", d.environment, d.version)))
            .collect();
        Deployed {
            staging: e.staging.as_ref().map(|d| d.version),
            production: e.production.as_ref().map(|d| d.version),
            compromised,
        }
    }

    /// `{"staging": 2, "production": 1}`, null where no version is.
    fn json(&self) -> Value {
        json!({"staging": self.staging, "production": self.production})
    }
}

/// `3`, or `-` where no version is.
fn in_env(version: Option<u32>) -> String {
    version.map_or("-".to_string(), |v| v.to_string())
}

fn print_models(items: &[EntryView], deployed: &[Deployed]) {
    let rows: Vec<Vec<String>> = items
        .iter()
        .zip(deployed)
        .map(|(m, d)| {
            vec![
                m.name.clone(),
                m.project.clone(),
                m.latest_version.to_string(),
                m.versions.to_string(),
                in_env(d.staging),
                in_env(d.production),
                m.updated_at.clone(),
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
    if let Some(artifact) = &args.artifact
        && !artifact.is_file()
    {
        bail!("--artifact {} is not a readable file", artifact.display());
    }
    let metadata = RegisterMetadata {
        project: args.project,
        framework: Some(args.framework),
        training_data: args.training_data,
        validation_data: args.validation_data,
        code_repo: args.code_repo,
        code_commit: args.code_commit,
        params: Some(Document(read_json(&args.params, "params")?)),
        metrics: Some(Document(read_json(&args.metrics, "metrics")?)),
        description: args.description,
        tags: parse_tags(&args.tags)?,
    };
    let v = match (args.endpoint, args.artifact) {
        (Some(endpoint), _) => {
            let body = RegisterEndpoint {
                endpoint,
                protocol: args.protocol.unwrap_or_else(|| "v2".into()),
                classes: args.classes,
                metadata,
            };
            client.post::<_, ModelVersionView>(&format!("/api/v1/models/{}/endpoints", args.name), &body).await?
        }
        (None, Some(artifact)) => {
            let path = format!("/api/v1/models/{}/versions", args.name);
            client.upload::<_, ModelVersionView>(&path, &metadata, &artifact).await?
        }
        (None, None) => bail!("give --artifact FILE or --endpoint URL"),
    };
    show(format, &v, |v| match &v.endpoint {
        Some(e) => println!("{}@{} ({}): served at {} ({})", v.name, v.version, v.project, e.url, e.protocol),
        None => println!("{}@{} ({}): {}", v.name, v.version, v.project, v.digest),
    });
    Ok(())
}

/// A number as JSON writes it (`-25.0`, not `-25`), as these lines always showed it.
fn json_number(x: f64) -> String {
    serde_json::to_string(&x).unwrap_or_default()
}

fn print_kpi(k: &KpiView) {
    match &k.values {
        None => println!("{}: no values per outcome yet (set them with --tp/--fp/--fn/--tn)", k.model),
        Some(values) => println!(
            "{}: per outcome in {}: TP {}  FP {}  FN {}  TN {}",
            k.model,
            values.currency,
            json_number(values.tp),
            json_number(values.fp),
            json_number(values.fn_),
            json_number(values.tn)
        ),
    }
    let rows: Vec<Vec<String>> = k
        .versions
        .iter()
        .map(|v| {
            let m = &v.confusion_matrix;
            let metric = |x: Option<f64>| x.map_or("-".into(), |x| format!("{x:.3}"));
            vec![
                v.version.to_string(),
                format!("{}/{}/{}/{}", m.tp, m.fp, m.fn_, m.tn),
                metric(v.precision),
                metric(v.recall),
                metric(v.f1),
                v.expected_value_per_1000.map_or("-".into(), |x| format!("{x:.2}")),
            ]
        })
        .collect();
    if !rows.is_empty() {
        table(&["VERSION", "TP/FP/FN/TN", "PRECISION", "RECALL", "F1", "VALUE PER 1000 DECISIONS"], &rows);
    }
}

fn print_model(v: &ModelVersionView, notes: &[NoteView], stages: &[String], deployed: &Deployed) {
    println!("{}@{}  project {}  {}", v.name, v.version, v.project, v.framework);
    match &v.endpoint {
        Some(e) => println!("endpoint {} (protocol {}; artifact {}, its descriptor)", e.url, e.protocol, v.digest),
        None => println!("artifact {} ({} bytes)", v.digest, v.size),
    }
    println!("registered {} by {}", v.created_at, v.author);
    println!("stage           {}", stages.join(", "));
    println!("environments    staging: {}, production: {}", in_env(deployed.staging), in_env(deployed.production));
    for problem in &deployed.compromised {
        println!("COMPROMISED     {problem} (see riskops incident list --kind security)");
    }
    let or_none = |x: &Option<String>| x.clone().filter(|x| !x.is_empty()).unwrap_or_else(|| "–".to_string());
    println!("training data   {}", or_none(&v.training_data));
    println!("validation data {}", or_none(&v.validation_data));
    if let Some(repo) = v.code_repo.as_ref().filter(|r| !r.is_empty()) {
        println!("code            {} @ {}", repo, v.code_commit.as_deref().unwrap_or(""));
    }
    super::dataset::print_tags_and_notes(&v.tags, notes);
    // Parameters and metrics are documents: any JSON the model's author gave.
    for (title, doc) in [("params", &v.params), ("metrics", &v.metrics)] {
        if let Some(map) = doc.0.as_object().filter(|m| !m.is_empty()) {
            println!("{title}:");
            for (k, x) in map {
                println!("  {k} = {x}");
            }
        }
    }
    if let Some(signature) = &v.signature {
        print_signature(&signature.0);
    }
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

/// `{"from","to","changed"}` for one field of two versions.
fn field<T: serde::Serialize + PartialEq>(from: &T, to: &T) -> Value {
    json!({"from": from, "to": to, "changed": from != to})
}

/// What changed between two versions: parameters, metrics (with the difference), data and code.
async fn diff(client: &Client, format: Format, from: &str, to: &str) -> Result<()> {
    let fetch = |text: &str| {
        let (name, v) = split_version(text);
        async move { client.get::<ModelVersionView>(&format!("/api/v1/models/{name}/versions/{v}")).await }
    };
    let (a, b) = (fetch(from).await?.body, fetch(to).await?.body);
    let changes = |da: &Document, db: &Document| -> Vec<Value> {
        let (ma, mb) = (da.0.as_object().cloned().unwrap_or_default(), db.0.as_object().cloned().unwrap_or_default());
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
    let result = json!({
        "from": format!("{}@{}", a.name, a.version),
        "to": format!("{}@{}", b.name, b.version),
        "params": changes(&a.params, &b.params),
        "metrics": changes(&a.metrics, &b.metrics),
        "training_data": field(&a.training_data, &b.training_data),
        "validation_data": field(&a.validation_data, &b.validation_data),
        "code_commit": field(&a.code_commit, &b.code_commit),
        "framework": field(&a.framework, &b.framework),
        "digest": field(&a.digest, &b.digest),
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
