//! `riskops ood --reference REF FILE`: each record's ECOD outlier score against the reference
//! (riskops-stats's `ecod`, equal to pyod's), and the share of records past the reference's
//! 99th percentile of scores — for investigations, and to compare with pyod.

use super::analyze::is_registered;
use super::dataset::split_version;
use super::drift::{read_both, write_atomically};
use crate::cli::{Format, OodArgs};
use crate::client::Client;
use anyhow::{Context, Result, anyhow, bail};
use riskops_data::{CsvOptions, Table, Values};
use riskops_monitor::RecordColumn;
use riskops_stats::ecod::Ecod;
use serde_json::json;
use std::fmt::Write;
use std::path::Path;
use std::process::ExitCode;

/// The share of the reference's own scores a record must exceed to be out of distribution.
const QUANTILE: f64 = 0.99;

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
    let (dataset, version) = split_version(&args.reference);
    let dir = std::env::temp_dir().join(format!("riskops-ood-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join("reference");
    let fetched = client.download(&format!("/api/v1/datasets/{dataset}/versions/{version}/file"), &path).await;
    let result = fetched.and_then(|_| score_files(&args, &path, format));
    // The fetched copy is not kept, whatever the outcome.
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn score_files(args: &OodArgs, reference_path: &Path, format: Format) -> Result<ExitCode> {
    let csv = CsvOptions::default();
    let ((reference, _), (records, _)) = read_both(reference_path, &args.file, &csv, true)?;
    let features = features(&reference, &records, args.columns.as_deref())?;
    let (ref_columns, _) = numeric_rows(&reference, &features);
    let (columns, kept) = numeric_rows(&records, &features);
    if ref_columns[0].is_empty() {
        bail!("the reference has no row with every feature ({})", features.join(", "));
    }
    let ref_slices: Vec<&[f64]> = ref_columns.iter().map(Vec::as_slice).collect();
    let ecod = Ecod::fit(&ref_slices).map_err(|e| anyhow!("the reference: {e}"))?;
    let threshold = quantile(ecod.reference_scores(), QUANTILE);
    let scored = if kept.is_empty() {
        Vec::new()
    } else {
        let slices: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
        ecod.scores(&slices).map_err(|e| anyhow!("{}: {e}", args.file.display()))?
    };
    // Every row of the file, in order: its score, or none when a feature is missing.
    let mut scores: Vec<Option<f64>> = vec![None; records.rows];
    for (&row, &score) in kept.iter().zip(&scored) {
        scores[row] = Some(score);
    }
    let outside = scored.iter().filter(|&&s| s > threshold).count();
    let rate = if scored.is_empty() { 0.0 } else { outside as f64 / scored.len() as f64 };

    let rendered = match format {
        Format::Json => {
            let doc = json!({
                "features": features,
                "reference_rows": ecod.rows(),
                "threshold": threshold,
                "records": records.rows,
                "scored": scored.len(),
                "ood": outside,
                "ood_rate": rate,
                "scores": scores,
            });
            format!("{}\n", serde_json::to_string_pretty(&doc)?)
        }
        _ => {
            let mut out = String::from("row,ood_score,ood\n");
            for (row, score) in scores.iter().enumerate() {
                match score {
                    Some(s) => writeln!(out, "{row},{s},{}", *s > threshold)?,
                    None => writeln!(out, "{row},,")?,
                }
            }
            eprintln!(
                "{} of {} scored records above the reference's 99th percentile of scores ({threshold:.4}): OOD rate {:.2}% \
                 ({} features: {}; {} rows without every feature not scored)",
                outside,
                scored.len(),
                rate * 100.0,
                features.len(),
                features.join(", "),
                records.rows - scored.len()
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

/// The features: `wanted`, else the numeric columns both tables share that are not a
/// prediction log's bookkeeping (id, timestamp, prediction, score, label, …).
fn features(reference: &Table, records: &Table, wanted: Option<&[String]>) -> Result<Vec<String>> {
    let numeric =
        |t: &Table, name: &str| t.column(name).is_some_and(|c| matches!(c.values, Values::Int(_) | Values::Float(_)));
    let chosen: Vec<String> = match wanted {
        Some(names) => {
            for name in names {
                if !numeric(reference, name) || !numeric(records, name) {
                    bail!("--columns: {name:?} is not a numeric column of both files");
                }
            }
            names.to_vec()
        }
        None => reference
            .names()
            .filter(|n| matches!(RecordColumn::of(n), RecordColumn::Feature(_)))
            .filter(|n| numeric(reference, n) && numeric(records, n))
            .map(str::to_string)
            .collect(),
    };
    if chosen.is_empty() {
        bail!("no numeric feature is in both files");
    }
    Ok(chosen)
}

/// The features as columns of the rows that have all of them, and those rows' indices.
fn numeric_rows(table: &Table, features: &[String]) -> (Vec<Vec<f64>>, Vec<usize>) {
    let value = |name: &str, row: usize| match table.column(name).map(|c| &c.values) {
        Some(Values::Int(v)) => v[row] as f64,
        Some(Values::Float(v)) => v[row],
        _ => f64::NAN,
    };
    let kept: Vec<usize> = (0..table.rows).filter(|&row| features.iter().all(|f| value(f, row).is_finite())).collect();
    let columns = features.iter().map(|f| kept.iter().map(|&row| value(f, row)).collect()).collect();
    (columns, kept)
}

/// NumPy's default (linear) quantile.
fn quantile(mut values: Vec<f64>, q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let position = q * (values.len() - 1) as f64;
    let low = position.floor() as usize;
    let high = (low + 1).min(values.len() - 1);
    values[low] + (position - low as f64) * (values[high] - values[low])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_as_numpy_does() {
        assert_eq!(quantile(vec![3.0, 1.0, 2.0, 4.0], 0.5), 2.5);
        assert_eq!(quantile(vec![1.0, 2.0, 3.0, 4.0, 5.0], 0.99), 4.96);
        assert_eq!(quantile(vec![7.0], 0.99), 7.0);
    }
}
