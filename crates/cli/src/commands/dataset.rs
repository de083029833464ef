//! `riskops dataset push|list|show|pull|diff`.

use crate::cli::{DatasetCommand, Format};
use crate::client::Client;
use crate::output::{emit, show, str_field, table};
use anyhow::{Context, Result, anyhow, bail};
use riskops_api::annotations::{AddNote, AddTags, NoteList, NoteView, TagsView};
use riskops_api::registry::{DatasetVersionView, EntryList, EntryView, PushMetadata, Tags};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// `NAME@V` → (`NAME`, `V` or `latest`).
pub fn split_version(text: &str) -> (String, String) {
    match text.split_once('@') {
        Some((name, v)) => (name.to_string(), v.to_string()),
        None => (text.to_string(), "latest".to_string()),
    }
}

/// `key=value` labels.
pub fn parse_tags(tags: &[String]) -> Result<BTreeMap<String, String>> {
    tags.iter()
        .map(|t| {
            t.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| anyhow!("--tag {t:?} must be KEY=VALUE"))
        })
        .collect()
}

pub async fn run(client: &Client, format: Format, command: DatasetCommand) -> Result<()> {
    match command {
        DatasetCommand::Push { name, file, project, description, tags } => {
            if !file.is_file() {
                bail!("{} is not a readable file", file.display());
            }
            let metadata = PushMetadata { project, description, tags: parse_tags(&tags)? };
            let path = format!("/api/v1/datasets/{name}/versions");
            let v = client.upload::<_, DatasetVersionView>(&path, &metadata, &file).await?;
            show(format, &v, |v| {
                println!(
                    "{}@{} ({}): {} rows, {} columns, {}",
                    v.name,
                    v.version,
                    v.project,
                    v.rows,
                    v.schema.0.as_array().map_or(0, Vec::len),
                    v.digest
                );
            });
        }
        DatasetCommand::List { project } => {
            let query = project.map(|p| format!("?project={p}")).unwrap_or_default();
            let list = client.get::<EntryList>(&format!("/api/v1/datasets{query}")).await?;
            show(format, &list, |l| print_entries(&l.items));
        }
        DatasetCommand::Show { version } => {
            let (name, v) = split_version(&version);
            let mut shown = client.get::<DatasetVersionView>(&format!("/api/v1/datasets/{name}/versions/{v}")).await?;
            let path = format!("/api/v1/datasets/{name}/versions/{}/notes", shown.version);
            let mut notes = client.get::<NoteList>(&path).await?;
            // `--format json` shows the version with its notes, as one document.
            shown.json["notes"] = notes.json["notes"].take();
            show(format, &shown, |v| print_dataset(v, &notes.notes));
        }
        DatasetCommand::Pull { version, output } => {
            let (name, v) = split_version(&version);
            let digest = client.download(&format!("/api/v1/datasets/{name}/versions/{v}/file"), &output).await?;
            let result = json!({"name": name, "version": v, "digest": digest, "output": output.display().to_string()});
            emit(format, &result, |_| println!("wrote {} ({digest})", output.display()));
        }
        DatasetCommand::Diff { from, to } => diff(client, format, &from, &to).await?,
        DatasetCommand::Tag { version, tags } => annotate_tags(client, format, "datasets", &version, &tags).await?,
        DatasetCommand::Note { version, text } => annotate_note(client, format, "datasets", &version, &text).await?,
    }
    Ok(())
}

/// `NAME@V` with an explicit version, for changes to one version.
fn exact(text: &str) -> Result<(String, String)> {
    let (name, version) = split_version(text);
    if version == "latest" {
        bail!("name the version to change: {name}@V");
    }
    Ok((name, version))
}

pub async fn annotate_tags(client: &Client, format: Format, kind: &str, version: &str, tags: &[String]) -> Result<()> {
    let (name, v) = exact(version)?;
    let body = AddTags { tags: parse_tags(tags)? };
    let all = client.post::<_, TagsView>(&format!("/api/v1/{kind}/{name}/versions/{v}/tags"), &body).await?;
    show(format, &all, |t| {
        let labels: Vec<String> = t.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("{name}@{v}: {}", labels.join(" "));
    });
    Ok(())
}

pub async fn annotate_note(client: &Client, format: Format, kind: &str, version: &str, text: &str) -> Result<()> {
    let (name, v) = exact(version)?;
    let body = AddNote { text: text.to_string() };
    let note = client.post::<_, NoteView>(&format!("/api/v1/{kind}/{name}/versions/{v}/notes"), &body).await?;
    show(format, &note, |n| println!("noted on {name}@{v} by {} at {}", n.created_by, n.created_at));
    Ok(())
}

pub fn print_entries(items: &[EntryView]) {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|e| {
            vec![
                e.name.clone(),
                e.project.clone(),
                e.latest_version.to_string(),
                e.versions.to_string(),
                e.updated_at.clone(),
            ]
        })
        .collect();
    table(&["NAME", "PROJECT", "LATEST", "VERSIONS", "UPDATED"], &rows);
}

fn print_dataset(v: &DatasetVersionView, notes: &[NoteView]) {
    println!("{}@{}  project {}  {}", v.name, v.version, v.project, v.digest);
    println!("{} rows, {} bytes, {}, pushed {} by {}", v.rows, v.size, v.format, v.created_at, v.created_by);
    if !v.description.is_empty() {
        println!("{}", v.description);
    }
    print_tags_and_notes(&v.tags, notes);
    println!();
    // The profile and the schema are documents (per-column statistics as riskops-data computes them).
    let profile = v.profile.as_ref().map_or(&Value::Null, |p| &p.0);
    let columns = profile["columns"].as_array().cloned().unwrap_or_default();
    let types: BTreeMap<&str, &str> = v
        .schema
        .0
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| (c["name"].as_str().unwrap_or(""), c["type"].as_str().unwrap_or("")))
        .collect();
    let num = |c: &Value, k: &str| {
        c.get(k)
            .and_then(Value::as_f64)
            .map(|x| format!("{x:.4}").trim_end_matches('0').trim_end_matches('.').to_string())
            .unwrap_or_default()
    };
    let rows: Vec<Vec<String>> = columns
        .iter()
        .map(|c| {
            let name = c["name"].as_str().unwrap_or("");
            let top = c["frequencies"]["top"]
                .as_array()
                .map(|t| {
                    t.iter()
                        .take(3)
                        .map(|p| format!("{}:{}", p[0].as_str().unwrap_or(""), p[1]))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            vec![
                name.to_string(),
                format!("{} {}", c["dtype"].as_str().unwrap_or(""), types.get(name).copied().unwrap_or("")),
                c["missing"].to_string(),
                format!("{}{}", c["distinct"], if c["distinct_exact"] == true { "" } else { "~" }),
                num(c, "min"),
                num(c, "mean"),
                num(c, "std"),
                num(c, "max"),
                top,
            ]
        })
        .collect();
    table(&["COLUMN", "TYPE", "MISSING", "DISTINCT", "MIN", "MEAN", "STD", "MAX", "TOP VALUES"], &rows);
}

/// Schema changes, then a drift report between the two versions' files.
async fn diff(client: &Client, format: Format, from: &str, to: &str) -> Result<()> {
    let fetch = |text: &str| {
        let (name, v) = split_version(text);
        async move { client.get::<DatasetVersionView>(&format!("/api/v1/datasets/{name}/versions/{v}")).await }
    };
    let (a, b) = (fetch(from).await?.body, fetch(to).await?.body);
    let schema = |v: &DatasetVersionView| -> BTreeMap<String, (String, String)> {
        v.schema
            .0
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                let s = |k: &str| c[k].as_str().unwrap_or("").to_string();
                (s("name"), (s("dtype"), s("type")))
            })
            .collect()
    };
    let (sa, sb) = (schema(&a), schema(&b));
    let added: Vec<&String> = sb.keys().filter(|k| !sa.contains_key(*k)).collect();
    let removed: Vec<&String> = sa.keys().filter(|k| !sb.contains_key(*k)).collect();
    let changed: Vec<Value> = sa
        .iter()
        .filter_map(|(k, va)| {
            sb.get(k)
                .filter(|vb| *vb != va)
                .map(|vb| json!({"name": k, "from": va.0.clone() + " " + &va.1, "to": vb.0.clone() + " " + &vb.1}))
        })
        .collect();

    let dir = tempfile_dir()?;
    let pull = |text: &str, file: &str| {
        let (name, v) = split_version(text);
        let dest = dir.join(file);
        async move {
            client.download(&format!("/api/v1/datasets/{name}/versions/{v}/file"), &dest).await?;
            Ok::<_, anyhow::Error>(dest)
        }
    };
    let (fa, fb) = (pull(from, "from").await?, pull(to, "to").await?);
    let shared: Vec<String> = sa.keys().filter(|k| sb.contains_key(*k)).cloned().collect();
    let csv = riskops_data::CsvOptions { delimiter: None, columns: Some(shared) };
    let read = |p: &std::path::Path| {
        riskops_data::read_csv(p, &csv, &|_| {}).with_context(|| format!("reading {}", p.display()))
    };
    let report =
        riskops_drift::detect_drift(read(&fa)?, read(&fb)?, &riskops_drift::DriftOptions::default(), &|_, _| {})
            .map_err(|e| anyhow!("{e}"))?;
    let _ = std::fs::remove_dir_all(&dir);
    let result = json!({
        "from": format!("{}@{}", a.name, a.version),
        "to": format!("{}@{}", b.name, b.version),
        "schema": {"added": added, "removed": removed, "changed": changed},
        "drift": super::drift::report_json(&report),
    });
    emit(format, &result, |r| {
        println!("{} → {}", str_field(r, "from"), str_field(r, "to"));
        let list = |k: &str| {
            r["schema"][k]
                .as_array()
                .map(|a| a.iter().map(|x| x.as_str().unwrap_or("").to_string()).collect::<Vec<_>>().join(", "))
                .unwrap_or_default()
        };
        println!("columns added: {}", if added.is_empty() { "none".into() } else { list("added") });
        println!("columns removed: {}", if removed.is_empty() { "none".into() } else { list("removed") });
        for c in r["schema"]["changed"].as_array().into_iter().flatten() {
            println!("column {} changed: {} → {}", str_field(c, "name"), str_field(c, "from"), str_field(c, "to"));
        }
        println!();
        print!("{}", super::drift::report_text(&report));
    });
    Ok(())
}

/// A private temporary folder for pulled files.
fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("riskops-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// Labels and notes of a version, for `show`.
pub fn print_tags_and_notes(tags: &Tags, notes: &[NoteView]) {
    if !tags.is_empty() {
        let labels: Vec<String> = tags.iter().map(|(k, x)| format!("{k}={x}")).collect();
        println!("tags: {}", labels.join(" "));
    }
    for n in notes {
        println!("note ({}, {}): {}", n.created_by, n.created_at, n.text);
    }
}
