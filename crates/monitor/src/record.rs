//! One prediction log record, already parsed.

use serde_json::Value as Json;
use std::collections::BTreeMap;

/// A feature value, a prediction or a label as a record carries it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(f64),
    Text(String),
}

impl Value {
    /// From a JSON scalar; arrays and objects are not values.
    pub fn from_json(v: &Json) -> Option<Value> {
        Some(match v {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Number(n.as_f64()?),
            Json::String(s) => Value::Text(s.clone()),
            Json::Array(_) | Json::Object(_) => return None,
        })
    }

    /// The value as a category, spelled as the reference profile spells it: integers without
    /// a fraction (`3`), booleans as pandas prints them (`True`), text as is.
    pub fn category(&self) -> Option<String> {
        match self {
            Value::Null => None,
            Value::Bool(b) => Some(bool_text(*b).to_string()),
            Value::Number(x) => Some(number_category(*x)),
            Value::Text(t) => Some(t.clone()),
        }
    }

    /// What kind of value this is, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(x) if x.fract() == 0.0 => "an integer",
            Value::Number(_) => "a number",
            Value::Text(_) => "a string",
        }
    }
}

/// `True`/`False`, as pandas writes booleans (and as profiles count them).
pub fn bool_text(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// A number as a category label: `3` for integral values (as profiles count int64 values),
/// Rust's shortest round-trip form otherwise.
pub fn number_category(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 9.007_199_254_740_992e15 { format!("{}", x as i64) } else { format!("{x}") }
}

/// One prediction log record: `{"id","timestamp","version","features":{…},"prediction",
/// "score"|"probabilities","label","attributes":{…},"latency_ms"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: String,
    /// Unix seconds (UTC).
    pub timestamp: i64,
    pub version: String,
    /// Feature name → value, in name order.
    pub features: BTreeMap<String, Value>,
    /// The model's output: a class (text, integer or boolean) or a number.
    pub prediction: Value,
    /// Probability of the positive class (binary classification).
    pub score: Option<f64>,
    /// Class → probability; the positive class's entry is used when `score` is absent.
    pub probabilities: Option<BTreeMap<String, f64>>,
    /// Ground truth, when it came with the record.
    pub label: Option<Value>,
    /// Segments and sensitive attributes (e.g. `sex`, `age_band`) → group.
    pub attributes: BTreeMap<String, String>,
    pub latency_ms: Option<f64>,
}

impl Record {
    /// The score of the positive class: `score`, else `probabilities[positive]`.
    pub fn positive_score(&self, positive: &str) -> Option<f64> {
        self.score.or_else(|| self.probabilities.as_ref().and_then(|p| p.get(positive).copied()))
    }

    /// Parses a record from JSON. `timestamp` is unix seconds (a number); `version` may be
    /// absent (then `default_version`). Errors name the field.
    pub fn from_json(doc: &Json, default_version: &str) -> Result<Record, String> {
        let obj = doc.as_object().ok_or("a record must be a JSON object")?;
        let id = match obj.get("id") {
            Some(Json::String(s)) => s.clone(),
            Some(Json::Number(n)) => n.to_string(),
            _ => return Err("id: missing or not a string or number".into()),
        };
        let timestamp = match obj.get("timestamp") {
            Some(Json::Number(n)) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|x| x.is_finite()).map(|x| x.floor() as i64))
                .ok_or("timestamp: not a number of seconds")?,
            _ => return Err("timestamp: missing or not a number (unix seconds)".into()),
        };
        let version = match obj.get("version") {
            None | Some(Json::Null) => default_version.to_string(),
            Some(Json::String(s)) => s.clone(),
            Some(Json::Number(n)) => n.to_string(),
            Some(_) => return Err("version: not a string".into()),
        };
        let mut features = BTreeMap::new();
        match obj.get("features") {
            Some(Json::Object(map)) => {
                for (k, v) in map {
                    let value = Value::from_json(v).ok_or_else(|| format!("features.{k}: not a scalar"))?;
                    features.insert(k.clone(), value);
                }
            }
            _ => return Err("features: missing or not an object".into()),
        }
        let prediction = obj
            .get("prediction")
            .and_then(Value::from_json)
            .filter(|v| *v != Value::Null)
            .ok_or("prediction: missing or not a scalar")?;
        let number = |field: &str| -> Result<Option<f64>, String> {
            match obj.get(field) {
                None | Some(Json::Null) => Ok(None),
                Some(Json::Number(n)) => Ok(n.as_f64()),
                Some(_) => Err(format!("{field}: not a number")),
            }
        };
        let score = number("score")?;
        let latency_ms = number("latency_ms")?;
        let probabilities = match obj.get("probabilities") {
            None | Some(Json::Null) => None,
            Some(Json::Object(map)) => {
                let mut out = BTreeMap::new();
                for (k, v) in map {
                    out.insert(k.clone(), v.as_f64().ok_or_else(|| format!("probabilities.{k}: not a number"))?);
                }
                Some(out)
            }
            Some(_) => return Err("probabilities: not an object".into()),
        };
        let label = match obj.get("label") {
            None | Some(Json::Null) => None,
            Some(v) => Some(Value::from_json(v).ok_or("label: not a scalar")?),
        };
        let mut attributes = BTreeMap::new();
        match obj.get("attributes") {
            None | Some(Json::Null) => {}
            Some(Json::Object(map)) => {
                for (k, v) in map {
                    let group = match v {
                        Json::String(s) => s.clone(),
                        Json::Number(_) | Json::Bool(_) => v.to_string(),
                        _ => return Err(format!("attributes.{k}: not a string")),
                    };
                    attributes.insert(k.clone(), group);
                }
            }
            Some(_) => return Err("attributes: not an object".into()),
        }
        Ok(Record { id, timestamp, version, features, prediction, score, probabilities, label, attributes, latency_ms })
    }
}
