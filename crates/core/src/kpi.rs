//! Business KPIs: what each outcome of a classifier is worth, and the expected value (or
//! cost) per 1,000 decisions that a confusion matrix implies. Monitoring uses the same
//! arithmetic per window, so technical metrics can be read as money.

use crate::error::{Error, Result};
pub use riskops_stats::metrics::Confusion;
use serde_json::{Value, json};

/// Value per outcome in `currency`; costs are negative (a blocked legitimate transaction,
/// a missed fraud).
#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeValues {
    pub currency: String,
    pub tp: f64,
    pub fp: f64,
    pub fn_: f64,
    pub tn: f64,
    pub description: String,
}

/// Reads a confusion matrix from evidence: `{"tp":…,"fp":…,"fn":…,"tn":…}` or
/// scikit-learn's `[[tn, fp], [fn, tp]]`, at the top level or under `confusion_matrix`.
pub fn confusion_from_json(v: &Value) -> Option<Confusion> {
    let v = v.get("confusion_matrix").unwrap_or(v);
    let count =
        |x: &Value| x.as_u64().or_else(|| x.as_f64().filter(|f| *f >= 0.0 && f.fract() == 0.0).map(|f| f as u64));
    let (tn, fp, fn_, tp) = if let Some(rows) = v.as_array() {
        let cell = |r: usize, c: usize| rows.get(r)?.as_array()?.get(c).and_then(count);
        if rows.len() != 2 || rows.iter().any(|r| r.as_array().is_none_or(|r| r.len() != 2)) {
            return None;
        }
        (cell(0, 0)?, cell(0, 1)?, cell(1, 0)?, cell(1, 1)?)
    } else {
        (count(v.get("tn")?)?, count(v.get("fp")?)?, count(v.get("fn")?)?, count(v.get("tp")?)?)
    };
    Some(Confusion { true_negatives: tn, false_positives: fp, false_negatives: fn_, true_positives: tp })
}

impl OutcomeValues {
    pub fn from_json(v: &Value) -> Result<OutcomeValues> {
        let obj = v.as_object().ok_or_else(|| Error::invalid("kpi", "must be an object"))?;
        if let Some(k) =
            obj.keys().find(|k| !matches!(k.as_str(), "currency" | "tp" | "fp" | "fn" | "tn" | "description"))
        {
            return Err(Error::invalid(k, "unknown field; a KPI has currency, tp, fp, fn, tn and description"));
        }
        let amount = |k: &str| -> Result<f64> {
            match obj.get(k) {
                None => Ok(0.0),
                Some(x) => x
                    .as_f64()
                    .filter(|f| f.abs() <= 1e12)
                    .ok_or_else(|| Error::invalid(k, "must be a number of at most 10^12 (negative for a cost)")),
            }
        };
        let currency = obj.get("currency").and_then(Value::as_str).unwrap_or("USD");
        if currency.is_empty() || currency.len() > 8 || !currency.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(Error::invalid("currency", "must be a currency code such as EUR or USD"));
        }
        Ok(OutcomeValues {
            currency: currency.to_ascii_uppercase(),
            tp: amount("tp")?,
            fp: amount("fp")?,
            fn_: amount("fn")?,
            tn: amount("tn")?,
            description: obj.get("description").and_then(Value::as_str).unwrap_or_default().to_string(),
        })
    }

    pub fn to_json(&self) -> Value {
        json!({"currency": self.currency, "tp": self.tp, "fp": self.fp, "fn": self.fn_, "tn": self.tn, "description": self.description})
    }

    /// The expected value per 1,000 decisions at the rates of `m` (`None` for no decisions).
    pub fn per_thousand(&self, m: &Confusion) -> Option<f64> {
        let n = m.count();
        if n == 0 {
            return None;
        }
        let total = m.true_positives as f64 * self.tp
            + m.false_positives as f64 * self.fp
            + m.false_negatives as f64 * self.fn_
            + m.true_negatives as f64 * self.tn;
        Some(1000.0 * total / n as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fraud_model_costs_what_its_mistakes_cost() {
        let values =
            OutcomeValues::from_json(&json!({"currency": "eur", "tp": 0, "fp": -25, "fn": -400, "tn": 0})).unwrap();
        let m = confusion_from_json(&json!({"confusion_matrix": [[900, 50], [10, 40]]})).unwrap();
        assert_eq!((m.true_negatives, m.false_positives, m.false_negatives, m.true_positives), (900, 50, 10, 40));
        // (50 × −25 + 10 × −400) / 1000 decisions × 1000 = −5250.
        assert_eq!(values.per_thousand(&m), Some(-5250.0));
        assert_eq!(values.currency, "EUR");
        assert_eq!(confusion_from_json(&json!({"tp": 1, "fp": 2, "fn": 3, "tn": 4})).unwrap().count(), 10);
        assert!(confusion_from_json(&json!({"tp": -1, "fp": 2, "fn": 3, "tn": 4})).is_none());
        assert!(OutcomeValues::from_json(&json!({"fp": "a lot"})).is_err());
        assert!(OutcomeValues::from_json(&json!({"fp": -1, "bonus": 3})).is_err());
    }
}
