//! Monitoring windows on real data (testdata/german_credit: UCI Statlog German Credit,
//! CC BY 4.0, see its SOURCE.md) against riskops-drift's exact `detect_drift` and the
//! riskops-stats metrics (themselves checked against scikit-learn and fairlearn).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use riskops_data::profile::{Dtype, profile_table};
use riskops_data::{Column, CsvOptions, StrColumn, Table, Values, read_csv};
use riskops_drift::{DriftOptions, detect_drift};
use riskops_monitor::{
    BinaryPerformance, Conformer, Explanation, Features, InputSchema, Observed, PerformanceReport, Record,
    RejectReason, ReportContext, SchemaOptions, Task, Value, WindowReport, WindowState, ks_p_value,
};
use riskops_stats::metrics::{BinaryOutcomes, GroupOutcomes, RegressionSummary};
use std::collections::BTreeMap;
use std::path::Path;

#[path = "monitor/analysis.rs"]
mod analysis;

const TARGET: &str = "CLASSIFICATION";

fn german() -> Table {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/german_credit/german.data");
    read_csv(&path, &CsvOptions::default(), &|_| {}).unwrap()
}

/// Rows `rows` of `t`, in that order.
fn select(t: &Table, rows: &[usize]) -> Table {
    let columns = t
        .columns
        .iter()
        .map(|c| {
            let values = match &c.values {
                Values::Int(v) => Values::Int(rows.iter().map(|&i| v[i]).collect()),
                Values::Float(v) => Values::Float(rows.iter().map(|&i| v[i]).collect()),
                Values::Bool(v) => Values::Bool(rows.iter().map(|&i| v[i]).collect()),
                Values::Str(s) => Values::Str(StrColumn {
                    codes: rows.iter().map(|&i| s.codes[i]).collect(),
                    dictionary: s.dictionary.clone(),
                }),
            };
            Column { name: c.name.clone(), values }
        })
        .collect();
    Table { columns, rows: rows.len() }
}

/// The drifted copy: loans 12 months longer, and every "A43" (radio/TV) purpose a new car
/// ("A40").
fn drift(t: &Table) -> Table {
    let mut t = t.clone();
    for c in &mut t.columns {
        match (c.name.as_str(), &mut c.values) {
            ("DURATION_MONTHS", Values::Int(v)) => v.iter_mut().for_each(|x| *x += 12),
            ("PURPOSE", Values::Str(s)) => {
                let a43 = s.dictionary.iter().position(|d| d == "A43").unwrap() as u32;
                let a40 = s.dictionary.iter().position(|d| d == "A40").unwrap() as u32;
                s.codes.iter_mut().filter(|c| **c == a43).for_each(|c| *c = a40);
            }
            _ => {}
        }
    }
    t
}

fn drop_target(t: &Table) -> Table {
    let columns: Vec<Column> = t.columns.iter().filter(|c| c.name != TARGET).cloned().collect();
    Table { columns, rows: t.rows }
}

fn cell(c: &Column, i: usize) -> Value {
    match &c.values {
        Values::Int(v) => Value::Number(v[i] as f64),
        Values::Float(v) if v[i].is_nan() => Value::Null,
        Values::Float(v) => Value::Number(v[i]),
        Values::Bool(v) => Value::Bool(v[i]),
        Values::Str(s) => s.get(i).map(|x| Value::Text(x.into())).unwrap_or(Value::Null),
    }
}

fn score_of(features: &BTreeMap<String, Value>) -> f64 {
    let num = |n: &str| match features.get(n) {
        Some(Value::Number(x)) => *x,
        _ => 0.0,
    };
    let z =
        1.2 - (num("DURATION_MONTHS") - 20.0) / 12.0 - (num("AMOUNT") - 3000.0) / 4000.0 + (num("AGE") - 35.0) / 30.0;
    1.0 / (1.0 + (-z).exp())
}

/// Records of a table: features, a deterministic scored prediction, the label, and sex as
/// a sensitive attribute (A92/A95 female).
fn records(t: &Table, with_labels: bool) -> Vec<Record> {
    (0..t.rows)
        .map(|i| {
            let mut features = BTreeMap::new();
            let mut label = None;
            let mut attributes = BTreeMap::new();
            for c in &t.columns {
                let v = cell(c, i);
                if c.name == TARGET {
                    label = Some(v);
                    continue;
                }
                if c.name == "PERSONAL_STATUS_AND_SEX"
                    && let Value::Text(s) = &v
                {
                    let sex = if s == "A92" || s == "A95" { "female" } else { "male" };
                    attributes.insert("sex".to_string(), sex.to_string());
                }
                features.insert(c.name.clone(), v);
            }
            let score = score_of(&features);
            Record {
                id: format!("r{i}"),
                timestamp: 1_700_000_000 + i as i64,
                version: "3".into(),
                features: features.into(),
                prediction: Value::Number(if score >= 0.5 { 1.0 } else { 0.0 }),
                score: Some(score),
                probabilities: None,
                label: if with_labels { label } else { None },
                attributes,
                latency_ms: Some(5.0 + (i % 17) as f64),
            }
        })
        .collect()
}

fn options() -> SchemaOptions {
    SchemaOptions { exclude: vec![TARGET.into()], task: Task::Binary { positive: "1".into() }, sensitive: vec![] }
}

fn window(schema: &InputSchema, records: &[Record]) -> WindowState {
    let mut w = WindowState::new(schema);
    for r in records {
        w.add(schema, r);
    }
    w
}

fn report(w: &WindowState, reference: &riskops_data::profile::TableProfile) -> WindowReport {
    let ctx = ReportContext {
        start: 1_700_000_000,
        end: 1_700_003_600,
        version: "3",
        reference,
        prediction_reference: None,
        drift_share: 0.5,
        min_records: 100,
    };
    WindowReport::compute(w, &ctx)
}

/// Our verdicts against detect_drift's on the same tables: equal unless near the
/// threshold; statistics within the bound.
fn assert_matches_exact(ours: &WindowReport, reference: &Table, current: &Table) -> usize {
    let exact =
        detect_drift(drop_target(reference), drop_target(current), &DriftOptions::default(), &|_, _| {}).unwrap();
    assert!(exact.skipped.is_empty() && ours.drift.skipped.is_empty(), "{:?}", ours.drift.skipped);
    assert_eq!(exact.columns.len(), ours.drift.features.len());
    let mut near = 0;
    for (e, o) in exact.columns.iter().zip(&ours.drift.features) {
        assert_eq!((e.name.as_str(), e.method), (o.name.as_str(), o.method), "{}", e.name);
        assert_eq!(e.column_type, o.column_type, "{}", e.name);
        assert_eq!((e.n_reference as u64, e.n_current as u64), (o.n_reference, o.n_current), "{}", e.name);
        let bound = o.approx_error.unwrap();
        let tolerance = bound + 1e-9 * e.statistic.abs().max(1.0);
        assert!(
            (e.statistic - o.statistic).abs() <= tolerance || (e.statistic.is_nan() && o.statistic.is_nan()),
            "{}: exact {} sketch {} bound {bound}",
            e.name,
            e.statistic,
            o.statistic
        );
        if o.exact
            && let (Some(pe), Some(po)) = (e.p_value, o.p_value)
        {
            assert!((pe - po).abs() <= 1e-9, "{}: p exact {pe} sketch {po}", e.name);
        }
        if o.near_threshold {
            near += 1;
        } else {
            assert_eq!(e.drifted, o.drifted, "{}: exact {e:?} ours {o:?}", e.name);
        }
    }
    near
}

/// The value of `name` in a list of per-name values.
fn named<'a, T>(values: &'a [(String, T)], name: &str) -> &'a T {
    &values.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no {name}")).1
}

fn binary(r: &WindowReport) -> &BinaryPerformance {
    match &r.performance {
        Some(PerformanceReport::Binary(b)) => b,
        other => panic!("not a binary performance: {other:?}"),
    }
}

/// Every name monitors may watch, in a window with labels, scores, latency and an
/// attribute, reads a value: the names a monitor is allowed and the values it reads come
/// from one table, and this holds them to it.
fn every_metric_name_reads_a_value(r: &WindowReport) {
    let names = riskops_monitor::metric_names();
    let mut checked = 0;
    for part in names.split(", ") {
        let Some((prefix, list)) = part.rsplit_once(".<") else { continue };
        let Some(list) = list.strip_suffix('>') else { continue };
        let prefix = prefix.replace("<attribute|*>", "sex").replace("<attribute>", "sex").replace("<feature|*>", "x");
        let prefix = match prefix.strip_suffix(".by_group.<group>") {
            Some(p) => format!("{p}.by_group.{}", r.fairness[0].1.by_group[0].0),
            None => prefix,
        };
        for name in list.split('|') {
            let path = format!("{prefix}.{name}");
            let parts: Vec<&str> = path.split('.').collect();
            assert!(riskops_monitor::is_metric(&parts), "{path} is listed but not allowed");
            let undefined_here = [
                "prediction_drift",
                "performance.mae",
                "performance.rmse",
                "performance.mape",
                "performance.r2",
                "performance.roc_auc_max_error",
            ];
            if undefined_here.iter().any(|u| path.starts_with(u)) {
                continue;
            }
            assert!(r.metric(&parts).is_some(), "{path} is allowed but reads nothing");
            checked += 1;
        }
    }
    assert!(checked > 40, "{checked} names checked");
}

fn feature<'a>(r: &'a WindowReport, name: &str) -> &'a riskops_monitor::FeatureDrift {
    r.drift.features.iter().find(|f| f.name == name).unwrap()
}

#[test]
fn exact_sketches_give_detect_drifts_answers_and_flag_the_drifted_features() {
    let t = german();
    let reference = select(&t, &(0..600).collect::<Vec<_>>());
    let current = drift(&select(&t, &(600..1000).collect::<Vec<_>>()));
    let profile = profile_table(&reference);
    let schema = InputSchema::from_profile(&profile, &options());
    let w = window(&schema, &records(&current, true));
    let r = report(&w, &profile);
    // 600 reference rows and 400 current ones: every sketch is exact, so is every answer.
    assert!(r.drift.features.iter().all(|f| f.exact && !f.near_threshold));
    assert_eq!(assert_matches_exact(&r, &reference, &current), 0);
    assert!(feature(&r, "DURATION_MONTHS").drifted);
    assert_eq!(feature(&r, "DURATION_MONTHS").method.name(), "ks");
    assert!(feature(&r, "PURPOSE").drifted);
    assert_eq!(feature(&r, "PURPOSE").method.name(), "chisquare");
    assert!(!feature(&r, "AMOUNT").drifted && !feature(&r, "AGE").drifted);

    assert_eq!((r.records, r.start, r.version.as_str()), (400, 1_700_000_000, "3"));
    assert_eq!(riskops_monitor::rfc3339(r.start), "2023-11-14T22:13:20Z");
    // Quality: the shifted durations leave the reference range; A40 is not new.
    let q = &r.quality;
    assert!(named(&q.out_of_range_rate, "DURATION_MONTHS").unwrap() > 0.0);
    assert!(named(&q.out_of_range_rate, "AMOUNT").is_some());
    assert_eq!(*named(&q.unseen_categories, "PURPOSE"), Some(0.0));
    assert_eq!(*named(&q.missing_rate, "AGE"), Some(0.0));
    // What monitors read by name is what the report holds.
    assert_eq!(r.metric(&["drift", "n_drifted"]), Some(Observed::One(r.drift.n_drifted as f64)));
    assert_eq!(r.metric(&["drift", "feature", "PURPOSE"]), Some(Observed::One(1.0)));
    assert_eq!(r.metric(&["quality", "missing_rate", "AGE"]), Some(Observed::One(0.0)));
    let Some(Observed::PerName(rates)) = r.metric(&["quality", "out_of_range_rate"]) else { panic!() };
    assert_eq!(rates.len(), q.out_of_range_rate.len());
}

#[test]
fn approximate_sketches_keep_verdicts_except_near_the_threshold() {
    let t = german();
    let all: Vec<usize> = (0..1000).collect();
    let profile = profile_table(&t);
    let schema = InputSchema::from_profile(&profile, &options());
    // 4,000 records (the data four times, drifted): the window's sketches compact too.
    let four: Vec<usize> = (0..4).flat_map(|_| all.iter().copied()).collect();
    let current = drift(&select(&t, &four));
    let recs = records(&current, true);
    let whole = window(&schema, &recs);
    assert!(!whole.features[1].quantiles.is_exact());
    let r = report(&whole, &profile);
    let near = assert_matches_exact(&r, &t, &current);
    assert!(near <= 1, "{near} features near the threshold");
    let duration = feature(&r, "DURATION_MONTHS");
    assert!(duration.drifted && !duration.exact && duration.approx_error.unwrap() > 0.0);
    assert!(feature(&r, "PURPOSE").drifted);
    // Unchanged columns: the exact statistic is 0 (p = 1); the sketch's within its bound.
    let amount = feature(&r, "AMOUNT");
    assert!(!amount.drifted && amount.statistic <= amount.approx_error.unwrap());

    // Two half windows merged: the same counts and categorical answers, numerical
    // statistics within the sum of the bounds.
    let (a, b) = recs.split_at(recs.len() / 2);
    let mut merged = window(&schema, a);
    merged.merge(&window(&schema, b)).unwrap();
    let m = report(&merged, &profile);
    assert_eq!((m.records, m.labelled), (r.records, r.labelled));
    assert_eq!(m.quality, r.quality);
    assert_eq!(m.performance, r.performance);
    assert_eq!(m.fairness, r.fairness);
    for (x, y) in r.drift.features.iter().zip(&m.drift.features) {
        let bound = x.approx_error.unwrap() + y.approx_error.unwrap();
        assert!((x.statistic - y.statistic).abs() <= bound + 1e-12, "{}: {} vs {}", x.name, x.statistic, y.statistic);
        if !(x.near_threshold || y.near_threshold) {
            assert_eq!(x.drifted, y.drifted, "{}", x.name);
        }
    }
    assert_matches_exact(&m, &t, &current);
}

#[test]
fn performance_and_fairness_equal_the_metrics_on_the_same_records() {
    let t = german();
    let profile = profile_table(&t);
    let schema = InputSchema::from_profile(&profile, &options());
    let recs = records(&drift(&t), true);
    let r = report(&window(&schema, &recs), &profile);

    let mut outcomes = BinaryOutcomes::new();
    let mut groups = GroupOutcomes::new();
    for rec in &recs {
        let actual = rec.label == Some(Value::Number(1.0));
        let predicted = rec.prediction == Value::Number(1.0);
        outcomes.add_scored(actual, predicted, rec.score.unwrap());
        groups.add(&rec.attributes["sex"], actual, predicted);
    }
    let p = binary(&r);
    assert_eq!(p.accuracy, outcomes.accuracy());
    assert_eq!(p.precision, outcomes.precision());
    assert_eq!(p.recall, outcomes.recall());
    assert_eq!(p.f1, outcomes.f1());
    assert_eq!(p.log_loss, outcomes.log_loss());
    assert_eq!(p.roc_auc, outcomes.roc_auc().map(|a| a.value));
    assert_eq!(r.labelled, 1000);
    let f = named(&r.fairness, "sex");
    assert_eq!(f.demographic_parity_difference, groups.demographic_parity_difference());
    assert_eq!(f.demographic_parity_ratio, groups.demographic_parity_ratio());
    assert_eq!(f.equalized_odds_difference, groups.equalized_odds_difference());
    assert_eq!(f.four_fifths.as_ref().map(|x| x.passes), groups.four_fifths().map(|x| x.passes));
    for m in groups.by_group() {
        assert_eq!(named(&f.by_group, &m.group).selection_rate, m.selection_rate);
        assert_eq!(named(&f.by_group, &m.group).count, m.count);
    }
    assert_eq!(r.latency.as_ref().map(|l| l.count), Some(1000));
    let mut explained = r.clone();
    let means = [("x".to_string(), 0.3), ("y".to_string(), 0.1)];
    let mut explanation = Explanation::from_means(&means, &means[..1], 5, 5, String::new(), String::new());
    explanation.unexplained = Some(0.1);
    explained.explain = Some(Ok(explanation));
    every_metric_name_reads_a_value(&explained);

    // Late labels: the same outcomes added after the records give the same performance.
    let mut late = window(&schema, &records(&drift(&t), false));
    assert!(report(&late, &profile).performance.is_none());
    for rec in &recs {
        let label = rec.label.clone().unwrap();
        late.add_outcome(&schema, &label, &rec.prediction, rec.score, &rec.attributes).unwrap();
    }
    let l = report(&late, &profile);
    assert_eq!(l.performance, r.performance);
    assert_eq!(l.fairness, r.fairness);
    assert!(late.add_outcome(&schema, &Value::Null, &Value::Number(1.0), None, &BTreeMap::new()).is_err());
}

#[test]
fn regression_windows_equal_the_regression_summary() {
    let t = german();
    let profile = profile_table(&t);
    let mut opts = options();
    opts.task = Task::Regression;
    let schema = InputSchema::from_profile(&profile, &opts);
    let mut recs = records(&t, false);
    let (mut actual, mut predicted) = (Vec::new(), Vec::new());
    for (i, r) in recs.iter_mut().enumerate() {
        let y = match r.features["AMOUNT"] {
            Value::Number(x) => x,
            _ => 0.0,
        };
        let p = y * (0.9 + (i % 7) as f64 * 0.03);
        r.prediction = Value::Number(p);
        r.label = Some(Value::Number(y));
        actual.push(y);
        predicted.push(p);
    }
    let r = report(&window(&schema, &recs), &profile);
    let exact = RegressionSummary::from_slices(&actual, &predicted).unwrap();
    let Some(PerformanceReport::Regression(p)) = &r.performance else { panic!("{:?}", r.performance) };
    assert_eq!((p.mae, p.rmse, p.mape, p.r2), (exact.mae(), exact.rmse(), exact.mape(), exact.r2()));
    assert!(r.fairness.is_empty());
}

#[test]
fn prediction_drift_against_a_baseline_window() {
    let t = german();
    let profile = profile_table(&t);
    let schema = InputSchema::from_profile(&profile, &options());
    let baseline = window(&schema, &records(&t, false));
    let reference = baseline.prediction_profile(Dtype::Int64);
    let w = window(&schema, &records(&drift(&t), false));
    let ctx = ReportContext {
        start: 0,
        end: 3600,
        version: "3",
        reference: &profile,
        prediction_reference: Some(&reference),
        drift_share: 0.5,
        min_records: 100,
    };
    let r = WindowReport::compute(&w, &ctx);
    let p = r.prediction_drift.clone().unwrap().unwrap();
    // Longer loans lower the score: fewer approvals.
    assert_eq!(p.method.name(), "ztest");
    assert!(p.drifted && p.exact);
    assert_eq!(r.metric(&["prediction_drift", "drifted"]), Some(Observed::One(1.0)));
}

#[test]
fn encode_decode_round_trips_and_rejects_garbage() {
    let t = german();
    let profile = profile_table(&t);
    let schema = InputSchema::from_profile(&profile, &options());
    let recs =
        records(&drift(&select(&t, &(0..1000).chain(0..1000).chain(0..1000).chain(0..500).collect::<Vec<_>>())), true);
    let w = window(&schema, &recs);
    let bytes = w.encode();
    let back = WindowState::decode(&bytes).unwrap();
    assert_eq!(back, w);
    assert!(!report(&w, &profile).drift.insufficient, "3,500 records are enough");
    assert_eq!(back.encode(), bytes);
    assert_eq!(report(&back, &profile), report(&w, &profile));
    // A decoded window keeps accumulating as the original would.
    let (mut a, mut b) = (w.clone(), back);
    for r in &recs[..100] {
        a.add(&schema, r);
        b.add(&schema, r);
    }
    assert_eq!(a, b);
    for cut in [0, 3, 5, 40, bytes.len() / 2, bytes.len() - 1] {
        assert!(WindowState::decode(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let mut bad = bytes.clone();
    bad[4] = 99;
    assert!(WindowState::decode(&bad).is_err());
    let mut longer = bytes;
    longer.push(0);
    assert!(WindowState::decode(&longer).is_err());
}

#[test]
fn schema_violations_are_answered_per_record() {
    let t = german();
    let profile = profile_table(&t);
    let schema = InputSchema::from_profile(&profile, &options());
    let mut recs = records(&select(&t, &[0, 1, 2]), true);
    assert!(recs.iter().all(|r| schema.check(r).is_ok()));
    recs[1].features.insert("ZIP".into(), Value::Text("10115".into()));
    recs[1].features.remove("AGE");
    recs[1].features.insert("AMOUNT".into(), Value::Text("1169".into()));
    recs[1].features.insert("DURATION_MONTHS".into(), Value::Number(6.5));
    recs[1].features.insert("PURPOSE".into(), Value::Number(43.0));
    recs[2].features.insert("JOB".into(), Value::Null);
    let reasons = schema.check(&recs[1]).unwrap_err();
    assert_eq!(
        reasons,
        vec![
            (RejectReason::UnknownFeature, "unknown feature \"ZIP\"".to_string()),
            (RejectReason::MissingFeature, "missing feature \"AGE\"".to_string()),
        ],
        "values of the wrong kind do not reject a record"
    );
    assert!(schema.check(&recs[2]).is_ok(), "null is a missing value");
    let w = window(&schema, &recs);
    let q = report(&w, &profile).quality;
    assert_eq!(q.records_with_violations, 1);
    assert_eq!(q.unknown_features, 1);
    assert_eq!(*named(&q.type_violations, "AMOUNT"), 1);
    assert_eq!(*named(&q.type_violations, "PURPOSE"), 1);
    assert_eq!(*named(&q.type_violations, "DURATION_MONTHS"), 0, "6.5 in an integer column is a number");
    assert_eq!(*named(&q.missing_rate, "AGE"), Some(1.0 / 3.0));
    assert_eq!(*named(&q.missing_rate, "JOB"), Some(1.0 / 3.0));

    // Unseen categories are counted and listed.
    let mut rec = recs[0].clone();
    rec.features.insert("PURPOSE".into(), Value::Text("A411".into()));
    let w = window(&schema, &[rec.clone(), rec]);
    let q = report(&w, &profile).quality;
    assert_eq!(*named(&q.unseen_categories, "PURPOSE"), Some(1.0));
    assert_eq!(*named(&q.unseen_examples, "PURPOSE"), vec![("A411".to_string(), 2)]);

    // An array where a scalar belongs is a value of the wrong kind too: the record is read.
    let nested = serde_json::json!({"id": 8, "timestamp": 1700000000, "features": {"AGE": [30], "JOB": {"a": 1}},
        "prediction": 1});
    let parsed = Record::from_json(&nested, "2").unwrap();
    assert_eq!((parsed.features["AGE"].clone(), parsed.features["JOB"].clone()), (Value::Nested, Value::Nested));
    let mut full = recs[0].clone();
    full.features.insert("AGE".into(), Value::Nested);
    assert!(schema.check(&full).is_ok());
    let w = window(&schema, &[full]);
    let age = w.features.iter().find(|c| c.name == "AGE").unwrap();
    assert_eq!((age.type_violations, age.count()), (1, 0));

    let json = serde_json::json!({"id": 7, "timestamp": 1700000000, "features": {"AGE": 30, "JOB": "A173"},
        "prediction": 1, "probabilities": {"0": 0.2, "1": 0.8}, "label": 0, "attributes": {"sex": "female"}});
    let parsed = Record::from_json(&json, "2").unwrap();
    assert_eq!((parsed.id.as_str(), parsed.version.as_str()), ("7", "2"));
    assert_eq!(parsed.positive_score("1"), Some(0.8));
    assert!(Record::from_json(&serde_json::json!({"id": 1}), "2").is_err());
}

#[test]
fn a_value_of_the_wrong_kind_keeps_its_record_and_rejections_count_by_reason() {
    let t = german();
    let profile = profile_table(&t);
    let schema = InputSchema::from_profile(&profile, &options());
    let mut recs = records(&select(&t, &(0..10).collect::<Vec<_>>()), true);
    // A number is never a type violation in a numeric column; text there is, and the
    // record is kept with that feature treated as missing.
    recs[0].features.insert("DURATION_MONTHS".into(), Value::Number(10697.5));
    recs[1].features.insert("AMOUNT".into(), Value::Text("n/a".into()));
    assert!(recs.iter().all(|r| schema.check(r).is_ok()));
    let mut w = window(&schema, &recs);
    let column = |w: &WindowState, name: &str| w.features.iter().find(|c| c.name == name).unwrap().clone();
    let duration = column(&w, "DURATION_MONTHS");
    assert_eq!((duration.type_violations, duration.count()), (0, 10));
    assert_eq!(duration.moments.max(), Some(10697.5));
    let amount = column(&w, "AMOUNT");
    assert_eq!((amount.type_violations, amount.missing, amount.count()), (1, 0, 9));
    assert_eq!(w.records, 10);

    // Refused records count in the window by reason: once per record, under each kind.
    w.reject([RejectReason::UnknownFeature, RejectReason::MissingFeature, RejectReason::UnknownFeature]);
    w.reject([RejectReason::Type]);
    let q = report(&w, &profile).quality;
    assert_eq!(q.rejected, 2);
    assert_eq!(q.rejected_rate, Some(2.0 / 12.0));
    assert_eq!(
        q.rejected_by_reason,
        vec![(RejectReason::UnknownFeature, 1), (RejectReason::MissingFeature, 1), (RejectReason::Type, 1)]
    );
    assert_eq!(q.volume, 10, "rejected records are not in the volume");
    let drift = report(&w, &profile).drift;
    assert_eq!((drift.insufficient, drift.min_records), (true, 100));
    assert!(!drift.features.is_empty(), "its statistics are still shown: {drift:?}");

    // They merge, encode, and a window stored before they were counted still decodes.
    let mut merged = w.clone();
    merged.merge(&w).unwrap();
    assert_eq!(merged.rejected.records, 4);
    assert_eq!(merged.rejected.count(RejectReason::Type), 2);
    assert_eq!(WindowState::decode(&w.encode()).unwrap(), w);
    let mut plain = window(&schema, &recs);
    plain.selections.clear();
    let old = as_version_1(&as_version_2(&plain));
    assert_eq!(WindowState::decode(&old).unwrap(), plain);
}

/// `w`'s encoding as version 3 wrote it: without the explanation sample (which `w` must
/// not keep), whose capacity and length (two u32) end the encoding.
fn as_version_3(w: &WindowState) -> Vec<u8> {
    assert!(w.explain_sample.is_empty() && w.explain_sample.capacity() == 0);
    let mut v4 = w.encode();
    assert_eq!((v4[4], &v4[v4.len() - 8..]), (4, &[0u8; 8][..]));
    v4.truncate(v4.len() - 8);
    v4[4] = 3;
    v4
}

/// `w`'s encoding as version 2 wrote it: without the selections (which `w` must not
/// have), whose count sits just before the latency summaries.
fn as_version_2(w: &WindowState) -> Vec<u8> {
    assert!(w.selections.is_empty());
    let v3 = as_version_3(w);
    assert_eq!(v3[4], 3);
    let mut latency = Vec::new();
    w.latency.encode(&mut latency);
    w.latency_quantiles.encode(&mut latency);
    let at = v3.len() - latency.len() - 4;
    assert_eq!(&v3[at..at + 4], &[0, 0, 0, 0], "no selections");
    let mut out = [&v3[..at], &v3[at + 4..]].concat();
    out[4] = 2;
    out
}

/// A version-2 encoding as version 1 wrote it: without the four rejection counters that
/// follow the six window counters.
fn as_version_1(v2: &[u8]) -> Vec<u8> {
    assert_eq!((&v2[..4], v2[4]), (&b"RKMW"[..], 2));
    let counters_end = 5 + 6 * 8;
    assert!(v2[counters_end..counters_end + 32].iter().all(|b| *b == 0), "nothing rejected");
    let mut out = v2[..counters_end].to_vec();
    out[4] = 1;
    out.extend_from_slice(&v2[counters_end + 32..]);
    out
}

#[test]
fn fairness_of_predictions_needs_no_labels_and_the_rest_comes_with_them() {
    let t = german();
    let profile = profile_table(&t);
    let schema = InputSchema::from_profile(&profile, &options());
    let labelled = records(&drift(&t), true);
    let mut w = window(&schema, &records(&drift(&t), false));
    assert_eq!(w.labelled, 0);

    // fairlearn's definitions, by hand: selection rate = share predicted positive per
    // group; demographic parity difference = max − min, ratio = min / max.
    let mut per_group: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for r in &labelled {
        let slot = per_group.entry(r.attributes["sex"].as_str()).or_default();
        slot.0 += 1.0;
        slot.1 += f64::from(u8::from(r.prediction == Value::Number(1.0)));
    }
    let rates: BTreeMap<&str, f64> = per_group.iter().map(|(g, (n, s))| (*g, s / n)).collect();
    let (lo, hi) = (rates.values().copied().fold(1.0, f64::min), rates.values().copied().fold(0.0, f64::max));
    let f = named(&report(&w, &profile).fairness, "sex").clone();
    assert_eq!((f.records, f.labelled), (1000, 0), "{f:?}");
    assert!((f.demographic_parity_difference.unwrap() - (hi - lo)).abs() < 1e-12, "{f:?}");
    assert!((f.demographic_parity_ratio.unwrap() - lo / hi).abs() < 1e-12, "{f:?}");
    assert_eq!(f.four_fifths.as_ref().map(|x| x.passes), Some(lo / hi >= 0.8));
    for (group, rate) in &rates {
        let g = named(&f.by_group, group);
        assert!((g.selection_rate - rate).abs() < 1e-12, "{g:?}");
        assert_eq!((g.labelled, g.true_positive_rate), (0, None), "{g:?}");
    }
    assert!(f.equalized_odds_difference.is_none(), "needs labels: {f:?}");

    // Labels for half the records: equalized odds and per-group rates of the labelled
    // ones appear (as GroupOutcomes, checked against fairlearn, computes them); the
    // selection metrics stay those of every record.
    let mut truth = GroupOutcomes::new();
    for r in labelled.iter().step_by(2) {
        let label = r.label.clone().unwrap();
        w.add_outcome(&schema, &label, &r.prediction, r.score, &r.attributes).unwrap();
        truth.add(&r.attributes["sex"], label == Value::Number(1.0), r.prediction == Value::Number(1.0));
    }
    let after = named(&report(&w, &profile).fairness, "sex").clone();
    assert_eq!(after.labelled, 500);
    assert_eq!(after.equalized_odds_difference, truth.equalized_odds_difference());
    assert_eq!(after.demographic_parity_difference, f.demographic_parity_difference);
    for m in truth.by_group() {
        let g = named(&after.by_group, &m.group);
        assert_eq!((g.labelled, g.true_positive_rate), (m.count, Some(m.true_positive_rate)));
        assert_eq!(g.accuracy, Some(m.accuracy));
    }

    // Selections merge and encode; a window stored before them reports parity from its
    // labelled outcomes, as it always did.
    assert_eq!(WindowState::decode(&w.encode()).unwrap(), w);
    let mut merged = w.clone();
    merged.merge(&w).unwrap();
    assert_eq!(named(&report(&merged, &profile).fairness, "sex").records, 2000);
    let mut stored_before = w.clone();
    stored_before.selections.clear();
    let old = WindowState::decode(&as_version_2(&stored_before)).unwrap();
    let old_f = named(&report(&old, &profile).fairness, "sex").clone();
    assert_eq!(old_f.demographic_parity_difference, truth.demographic_parity_difference());
    assert_eq!(old_f.records, 500);
}

#[test]
fn records_put_in_schema_order_fold_and_check_as_they_were() {
    let t = german();
    let profile = profile_table(&t);
    let schema = InputSchema::from_profile(&profile, &options());
    let theirs = records(&t, true);
    let order: Vec<&str> = schema.features.iter().map(|f| f.name.as_str()).collect();
    assert_ne!(theirs[0].features.names(), order, "the records list their features in another order");
    let mut memo = Conformer::default();
    let ours: Vec<Record> = theirs
        .iter()
        .map(|r| Record { features: schema.conform(r.features.clone(), &mut memo), ..r.clone() })
        .collect();
    assert!(ours.iter().all(|r| r.features.names() == order.as_slice()));
    assert_eq!(ours, theirs, "the same features and values");
    assert_eq!(window(&schema, &ours), window(&schema, &theirs));

    // A record that lacks a feature or has one too many keeps its order, and its reasons.
    let mut short = theirs[0].clone();
    short.features.remove("AGE");
    short.features.insert("ZIP".into(), Value::Text("10115".into()));
    let kept = schema.conform(short.features.clone(), &mut memo);
    assert_eq!(kept.names(), short.features.names());
    let reasons = schema.check(&Record { features: kept, ..short }).unwrap_err();
    let reasons: Vec<&str> = reasons.iter().map(|(_, r)| r.as_str()).collect();
    assert_eq!(reasons, vec!["unknown feature \"ZIP\"", "missing feature \"AGE\""]);
}

#[test]
fn ks_p_values_follow_scipy_through_the_lattice() {
    // Exact p-values of two samples with these sizes and this statistic.
    let a: Vec<f64> = (0..60).map(|i| i as f64).collect();
    let b: Vec<f64> = (0..45).map(|i| i as f64 * 1.1 + 7.0).collect();
    let exact = riskops_stats::ks_2samp(&a, &b).unwrap();
    assert!((ks_p_value(60, 45, exact.statistic) - exact.p_value).abs() < 1e-12);
    assert_eq!(ks_p_value(60, 45, 0.0), 1.0);
    assert!(ks_p_value(20_000, 30_000, 0.02) < 1e-3);
}

#[test]
fn a_million_records_keep_the_window_small() {
    // 20 features: 14 floats, 3 wide-range integers, 3 texts of 20 categories.
    let floats: Vec<String> = (0..14).map(|i| format!("f{i}")).collect();
    let ints: Vec<String> = (0..3).map(|i| format!("i{i}")).collect();
    let texts: Vec<String> = (0..3).map(|i| format!("t{i}")).collect();
    let mut columns = Vec::new();
    for n in &floats {
        columns.push(Column { name: n.clone(), values: Values::Float((0..500).map(|i| i as f64 / 7.0).collect()) });
    }
    for n in &ints {
        columns.push(Column { name: n.clone(), values: Values::Int((0..500).collect()) });
    }
    let dictionary: Vec<String> = (0..20).map(|i| format!("category-{i}")).collect();
    for n in &texts {
        let codes = (0..500).map(|i| i % 20).collect();
        columns
            .push(Column { name: n.clone(), values: Values::Str(StrColumn { codes, dictionary: dictionary.clone() }) });
    }
    let profile = profile_table(&Table { columns, rows: 500 });
    let schema = InputSchema::from_profile(
        &profile,
        &SchemaOptions { exclude: vec![], task: Task::Binary { positive: "1".into() }, sensitive: vec!["sex".into()] },
    );
    let mut record = Record {
        id: String::new(),
        timestamp: 0,
        version: "1".into(),
        features: Features::new(),
        prediction: Value::Number(0.0),
        score: Some(0.5),
        probabilities: None,
        label: Some(Value::Number(1.0)),
        attributes: BTreeMap::from([("sex".to_string(), "female".to_string())]),
        latency_ms: Some(3.0),
    };
    for n in floats.iter().chain(&ints) {
        record.features.insert(n.clone(), Value::Number(0.0));
    }
    for n in &texts {
        record.features.insert(n.clone(), Value::Text(Default::default()));
    }
    let mut w = WindowState::new(&schema);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut sizes = Vec::new();
    for i in 0..1_000_000u64 {
        for v in record.features.values_mut() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            match v {
                Value::Number(x) => *x = (state % 1_000_000) as f64 / 1000.0,
                Value::Text(s) => {
                    s.clear();
                    s.push_str(&dictionary[(state % 20) as usize]);
                }
                _ => {}
            }
        }
        // Integers stay integral.
        for n in &ints {
            if let Some(Value::Number(x)) = record.features.get_mut(n) {
                *x = x.floor();
            }
        }
        record.score = Some((state % 4096) as f64 / 4096.0);
        record.prediction = Value::Number((state % 2) as f64);
        w.add(&schema, &record);
        if i == 99_999 || i == 999_999 {
            sizes.push(w.encode().len());
        }
    }
    eprintln!("encoded sizes at 100k and 1M records: {sizes:?}");
    assert_eq!(w.records, 1_000_000);
    // Stated bound: under 2 MB for 20 features, and no growth from 100k to 1M records
    // beyond the sketches' level growth.
    assert!(sizes[1] < 2_000_000, "{sizes:?}");
    assert!(sizes[1] < sizes[0] + sizes[0] / 4, "{sizes:?}");
}
