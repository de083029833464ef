//! `riskops monitor analyze`: a back-test of a predictions file against a reference, with
//! no server (but to fetch a registered reference, NAME@V): both files read as
//! `riskops drift` reads them, analyzed by
//! riskops-monitor's `analysis`, printed as text, JSON or an HTML page of time series.

use super::dataset::split_version;
use super::drift::{delimiter, read_both, write_atomically};
use crate::cli::{AnalyzeArgs, Format};
use crate::client::Client;
use anyhow::{Context, Result, anyhow, bail};
use riskops_core::analysis_html;
use riskops_core::drift_html::fmt_num;
use riskops_data::CsvOptions;
use riskops_drift::DriftOptions;
use riskops_monitor::analysis::{Analysis, AnalysisOptions, analyze};
use std::fmt::Write;
use std::path::Path;
use std::process::ExitCode;

/// Whether `--reference` names a registered dataset version (NAME@V) rather than a file.
pub fn is_registered(reference: &str) -> bool {
    !Path::new(reference).is_file() && reference.contains('@')
}

/// `--reference NAME@V`: the version's file fetched into a temporary directory, then
/// analyzed as a local file.
pub async fn run_registered(client: &Client, format: Format, args: AnalyzeArgs) -> Result<ExitCode> {
    with_registered(client, &args.reference, |path| analyze_files(&args, path, format)).await
}

/// Runs `use_file` on a registered dataset version's file (`reference` is NAME@V), fetched
/// into a temporary directory that is removed afterwards, whatever the outcome.
pub async fn with_registered<T>(
    client: &Client,
    reference: &str,
    use_file: impl FnOnce(&Path) -> Result<T>,
) -> Result<T> {
    let (dataset, version) = split_version(reference);
    let dir = std::env::temp_dir().join(format!("riskops-reference-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join("reference");
    let fetched = client.download(&format!("/api/v1/datasets/{dataset}/versions/{version}/file"), &path).await;
    let result = fetched.and_then(|_| use_file(&path));
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// `--reference FILE`.
pub fn run(args: AnalyzeArgs, format: Format) -> Result<ExitCode> {
    let reference = Path::new(&args.reference).to_path_buf();
    if !reference.is_file() {
        bail!("--reference {}: no such file (a registered dataset version is NAME@V)", args.reference);
    }
    analyze_files(&args, &reference, format)
}

fn analyze_files(args: &AnalyzeArgs, reference_path: &Path, format: Format) -> Result<ExitCode> {
    let csv = CsvOptions { delimiter: delimiter(args.delimiter.as_deref())?, columns: None };
    let ((reference, _), (analysis, _)) = read_both(reference_path, &args.analysis, &csv, true)?;
    let options = AnalysisOptions {
        chunk_size: args.chunk_size,
        score_column: args.score_column.clone(),
        prediction_column: args.prediction_column.clone(),
        label_column: args.label_column.clone(),
        features: args.columns.clone(),
        drift: DriftOptions::default(),
    };
    let report = analyze(&reference, &analysis, &options).map_err(|e| anyhow!("{e}"))?;
    let rendered = match format {
        Format::Json => {
            let mut text = serde_json::to_string_pretty(&report)?;
            text.push('\n');
            text
        }
        Format::Html => analysis_html::render(&report, &args.reference, &args.analysis.display().to_string()),
        _ => text(&report),
    };
    match &args.output {
        Some(path) => write_atomically(path, rendered.as_bytes())?,
        None => print!("{rendered}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// One line per chunk: rows, drift share, estimated and realized ROC AUC and F1, the
/// reconstruction error; `!` marks an alert.
fn text(report: &Analysis) -> String {
    let mut out = String::new();
    let r = &report.reference;
    let _ = writeln!(
        out,
        "reference: {} rows, {} chunks of {}; {} features; scores {}; {}",
        r.records,
        r.chunks,
        report.chunk_size,
        r.features.len(),
        match r.calibrated {
            Some(true) => "calibrated (isotonic)",
            Some(false) => "used as probabilities",
            None => "absent (nothing estimated)",
        },
        r.components.map(|k| format!("{k} principal components")).unwrap_or_else(|| "no multivariate drift".into()),
    );
    let _ = writeln!(
        out,
        "{:>5}  {:>15}  {:>6}  {:>22}  {:>8}  {:>22}  {:>8}  {:>10}",
        "chunk", "rows", "drift", "est. roc_auc [band]", "real.", "est. f1 [band]", "real.", "recon."
    );
    let flag = |alert: bool| if alert { "!" } else { " " };
    for (k, c) in report.chunks.iter().enumerate() {
        let est = |pick: fn(&riskops_monitor::analysis::Estimated) -> &riskops_monitor::analysis::EstimatedValue| {
            c.estimated.as_ref().map_or("–".to_string(), |e| {
                let v = pick(e);
                format!("{}{} [{}, {}]", flag(v.alert), fmt_num(v.value), fmt_num(v.lower), fmt_num(v.upper))
            })
        };
        let real = |pick: fn(&riskops_monitor::analysis::Realized) -> f64| {
            c.realized.as_ref().map_or("–".to_string(), |r| fmt_num(pick(r)))
        };
        let recon = c.multivariate.map_or("–".to_string(), |m| {
            format!("{}{}", flag(m.reconstruction_error.alert), fmt_num(m.reconstruction_error.value))
        });
        let _ = writeln!(
            out,
            "{k:>5}  {:>15}  {:>5.0}%  {:>22}  {:>8}  {:>22}  {:>8}  {:>10}",
            format!("{}–{}", c.start, c.end),
            c.drift.share * 100.0,
            est(|e| &e.roc_auc),
            real(|r| r.roc_auc),
            est(|e| &e.f1),
            real(|r| r.f1),
            recon,
        );
    }
    let alerts = report
        .chunks
        .iter()
        .filter(|c| {
            c.multivariate.is_some_and(|m| m.reconstruction_error.alert)
                || c.estimated
                    .as_ref()
                    .is_some_and(|e| [e.roc_auc, e.f1, e.precision, e.recall, e.accuracy].iter().any(|v| v.alert))
        })
        .count();
    let _ =
        writeln!(out, "{alerts} of {} chunks alert (! marks the value outside its thresholds)", report.chunks.len());
    out
}
