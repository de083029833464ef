//! `riskops stress`: the model on inputs it may not have met — edge values, noise, shifted
//! distributions, unseen data — and its declared monotone constraints. Seeded throughout.

use super::stats::{Placements, Rng, normal_interval};
use super::{Scorer, label_texts, produced, read_table, sample_indices, select, to_model_column};
use crate::endpoint::EndpointSettings;
use riskops_api::validation::{StressCheck, StressFailure, StressReport};
use riskops_core::service::{PRODUCED_BY, ProducedEvidence, StressJob};
use riskops_core::{Error, Result};
use riskops_model::{Column, ColumnValues, Task};
use std::collections::BTreeMap;

/// Rows perturbed by the noise, shift and monotonicity checks (a seeded sample).
const SAMPLE_ROWS: usize = 1000;
const NOISE_LEVELS: [f64; 3] = [0.01, 0.05, 0.10];
const SWAP_RATES: [f64; 2] = [0.01, 0.05];
const SHIFTS: [f64; 4] = [0.25, 0.5, 1.0, 2.0];
const UNSEEN: &str = "__riskops_unseen__";

/// What the model gave for a batch: per row the decision (label text) and a score (the
/// positive class's probability, the top probability for multiclass, a regressor's value).
struct Outputs {
    labels: Vec<String>,
    scores: Vec<f64>,
    /// Per row: why the output is not a valid one (not finite, out of range, not summing to 1).
    invalid: Vec<Option<String>>,
}

struct Runner<'a> {
    model: &'a Scorer,
    label: Option<&'a str>,
    /// The first time the model's endpoint did not answer at all: the checks count failures
    /// as the model's, which this is not, so the run ends with it instead of a report.
    unreachable: std::cell::RefCell<Option<Error>>,
}

impl Runner<'_> {
    fn run(&self, columns: &[Column]) -> std::result::Result<Outputs, super::Failure> {
        // Once the endpoint stopped answering the run's result is that error: waiting through
        // the retries of every remaining check would only delay it.
        if let Some(e) = self.unreachable.borrow().as_ref() {
            return Err(super::Failure::Unreachable(e.clone()));
        }
        let p = self.model.predict(columns, self.label).inspect_err(|f| {
            if let super::Failure::Unreachable(e) = f {
                self.unreachable.borrow_mut().get_or_insert_with(|| e.clone());
            }
        })?;
        let labels = label_texts(&p.labels);
        let rows = labels.len();
        let mut scores = Vec::with_capacity(rows);
        let mut invalid = Vec::with_capacity(rows);
        match (&p.probabilities, &p.classes) {
            (Some(probs), Some(classes)) => {
                let k = classes.len().max(1);
                for r in 0..rows {
                    let row = &probs[r * k..(r + 1) * k];
                    let sum: f32 = row.iter().sum();
                    invalid.push(if row.iter().any(|x| !x.is_finite()) {
                        Some("a probability is not finite".to_string())
                    } else if row.iter().any(|&x| !(-1e-6..=1.0 + 1e-6).contains(&x)) {
                        Some("a probability is outside [0, 1]".to_string())
                    } else if (sum - 1.0).abs() > 1e-4 {
                        Some(format!("the probabilities sum to {sum}"))
                    } else {
                        None
                    });
                    let score = if k == 2 { row[1] } else { row.iter().copied().fold(f32::NAN, f32::max) };
                    scores.push(f64::from(score));
                }
            }
            _ => {
                for v in super::label_values(&p.labels) {
                    invalid.push((!v.is_finite()).then(|| "the prediction is not finite".to_string()));
                    scores.push(v);
                }
            }
        }
        Ok(Outputs { labels, scores, invalid })
    }
}

pub fn stress(job: &StressJob, endpoints: &EndpointSettings) -> Result<Vec<ProducedEvidence>> {
    let name = format!("{}@{}", job.model.version.name, job.model.version.version);
    let model = Scorer::load(&job.model, endpoints)?;
    let table = read_table(&job.data.file)?;
    let label = job.options.label.as_deref();
    if let Some(l) = label
        && !table.columns.iter().any(|c| c.name == l)
    {
        return Err(Error::invalid("label", format!("the dataset has no column {l:?}")));
    }
    for (col, _) in &job.options.monotone {
        if !table.columns.iter().any(|c| &c.name == col) {
            return Err(Error::invalid("monotone", format!("the dataset has no column {col:?}")));
        }
    }
    let columns: Vec<Column> = table.columns.iter().map(to_model_column).collect();
    let runner = Runner { model: &model, label, unreachable: Default::default() };
    let mut rng = Rng::new(job.options.seed);
    let sample = sample_rows(&columns, table.rows, &mut rng);
    let base = runner.run(&sample).map_err(super::Failure::into_error)?;
    let features: Vec<&Column> = columns
        .iter()
        .filter(|c| Some(c.name.as_str()) != label && !riskops_model::bind::is_id_like(&c.name))
        .collect();
    let t = |k: &str| job.thresholds.get(k).copied();
    let regression = model.signature().task == Task::Regression;
    let mut checks = vec![
        edge_cases(&runner, &sample, &features),
        noise_robustness(&runner, &sample, &features, &base, regression, t("stress.max_flip_rate"), &mut rng),
    ];
    if let Some(l) = label {
        checks.push(shift_degradation(&runner, &sample, &features, l, t("stress.max_shift_auc_drop"), regression)?);
    }
    if let Some(unseen) = &job.unseen {
        let Some(l) = label else {
            return Err(Error::invalid("label", "is required with --unseen (performance needs outcomes)"));
        };
        let other: Vec<Column> = read_table(&unseen.file)?.columns.iter().map(to_model_column).collect();
        let unseen_name = format!("{}@{}", unseen.version.name, unseen.version.version);
        checks.push(unseen_data(&runner, &columns, &other, l, &unseen_name, t("stress.max_unseen_auc_drop"))?);
    }
    if !job.options.monotone.is_empty() {
        checks.push(monotonicity(&runner, &sample, &job.options.monotone, t("stress.max_monotone_violation_rate")));
    }
    if let Some(e) = runner.unreachable.take() {
        return Err(e);
    }
    let report = StressReport {
        evidence_id: None,
        kind: "stress_test".into(),
        produced_by: PRODUCED_BY.into(),
        passed: checks.iter().all(|c| c.passed),
        model: name,
        data: format!("{}@{}", job.data.version.name, job.data.version.version),
        seed: job.options.seed,
        checks,
    };
    let failed: Vec<&str> = report.checks.iter().filter(|c| !c.passed).map(|c| c.name.as_str()).collect();
    let summary = if failed.is_empty() {
        format!("produced by riskops on {}: {} stress checks passed", report.data, report.checks.len())
    } else {
        format!("produced by riskops on {}: failed {}", report.data, failed.join(", "))
    };
    let bytes = serde_json::to_vec_pretty(&report).map_err(|e| Error::internal(format!("encoding the report: {e}")))?;
    Ok(vec![produced(&job.work_dir, "stress_test", report.passed, summary, bytes)?])
}

/// Up to SAMPLE_ROWS rows drawn without replacement, in their file order.
fn sample_rows(columns: &[Column], rows: usize, rng: &mut Rng) -> Vec<Column> {
    select(columns, &sample_indices(rows, SAMPLE_ROWS, rng))
}

fn numbers(values: &ColumnValues) -> Option<Vec<f64>> {
    match values {
        ColumnValues::Float(v) => Some(v.clone()),
        ColumnValues::Int(v) => Some(v.iter().map(|&x| x as f64).collect()),
        _ => None,
    }
}

/// Numbers present, sorted.
fn sorted_present(values: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((q * (sorted.len() - 1) as f64).round() as usize).min(sorted.len() - 1)]
}

fn std_dev(values: &[f64]) -> f64 {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.len() < 2 {
        return 0.0;
    }
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

/// A column with new numbers (an integer column becomes float, so it can hold a fraction or NaN).
fn with_numbers(name: &str, values: Vec<f64>) -> Column {
    Column { name: name.to_string(), values: ColumnValues::Float(values) }
}

fn replaced(columns: &[Column], column: Column) -> Vec<Column> {
    columns.iter().map(|c| if c.name == column.name { column.clone() } else { c.clone() }).collect()
}

/// Every feature, one at a time, at its extremes and beyond, missing, an unseen category, an
/// empty string: each value on the first sampled row. Outputs must come, finite and in range.
fn edge_cases(runner: &Runner<'_>, sample: &[Column], features: &[&Column]) -> StressCheck {
    let first = select(sample, &[0]);
    let mut failures = Vec::new();
    let mut tried = 0usize;
    let mut by_feature = BTreeMap::new();
    for feature in features {
        let mut cases: Vec<(String, Option<String>, Column)> = Vec::new();
        match numbers(&feature.values) {
            Some(v) => {
                let sorted = sorted_present(&v);
                let mut values: Vec<(String, f64)> = Vec::new();
                if let (Some(&lo), Some(&hi)) = (sorted.first(), sorted.last()) {
                    let span = (hi - lo).max(1.0);
                    values.extend([
                        ("minimum".to_string(), lo),
                        ("maximum".to_string(), hi),
                        ("quantile 0.1%".to_string(), quantile(&sorted, 0.001)),
                        ("quantile 99.9%".to_string(), quantile(&sorted, 0.999)),
                        ("10× below the range".to_string(), lo - 10.0 * span),
                        ("10× above the range".to_string(), hi + 10.0 * span),
                    ]);
                }
                values.push(("missing".to_string(), f64::NAN));
                for (what, x) in values {
                    let shown = (!x.is_nan()).then(|| x.to_string());
                    cases.push((what, shown, with_numbers(&feature.name, vec![x])));
                }
            }
            None => {
                for (what, x) in
                    [("missing", None), ("an unseen category", Some(UNSEEN)), ("an empty string", Some(""))]
                {
                    let column =
                        Column { name: feature.name.clone(), values: ColumnValues::Str(vec![x.map(str::to_string)]) };
                    cases.push((what.to_string(), x.map(str::to_string), column));
                }
            }
        }
        let mut failed = 0.0;
        for (what, shown, column) in cases {
            tried += 1;
            let reason = match runner.run(&replaced(&first, column)) {
                Err(e) => Some((format!("error: {e}"), format!("no output for {what}"))),
                Ok(out) => out.invalid[0]
                    .clone()
                    .map(|why| (format!("{} (score {})", out.labels[0], out.scores[0]), format!("{what}: {why}"))),
            };
            if let Some((output, reason)) = reason {
                failed += 1.0;
                failures.push(StressFailure { input: BTreeMap::from([(feature.name.clone(), shown)]), output, reason });
            }
        }
        by_feature.insert(feature.name.clone(), BTreeMap::from([("failures".to_string(), failed)]));
    }
    StressCheck {
        name: "edge_cases".into(),
        passed: failures.is_empty(),
        value: Some(failures.len() as f64),
        threshold: None,
        by_feature,
        failures,
        detail: format!(
            "{tried} inputs: each feature at its minimum, maximum, 0.1%/99.9% quantiles, 10× its range beyond either end, \
             missing; text features missing, an unseen category, an empty string; value = inputs without a finite, \
             in-range output (probabilities in [0, 1] summing to 1)"
        ),
    }
}

fn flip_rate(base: &Outputs, other: &Outputs, regression: bool) -> f64 {
    let n = base.labels.len().max(1) as f64;
    if regression {
        // A regressor "flips" when its value moves by more than a tenth of its spread.
        let tolerance = 0.1 * std_dev(&base.scores).max(f64::EPSILON);
        base.scores.iter().zip(&other.scores).filter(|(a, b)| (*a - *b).abs() > tolerance).count() as f64 / n
    } else {
        base.labels.iter().zip(&other.labels).filter(|(a, b)| a != b).count() as f64 / n
    }
}

fn score_change(base: &Outputs, other: &Outputs) -> f64 {
    let n = base.scores.len().max(1) as f64;
    base.scores.iter().zip(&other.scores).map(|(a, b)| (a - b).abs()).filter(|d| d.is_finite()).sum::<f64>() / n
}

/// The sampled rows' values of `full` with Gaussian noise at `level` of the whole column's
/// standard deviation. The spread comes from every row; only the sampled rows are scored.
fn noisy(full: &Column, sampled: &Column, level: f64, rng: &mut Rng) -> Option<Column> {
    let sd = std_dev(&numbers(&full.values)?);
    let v = numbers(&sampled.values)?;
    Some(with_numbers(&full.name, v.iter().map(|x| x + level * sd * rng.normal()).collect()))
}

/// The sampled rows' values with a share `rate` swapped to a random category of the whole
/// column.
fn swapped(full: &Column, sampled: &Column, rate: f64, rng: &mut Rng) -> Option<Column> {
    let (ColumnValues::Str(all), ColumnValues::Str(v)) = (&full.values, &sampled.values) else { return None };
    let mut categories: Vec<&String> = all.iter().flatten().collect();
    categories.sort();
    categories.dedup();
    if categories.len() < 2 {
        return None;
    }
    let values = v
        .iter()
        .map(|x| if rng.unit() < rate { Some(categories[rng.below(categories.len())].clone()) } else { x.clone() })
        .collect();
    Some(Column { name: full.name.clone(), values: ColumnValues::Str(values) })
}

/// The sample's column of the same name as `full`.
fn sampled<'a>(sample: &'a [Column], full: &Column) -> Option<&'a Column> {
    sample.iter().find(|c| c.name == full.name)
}

/// Gaussian noise at 1/5/10% of each numeric feature's standard deviation and category swaps
/// at 1/5%, per feature and on all features at once; value = the overall flip rate at 5%.
fn noise_robustness(
    runner: &Runner<'_>,
    sample: &[Column],
    features: &[&Column],
    base: &Outputs,
    regression: bool,
    threshold: Option<f64>,
    rng: &mut Rng,
) -> StressCheck {
    let mut by_feature: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut record = |key: String, level: String, columns: Vec<Column>, failures: &mut Vec<StressFailure>| match runner
        .run(&columns)
    {
        Ok(out) => {
            let entry = by_feature.entry(key).or_default();
            entry.insert(format!("flip_rate@{level}"), flip_rate(base, &out, regression));
            entry.insert(format!("score_change@{level}"), score_change(base, &out));
        }
        Err(e) => failures.push(StressFailure {
            input: BTreeMap::from([(key, Some(format!("noise {level}")))]),
            output: format!("error: {e}"),
            reason: "the model failed on perturbed input".into(),
        }),
    };
    for feature in features {
        let Some(rows) = sampled(sample, feature) else { continue };
        for level in NOISE_LEVELS {
            if let Some(c) = noisy(feature, rows, level, rng) {
                record(feature.name.clone(), format!("{}%", level * 100.0), replaced(sample, c), &mut failures);
            }
        }
        for rate in SWAP_RATES {
            if let Some(c) = swapped(feature, rows, rate, rng) {
                record(feature.name.clone(), format!("{}%", rate * 100.0), replaced(sample, c), &mut failures);
            }
        }
    }
    for (level, rate) in [(0.01, 0.01), (0.05, 0.05), (0.10, 0.05)] {
        let mut columns = sample.to_vec();
        for feature in features {
            let Some(rows) = sampled(sample, feature) else { continue };
            if let Some(c) = noisy(feature, rows, level, rng).or_else(|| swapped(feature, rows, rate, rng)) {
                columns = replaced(&columns, c);
            }
        }
        record("(all features)".into(), format!("{}%", level * 100.0), columns, &mut failures);
    }
    let value = by_feature.get("(all features)").and_then(|m| m.get("flip_rate@5%")).copied();
    let passed = failures.is_empty() && matches!((value, threshold), (Some(v), Some(t)) if v <= t);
    StressCheck {
        name: "noise_robustness".into(),
        passed,
        value,
        threshold,
        by_feature,
        failures,
        detail: "Gaussian noise at 1%, 5%, 10% of each numeric feature's standard deviation, category swaps at 1%, 5%; \
                 flip rate = share of sampled rows whose decision changes (regressors: value moves > 0.1 of its spread), \
                 score change = mean |Δscore|; value = flip rate with every feature perturbed at 5%"
            .into(),
    }
}

/// ROC AUC (classifiers) or R² (regressors) of the outputs against the label column.
fn performance(out: &Outputs, label: &Column, regression: bool, positive: &str) -> Option<f64> {
    if regression {
        let y = numbers(&label.values)?;
        let summary = riskops_stats::RegressionSummary::from_slices(&y, &out.scores).ok()?;
        return summary.r2();
    }
    let actual: Vec<bool> = label_cells(label).iter().map(|x| x.as_deref() == Some(positive)).collect();
    Placements::new(&actual, &out.scores).map(|p| p.auc())
}

fn label_cells(label: &Column) -> Vec<Option<String>> {
    match &label.values {
        ColumnValues::Float(v) => v
            .iter()
            .map(|x| (!x.is_nan()).then(|| if x.fract() == 0.0 { format!("{}", *x as i64) } else { x.to_string() }))
            .collect(),
        ColumnValues::Int(v) => v.iter().map(|x| Some(x.to_string())).collect(),
        ColumnValues::Bool(v) => v.iter().map(|x| Some(if *x { "True" } else { "False" }.to_string())).collect(),
        ColumnValues::Str(v) => v.clone(),
    }
}

fn positive_class(runner: &Runner<'_>) -> String {
    runner.model.signature().probabilities.as_ref().and_then(|(_, c)| c.names().get(1).cloned()).unwrap_or_default()
}

/// Each feature shifted by 0.25, 0.5, 1 and 2 standard deviations (text: that share of rows
/// moved to the rarest category, capped at all); value = the largest drop at 1 sd.
fn shift_degradation(
    runner: &Runner<'_>,
    sample: &[Column],
    features: &[&Column],
    label: &str,
    threshold: Option<f64>,
    regression: bool,
) -> Result<StressCheck> {
    let label_column = sample.iter().find(|c| c.name == label).ok_or_else(|| Error::invalid("label", "missing"))?;
    let positive = positive_class(runner);
    let base = runner.run(sample).map_err(|e| Error::invalid("data", e.to_string()))?;
    let Some(reference) = performance(&base, label_column, regression, &positive) else {
        return Err(Error::invalid("label", "performance is undefined on these rows (one class only?)"));
    };
    let mut by_feature = BTreeMap::new();
    let mut worst: Option<(f64, String)> = None;
    for feature in features {
        let Some(rows) = sampled(sample, feature) else { continue };
        // The spread and the rarest category are the whole column's; the sampled rows move.
        let sd = numbers(&feature.values).map(|v| std_dev(&v));
        let mut curve = BTreeMap::from([("0".to_string(), reference)]);
        for k in SHIFTS {
            let shifted = match (sd, numbers(&rows.values)) {
                (Some(sd), Some(v)) => Some(with_numbers(&feature.name, v.iter().map(|x| x + k * sd).collect())),
                _ => toward_rarest(feature, rows, (k / 2.0).min(1.0)),
            };
            let Some(shifted) = shifted else { continue };
            let Ok(out) = runner.run(&replaced(sample, shifted)) else { continue };
            if let Some(p) = performance(&out, label_column, regression, &positive) {
                curve.insert(k.to_string(), p);
                if k == 1.0 && worst.as_ref().is_none_or(|(d, _)| reference - p > *d) {
                    worst = Some((reference - p, feature.name.clone()));
                }
            }
        }
        by_feature.insert(feature.name.clone(), curve);
    }
    let value = worst.as_ref().map(|(d, _)| *d);
    let mut fragile: Vec<(&String, f64)> =
        by_feature.iter().filter_map(|(f, c)| c.get("1").map(|p| (f, reference - p))).collect();
    fragile.sort_by(|a, b| b.1.total_cmp(&a.1));
    let top: Vec<String> = fragile.iter().take(5).map(|(f, d)| format!("{f} ({d:+.4})")).collect();
    Ok(StressCheck {
        name: "shift_degradation".into(),
        passed: matches!((value, threshold), (Some(v), Some(t)) if v <= t),
        value,
        threshold,
        by_feature,
        failures: Vec::new(),
        detail: format!(
            "{} by shift (in standard deviations; text features: that share/2 of rows moved to the rarest category); \
             value = the largest drop at 1 sd; most fragile: {}",
            if regression { "R²" } else { "ROC AUC" },
            if top.is_empty() { "none".to_string() } else { top.join(", ") }
        ),
    })
}

fn toward_rarest(full: &Column, sampled: &Column, share: f64) -> Option<Column> {
    let (ColumnValues::Str(all), ColumnValues::Str(v)) = (&full.values, &sampled.values) else { return None };
    let column = full;
    let mut counts: BTreeMap<&String, usize> = BTreeMap::new();
    for x in all.iter().flatten() {
        *counts.entry(x).or_default() += 1;
    }
    let rarest = counts.iter().min_by_key(|(_, n)| **n).map(|(c, _)| (*c).clone())?;
    let every = (1.0 / share.max(1e-9)).round().max(1.0) as usize;
    let values =
        v.iter().enumerate().map(|(i, x)| if i % every == 0 { Some(rarest.clone()) } else { x.clone() }).collect();
    Some(Column { name: column.name.clone(), values: ColumnValues::Str(values) })
}

/// Performance on the unseen data against the validation data, each with its interval.
fn unseen_data(
    runner: &Runner<'_>,
    data: &[Column],
    unseen: &[Column],
    label: &str,
    unseen_name: &str,
    threshold: Option<f64>,
) -> Result<StressCheck> {
    let positive = positive_class(runner);
    let mut by_feature = BTreeMap::new();
    let mut aucs = Vec::new();
    for (name, columns) in [("data", data), (unseen_name, unseen)] {
        let label_column = columns
            .iter()
            .find(|c| c.name == label)
            .ok_or_else(|| Error::invalid("unseen", format!("{name} has no column {label:?}")))?;
        let out = runner.run(columns).map_err(|e| Error::invalid("unseen", format!("{name}: {e}")))?;
        let actual: Vec<bool> =
            label_cells(label_column).iter().map(|x| x.as_deref() == Some(positive.as_str())).collect();
        let Some(p) = Placements::new(&actual, &out.scores) else {
            return Err(Error::invalid("unseen", format!("{name}: the ROC AUC needs both classes")));
        };
        let (lo, hi) = normal_interval(p.auc(), p.variance(), 0.0, 1.0);
        by_feature.insert(
            name.to_string(),
            BTreeMap::from([("roc_auc".to_string(), p.auc()), ("ci_low".to_string(), lo), ("ci_high".to_string(), hi)]),
        );
        aucs.push(p.auc());
    }
    let value = Some(aucs[0] - aucs[1]);
    Ok(StressCheck {
        name: "unseen_data".into(),
        passed: matches!((value, threshold), (Some(v), Some(t)) if v <= t),
        value,
        threshold,
        by_feature,
        failures: Vec::new(),
        detail: format!("ROC AUC (DeLong 95% intervals) on the data and on {unseen_name}; value = the drop"),
    })
}

/// Declared constraints on sampled rows: raising the column by one standard deviation must not
/// move the score against its direction.
fn monotonicity(
    runner: &Runner<'_>,
    sample: &[Column],
    constraints: &[(String, bool)],
    threshold: Option<f64>,
) -> StressCheck {
    let mut by_feature = BTreeMap::new();
    let mut failures = Vec::new();
    let mut worst: f64 = 0.0;
    let base = runner.run(sample);
    for (name, increasing) in constraints {
        let Some(column) = sample.iter().find(|c| &c.name == name) else { continue };
        let Some(v) = numbers(&column.values) else {
            failures.push(StressFailure {
                input: BTreeMap::from([(name.clone(), None)]),
                output: String::new(),
                reason: "monotonicity is checked on numeric columns".into(),
            });
            continue;
        };
        let step = std_dev(&v).max(1e-9);
        let raised = with_numbers(name, v.iter().map(|x| x + step).collect());
        let (Ok(base), Ok(out)) = (&base, runner.run(&replaced(sample, raised))) else { continue };
        let mut violations = 0usize;
        for (r, (a, b)) in base.scores.iter().zip(&out.scores).enumerate() {
            let against = if *increasing { b < &(a - 1e-6) } else { b > &(a + 1e-6) };
            if against {
                violations += 1;
                if failures.len() < 20 {
                    failures.push(StressFailure {
                        input: BTreeMap::from([(name.clone(), Some(format!("{} → {}", v[r], v[r] + step)))]),
                        output: format!("score {a} → {b}"),
                        reason: format!("declared {}", if *increasing { "increasing" } else { "decreasing" }),
                    });
                }
            }
        }
        let rate = violations as f64 / base.scores.len().max(1) as f64;
        worst = worst.max(rate);
        by_feature.insert(name.clone(), BTreeMap::from([("violation_rate".to_string(), rate)]));
    }
    StressCheck {
        name: "monotonicity".into(),
        passed: threshold.is_some_and(|t| worst <= t) && by_feature.len() == constraints.len(),
        value: Some(worst),
        threshold,
        by_feature,
        failures,
        detail: "each sampled row with the column raised by one standard deviation; value = the largest share of rows \
                 whose score moved against the declared direction"
            .into(),
    }
}
