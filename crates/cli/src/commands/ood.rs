//! `riskops ood --reference REF FILE`: each record's ECOD outlier score against the reference
//! (riskops-stats's `ecod`, equal to pyod's), and the share of records past the reference's
//! 99th percentile of scores (riskops-monitor's `ood`) — for investigations, and to compare
//! with pyod.

use super::analyze::{is_registered, with_registered};
use super::drift::{read_both, write_atomically};
use crate::cli::{Format, OodArgs};
use crate::client::Client;
use anyhow::{Result, anyhow, bail};
use riskops_data::CsvOptions;
use riskops_monitor::ood::ood_scores;
use serde_json::json;
use std::fmt::Write;
use std::path::Path;
use std::process::ExitCode;

/// Runs with a local reference, or fetches a registered one (`client` needed then).
pub async fn run(client: Option<&Client>, format: Format, args: OodArgs) -> Result<ExitCode> {
    if !is_registered(&args.reference) {
        let reference = Path::new(&args.reference);
        if !reference.is_file() {
            bail!("--reference {}: no such file (a registered dataset version is NAME@V)", args.reference);
        }
        return score_files(&args, reference, format);
    }
    let client = client.ok_or_else(|| anyhow!("a registered reference needs a server"))?;
    with_registered(client, &args.reference, |path| score_files(&args, path, format)).await
}

fn score_files(args: &OodArgs, reference_path: &Path, format: Format) -> Result<ExitCode> {
    let csv = CsvOptions::default();
    let ((reference, _), (records, _)) = read_both(reference_path, &args.file, &csv, true)?;
    let ood = ood_scores(&reference, &records, args.columns.as_deref()).map_err(|e| anyhow!("{e}"))?;
    let (outside, scored, threshold) = (ood.outside(), ood.scored(), ood.threshold);
    let rendered = match format {
        Format::Json => {
            let doc = json!({
                "features": ood.features,
                "reference_rows": ood.reference_rows,
                "threshold": threshold,
                "records": records.rows,
                "scored": scored,
                "ood": outside,
                "ood_rate": ood.rate(),
                "scores": ood.scores,
            });
            format!("{}\n", serde_json::to_string_pretty(&doc)?)
        }
        _ => {
            let mut out = String::from("row,ood_score,ood\n");
            for (row, score) in ood.scores.iter().enumerate() {
                match score {
                    Some(s) => writeln!(out, "{row},{s},{}", *s > threshold)?,
                    None => writeln!(out, "{row},,")?,
                }
            }
            eprintln!(
                "{outside} of {scored} scored records above the reference's 99th percentile of scores ({threshold:.4}): \
                 OOD rate {:.2}% ({} features: {}; {} rows without every feature not scored)",
                ood.rate() * 100.0,
                ood.features.len(),
                ood.features.join(", "),
                records.rows - scored
            );
            out
        }
    };
    match &args.output {
        Some(path) => write_atomically(path, rendered.as_bytes())?,
        None => print!("{rendered}"),
    }
    Ok(ExitCode::SUCCESS)
}
