//! Monitors, without IO: what a monitor watches in a window report, when it breaches, and
//! what an incident it opens says (severity, retrain advice, the risk signal it raises).
//!
//! A monitor names a metric by its path in the window report (`drift.share`,
//! `performance.f1`, `fairness.sex.demographic_parity_ratio`, …). `--above X` breaches when
//! the value is X or more, `--below X` when it is less than X, so the two with one X split
//! every value between them. `relative` compares the change from the reference value
//! instead (the version's registered metric, else its first window): F1 dropping by more
//! than 0.05 is `performance.f1 --relative --below -0.05`. Where a path holds one value per
//! feature or per attribute (`quality.missing_rate`, `fairness.*.…`), the worst in the
//! comparison's direction counts, and the observation says which one it was.

use crate::error::{Error, Result};
use crate::governance::Tier;
use crate::monitoring::{Business, MonitoredWindow};
use riskops_monitor::Observed;
use serde_json::{Value, json};

/// Which way a monitor's threshold points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// Breaches at the threshold or above.
    Above,
    /// Breaches below the threshold.
    Below,
}

impl Comparison {
    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::Above => "above",
            Comparison::Below => "below",
        }
    }

    fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::Above => value >= threshold,
            Comparison::Below => value < threshold,
        }
    }

    /// The worse of two values for this comparison.
    fn worse(self, a: f64, b: f64) -> bool {
        match self {
            Comparison::Above => a > b,
            Comparison::Below => a < b,
        }
    }
}

/// How urgent an incident is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] = [Severity::Low, Severity::Medium, Severity::High, Severity::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Severity> {
        Severity::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| Error::invalid(field, format!("{s:?}: use low, medium, high or critical")))
    }

    /// An incident's severity: the monitor's, but never under the floor the project's tier
    /// sets (a critical-tier model's incidents are at least high).
    pub fn for_tier(self, tier: Tier) -> Severity {
        let floor = match tier {
            Tier::Low | Tier::Medium => Severity::Low,
            Tier::High => Severity::Medium,
            Tier::Critical => Severity::High,
        };
        self.max(floor)
    }
}

/// What a metric measures: decides the risk signal a firing monitor raises and whether
/// its incident advises retraining.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    DataDrift,
    PredictionDrift,
    Performance,
    /// Performance estimated without labels (`estimated.*`, CBPE): judged on every record,
    /// so it can fire weeks before labels exist.
    EstimatedPerformance,
    Fairness,
    Quality,
    Volume,
    Latency,
    Business,
}

impl Family {
    /// The family of a metric path (`None` for a path no report has).
    pub fn of(metric: &str) -> Option<Family> {
        Some(match metric.split('.').next()? {
            // Reconstruction error: drift in the relations between features.
            "drift" | "multivariate" => Family::DataDrift,
            // Attribution drift: the model turning to other features changes how its
            // outputs arise before labels show it, as prediction drift does.
            "prediction_drift" | "explain" => Family::PredictionDrift,
            "performance" => Family::Performance,
            "estimated" => Family::EstimatedPerformance,
            "fairness" => Family::Fairness,
            "quality" => Family::Quality,
            "volume" | "records" | "labelled" => Family::Volume,
            "latency" => Family::Latency,
            "business" => Family::Business,
            _ => return None,
        })
    }

    /// The taxonomy signal (`monitor:*`) a firing monitor of this family raises.
    pub fn risk_signal(self) -> Option<&'static str> {
        match self {
            Family::DataDrift => Some("monitor:data_drift"),
            Family::PredictionDrift => Some("monitor:prediction_drift"),
            Family::Performance | Family::EstimatedPerformance | Family::Business => Some("monitor:performance"),
            Family::Fairness => Some("monitor:fairness"),
            Family::Quality => Some("monitor:quality"),
            Family::Volume | Family::Latency => None,
        }
    }

    /// Drift and falling performance that persist are what retraining cures; fairness,
    /// quality, volume and latency need a look at the pipeline or the data first.
    pub fn advises_retraining(self) -> bool {
        matches!(
            self,
            Family::DataDrift
                | Family::PredictionDrift
                | Family::Performance
                | Family::EstimatedPerformance
                | Family::Business
        )
    }
}

/// A watch on one metric of a model's windows.
#[derive(Debug, Clone, PartialEq)]
pub struct Monitor {
    /// Unique within the model: `m1`, `m2`, … for a model's own, `default:<name>` for the
    /// tier defaults.
    pub id: String,
    pub metric: String,
    pub comparison: Comparison,
    pub threshold: f64,
    pub relative: bool,
    /// Consecutive breaching windows before it fires.
    pub persistence: u32,
    pub severity: Severity,
}

/// The longest persistence accepted (a month of daily windows, two of hourly ones, …).
pub const MAX_PERSISTENCE: u32 = 1000;

impl Monitor {
    /// Checks a monitor's fields as a user gave them.
    pub fn validate(&self) -> Result<()> {
        validate_metric(&self.metric)?;
        if !self.threshold.is_finite() {
            return Err(Error::invalid("threshold", "must be a finite number"));
        }
        // Relative to the reference, the reference itself is a change of 0: a monitor that
        // 0 breaches would fire on its own reference window.
        if self.relative {
            match self.comparison {
                Comparison::Above if self.threshold <= 0.0 => {
                    return Err(Error::invalid("above", "a relative monitor fires on a change: above needs X > 0"));
                }
                Comparison::Below if self.threshold >= 0.0 => {
                    return Err(Error::invalid("below", "a relative monitor fires on a change: below needs X < 0"));
                }
                _ => {}
            }
        }
        if self.persistence == 0 || self.persistence > MAX_PERSISTENCE {
            return Err(Error::invalid("for", format!("must be between 1 and {MAX_PERSISTENCE} windows")));
        }
        Ok(())
    }

    pub fn family(&self) -> Family {
        Family::of(&self.metric).unwrap_or(Family::Volume)
    }

    /// `drift.share ≥ 0.3 for 2 windows`.
    pub fn describe(&self) -> String {
        let op = match self.comparison {
            Comparison::Above => "≥",
            Comparison::Below => "<",
        };
        let change = if self.relative { " change from the reference" } else { "" };
        let windows =
            if self.persistence == 1 { "1 window".to_string() } else { format!("{} windows", self.persistence) };
        format!("{}{change} {op} {} for {windows}", self.metric, self.threshold)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "metric": self.metric,
            "comparison": self.comparison.as_str(),
            "threshold": self.threshold,
            "relative": self.relative,
            "for": self.persistence,
            "severity": self.severity.as_str(),
            "description": self.describe(),
        })
    }

    pub fn from_json(v: &Value) -> Result<Monitor> {
        let obj = v.as_object().ok_or_else(|| Error::invalid("monitor", "must be a JSON object"))?;
        if let Some(k) = obj.keys().find(|k| {
            !matches!(
                k.as_str(),
                "id" | "metric"
                    | "comparison"
                    | "threshold"
                    | "above"
                    | "below"
                    | "relative"
                    | "for"
                    | "severity"
                    | "description"
            )
        }) {
            return Err(Error::invalid(
                k,
                "unknown field; a monitor has metric, above or below, relative, for, severity",
            ));
        }
        let metric =
            obj.get("metric").and_then(Value::as_str).ok_or_else(|| Error::invalid("metric", "is required"))?;
        let number = |k: &str| -> Result<Option<f64>> {
            match obj.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(x) => x.as_f64().map(Some).ok_or_else(|| Error::invalid(k, "must be a number")),
            }
        };
        let (comparison, threshold) = match (number("above")?, number("below")?) {
            (Some(_), Some(_)) => return Err(Error::invalid("above", "give either above or below, not both")),
            (Some(x), None) => (Comparison::Above, x),
            (None, Some(x)) => (Comparison::Below, x),
            (None, None) => {
                let comparison = match obj.get("comparison").and_then(Value::as_str) {
                    Some("above") => Comparison::Above,
                    Some("below") => Comparison::Below,
                    // A verdict (`drift.feature.<name>`, `drift.drifted`, `estimated.f1.alert`) fires when true.
                    None if is_verdict(metric) => Comparison::Above,
                    _ => return Err(Error::invalid("above", "give a threshold: above X or below X")),
                };
                let threshold = number("threshold")?.unwrap_or(1.0);
                (comparison, threshold)
            }
        };
        let persistence = match obj.get("for") {
            None | Some(Value::Null) => 1,
            Some(x) => x
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| Error::invalid("for", "must be a whole number of windows"))?,
        };
        let severity = match obj.get("severity").and_then(Value::as_str) {
            None => Severity::Medium,
            Some(s) => Severity::parse("severity", s)?,
        };
        let monitor = Monitor {
            id: obj.get("id").and_then(Value::as_str).unwrap_or_default().to_string(),
            metric: metric.to_string(),
            comparison,
            threshold,
            relative: obj.get("relative").and_then(Value::as_bool).unwrap_or(false),
            persistence,
            severity,
        };
        monitor.validate()?;
        Ok(monitor)
    }

    /// Reads this monitor's metric from a window report. `reference`: the value relative
    /// monitors compare against (`None`: not known yet, so a relative monitor cannot breach).
    pub fn observe(&self, report: &MonitoredWindow, reference: Option<f64>) -> Observation {
        let found = read_metric(report, &self.metric, self.comparison);
        let Some((value, at)) = found else { return Observation { value: None, at: None, breached: false } };
        let compared = if self.relative { reference.map(|r| value - r) } else { Some(value) };
        let breached = compared.is_some_and(|x| self.comparison.breaches(x, self.threshold));
        Observation { value: Some(value), at, breached }
    }
}

impl Monitor {
    /// Whether the window holds enough of what this monitor's value rests on to be judged
    /// at all (a window below it records no value and never breaches):
    /// - drift, prediction drift and latency percentiles: `records` ≥ `min_records` (a test
    ///   or a p99 over a handful of records is noise);
    /// - performance and business value: `labelled` ≥ `min_records` (one label is not an F1);
    ///   estimated performance (`estimated.*`) and multivariate drift: `records`, as drift;
    /// - fairness: `labelled` for the metrics that need labels (equalized odds, per-group
    ///   accuracy, TPR, …), `records` for those that need only predictions (selection
    ///   rates, demographic parity, four-fifths);
    /// - quality: the records that arrived, accepted or refused, ≥ `min_records` (one
    ///   out-of-range record is not a 100% rate, but a window whose every record was
    ///   refused has no accepted record and must still fire `quality.rejected_rate`);
    /// - volume: always; a volume monitor exists to notice small windows.
    pub fn judges(&self, window: &MonitoredWindow, min_records: u64) -> bool {
        let report = &window.report;
        let enough = |n: u64| n >= min_records;
        match Family::of(&self.metric) {
            Some(Family::DataDrift | Family::PredictionDrift | Family::EstimatedPerformance | Family::Latency) => {
                enough(report.records)
            }
            Some(Family::Performance | Family::Business) => enough(report.labelled),
            Some(Family::Fairness) if needs_labels(&self.metric) => enough(report.labelled),
            Some(Family::Fairness) => enough(report.records),
            Some(Family::Quality) => enough(report.records + report.quality.rejected),
            Some(Family::Volume) | None => true,
        }
    }
}

/// Fairness metrics computed from labelled outcomes (the others need only predictions).
fn needs_labels(metric: &str) -> bool {
    let last = metric.rsplit('.').next().unwrap_or_default();
    !matches!(
        last,
        "selection_rate" | "demographic_parity_difference" | "demographic_parity_ratio" | "four_fifths" | "count"
    )
}

/// What a monitor saw in one window.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// The metric's value (before any reference is subtracted); `None` when the window has
    /// no such value (no labels yet, an attribute not seen).
    pub value: Option<f64>,
    /// Which feature or attribute the worst value came from, for per-column metrics.
    pub at: Option<String>,
    pub breached: bool,
}

fn is_verdict(metric: &str) -> bool {
    metric == "drift.drifted"
        || metric == "drift.any"
        || metric == "prediction_drift.drifted"
        || (metric.starts_with("drift.feature.") && metric.matches('.').count() == 2)
        // NannyML's own alert: the value outside the reference's thresholds.
        || ((metric.starts_with("estimated.") || metric.starts_with("multivariate.")) && metric.ends_with(".alert"))
}

/// Checks that a metric path names something a window report has.
pub fn validate_metric(metric: &str) -> Result<()> {
    let parts: Vec<&str> = metric.split('.').collect();
    if metric.is_empty() || parts.iter().any(|p| p.is_empty()) || metric.len() > 200 {
        return Err(Error::invalid("metric", format!("{metric:?} is not a metric path such as drift.share")));
    }
    let business = matches!(parts.as_slice(), ["business", name] if Business::METRICS.contains(name));
    if !business && !riskops_monitor::is_metric(&parts) {
        return Err(Error::invalid(
            "metric",
            format!(
                "{metric:?} is not a window metric; use one of {}, business.<{}> (a feature, attribute or group \
                 name where <name> stands; * for every attribute)",
                riskops_monitor::metric_names(),
                Business::METRICS.join("|")
            ),
        ));
    }
    Ok(())
}

/// A metric's value in a window and, where the path holds one value per feature or
/// attribute, the worst one and where it was.
fn read_metric(window: &MonitoredWindow, metric: &str, comparison: Comparison) -> Option<(f64, Option<String>)> {
    let parts: Vec<&str> = metric.split('.').collect();
    let at = match parts.as_slice() {
        ["drift", "feature", name, ..] => Some((*name).to_string()),
        _ => None,
    };
    match window.metric(&parts)? {
        Observed::One(x) => Some((x, at)),
        Observed::PerName(values) => values
            .into_iter()
            .reduce(|worst, v| if comparison.worse(v.1, worst.1) { v } else { worst })
            .map(|(name, x)| (x, Some(name))),
    }
}

/// The monitors every model of a tier gets unless its owners switch them off, from
/// `data/monitor_defaults.json`.
pub fn tier_defaults(tier: Tier) -> Vec<Monitor> {
    let catalogue: Value = serde_json::from_str(include_str!("../data/monitor_defaults.json")).unwrap_or(Value::Null);
    catalogue
        .get(tier.as_str())
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|m| Monitor::from_json(m).ok())
                .map(|mut m| {
                    m.id = format!("default:{}", m.id);
                    m
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A model's own monitors and the tier defaults it has switched off: the stored document
/// `monitors:<model>`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MonitorSet {
    pub monitors: Vec<Monitor>,
    pub disabled_defaults: Vec<String>,
    /// The number of the next `m<N>` id: ids are never reused, so a new monitor never
    /// inherits a removed one's results or incident.
    pub next_id: u32,
}

impl MonitorSet {
    pub fn to_json(&self) -> Value {
        json!({
            "monitors": self.monitors.iter().map(Monitor::to_json).collect::<Vec<_>>(),
            "disabled_defaults": self.disabled_defaults,
            "next_id": self.next_id,
        })
    }

    pub fn from_json(v: &Value) -> Result<MonitorSet> {
        let monitors = v
            .get("monitors")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(Monitor::from_json).collect::<Result<Vec<_>>>())
            .transpose()?
            .unwrap_or_default();
        let disabled_defaults = v
            .get("disabled_defaults")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        let next_id = v.get("next_id").and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok()).unwrap_or(1);
        Ok(MonitorSet { monitors, disabled_defaults, next_id })
    }

    /// The monitors in force: the model's own, then the tier's defaults still switched on.
    pub fn effective(&self, tier: Tier) -> Vec<Monitor> {
        let mut out = self.monitors.clone();
        out.extend(tier_defaults(tier).into_iter().filter(|m| !self.disabled_defaults.contains(&m.id)));
        out
    }

    /// Adds a monitor with the next free id `m<N>`.
    pub fn add(&mut self, mut monitor: Monitor) -> Result<Monitor> {
        monitor.validate()?;
        let after_existing =
            self.monitors.iter().filter_map(|m| m.id.strip_prefix('m')?.parse::<u32>().ok()).max().unwrap_or(0) + 1;
        let n = self.next_id.max(after_existing);
        monitor.id = format!("m{n}");
        self.next_id = n + 1;
        self.monitors.push(monitor.clone());
        Ok(monitor)
    }

    /// Removes a model's monitor, or switches a tier default off.
    pub fn remove(&mut self, id: &str, tier: Tier) -> Result<()> {
        if let Some(i) = self.monitors.iter().position(|m| m.id == id) {
            self.monitors.remove(i);
            return Ok(());
        }
        if tier_defaults(tier).iter().any(|m| m.id == id) && !self.disabled_defaults.iter().any(|d| d == id) {
            self.disabled_defaults.push(id.to_string());
            return Ok(());
        }
        Err(Error::not_found(format!("no monitor {id:?}; `riskops monitor list` shows them")))
    }
}

/// The retrain recommendation an incident carries when drift or performance stayed past
/// its bound for the monitor's persistence.
/// `window`: the latest report of the version, when this evaluation made one.
pub fn retrain_advice(
    monitor: &Monitor,
    since: &str,
    values: &[(String, Option<f64>)],
    window: Option<&MonitoredWindow>,
) -> Value {
    let report = window.map(|w| &w.report);
    let drifted: Vec<Value> = report
        .iter()
        .flat_map(|r| r.drift.features.iter().filter(|f| f.drifted))
        .map(|f| json!({"name": f.name, "method": f.method.name(), "statistic": finite(f.statistic)}))
        .collect();
    let performance = match report.and_then(|r| r.performance.as_ref()) {
        Some(p) => Value::Object(p.values().into_iter().map(|(name, x)| (name.to_string(), json!(x))).collect()),
        None => Value::Null,
    };
    json!({
        "action": "retrain",
        "reason": format!(
            "{} held for {} consecutive window(s) since {since}: retrain on recent data, validate, and promote through the gates",
            monitor.describe(), values.len()
        ),
        "since": since,
        "metric": monitor.metric,
        "values": values.iter().map(|(w, v)| json!({"window": w, "value": v})).collect::<Vec<_>>(),
        "drifted_features": drifted,
        "performance": performance,
    })
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    use riskops_monitor::{
        AttributeFairness, BinaryPerformance, ColumnType, FeatureDrift, Method, PerformanceReport, Quality,
        WindowDrift, WindowReport,
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
        assert!(
            judges(&small, "performance.f1", 30) && !judges(&small, "performance.f1", 31),
            "performance needs labels"
        );
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
            for needed in
                ["drift.share", "fairness.*.demographic_parity_ratio", "quality.missing_rate", "performance.f1"]
            {
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
}
