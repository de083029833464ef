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
mod tests;
