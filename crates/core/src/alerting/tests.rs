//! Monitors judged on window reports: comparisons, per-column worst values, verdicts,
//! relative monitors, sample sizes per family, estimated performance and multivariate drift.

use super::*;

use riskops_monitor::{
    AttributeFairness, BinaryPerformance, ColumnType, FeatureDrift, Method, PerformanceReport, Quality, WindowDrift,
    WindowReport,
};

fn feature(name: &str, drifted: bool, statistic: f64) -> FeatureDrift {
    FeatureDrift {
        name: name.into(),
        column_type: ColumnType::Numerical,
        method: Method::Ks,
        statistic,
        p_value: Some(if drifted { 0.001 } else { 0.5 }),
        threshold: 0.05,
        drifted,
        n_reference: 1000,
        n_current: 120,
        exact: true,
        approx_error: Some(0.0),
        p_value_range: None,
        near_threshold: false,
    }
}

fn parity(ratio: f64) -> AttributeFairness {
    AttributeFairness {
        records: 120,
        labelled: 120,
        demographic_parity_difference: Some(1.0 - ratio),
        demographic_parity_ratio: Some(ratio),
        four_fifths: None,
        equalized_odds_difference: None,
        groups_exact: true,
        by_group: Vec::new(),
    }
}

/// 120 records, all labelled; age drifted; F1 0.71; parity 0.75 for sex, 0.9 for age
/// band; income missing most; a cost of 5,250 per 1,000 decisions.
fn report() -> MonitoredWindow {
    let quality = Quality {
        volume: 120,
        rejected: 0,
        rejected_rate: Some(0.0),
        rejected_by_reason: Vec::new(),
        records_with_violations: 0,
        unknown_features: 0,
        missing_rate: vec![("age".into(), Some(0.01)), ("income".into(), Some(0.08))],
        out_of_range_rate: Vec::new(),
        unseen_categories: Vec::new(),
        unseen_counts: Vec::new(),
        type_violations: Vec::new(),
        type_violation_rate: Vec::new(),
        unseen_examples: Vec::new(),
    };
    let performance = BinaryPerformance {
        count: 120,
        accuracy: Some(0.8),
        precision: None,
        recall: None,
        f1: Some(0.71),
        roc_auc: None,
        roc_auc_max_error: None,
        log_loss: None,
        confusion_matrix: [[60, 10], [14, 36]],
        scored: 0,
    };
    let report = WindowReport {
        start: 0,
        end: 3600,
        version: "1".into(),
        records: 120,
        labelled: 120,
        drift: WindowDrift {
            share: 0.4,
            drifted: false,
            n_drifted: 2,
            n_near_threshold: 0,
            features: vec![feature("age", true, 0.3), feature("income", false, 0.01)],
            skipped: Vec::new(),
            insufficient: false,
            min_records: 100,
            exact: false,
            computed_at: None,
            note: None,
        },
        prediction_drift: None,
        quality,
        performance: Some(PerformanceReport::Binary(performance)),
        fairness: vec![("age_band".into(), parity(0.9)), ("sex".into(), parity(0.75))],
        latency: None,
        explain: None,
        estimated: None,
        multivariate: None,
    };
    let business = Business { currency: "EUR".into(), value_per_1000: -5250.0, value: -630.0, decisions: 120 };
    MonitoredWindow { report, business: Some(business) }
}

fn monitor(v: Value) -> Monitor {
    Monitor::from_json(&v).unwrap()
}

/// The report without labels, with an estimated AUC of 0.62 (alerting) and a
/// reconstruction error of 1.4 (alerting).
fn estimated() -> MonitoredWindow {
    use riskops_monitor::analysis::{Estimated, EstimatedValue, Multivariate, ReconstructionValue};
    let mut w = report();
    w.report.labelled = 0;
    w.report.performance = None;
    let v = |value: f64, alert: bool| EstimatedValue {
        value,
        sampling_error: 0.01,
        lower: value - 0.03,
        upper: value + 0.03,
        lower_threshold: 0.7,
        upper_threshold: 0.9,
        alert,
    };
    let estimated = Estimated {
        roc_auc: v(0.62, true),
        f1: v(0.8, false),
        precision: v(0.8, false),
        recall: v(0.8, false),
        accuracy: v(0.8, false),
        true_positive: v(30.0, false),
        true_negative: v(60.0, false),
        false_positive: v(15.0, false),
        false_negative: v(15.0, false),
    };
    w.report.estimated = Some(Ok(riskops_monitor::estimation::WindowEstimate {
        records: 120,
        calibrated: false,
        chunk_size: 100,
        estimated,
    }));
    let error = ReconstructionValue {
        value: 1.4,
        sampling_error: 0.05,
        lower: 1.25,
        upper: 1.55,
        lower_threshold: 0.8,
        upper_threshold: 1.2,
        alert: true,
    };
    w.report.multivariate = Some(Ok(Multivariate { reconstruction_error: error }));
    w
}

#[test]
fn estimated_performance_and_reconstruction_error_are_judged_without_labels() {
    let w = estimated();
    let auc = monitor(json!({"metric": "estimated.roc_auc", "below": 0.7}));
    assert!(auc.judges(&w, 100) && !auc.judges(&w, 121), "judged on records, like drift, not on labels");
    let o = auc.observe(&w, None);
    assert_eq!((o.value, o.breached), (Some(0.62), true));
    assert_eq!(auc.family().risk_signal(), Some("monitor:performance"));
    assert!(auc.family().advises_retraining());
    assert!(!monitor(json!({"metric": "performance.roc_auc", "below": 0.7})).judges(&w, 100));
    // NannyML's own alert flags are verdicts: they fire when true, without a threshold.
    let alert = monitor(json!({"metric": "estimated.roc_auc.alert"}));
    assert_eq!((alert.comparison, alert.threshold), (Comparison::Above, 1.0));
    assert!(alert.observe(&w, None).breached);
    assert!(!monitor(json!({"metric": "estimated.f1.alert"})).observe(&w, None).breached);
    let error = monitor(json!({"metric": "multivariate.reconstruction_error", "above": 1.2}));
    assert_eq!(error.family(), Family::DataDrift);
    assert!(error.judges(&w, 100) && error.observe(&w, None).breached);
    assert!(monitor(json!({"metric": "multivariate.reconstruction_error.alert"})).observe(&w, None).breached);
    // Without estimates (an open window, no reference scores) there is no value.
    let o = auc.observe(&report(), None);
    assert_eq!((o.value, o.breached), (None, false));
    for bad in ["estimated.auc", "estimated", "estimated.f1.value", "multivariate.error", "multivariate"] {
        let e = validate_metric(bad).unwrap_err();
        assert!(e.message.contains("estimated.<roc_auc|"), "{bad}: {}", e.message);
    }
}

#[test]
fn above_and_below_split_the_values_at_the_threshold() {
    let m = monitor(json!({"metric": "drift.share", "above": 0.4}));
    assert!(m.observe(&report(), None).breached, "0.4 is 0.4 or more");
    let m = monitor(json!({"metric": "drift.share", "below": 0.4}));
    assert!(!m.observe(&report(), None).breached, "0.4 is not below 0.4");
}

#[test]
fn per_column_metrics_take_the_worst_and_say_where() {
    let m = monitor(json!({"metric": "quality.missing_rate", "above": 0.05}));
    let o = m.observe(&report(), None);
    assert_eq!((o.value, o.at.as_deref(), o.breached), (Some(0.08), Some("income"), true));
    let m = monitor(json!({"metric": "fairness.*.demographic_parity_ratio", "below": 0.8}));
    let o = m.observe(&report(), None);
    assert_eq!((o.value, o.at.as_deref(), o.breached), (Some(0.75), Some("sex"), true));
    let m = monitor(json!({"metric": "fairness.age_band.demographic_parity_ratio", "below": 0.8}));
    assert!(!m.observe(&report(), None).breached);
}

#[test]
fn monitors_fire_on_money_and_volume() {
    let m = monitor(json!({"metric": "business.cost_per_1000", "above": 5000}));
    assert_eq!(m.observe(&report(), None).value, Some(5250.0));
    assert!(m.observe(&report(), None).breached);
    assert!(monitor(json!({"metric": "volume", "below": 200})).observe(&report(), None).breached);
}

#[test]
fn feature_verdicts_fire_when_drifted() {
    let m = monitor(json!({"metric": "drift.feature.age"}));
    assert_eq!((m.comparison, m.threshold), (Comparison::Above, 1.0));
    assert!(m.observe(&report(), None).breached);
    assert!(!monitor(json!({"metric": "drift.feature.income"})).observe(&report(), None).breached);
    let o = monitor(json!({"metric": "drift.feature.nope"})).observe(&report(), None);
    assert_eq!((o.value, o.breached), (None, false));
    assert!(monitor(json!({"metric": "drift.any"})).observe(&report(), None).breached);
}

#[test]
fn relative_monitors_compare_the_change_from_the_reference() {
    let m = monitor(json!({"metric": "performance.f1", "below": -0.05, "relative": true}));
    assert!(m.observe(&report(), Some(0.8)).breached, "0.71 is 0.09 under 0.8");
    assert!(!m.observe(&report(), Some(0.74)).breached, "0.03 under");
    assert!(!m.observe(&report(), None).breached, "no reference yet");
    let mut unlabelled = report();
    unlabelled.report.performance = None;
    assert_eq!(m.observe(&unlabelled, Some(0.8)).value, None);
}

#[test]
fn small_windows_are_judged_only_where_the_sample_is_large_enough() {
    // 120 records, 30 of them labelled.
    let mut small = report();
    small.report.labelled = 30;
    let judges = |small: &MonitoredWindow, metric: &str, min: u64| {
        monitor(json!({"metric": metric, "above": 0.1})).judges(small, min)
    };
    assert!(judges(&small, "drift.share", 100) && !judges(&small, "drift.share", 121), "drift needs the records");
    assert!(!judges(&small, "prediction_drift.statistic", 200));
    assert!(judges(&small, "performance.f1", 30) && !judges(&small, "performance.f1", 31), "performance needs labels");
    assert!(!judges(&small, "business.cost_per_1000", 31));
    assert!(judges(&small, "fairness.*.demographic_parity_difference", 100), "parity needs only predictions");
    assert!(!judges(&small, "fairness.*.equalized_odds_difference", 100), "equalized odds needs labels");
    assert!(!judges(&small, "fairness.sex.by_group.f.true_positive_rate", 100));
    assert!(judges(&small, "fairness.sex.by_group.f.selection_rate", 100));
    assert!(!judges(&small, "latency.p99_ms", 121));
    assert!(judges(&small, "quality.missing_rate", 120) && !judges(&small, "quality.missing_rate", 121));
    small.report.records = 0;
    small.report.quality.rejected = 500;
    assert!(judges(&small, "quality.rejected_rate", 500), "every record refused: still judged");
    assert!(!judges(&small, "drift.share", 1));
    assert!(judges(&small, "volume", 1_000_000), "volume is judged at any size");
}

#[test]
fn bad_monitors_are_refused_with_the_field() {
    for (v, field) in [
        (json!({"metric": "drift.sharee", "above": 1}), "metric"),
        (json!({"metric": "performance.f2", "above": 1}), "metric"),
        (json!({"metric": "fairness.sex.parity", "above": 1}), "metric"),
        (json!({"metric": "drift.share"}), "above"),
        (json!({"metric": "drift.share", "above": 1, "below": 2}), "above"),
        (json!({"metric": "drift.share", "above": 1, "for": 0}), "for"),
        (json!({"metric": "drift.share", "above": 1, "severity": "huge"}), "severity"),
        (json!({"metric": "drift.share", "above": 1, "colour": "red"}), "colour"),
        (json!({"metric": "performance.f1", "below": 0.01, "relative": true}), "below"),
        (json!({"metric": "drift.share", "above": 0, "relative": true}), "above"),
    ] {
        let e = Monitor::from_json(&v).unwrap_err();
        assert_eq!(e.field.as_deref(), Some(field), "{v}");
    }
}

#[test]
fn every_tier_ships_sensible_defaults() {
    for tier in Tier::ALL {
        let d = tier_defaults(tier);
        let metrics: Vec<&str> = d.iter().map(|m| m.metric.as_str()).collect();
        for needed in ["drift.share", "fairness.*.demographic_parity_ratio", "quality.missing_rate", "performance.f1"] {
            assert!(metrics.contains(&needed), "{tier:?} lacks {needed}");
        }
        assert!(d.iter().all(|m| m.id.starts_with("default:")));
    }
    let high = tier_defaults(Tier::High);
    let share = high.iter().find(|m| m.metric == "drift.share").unwrap();
    assert_eq!((share.comparison, share.threshold), (Comparison::Above, 0.3));
}

#[test]
fn a_set_adds_removes_and_switches_defaults_off() {
    let mut set = MonitorSet::default();
    let a = set.add(monitor(json!({"metric": "volume", "below": 10}))).unwrap();
    let b = set.add(monitor(json!({"metric": "drift.share", "above": 0.5}))).unwrap();
    assert_eq!((a.id.as_str(), b.id.as_str()), ("m1", "m2"));
    let before = set.effective(Tier::High).len();
    set.remove("default:drift_share", Tier::High).unwrap();
    assert_eq!(set.effective(Tier::High).len(), before - 1);
    set.remove("m1", Tier::High).unwrap();
    assert!(set.remove("m1", Tier::High).is_err());
    set.remove("m2", Tier::High).unwrap();
    let c = set.add(monitor(json!({"metric": "volume", "below": 5}))).unwrap();
    assert_eq!(c.id, "m3", "ids are never reused");
    assert_eq!(MonitorSet::from_json(&set.to_json()).unwrap(), set);
}

#[test]
fn severity_never_falls_under_the_tier_floor() {
    assert_eq!(Severity::Low.for_tier(Tier::Critical), Severity::High);
    assert_eq!(Severity::Critical.for_tier(Tier::Low), Severity::Critical);
    assert_eq!(Severity::Low.for_tier(Tier::Medium), Severity::Low);
}
