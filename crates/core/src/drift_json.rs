//! The JSON form of a drift report: the documented shape, one document. `riskops drift
//! --format json` prints it and the Python package's `DriftReport.to_dict()` returns it.

use riskops_drift::DriftReport;
use serde_json::{Value, json};

pub fn render(report: &DriftReport) -> String {
    let mut text = serde_json::to_string_pretty(&to_json(report)).unwrap_or_default();
    text.push('\n');
    text
}

/// Non-finite numbers (a chi-square statistic with a category the reference never saw)
/// become `null`, as JSON has no infinity.
fn number(x: f64) -> Value {
    serde_json::Number::from_f64(x).map(Value::Number).unwrap_or(Value::Null)
}

pub fn to_json(report: &DriftReport) -> Value {
    let columns: Vec<Value> = report
        .columns
        .iter()
        .map(|c| {
            json!({
                "name": c.name,
                "type": c.column_type.name(),
                "method": c.method.name(),
                "statistic": number(c.statistic),
                "p_value": c.p_value.map(number).unwrap_or(Value::Null),
                "threshold": number(c.threshold),
                "drifted": c.drifted,
                "n_reference": c.n_reference,
                "n_current": c.n_current,
                "n_values": c.n_values,
            })
        })
        .collect();
    let skipped: Vec<Value> = report.skipped.iter().map(|s| json!({"name": s.name, "reason": s.reason})).collect();
    json!({
        "dataset": {
            "n_reference": report.n_reference,
            "n_current": report.n_current,
            "n_columns": report.columns.len(),
            "n_drifted": report.n_drifted,
            "drift_share": number(report.drift_share),
            "drift_share_threshold": number(report.drift_share_threshold),
            "drifted": report.drifted,
        },
        "columns": columns,
        "skipped": skipped,
    })
}
