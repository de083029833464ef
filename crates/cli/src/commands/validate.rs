//! `riskops validate` and `riskops stress`: ask the server to run the model over a dataset
//! version and file the evidence it produced; print the report.

use super::dataset::split_version;
use crate::cli::{ExplainArgs, ExplainRecordArgs, Format, StressArgs, ValidateArgs};
use crate::client::Client;
use crate::output::show;
use anyhow::Result;
use riskops_api::explain::{ExplainRecordsRequest, ExplainRequest, ExplanationReport, RecordExplanations};
use riskops_api::validation::{Estimate, StressReport, StressRequest, ValidationReport, ValidationRequest};

pub async fn run(client: &Client, format: Format, args: ValidateArgs) -> Result<()> {
    let (name, v) = split_version(&args.version);
    let segments = match args.segments.as_str() {
        "auto" => None,
        cols => Some(cols.split(',').map(str::trim).filter(|c| !c.is_empty()).map(str::to_string).collect()),
    };
    let request = ValidationRequest {
        data: args.data,
        label: args.label,
        protected: args.protected,
        segments,
        threshold: args.threshold,
        compare_with: args.compare_with,
        seed: Some(args.seed),
    };
    let path = format!("/api/v1/models/{name}/versions/{v}/validations");
    let answer = client.post::<_, ValidationReport>(&path, &request).await?;
    if format == Format::Html {
        return print_page(client, &answer.body.model, answer.body.evidence_id).await;
    }
    show(format, &answer, print_text);
    Ok(())
}

fn estimate(e: &Estimate) -> String {
    match (e.value, e.ci_low, e.ci_high) {
        (Some(v), Some(lo), Some(hi)) => format!("{v:.4} [{lo:.4}, {hi:.4}]"),
        (Some(v), _, _) => format!("{v:.4}"),
        _ => "n/a".to_string(),
    }
}

fn print_text(r: &ValidationReport) {
    let verdict = if r.passed { "PASSED" } else { "FAILED" };
    let id = r.evidence_id.map(|id| format!(" (evidence {id})")).unwrap_or_default();
    println!("validation of {} on {}: {verdict}{id}, {} rows, produced by {}", r.model, r.data, r.n, r.produced_by);
    println!("metrics (95% intervals):");
    for (name, e) in &r.metrics {
        println!("  {name:<10} {}", estimate(e));
    }
    if let Some(c) = &r.calibration {
        println!("calibration: ECE {:.4}", c.ece);
    }
    let weak: Vec<_> = r.segments.iter().filter(|s| s.significant).collect();
    println!("weak segments ({}): {}", r.segment_test, if weak.is_empty() { "none" } else { "" });
    for s in weak {
        println!("  {} (n={}): {} {:.4}, gap {:+.4}, p={:.3}", s.segment, s.n, s.metric, s.value, s.gap, s.p_value);
    }
    if let Some(c) = &r.champion {
        let diff = c.roc_auc_difference.as_ref().map(estimate).unwrap_or_else(|| "n/a".into());
        println!("champion {}@{}: ROC AUC difference {diff}", c.model, c.version);
    }
    if let Some(f) = &r.fairness {
        for a in &f.attributes {
            let ratio = a.demographic_parity_ratio.map_or("n/a".into(), |x| format!("{x:.4}"));
            let eo = a.equalized_odds_difference.map_or("n/a".into(), |x| format!("{x:.4}"));
            println!("fairness {}: demographic parity ratio {ratio}, equalized odds difference {eo}", a.attribute);
        }
    }
    println!("checks:");
    for c in &r.checks {
        let value = c.value.map_or("n/a".into(), |v| format!("{v:.4}"));
        println!("  {} {}: {value} (threshold {})", if c.passed { "ok  " } else { "FAIL" }, c.name, c.threshold);
    }
}

pub async fn stress(client: &Client, format: Format, args: StressArgs) -> Result<()> {
    let (name, v) = split_version(&args.version);
    let request = StressRequest {
        data: args.data,
        label: args.label,
        unseen: args.unseen,
        monotone: args.monotone,
        seed: Some(args.seed),
    };
    let path = format!("/api/v1/models/{name}/versions/{v}/stress-tests");
    let answer = client.post::<_, StressReport>(&path, &request).await?;
    if format == Format::Html {
        return print_page(client, &answer.body.model, answer.body.evidence_id).await;
    }
    show(format, &answer, print_stress);
    Ok(())
}

/// The evidence just filed as one self-contained HTML page (the model report's section).
async fn print_page(client: &Client, model: &str, evidence_id: Option<i64>) -> Result<()> {
    let id = evidence_id.ok_or_else(|| anyhow::anyhow!("the server filed no evidence to show"))?;
    // The server names the exact version it ran (`NAME@V`).
    let (name, v) = split_version(model);
    let version: u32 = v.parse().map_err(|_| anyhow::anyhow!("the server named no version in {model:?}"))?;
    print!("{}", super::report::evidence_page(client, &name, version, id).await?);
    Ok(())
}

fn print_stress(r: &StressReport) {
    let verdict = if r.passed { "PASSED" } else { "FAILED" };
    let id = r.evidence_id.map(|id| format!(" (evidence {id})")).unwrap_or_default();
    println!("stress test of {} on {} (seed {}): {verdict}{id}", r.model, r.data, r.seed);
    for c in &r.checks {
        let value = c.value.map_or("n/a".into(), |v| format!("{v:.4}"));
        let threshold = c.threshold.map_or(String::new(), |t| format!(" (threshold {t})"));
        println!("  {} {}: {value}{threshold}", if c.passed { "ok  " } else { "FAIL" }, c.name);
        println!("       {}", c.detail);
        for f in c.failures.iter().take(10) {
            let input: Vec<String> =
                f.input.iter().map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("<missing>"))).collect();
            println!("       {}: {} -> {}", input.join(", "), f.reason, f.output);
        }
        if c.failures.len() > 10 {
            println!("       … and {} more (--format json lists them all)", c.failures.len() - 10);
        }
    }
}

pub async fn explain(client: &Client, format: Format, args: ExplainArgs) -> Result<()> {
    let (name, v) = split_version(&args.version);
    let request = ExplainRequest {
        data: args.data,
        rows: args.rows,
        label: args.label,
        background: args.background,
        repeats: Some(args.repeats),
        seed: Some(args.seed),
        method: Some(args.method),
        covers: args.covers,
        background_rows: Some(args.background_rows),
        permutations: Some(args.permutations),
    };
    let path = format!("/api/v1/models/{name}/versions/{v}/explanations");
    let answer = client.post::<_, ExplanationReport>(&path, &request).await?;
    if let (Some(out), Some(artifact)) = (&args.rows_out, &answer.body.rows_artifact) {
        client.download(artifact, out).await?;
        eprintln!("the rows' SHAP values are in {}", out.display());
    }
    if format == Format::Html {
        return print_page(client, &answer.body.model, answer.body.evidence_id).await;
    }
    show(format, &answer, print_explanation);
    Ok(())
}

fn print_explanation(r: &ExplanationReport) {
    let id = r.evidence_id.map(|id| format!(" (evidence {id})")).unwrap_or_default();
    println!(
        "explanation of {} on {} rows of {}{id}: {} in {}, base value {:.4}",
        r.model,
        r.rows.len(),
        r.data,
        r.method,
        r.output,
        r.base_value
    );
    println!(
        "additivity: {} (largest error {:.1e}); background: {} rows of {}",
        if r.passed { "holds on every row" } else { "FAILS" },
        r.additivity_max_error,
        r.background_rows,
        r.background
    );
    let permutation = r.permutation_metric.as_deref().map_or(String::new(), |m| format!("  PERMUTATION ({m} drop)"));
    println!("\n{:<28} {:>14}{permutation}", "FEATURE", "MEAN |SHAP|");
    for g in &r.global {
        let p = match (g.permutation_importance, g.std) {
            (Some(m), Some(s)) => format!("  {m:>9.4} ± {s:.4}"),
            _ => String::new(),
        };
        println!("{:<28} {:>14.6}{p}", g.feature, g.mean_abs_shap);
    }
    if let (Some(orderings), Some(error)) = (r.orderings, r.sampling_error) {
        println!("\nsampled: {orderings} feature orderings per row; largest standard error of a value {error:.2e}");
    }
    for d in &r.dependence {
        let bins: Vec<String> = d.bins.iter().map(|b| format!("{} → {:+.3}", b.label, b.mean_shap)).collect();
        println!("\ndependence of {} (mean SHAP by value): {}", d.feature, bins.join(", "));
    }
}

pub async fn explain_record(client: &Client, format: Format, args: ExplainRecordArgs) -> Result<()> {
    let (name, v) = split_version(&args.version);
    let text =
        std::fs::read_to_string(&args.record).map_err(|e| anyhow::anyhow!("reading {}: {e}", args.record.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{} is not JSON: {e}", args.record.display()))?;
    let request = match value {
        serde_json::Value::Object(one) => ExplainRecordsRequest { record: Some(one), ..Default::default() },
        serde_json::Value::Array(many) => {
            let records = many
                .into_iter()
                .map(|v| match v {
                    serde_json::Value::Object(o) => Ok(o),
                    _ => Err(anyhow::anyhow!("{}: every record must be an object", args.record.display())),
                })
                .collect::<Result<Vec<_>>>()?;
            ExplainRecordsRequest { records: Some(records), ..Default::default() }
        }
        _ => anyhow::bail!("{}: give an object (one record) or an array of objects", args.record.display()),
    };
    let request =
        ExplainRecordsRequest { reasons: args.reasons.then_some(true), adverse: Some(args.adverse.clone()), ..request };
    let path = format!("/api/v1/projects/{}/models/{name}/versions/{v}/explain", args.project);
    let answer = client.post::<_, RecordExplanations>(&path, &request).await?;
    let top = args.top;
    show(format, &answer, |r: &RecordExplanations| {
        for (i, e) in r.explanations.iter().enumerate() {
            if i > 0 {
                println!();
            }
            println!(
                "record {}: prediction {}, output {:.4} ({}) = base value {:.4} + contributions",
                i + 1,
                e.prediction,
                e.output,
                e.output_space,
                e.base_value
            );
            println!("  {:<28} {:>14} {:>14}", "FEATURE", "VALUE", "CONTRIBUTION");
            for c in e.contributions.iter().take(top) {
                println!("  {:<28} {:>14} {:>+14.4}", c.feature, c.value.as_deref().unwrap_or("-"), c.contribution);
            }
            if e.contributions.len() > top {
                println!("  … {} more (--top, or --format json)", e.contributions.len() - top);
            }
            if !e.reasons.is_empty() {
                println!("  principal reasons (adverse action notice):");
                for r in &e.reasons {
                    println!("    {}. {}", r.rank, r.text);
                }
            }
        }
    });
    Ok(())
}
