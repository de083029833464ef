//! `riskops validate`: metrics with intervals, calibration, weak segments, the champion on
//! the same rows, fairness, and checks against the policy's thresholds.

use super::stats::{Placements, bootstrap, holm, normal_interval, p_below};
use super::{Scorer, cell_text, label_texts, label_values, produced, read_table, score};
use crate::endpoint::EndpointSettings;
use riskops_api::validation::{
    AttributeFairness, Calibration, CalibrationBin, ChampionResult, CheckResult, Estimate, FairnessResult, GroupResult,
    SegmentResult, ValidationReport,
};
use riskops_core::service::{PRODUCED_BY, ProducedEvidence, ValidationJob};
use riskops_core::{Error, Result};
use riskops_data::{Table, Values};
use riskops_model::{Prediction, Task};
use riskops_stats::metrics::{Confusion, log_loss_term};
use riskops_stats::{BinaryOutcomes, GroupOutcomes, RegressionSummary};
use std::collections::BTreeMap;

/// Segments smaller than this are not tested (too few rows to say anything).
const MIN_SEGMENT: usize = 30;
/// Numeric features are cut into this many quantile bins.
const QUANTILE_BINS: usize = 4;
const SEGMENT_TEST: &str = "slices of one feature (numbers at their quartiles) and crosses of two (among the 8 \
     features with the weakest slices), at least 30 rows: one-sided z-test of the slice's ROC AUC (DeLong variance) \
     against the whole's, Holm-adjusted over all slices tested (classifiers only)";

/// A metric of a summary, undefined in some cases.
type Metric<S> = fn(&S) -> Option<f64>;

/// Scores of a binary classifier, row by row.
struct Scored {
    actual: Vec<bool>,
    predicted: Vec<bool>,
    scores: Vec<f64>,
}

pub fn validate(job: &ValidationJob, endpoints: &EndpointSettings) -> Result<Vec<ProducedEvidence>> {
    let name = format!("{}@{}", job.model.version.name, job.model.version.version);
    let model = Scorer::load(&job.model, endpoints)?;
    let table = read_table(&job.data.file)?;
    let label = table
        .columns
        .iter()
        .find(|c| c.name == job.options.label)
        .ok_or_else(|| Error::invalid("label", format!("the dataset has no column {:?}", job.options.label)))?;
    for p in &job.options.protected {
        if !table.columns.iter().any(|c| &c.name == p) {
            return Err(Error::invalid("protected", format!("the dataset has no column {p:?}")));
        }
    }
    let prediction = score(&model, &table, Some(&job.options.label))?;
    let data = format!("{}@{}", job.data.version.name, job.data.version.version);
    let mut report = ValidationReport {
        evidence_id: None,
        kind: "validation".into(),
        produced_by: PRODUCED_BY.into(),
        passed: false,
        model: name,
        data,
        task: String::new(),
        label: job.options.label.clone(),
        positive_class: None,
        n: table.rows as u64,
        metrics: BTreeMap::new(),
        calibration: None,
        segment_test: SEGMENT_TEST.into(),
        segments: Vec::new(),
        fairness: None,
        champion: None,
        checks: Vec::new(),
        fairness_evidence_id: None,
    };
    let t = &job.thresholds;
    let threshold = |k: &str| t.get(k).copied().unwrap_or(f64::NAN);
    let mut fairness_checks = Vec::new();
    match model.signature().task {
        Task::Regression => {
            report.task = "regression".into();
            let actual: Vec<f64> = (0..table.rows).map(|r| cell_f64(&label.values, r)).collect();
            let predicted = label_values(&prediction.labels);
            report.metrics = regression_metrics(&actual, &predicted, job.options.seed);
            let r2 = report.metrics.get("r2").and_then(|e| e.value);
            report.checks.push(check("validation.min_r2", r2, threshold("validation.min_r2"), |v, t| v >= t));
        }
        Task::Classification => {
            report.task = "classification".into();
            let (positive, scored) = binary(&prediction, &label.values, table.rows, job.options.threshold)?;
            report.positive_class = Some(positive.clone());
            report.metrics = classification_metrics(&scored, job.options.seed);
            let calibration = calibration(&scored);
            let ece = calibration.ece;
            report.calibration = Some(calibration);
            report.segments = segments(&table, &scored, &job.options.label, job.options.segments.as_deref())?;
            let auc = report.metrics.get("roc_auc").and_then(|e| e.value);
            report
                .checks
                .push(check("validation.min_roc_auc", auc, threshold("validation.min_roc_auc"), |v, t| v >= t));
            report.checks.push(check("validation.max_ece", Some(ece), threshold("validation.max_ece"), |v, t| v <= t));
            if let Some(champion) = &job.champion {
                let result = champion_result(champion, endpoints, &table, &job.options, &scored)?;
                let drop = result.roc_auc_difference.as_ref().and_then(|d| d.value);
                let max_drop = threshold("validation.max_auc_drop_vs_champion");
                report.checks.push(check("validation.max_auc_drop_vs_champion", drop, max_drop, |v, t| v >= -t));
                report.champion = Some(result);
            }
            if !job.options.protected.is_empty() {
                let fairness = fairness(&table, &scored, &job.options.protected);
                for a in &fairness.attributes {
                    fairness_checks.push(check(
                        &format!("fairness.min_dp_ratio[{}]", a.attribute),
                        a.demographic_parity_ratio,
                        threshold("fairness.min_dp_ratio"),
                        |v, t| v >= t,
                    ));
                    fairness_checks.push(check(
                        &format!("fairness.max_eo_difference[{}]", a.attribute),
                        a.equalized_odds_difference,
                        threshold("fairness.max_eo_difference"),
                        |v, t| v <= t,
                    ));
                }
                report.fairness = Some(fairness);
            }
        }
    }
    report.passed = report.checks.iter().all(|c| c.passed);
    let mut out = vec![file(job, &report)?];
    if report.fairness.is_some() {
        let mut fair = report.clone();
        fair.kind = "fairness".into();
        fair.checks = fairness_checks;
        fair.passed = fair.checks.iter().all(|c| c.passed);
        out.push(file(job, &fair)?);
    }
    Ok(out)
}

fn file(job: &ValidationJob, report: &ValidationReport) -> Result<ProducedEvidence> {
    let failed: Vec<&str> = report.checks.iter().filter(|c| !c.passed).map(|c| c.name.as_str()).collect();
    let summary = if failed.is_empty() {
        format!("produced by riskops on {}: {} checks passed", report.data, report.checks.len())
    } else {
        format!("produced by riskops on {}: failed {}", report.data, failed.join(", "))
    };
    let bytes = serde_json::to_vec_pretty(report).map_err(|e| Error::internal(format!("encoding the report: {e}")))?;
    produced(&job.work_dir, &report.kind, report.passed, summary, bytes)
}

fn check(name: &str, value: Option<f64>, threshold: f64, ok: impl Fn(f64, f64) -> bool) -> CheckResult {
    // An undefined value (e.g. one class only) or threshold does not pass.
    let passed = value.is_some_and(|v| threshold.is_finite() && ok(v, threshold));
    CheckResult { name: name.to_string(), value, threshold, passed }
}

fn cell_f64(values: &Values, row: usize) -> f64 {
    match values {
        Values::Int(v) => v[row] as f64,
        Values::Float(v) => v[row],
        Values::Bool(v) => f64::from(u8::from(v[row])),
        Values::Str(s) => s.get(row).and_then(|x| x.parse().ok()).unwrap_or(f64::NAN),
    }
}

/// The positive class (the second of two) and each row's outcome, decision and score.
fn binary(p: &Prediction, label: &Values, rows: usize, threshold: Option<f64>) -> Result<(String, Scored)> {
    let (Some(probs), Some(classes)) = (&p.probabilities, &p.classes) else {
        return Err(Error::invalid("model", "the classifier gives no probabilities to validate"));
    };
    let names = classes.names();
    if names.len() != 2 {
        return Err(Error::invalid(
            "model",
            format!("validate handles binary classifiers; this one has {} classes", names.len()),
        ));
    }
    let positive = names[1].clone();
    let mut actual = Vec::with_capacity(rows);
    for r in 0..rows {
        match cell_text(label, r) {
            Some(v) if names.contains(&v) => actual.push(v == positive),
            Some(v) => {
                return Err(Error::invalid(
                    "label",
                    format!("row {}: {v:?} is not a class of the model ({})", r + 1, names.join(", ")),
                ));
            }
            None => return Err(Error::invalid("label", format!("row {}: the label is missing", r + 1))),
        }
    }
    let scores: Vec<f64> = probs.iter().skip(1).step_by(2).map(|&x| f64::from(x)).collect();
    let predicted = match threshold {
        Some(t) => scores.iter().map(|&s| s >= t).collect(),
        None => label_texts(&p.labels).iter().map(|l| *l == positive).collect(),
    };
    Ok((positive, Scored { actual, predicted, scores }))
}

fn pick<T: Copy>(v: &[T], idx: &[usize]) -> Vec<T> {
    idx.iter().map(|&i| v[i]).collect()
}

fn outcomes(s: &Scored) -> Option<BinaryOutcomes> {
    BinaryOutcomes::from_slices(&s.actual, &s.predicted, Some(&s.scores)).ok()
}

fn classification_metrics(s: &Scored, seed: u64) -> BTreeMap<String, Estimate> {
    let mut metrics = BTreeMap::new();
    let auc = Placements::new(&s.actual, &s.scores).map(|p| {
        let (lo, hi) = normal_interval(p.auc(), p.variance(), 0.0, 1.0);
        Estimate { value: Some(p.auc()), ci_low: Some(lo), ci_high: Some(hi) }
    });
    metrics.insert("roc_auc".into(), auc.unwrap_or(Estimate { value: None, ci_low: None, ci_high: None }));
    let whole = outcomes(s);
    // A resample's metrics need only its confusion counts and log-loss sum, so each is one
    // pass over drawn row numbers (sklearn's log loss term per row, computed once).
    let loss: Vec<Option<f64>> =
        s.actual.iter().zip(&s.scores).map(|(&a, &p)| p.is_finite().then(|| log_loss_term(a, p))).collect();
    let outside_unit = s.scores.iter().any(|p| p.is_finite() && !(0.0..=1.0).contains(p));
    let intervals = bootstrap(s.actual.len(), seed, |rows| {
        let (mut counts, mut loss_sum, mut scored) = (Confusion::default(), 0.0, 0u64);
        for i in rows {
            counts.add(s.actual[i], s.predicted[i]);
            if let Some(l) = loss[i] {
                loss_sum += l;
                scored += 1;
            }
        }
        let log_loss = (scored > 0 && !outside_unit).then(|| loss_sum / scored as f64);
        [counts.accuracy(), counts.precision(), counts.recall(), counts.f1(), log_loss]
    });
    let named: [(&str, Metric<BinaryOutcomes>); 5] = [
        ("accuracy", BinaryOutcomes::accuracy),
        ("precision", BinaryOutcomes::precision),
        ("recall", BinaryOutcomes::recall),
        ("f1", BinaryOutcomes::f1),
        ("log_loss", BinaryOutcomes::log_loss),
    ];
    for ((name, metric), ci) in named.iter().zip(intervals) {
        let value = whole.as_ref().and_then(metric);
        metrics.insert(name.to_string(), Estimate { value, ci_low: ci.map(|c| c.0), ci_high: ci.map(|c| c.1) });
    }
    metrics
}

fn regression_metrics(actual: &[f64], predicted: &[f64], seed: u64) -> BTreeMap<String, Estimate> {
    let whole = RegressionSummary::from_slices(actual, predicted).ok();
    let named: [(&str, Metric<RegressionSummary>); 4] = [
        ("mae", RegressionSummary::mae),
        ("rmse", RegressionSummary::rmse),
        ("mape", RegressionSummary::mape),
        ("r2", RegressionSummary::r2),
    ];
    let intervals = bootstrap(actual.len(), seed, |rows| {
        let mut summary = RegressionSummary::new();
        for i in rows {
            summary.add(actual[i], predicted[i]);
        }
        named.map(|(_, metric)| metric(&summary))
    });
    let mut metrics = BTreeMap::new();
    for ((name, metric), ci) in named.iter().zip(intervals) {
        let value = whole.as_ref().and_then(metric);
        metrics.insert(name.to_string(), Estimate { value, ci_low: ci.map(|c| c.0), ci_high: ci.map(|c| c.1) });
    }
    metrics
}

/// Ten equal-width bins of the positive class's probability.
fn calibration(s: &Scored) -> Calibration {
    let mut n = [0u64; 10];
    let mut sum_score = [0.0; 10];
    let mut positives = [0u64; 10];
    for ((&a, &p), _) in s.actual.iter().zip(&s.scores).zip(0..) {
        let b = ((p * 10.0).floor().max(0.0) as usize).min(9);
        n[b] += 1;
        sum_score[b] += p;
        positives[b] += u64::from(a);
    }
    let total = s.actual.len().max(1) as f64;
    let mut ece = 0.0;
    let bins = (0..10)
        .map(|b| {
            let (mean, frac) = match n[b] {
                0 => (None, None),
                k => (Some(sum_score[b] / k as f64), Some(positives[b] as f64 / k as f64)),
            };
            if let (Some(m), Some(f)) = (mean, frac) {
                ece += n[b] as f64 / total * (f - m).abs();
            }
            CalibrationBin {
                lower: b as f64 / 10.0,
                upper: (b + 1) as f64 / 10.0,
                n: n[b],
                mean_predicted: mean,
                fraction_positive: frac,
            }
        })
        .collect();
    Calibration { ece, bins }
}

/// A slice's name and its rows, in increasing order.
type Slice = (String, Vec<usize>);

/// Row indices of each slice of a column: quantile bins for numbers, values for text.
fn slices(values: &Values, name: &str) -> Vec<Slice> {
    let rows = values.len();
    match values {
        Values::Str(_) | Values::Bool(_) => {
            let mut by: BTreeMap<String, Vec<usize>> = BTreeMap::new();
            for r in 0..rows {
                if let Some(v) = cell_text(values, r) {
                    by.entry(v).or_default().push(r);
                }
            }
            by.into_iter().map(|(v, idx)| (format!("{name} = {v}"), idx)).collect()
        }
        Values::Int(_) | Values::Float(_) => {
            let mut present: Vec<f64> = (0..rows).map(|r| cell_f64(values, r)).filter(|x| !x.is_nan()).collect();
            present.sort_by(f64::total_cmp);
            if present.is_empty() {
                return Vec::new();
            }
            let mut edges: Vec<f64> = (1..QUANTILE_BINS)
                .map(|q| present[(q * present.len() / QUANTILE_BINS).min(present.len() - 1)])
                .collect();
            edges.dedup();
            let fmt = |x: f64| format!("{x}");
            let mut out: Vec<(String, Vec<usize>)> = Vec::new();
            let bounds: Vec<(f64, f64)> = std::iter::once(f64::NEG_INFINITY)
                .chain(edges.iter().copied())
                .zip(edges.iter().copied().chain(std::iter::once(f64::INFINITY)))
                .collect();
            for (lo, hi) in bounds {
                let idx: Vec<usize> = (0..rows)
                    .filter(|&r| {
                        let x = cell_f64(values, r);
                        x >= lo && x < hi
                    })
                    .collect();
                let label = match (lo.is_finite(), hi.is_finite()) {
                    (false, true) => format!("{name} < {}", fmt(hi)),
                    (true, false) => format!("{name} >= {}", fmt(lo)),
                    _ => format!("{name} in [{}, {})", fmt(lo), fmt(hi)),
                };
                out.push((label, idx));
            }
            out
        }
    }
}

/// The rows of every cell of two features' slices, cell `i * b.len() + j` holding slice i of
/// `a` and slice j of `b`, rows ascending: one pass over the rows (each row's slice per
/// feature looked up), not a search per pair of slices.
fn crossed(a: &[Slice], b: &[Slice], rows: usize) -> Vec<Vec<usize>> {
    let slice_of = |slices: &[Slice]| {
        let mut of = vec![usize::MAX; rows];
        for (k, (_, idx)) in slices.iter().enumerate() {
            for &r in idx {
                of[r] = k;
            }
        }
        of
    };
    let (of_a, of_b) = (slice_of(a), slice_of(b));
    let mut cells = vec![Vec::new(); a.len() * b.len()];
    for r in 0..rows {
        if of_a[r] != usize::MAX && of_b[r] != usize::MAX {
            cells[of_a[r] * b.len() + of_b[r]].push(r);
        }
    }
    cells
}

/// Pairs of features are crossed among at most this many (those with the weakest slices).
const PAIR_COLUMNS: usize = 8;

/// Slices on one feature and on two (the cross of two features' slices) whose ROC AUC is
/// below the whole's, tested and Holm-corrected together, weakest (most significant, then
/// largest gap) first.
fn segments(table: &Table, s: &Scored, label: &str, chosen: Option<&[String]>) -> Result<Vec<SegmentResult>> {
    let Some(whole) = Placements::new(&s.actual, &s.scores) else { return Ok(Vec::new()) };
    let overall = whole.auc();
    if let Some(chosen) = chosen
        && let Some(missing) = chosen.iter().find(|c| !table.columns.iter().any(|t| &t.name == *c))
    {
        return Err(Error::invalid("segments", format!("the dataset has no column {missing:?}")));
    }
    let columns = table.columns.iter().filter(|c| match chosen {
        Some(chosen) => chosen.contains(&c.name),
        None => c.name != label && !riskops_model::bind::is_id_like(&c.name),
    });
    let test = |segment: String, idx: &[usize]| -> Option<(String, usize, f64, f64)> {
        if idx.len() < MIN_SEGMENT || idx.len() == s.actual.len() {
            return None;
        }
        let p = Placements::new(&pick(&s.actual, idx), &pick(&s.scores, idx))?;
        Some((segment, idx.len(), p.auc(), p_below(p.auc(), p.variance(), overall)))
    };
    let mut found: Vec<(String, usize, f64, f64)> = Vec::new();
    // Per column: its slices, and its weakest single slice's p-value (to pick pairs).
    let mut sliced: Vec<(Vec<Slice>, f64)> = Vec::new();
    for column in columns {
        let slices = slices(&column.values, &column.name);
        let mut weakest: f64 = 1.0;
        for (segment, idx) in &slices {
            if let Some(t) = test(segment.clone(), idx) {
                weakest = weakest.min(t.3);
                found.push(t);
            }
        }
        sliced.push((slices, weakest));
    }
    sliced.sort_by(|a, b| a.1.total_cmp(&b.1));
    sliced.truncate(PAIR_COLUMNS);
    for (i, (a, _)) in sliced.iter().enumerate() {
        for (b, _) in &sliced[i + 1..] {
            for (k, both) in crossed(a, b, s.actual.len()).iter().enumerate() {
                let (sa, sb) = (&a[k / b.len()].0, &b[k % b.len()].0);
                found.extend(test(format!("{sa} & {sb}"), both));
            }
        }
    }
    let adjusted = holm(&found.iter().map(|f| f.3).collect::<Vec<_>>());
    let mut out: Vec<SegmentResult> = found
        .into_iter()
        .zip(adjusted)
        .map(|((segment, n, value, _), p)| SegmentResult {
            segment,
            n: n as u64,
            metric: "roc_auc".into(),
            value,
            gap: value - overall,
            p_value: p,
            significant: p < 0.05,
        })
        .filter(|r| r.gap < 0.0)
        .collect();
    out.sort_by(|a, b| a.p_value.total_cmp(&b.p_value).then(a.gap.total_cmp(&b.gap)));
    Ok(out)
}

fn champion_result(
    champion: &riskops_core::service::ModelInput,
    endpoints: &EndpointSettings,
    table: &Table,
    options: &riskops_core::service::ValidationOptions,
    challenger: &Scored,
) -> Result<ChampionResult> {
    let model = Scorer::load(champion, endpoints)?;
    let label = table.columns.iter().find(|c| c.name == options.label).map(|c| &c.values);
    let Some(label) = label else { return Err(Error::invalid("label", "missing")) };
    let prediction = score(&model, table, Some(&options.label))?;
    let (_, scored) = binary(&prediction, label, table.rows, options.threshold)?;
    let metrics = classification_metrics(&scored, options.seed);
    let difference = match (
        Placements::new(&challenger.actual, &challenger.scores),
        Placements::new(&scored.actual, &scored.scores),
    ) {
        (Some(a), Some(b)) => {
            let d = a.auc() - b.auc();
            let var = a.variance() + b.variance() - 2.0 * a.covariance_with(&b);
            let (lo, hi) = normal_interval(d, var, -1.0, 1.0);
            Some(Estimate { value: Some(d), ci_low: Some(lo), ci_high: Some(hi) })
        }
        _ => None,
    };
    Ok(ChampionResult {
        model: champion.version.name.clone(),
        version: champion.version.version,
        metrics,
        roc_auc_difference: difference,
    })
}

fn fairness(table: &Table, s: &Scored, protected: &[String]) -> FairnessResult {
    let attributes = protected
        .iter()
        .filter_map(|attribute| {
            let column = table.columns.iter().find(|c| &c.name == attribute)?;
            let groups: Vec<String> =
                (0..table.rows).map(|r| cell_text(&column.values, r).unwrap_or_else(|| "(missing)".into())).collect();
            let g = GroupOutcomes::from_slices(&groups, &s.actual, &s.predicted).ok()?;
            Some(AttributeFairness {
                attribute: attribute.clone(),
                groups: g
                    .by_group()
                    .into_iter()
                    .map(|m| GroupResult {
                        group: m.group,
                        n: m.count,
                        selection_rate: Some(m.selection_rate),
                        true_positive_rate: Some(m.true_positive_rate),
                        false_positive_rate: Some(m.false_positive_rate),
                    })
                    .collect(),
                demographic_parity_ratio: g.demographic_parity_ratio(),
                demographic_parity_difference: g.demographic_parity_difference(),
                equalized_odds_difference: g.equalized_odds_difference(),
            })
        })
        .collect();
    FairnessResult { attributes }
}
