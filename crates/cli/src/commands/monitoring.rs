//! `riskops log FILE …`, `riskops label FILE …` and `riskops monitor configure|show`.

use super::identities::items;
use crate::cli::{Format, LabelArgs, LogArgs, MonitorCommand};
use crate::client::Client;
use crate::output::{emit, show, table_or};
use anyhow::{Context, Result, bail};
use riskops_api::monitoring::{MonitorConfig, MonitoringView};
use riskops_api::window::{ByName, WindowExplanation, WindowReport};
use riskops_monitor::table_records::{self, cell_value, text, true_false_text, whole_number};
use serde_json::{Value, json};
use std::io::BufRead;
use std::process::ExitCode;

/// Sends the file in batches of `--batch` records, with a progress bar. Exit status 1 when a
/// record was rejected, unless `--allow-rejected`.
pub async fn log(client: &Client, format: Format, args: LogArgs) -> Result<ExitCode> {
    if args.batch == 0 {
        bail!("--batch must be at least 1");
    }
    let path = format!("/api/v1/projects/{}/models/{}/predictions", args.project, args.model);
    let name = args.file.to_string_lossy().to_lowercase();
    // Parquet is known by its magic bytes (whatever the name); a `.parquet` file without
    // them goes to the Parquet reader too, which says it is not Parquet.
    let batches: Vec<Batch> = if riskops_parquet::is_parquet(&args.file) || name.ends_with(".parquet") {
        parquet_batches(&args.file, args.batch, args.version)?
    } else if name.ends_with(".csv") {
        csv_batches(&args.file, args.batch, args.version)?
    } else {
        json_batches(&args.file, args.batch, args.version, name.ends_with(".json"))?
    };
    send_batches(client, format, &path, batches, args.allow_rejected).await
}

/// `riskops label FILE`: late labels sent as `[{"id","label"}]` batches; the summary and
/// exit status are `log`'s.
pub async fn label(client: &Client, format: Format, args: LabelArgs) -> Result<ExitCode> {
    if args.batch == 0 {
        bail!("--batch must be at least 1");
    }
    let path = format!("/api/v1/projects/{}/models/{}/labels", args.project, args.model);
    let labels = read_labels(&args.file)?;
    let mut batches = Vec::new();
    for chunk in labels.chunks(args.batch) {
        batches.push(("application/json".to_string(), serde_json::to_vec(chunk)?, chunk.len() as u64));
    }
    send_batches(client, format, &path, batches, args.allow_rejected).await
}

/// Each row or record of the file as `{"id","label"}`, checked whole before anything is sent.
/// A record without a label is sent with `null`, for the server to name.
fn read_labels(file: &std::path::Path) -> Result<Vec<Value>> {
    let name = file.to_string_lossy().to_lowercase();
    let shown = file.display();
    let wanted = vec!["id".to_string(), "label".to_string()];
    let table = if riskops_parquet::is_parquet(file) || name.ends_with(".parquet") {
        riskops_parquet::read_parquet_with(file, Some(&wanted), riskops_parquet::Typing::Stored, &|_| {})
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .table
    } else if name.ends_with(".csv") {
        let options = riskops_data::CsvOptions { delimiter: None, columns: Some(wanted) };
        riskops_data::read_csv(file, &options, &|_| {}).map_err(|e| anyhow::anyhow!("{e}"))?
    } else {
        return json_records(file, name.ends_with(".json"))?
            .into_iter()
            .enumerate()
            .map(|(i, record)| {
                let id = record.get("id").cloned().and_then(text).filter(|id| id != "");
                let id = id.with_context(|| format!("{shown}: record {} has no id", i + 1))?;
                Ok(json!({"id": id, "label": record.get("label").cloned().unwrap_or(Value::Null)}))
            })
            .collect();
    };
    let (Some(ids), Some(labels)) = (table.column("id"), table.column("label")) else {
        bail!(
            "{shown}: labels need the columns \"id\" and \"label\" (columns: {})",
            table.names().collect::<Vec<_>>().join(", ")
        );
    };
    let (id_booleans, label_booleans) = (true_false_text(ids), true_false_text(labels));
    (0..table.rows)
        .map(|row| {
            let id = text(whole_number(cell_value(ids, id_booleans, row)));
            let id = id.with_context(|| format!("{shown}: row {} has no id", row + 1))?;
            Ok(json!({"id": id, "label": whole_number(cell_value(labels, label_booleans, row))}))
        })
        .collect()
}

/// A request body: its content type, its bytes and how many records it holds.
type Batch = (String, Vec<u8>, u64);

/// Posts each batch in turn, then prints one summary of all the answers. Exit status 1 when
/// any record was rejected and `allow_rejected` is off, so a pipeline notices.
async fn send_batches(
    client: &Client,
    format: Format,
    path: &str,
    batches: Vec<Batch>,
    allow_rejected: bool,
) -> Result<ExitCode> {
    let total: u64 = batches.iter().map(|(_, _, n)| n).sum();
    let bar = crate::progress::Progress::steps(total, "sending");
    let mut tally = Tally { records: total, ..Tally::default() };
    let mut sent = 0u64;
    for (content_type, body, n) in batches {
        let answer = client.post_bytes(path, &content_type, body).await?;
        tally.add(&answer, sent);
        sent += n;
        bar.set(sent);
    }
    bar.finish();
    emit(format, &tally.to_json(), |_| tally.print());
    if tally.rejected == 0 || allow_rejected {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("error: {} of {} records were rejected (--allow-rejected exits 0 anyway)", tally.rejected, total);
    Ok(ExitCode::from(1))
}

/// Rejected records shown one by one in the summary.
const FIRST_REJECTED: usize = 5;
/// Distinct reasons counted apart; any further ones are counted together.
const MAX_REASONS: usize = 100;
const OTHER_REASONS: &str = "(other reasons)";

/// The answers of every batch, added up.
#[derive(Default)]
struct Tally {
    records: u64,
    accepted: u64,
    duplicates: u64,
    rejected: u64,
    /// Each reason and how many rejected records gave it, in the order first seen.
    reasons: Vec<(String, u64)>,
    /// The first rejected records, with their index in the file.
    first: Vec<Value>,
}

impl Tally {
    /// Adds one batch's answer; `offset` is the file index of the batch's first record.
    fn add(&mut self, answer: &Value, offset: u64) {
        self.accepted += answer["accepted"].as_u64().unwrap_or(0);
        self.duplicates += answer["duplicates"].as_u64().unwrap_or(0);
        for r in items(answer, "rejected") {
            self.rejected += 1;
            let mut reasons: Vec<&str> = items(r, "reasons").filter_map(Value::as_str).collect();
            reasons.dedup();
            for reason in reasons {
                self.count_reason(reason);
            }
            if self.first.len() < FIRST_REJECTED {
                let mut r = r.clone();
                r["index"] = json!(offset + r["index"].as_u64().unwrap_or(0));
                self.first.push(r);
            }
        }
    }

    fn count_reason(&mut self, reason: &str) {
        let reason = if self.reasons.len() >= MAX_REASONS && !self.reasons.iter().any(|(r, _)| r == reason) {
            OTHER_REASONS
        } else {
            reason
        };
        match self.reasons.iter_mut().find(|(r, _)| r == reason) {
            Some((_, n)) => *n += 1,
            None => self.reasons.push((reason.to_string(), 1)),
        }
    }

    /// Reasons, most frequent first (first seen first among equals).
    fn ranked_reasons(&self) -> Vec<(String, u64)> {
        let mut ranked = self.reasons.clone();
        ranked.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
        ranked
    }

    fn to_json(&self) -> Value {
        let by_reason: Vec<Value> = self
            .ranked_reasons()
            .into_iter()
            .map(|(reason, count)| json!({"reason": reason, "count": count}))
            .collect();
        json!({
            "records": self.records,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "rejected_by_reason": by_reason,
            "first_rejected": self.first,
        })
    }

    fn print(&self) {
        println!(
            "{} records: {} accepted, {} already sent, {} rejected",
            self.records, self.accepted, self.duplicates, self.rejected
        );
        if self.rejected == 0 {
            return;
        }
        println!("rejected by reason:");
        for (reason, count) in self.ranked_reasons().iter().take(10) {
            println!("  {count:>8}  {reason}");
        }
        if self.reasons.len() > 10 {
            println!("  … and {} more reasons (--format json lists them)", self.reasons.len() - 10);
        }
        println!("first rejected:");
        for r in &self.first {
            println!(
                "  record {} ({}): {}",
                r["index"],
                r["id"].as_str().unwrap_or("-"),
                super::identities::join(&r["reasons"])
            );
        }
    }
}

/// NDJSON or a JSON array, re-batched as NDJSON; `--version` fills records without one.
fn json_batches(file: &std::path::Path, size: usize, version: Option<u32>, array: bool) -> Result<Vec<Batch>> {
    let records = json_records(file, array)?;
    Ok(records
        .chunks(size)
        .map(|chunk| {
            let mut body = String::new();
            for r in chunk {
                let mut r = r.clone();
                if let (Some(v), Some(obj)) = (version, r.as_object_mut()) {
                    obj.entry("version").or_insert(json!(v.to_string()));
                }
                body.push_str(&r.to_string());
                body.push('\n');
            }
            ("application/x-ndjson".to_string(), body.into_bytes(), chunk.len() as u64)
        })
        .collect())
}

/// The records of an NDJSON file (blank lines skipped) or of a JSON array.
fn json_records(file: &std::path::Path, array: bool) -> Result<Vec<Value>> {
    let open = || std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()));
    if array {
        let v: Value = serde_json::from_reader(std::io::BufReader::new(open()?))
            .with_context(|| format!("{} is not JSON", file.display()))?;
        v.as_array().cloned().with_context(|| format!("{} must hold a JSON array of records", file.display()))
    } else {
        let mut out = Vec::new();
        for (i, line) in std::io::BufReader::new(open()?).lines().enumerate() {
            let line = line.with_context(|| format!("reading {}", file.display()))?;
            if line.trim().is_empty() {
                continue;
            }
            out.push(
                serde_json::from_str(&line)
                    .with_context(|| format!("{} line {} is not JSON", file.display(), i + 1))?,
            );
        }
        Ok(out)
    }
}

/// CSV split into batches that each repeat the header.
fn csv_batches(file: &std::path::Path, size: usize, version: Option<u32>) -> Result<Vec<Batch>> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut lines = text.lines();
    let header = lines.next().with_context(|| format!("{} is empty", file.display()))?;
    let rows: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
    // `--version` fills records without one: a file without a `version` column gets one.
    let has_version = header.split(',').any(|name| name.trim().trim_matches('"') == "version");
    let added = match version {
        Some(v) if !has_version => format!(",{v}"),
        _ => String::new(),
    };
    let header = if added.is_empty() { header.to_string() } else { format!("{header},version") };
    Ok(rows
        .chunks(size)
        .map(|chunk| {
            let mut body =
                String::with_capacity(header.len() + chunk.iter().map(|r| r.len() + added.len() + 1).sum::<usize>());
            body.push_str(&header);
            body.push('\n');
            for row in chunk {
                body.push_str(row);
                body.push_str(&added);
                body.push('\n');
            }
            ("text/csv".to_string(), body.into_bytes(), chunk.len() as u64)
        })
        .collect())
}

/// A Parquet file of records, checked whole before anything is sent, re-batched as NDJSON
/// (riskops-monitor's `table_records`, which the Python package shares); `--version` fills
/// records without one. Values keep the types the file gives them.
fn parquet_batches(file: &std::path::Path, size: usize, version: Option<u32>) -> Result<Vec<Batch>> {
    // The message already names the file and the cause: not repeated as an error chain.
    let read = riskops_parquet::read_parquet_with(file, None, riskops_parquet::Typing::Stored, &|_| {})
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let shown = file.display();
    let warnings =
        table_records::check(&read.table, &read.skipped, true).map_err(|e| anyhow::anyhow!("{shown}: {e}"))?;
    for warning in warnings {
        eprintln!("warning: {shown}: {warning}");
    }
    let version = version.map(|v| v.to_string());
    Ok(table_records::ndjson_batches(&read.table, version.as_deref(), size, false)
        .into_iter()
        .map(|b| ("application/x-ndjson".to_string(), b.body.into_bytes(), b.ids.len() as u64))
        .collect())
}

pub async fn monitor(client: &Client, format: Format, command: MonitorCommand) -> Result<()> {
    match command {
        // Local: handled in `commands::run` without a client.
        MonitorCommand::Analyze(_) => anyhow::bail!("internal: monitor analyze was dispatched as a client command"),
        MonitorCommand::Configure {
            project,
            model,
            window,
            task,
            positive,
            exclude,
            sensitive,
            retention_days,
            min_records,
            explain_sample,
            score_column,
            label_column,
            prediction_column,
        } => {
            let body = json!({
                "window": window, "task": task, "positive": positive, "exclude": exclude, "sensitive": sensitive,
                "retention_days": retention_days, "min_records": min_records, "explain_sample": explain_sample,
                "score_column": score_column, "label_column": label_column, "prediction_column": prediction_column,
            });
            let path = format!("/api/v1/projects/{project}/models/{model}/monitor");
            let config = client.put::<_, MonitorConfig>(&path, &body).await?;
            show(format, &config, |c| {
                println!(
                    "{model}: {} windows, {} task, raw records kept {} days, drift judged from {} records{}{}",
                    c.window,
                    c.task,
                    c.retention_days,
                    c.min_records,
                    if c.explain_sample > 0 {
                        format!(", {} records a window explained", c.explain_sample)
                    } else {
                        String::new()
                    },
                    match (&c.score_column, &c.label_column) {
                        (Some(score), Some(label)) => {
                            format!(", performance estimated from the reference's {score} and {label}")
                        }
                        _ => String::new(),
                    }
                )
            });
        }
        MonitorCommand::Show { project, model, from, to, granularity } => {
            let mut q = Vec::new();
            for (k, v) in [("from", from), ("to", to), ("granularity", granularity)] {
                if let Some(v) = v {
                    q.push(format!("{k}={}", v.replace('+', "%2B")));
                }
            }
            let query = if q.is_empty() { String::new() } else { format!("?{}", q.join("&")) };
            let path = format!("/api/v1/projects/{project}/models/{model}/monitoring{query}");
            let report = client.get::<MonitoringView>(&path).await?;
            show(format, &report, print_windows);
        }
    }
    Ok(())
}

/// One line per window (drift, performance, fairness, quality, latency, business), then
/// the newest window in detail.
fn print_windows(report: &MonitoringView) {
    let rows: Vec<Vec<String>> = report
        .windows
        .iter()
        .map(|w| {
            let drifted = w.drifted_features();
            let perf = w.performance.as_ref();
            vec![
                w.start.clone(),
                w.version.clone(),
                w.records.to_string(),
                w.labelled.to_string(),
                // ≈: from sketches (an open window), not the exact computation.
                format!("{}{}", if w.drift.exact { "" } else { "≈" }, percent(w.drift.share)),
                if drifted.is_empty() { "-".into() } else { drifted.join(", ") },
                fixed(perf.and_then(|p| p.get("f1").or_else(|| p.get("r2"))), 3),
                fixed(w.worst_parity_ratio().map(|(_, r)| r), 2),
                w.quality.missing_rate.highest().map_or("-".into(), |(_, r)| percent(r)),
                fixed(w.latency.as_ref().and_then(|l| l.p95_ms), 1),
                fixed(w.business.as_ref().map(|b| b.value_per_1000), 2),
                match &w.explain {
                    Some(WindowExplanation::Computed(a)) => percent(a.shift),
                    _ => "-".into(),
                },
                // `!`: NannyML's alert (outside the reference's thresholds).
                super::window_estimates::auc_cell(w),
                super::window_estimates::reconstruction_cell(w),
            ]
        })
        .collect();
    table_or(
        "no windows in this period",
        &[
            "WINDOW",
            "VERSION",
            "RECORDS",
            "LABELLED",
            "DRIFT",
            "DRIFTED FEATURES",
            "F1/R2",
            "PARITY RATIO",
            "MISSING",
            "P95 MS",
            "VALUE/1000",
            "ATTR SHIFT",
            "EST AUC",
            "RECON ERR",
        ],
        &rows,
    );
    if let Some(latest) = report.windows.last() {
        println!();
        print_window_detail(latest);
    }
}

/// Whether a window's drift is exact (from its records) or approximate (sketches), and why.
fn drift_source(d: &riskops_api::window::WindowDrift) -> String {
    match (d.exact, &d.note) {
        (true, None) => ", exact (from the window's records)".to_string(),
        (true, Some(note)) => format!(", exact: {note}"),
        (false, Some(note)) => format!(" ≈ {note}"),
        (false, None) => " ≈ approximate, from sketches".to_string(),
    }
}

fn fixed(x: Option<f64>, digits: usize) -> String {
    x.map_or("-".to_string(), |x| format!("{x:.digits$}"))
}

fn percent(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// Every section of one window: drift, performance, fairness, quality, business, latency.
fn print_window_detail(w: &WindowReport) {
    println!("newest window {} to {} (version {}):", w.start, w.end, w.version);
    println!(
        "  drift        {} of the features drifted{}{}",
        percent(w.drift.share),
        if w.drift.drifted { " (the dataset drifts)" } else { "" },
        drift_source(&w.drift)
    );
    for f in &w.drift.features {
        let value = f.statistic.map_or("-".to_string(), |x| format!("{x:.4}"));
        let approx = match (f.exact, f.approx_error) {
            (true, _) => String::new(),
            (false, Some(bound)) => format!(" ≈ (approximate, ±{bound:.4})"),
            (false, None) => " ≈ (approximate, unbounded)".to_string(),
        };
        let near = if f.near_threshold { ", near the threshold: the verdict may differ" } else { "" };
        println!(
            "               {} {} {value}{approx}{near}{}",
            f.name,
            f.method,
            if f.drifted { " DRIFT" } else { "" }
        );
    }
    let performance = match &w.performance {
        None => "no labelled records yet".to_string(),
        Some(p) => p.values().iter().map(|(k, x)| format!("{k} {x:.3}")).collect::<Vec<_>>().join(", "),
    };
    println!("  performance  {performance} ({} labelled)", w.labelled);
    let fairness: Vec<String> = w
        .fairness
        .iter()
        .map(|(attribute, f)| {
            let four_fifths = match f.four_fifths.as_ref().map(|x| x.passes) {
                Some(true) => ", four-fifths rule passes",
                Some(false) => ", four-fifths rule FAILS",
                None => "",
            };
            format!(
                "{attribute}: parity ratio {}, parity difference {}, equalized odds difference {}{four_fifths}",
                fixed(f.demographic_parity_ratio, 3),
                fixed(f.demographic_parity_difference, 3),
                fixed(f.equalized_odds_difference, 3),
            )
        })
        .collect();
    if fairness.is_empty() {
        println!("  fairness     no sensitive attributes in the records");
    }
    for (i, line) in fairness.iter().enumerate() {
        println!("  {:<12} {line}", if i == 0 { "fairness" } else { "" });
    }
    let q = &w.quality;
    let worst =
        |rates: &ByName<Option<f64>>| rates.highest().map_or("-".to_string(), |(f, r)| format!("{} ({f})", percent(r)));
    let violations: u64 = q.type_violations.iter().map(|(_, n)| n).sum();
    println!(
        "  quality      worst missing rate {}, worst out-of-range rate {}, {violations} type violations, {} records with violations",
        worst(&q.missing_rate),
        worst(&q.out_of_range_rate),
        q.records_with_violations
    );
    match &w.business {
        Some(b) => println!(
            "  business     value per 1,000 decisions {:.2} {} (cost {:.2}); {:.2} over {} decisions",
            b.value_per_1000, b.currency, b.cost_per_1000, b.value, b.decisions
        ),
        None => println!("  business     - (needs the model's values per outcome, `riskops model kpi`, and labels)"),
    }
    match &w.latency {
        None => println!("  latency      - (records carry no latency_ms)"),
        Some(l) => println!(
            "  latency      p50 {} ms, p95 {} ms, p99 {} ms, max {} ms",
            fixed(l.p50_ms, 1),
            fixed(l.p95_ms, 1),
            fixed(l.p99_ms, 1),
            fixed(l.max_ms, 1)
        ),
    }
    print_attribution(w.explain.as_ref());
    for line in super::window_estimates::detail_lines(w) {
        println!("{line}");
    }
}

/// Shares of mean |SHAP| in the window against the validation data's, the features whose
/// share moved most first (up to eight).
fn print_attribution(explain: Option<&WindowExplanation>) {
    match explain {
        None => println!("  attribution  - (keep a sample to explain: `riskops monitor configure --explain-sample N`)"),
        Some(WindowExplanation::Skipped { skipped }) => println!("  attribution  - ({skipped})"),
        Some(WindowExplanation::Computed(a)) => {
            println!(
                "  attribution  shift {} of the model's reliance moved between features ({} records explained, {} of the validation data)",
                percent(a.shift),
                a.sampled,
                a.reference_rows
            );
            if let Some(u) = a.unexplained {
                println!(
                    "               {} of the logged outputs is not accounted for by the model's attributions",
                    percent(u)
                );
            }
            let mut moved: Vec<_> = a.features.iter().collect();
            moved.sort_by(|x, y| y.1.change.abs().total_cmp(&x.1.change.abs()));
            for (feature, f) in moved.into_iter().take(8) {
                println!(
                    "               {feature}: share {} (validation {}, {:+.1} points), mean |SHAP| {:.4}",
                    percent(f.share),
                    percent(f.reference_share),
                    f.change * 100.0,
                    f.mean_abs_shap
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::drift_source;
    use riskops_api::window::{DriftStatus, WindowDrift};

    fn drift(exact: bool, note: Option<&str>) -> WindowDrift {
        WindowDrift {
            status: DriftStatus::Ok,
            min_records: 0,
            share: 0.0,
            drifted: false,
            n_drifted: 0,
            n_near_threshold: 0,
            features: Vec::new(),
            skipped: Vec::new(),
            exact,
            computed_at: None,
            note: note.map(str::to_string),
        }
    }

    #[test]
    fn approximate_drift_is_marked_and_exact_drift_says_where_it_comes_from() {
        assert!(drift_source(&drift(false, Some("the window is open"))).contains("≈ the window is open"));
        assert!(drift_source(&drift(false, None)).contains("≈ approximate"));
        assert!(drift_source(&drift(true, None)).contains("exact (from the window's records)"));
        assert!(!drift_source(&drift(true, Some("expired"))).contains('≈'));
    }
}
