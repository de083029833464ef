//! Window reports as the API shows them, converted from riskops-monitor's report and
//! core's business value; shared by the monitoring and status routes.

use riskops_api::window::{
    Attribution, BinaryPerformance, Business, ByName, DriftStatus, EstimatedMetric, EstimatedPerformance,
    FeatureAttribution, FeatureDrift, FourFifths, GroupFairness, LastWindow, Latency, MultivariateDrift, Performance,
    PredictionDrift, Quality, ReconstructionError, RegressionPerformance, SkippedFeature, WindowDrift, WindowEstimated,
    WindowExplanation, WindowFairness, WindowMultivariate, WindowReport,
};
use riskops_core::monitoring::{self, MonitoredWindow};
use riskops_monitor as m;
use riskops_monitor::rfc3339;

pub(crate) fn window_report(w: &MonitoredWindow) -> WindowReport {
    let r = &w.report;
    WindowReport {
        start: rfc3339(r.start),
        end: rfc3339(r.end),
        version: r.version.clone(),
        records: r.records,
        labelled: r.labelled,
        drift: drift(&r.drift),
        prediction_drift: r.prediction_drift.as_ref().map(|p| match p {
            Ok(d) => PredictionDrift::Compared(feature_drift(d)),
            Err(reason) => PredictionDrift::Skipped { skipped: reason.clone() },
        }),
        quality: quality(&r.quality),
        performance: r.performance.as_ref().map(performance),
        fairness: by_name(&r.fairness, attribute),
        latency: r.latency.as_ref().map(latency),
        business: w.business.as_ref().map(business),
        explain: r.explain.as_ref().map(|e| match e {
            Ok(e) => WindowExplanation::Computed(attribution(e)),
            Err(reason) => WindowExplanation::Skipped { skipped: reason.clone() },
        }),
        estimated: r.estimated.as_ref().map(|e| match e {
            Ok(e) => WindowEstimated::Computed(Box::new(estimated(e, r.performance.as_ref()))),
            Err(reason) => WindowEstimated::Skipped { skipped: reason.clone() },
        }),
        multivariate: r.multivariate.as_ref().map(|e| match e {
            Ok(e) => WindowMultivariate::Computed(multivariate(e)),
            Err(reason) => WindowMultivariate::Skipped { skipped: reason.clone() },
        }),
    }
}

/// CBPE's estimates, each with the realized value of the window's labelled records beside it.
fn estimated(e: &m::estimation::WindowEstimate, performance: Option<&m::PerformanceReport>) -> EstimatedPerformance {
    let labelled = match performance {
        Some(m::PerformanceReport::Binary(b)) if b.count > 0 => Some(b),
        _ => None,
    };
    let realized = |name: &str| -> Option<f64> {
        let b = labelled?;
        let [[tn, fp], [fn_, tp]] = b.confusion_matrix;
        finite_opt(match name {
            "roc_auc" => b.roc_auc,
            "f1" => b.f1,
            "precision" => b.precision,
            "recall" => b.recall,
            "accuracy" => b.accuracy,
            "true_positive" => Some(tp as f64),
            "true_negative" => Some(tn as f64),
            "false_positive" => Some(fp as f64),
            "false_negative" => Some(fn_ as f64),
            _ => None,
        })
    };
    let metric = |name: &str, v: &m::analysis::EstimatedValue| EstimatedMetric {
        value: finite(v.value),
        sampling_error: finite(v.sampling_error),
        lower: finite(v.lower),
        upper: finite(v.upper),
        lower_threshold: finite(v.lower_threshold),
        upper_threshold: finite(v.upper_threshold),
        alert: v.alert,
        realized: realized(name),
    };
    let x = &e.estimated;
    EstimatedPerformance {
        records: e.records,
        calibrated: e.calibrated,
        chunk_size: e.chunk_size as u64,
        roc_auc: metric("roc_auc", &x.roc_auc),
        f1: metric("f1", &x.f1),
        precision: metric("precision", &x.precision),
        recall: metric("recall", &x.recall),
        accuracy: metric("accuracy", &x.accuracy),
        true_positive: metric("true_positive", &x.true_positive),
        true_negative: metric("true_negative", &x.true_negative),
        false_positive: metric("false_positive", &x.false_positive),
        false_negative: metric("false_negative", &x.false_negative),
    }
}

fn multivariate(e: &m::analysis::Multivariate) -> MultivariateDrift {
    let r = &e.reconstruction_error;
    MultivariateDrift {
        reconstruction_error: ReconstructionError {
            value: finite(r.value),
            sampling_error: finite(r.sampling_error),
            lower: finite(r.lower),
            upper: finite(r.upper),
            lower_threshold: finite(r.lower_threshold),
            upper_threshold: finite(r.upper_threshold),
            alert: r.alert,
        },
    }
}

fn attribution(e: &m::Explanation) -> Attribution {
    Attribution {
        sampled: e.sampled,
        reference_rows: e.reference_rows,
        method: e.method.clone(),
        output_space: e.output_space.clone(),
        shift: e.shift,
        unexplained: finite_opt(e.unexplained),
        features: ByName(
            e.features
                .iter()
                .map(|f| {
                    let a = FeatureAttribution {
                        mean_abs_shap: f.mean_abs_shap,
                        share: f.share,
                        reference_mean_abs_shap: f.reference_mean_abs_shap,
                        reference_share: f.reference_share,
                        change: f.change,
                    };
                    (f.feature.clone(), a)
                })
                .collect(),
        ),
    }
}

pub(crate) fn last_window(w: &monitoring::LastWindow) -> LastWindow {
    LastWindow {
        start: rfc3339(w.start),
        end: rfc3339(w.end),
        version: w.version,
        records: w.records,
        labelled: w.labelled,
        drift_share: w.drift_share,
        drifted_features: w.drifted_features.clone(),
        performance: w.performance.as_ref().map(performance),
        lowest_parity_attribute: w.lowest_parity.as_ref().map(|(a, _)| a.clone()),
        lowest_parity_ratio: w.lowest_parity.as_ref().map(|(_, r)| *r),
        business: w.business.as_ref().map(business),
    }
}

/// JSON has no NaN or infinity: an undefined number is `null`.
fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn finite_opt(x: Option<f64>) -> Option<f64> {
    x.and_then(finite)
}

fn by_name<T, U>(values: &[(String, T)], convert: impl Fn(&T) -> U) -> ByName<U> {
    ByName(values.iter().map(|(name, v)| (name.clone(), convert(v))).collect())
}

fn drift(d: &m::WindowDrift) -> WindowDrift {
    WindowDrift {
        status: if d.insufficient { DriftStatus::Insufficient } else { DriftStatus::Ok },
        min_records: d.min_records,
        share: d.share,
        drifted: d.drifted,
        n_drifted: d.n_drifted as u64,
        n_near_threshold: d.n_near_threshold as u64,
        features: d.features.iter().map(feature_drift).collect(),
        skipped: d
            .skipped
            .iter()
            .map(|(name, reason)| SkippedFeature { name: name.clone(), reason: reason.clone() })
            .collect(),
        exact: d.exact,
        computed_at: d.computed_at.map(riskops_monitor::rfc3339),
        note: d.note.clone(),
    }
}

fn feature_drift(d: &m::FeatureDrift) -> FeatureDrift {
    FeatureDrift {
        name: d.name.clone(),
        column_type: d.column_type.name().to_string(),
        method: d.method.name().to_string(),
        statistic: finite(d.statistic),
        p_value: finite_opt(d.p_value),
        threshold: d.threshold,
        drifted: d.drifted,
        n_reference: d.n_reference,
        n_current: d.n_current,
        exact: d.exact,
        approx_error: finite_opt(d.approx_error),
        p_value_range: d.p_value_range.and_then(|(a, b)| Some([finite(a)?, finite(b)?])),
        near_threshold: d.near_threshold,
    }
}

fn quality(q: &m::Quality) -> Quality {
    let rates = |v: &[(String, Option<f64>)]| by_name(v, |x| finite_opt(*x));
    Quality {
        volume: q.volume,
        rejected: q.rejected,
        rejected_rate: finite_opt(q.rejected_rate),
        rejected_by_reason: ByName(q.rejected_by_reason.iter().map(|(r, n)| (r.name().to_string(), *n)).collect()),
        records_with_violations: q.records_with_violations,
        unknown_features: q.unknown_features,
        missing_rate: rates(&q.missing_rate),
        out_of_range_rate: rates(&q.out_of_range_rate),
        unseen_categories: rates(&q.unseen_categories),
        unseen_counts: by_name(&q.unseen_counts, |n| *n),
        type_violations: by_name(&q.type_violations, |n| *n),
        type_violation_rate: rates(&q.type_violation_rate),
        unseen_examples: by_name(&q.unseen_examples, Clone::clone),
    }
}

fn performance(p: &m::PerformanceReport) -> Performance {
    match p {
        m::PerformanceReport::Binary(b) => Performance::Binary(BinaryPerformance {
            count: b.count,
            accuracy: finite_opt(b.accuracy),
            precision: finite_opt(b.precision),
            recall: finite_opt(b.recall),
            f1: finite_opt(b.f1),
            roc_auc: finite_opt(b.roc_auc),
            roc_auc_max_error: finite_opt(b.roc_auc_max_error),
            log_loss: finite_opt(b.log_loss),
            confusion_matrix: b.confusion_matrix,
            scored: b.scored,
        }),
        m::PerformanceReport::Regression(r) => Performance::Regression(RegressionPerformance {
            count: r.count,
            mae: finite_opt(r.mae),
            rmse: finite_opt(r.rmse),
            mape: finite_opt(r.mape),
            r2: finite_opt(r.r2),
        }),
    }
}

fn attribute(f: &m::AttributeFairness) -> WindowFairness {
    WindowFairness {
        records: f.records,
        labelled: f.labelled,
        demographic_parity_difference: finite_opt(f.demographic_parity_difference),
        demographic_parity_ratio: finite_opt(f.demographic_parity_ratio),
        four_fifths: f.four_fifths.as_ref().and_then(|x| {
            Some(FourFifths {
                ratio: finite(x.ratio)?,
                passes: x.passes,
                lowest: x.lowest.clone(),
                highest: x.highest.clone(),
            })
        }),
        equalized_odds_difference: finite_opt(f.equalized_odds_difference),
        groups_exact: f.groups_exact,
        by_group: by_name(&f.by_group, group),
    }
}

fn group(g: &m::GroupFairness) -> GroupFairness {
    GroupFairness {
        count: g.count,
        // A group is only listed when it has records, so its selection rate is defined.
        selection_rate: g.selection_rate,
        labelled: g.labelled,
        accuracy: finite_opt(g.accuracy),
        precision: finite_opt(g.precision),
        recall: finite_opt(g.recall),
        f1: finite_opt(g.f1),
        true_positive_rate: finite_opt(g.true_positive_rate),
        false_positive_rate: finite_opt(g.false_positive_rate),
    }
}

fn latency(l: &m::Latency) -> Latency {
    Latency {
        count: l.count,
        mean_ms: finite_opt(l.mean_ms),
        p50_ms: finite_opt(l.p50_ms),
        p95_ms: finite_opt(l.p95_ms),
        p99_ms: finite_opt(l.p99_ms),
        max_ms: finite_opt(l.max_ms),
        rank_error: l.rank_error,
    }
}

fn business(b: &monitoring::Business) -> Business {
    Business {
        currency: b.currency.clone(),
        value_per_1000: b.value_per_1000,
        cost_per_1000: b.cost_per_1000(),
        value: b.value,
        cost: b.cost(),
        decisions: b.decisions,
    }
}
