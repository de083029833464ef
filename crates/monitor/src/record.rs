//! One prediction log record, already parsed.

use crate::features::{Features, Layout};
use serde_json::Value as Json;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A feature value, a prediction or a label as a record carries it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(f64),
    Text(Text),
    /// An array or object given as a feature value: never a value of any column, so it is
    /// counted as that feature's type violation and its record kept.
    Nested,
}

/// Text of a value: categories are short, and up to 24 bytes are kept inline, with no
/// allocation per value.
pub type Text = compact_str::CompactString;

impl Value {
    /// From a JSON scalar; arrays and objects are not values.
    pub fn from_json(v: &Json) -> Option<Value> {
        Some(match v {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Number(n.as_f64()?),
            Json::String(s) => Value::Text(s.as_str().into()),
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
            Value::Text(t) => Some(t.to_string()),
            Value::Nested => None,
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
            Value::Nested => "an array or object",
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
    /// Feature name → value.
    pub features: Features,
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
        RecordReader::new().read_json(doc, default_version)
    }

    /// One NDJSON line; the same answer as `from_json` on the parsed line, faster.
    pub fn from_json_line(line: &str, default_version: &str) -> Result<Record, String> {
        RecordReader::new().read_line(line, default_version)
    }
}

/// Reads the records of a batch one after another. Records that list the same features in
/// the same order as the one before share its [`Layout`].
#[derive(Debug, Default)]
pub struct RecordReader {
    last: Arc<Layout>,
}

impl RecordReader {
    pub fn new() -> RecordReader {
        RecordReader::default()
    }

    /// The layout of `names`: the last one when they match it; `None` when a name repeats.
    fn layout<'n>(&mut self, names: impl ExactSizeIterator<Item = &'n str> + Clone) -> Option<Arc<Layout>> {
        let same = names.len() == self.last.len() && names.clone().zip(self.last.names()).all(|(a, b)| a == b);
        if !same {
            self.last = Arc::new(Layout::new(names.map(str::to_string).collect())?);
        }
        Some(self.last.clone())
    }

    /// A record from a parsed JSON document (see [`Record::from_json`]).
    pub fn read_json(&mut self, doc: &Json, default_version: &str) -> Result<Record, String> {
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
        let features = match obj.get("features") {
            Some(Json::Object(map)) => {
                // An array or object is a value of the wrong kind: counted, not refused.
                let values = map.values().map(|v| Value::from_json(v).unwrap_or(Value::Nested)).collect::<Vec<_>>();
                // A JSON object's keys are unique, so the layout always exists.
                let layout = self.layout(map.keys().map(String::as_str)).unwrap_or_default();
                Features::with_layout(layout, values).unwrap_or_default()
            }
            _ => return Err("features: missing or not an object".into()),
        };
        // A null prediction is read (the schema check refuses it with a reason windows
        // count); a missing one leaves nothing to read.
        let prediction =
            obj.get("prediction").and_then(Value::from_json).ok_or("prediction: missing or not a scalar")?;
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

// ---- The fast path: one NDJSON line straight into a `Record` -------------------------
//
// Building a `serde_json::Value` tree first (an ordered map per record and per feature set)
// spent most of ingestion's time in the allocator. The common, well-formed record is read
// here directly; anything this path refuses is read again through `Value` by
// `RecordReader::read_json`, so every error keeps its field-naming message.

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        struct Scalar;
        impl<'de> Visitor<'de> for Scalar {
            type Value = Value;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number, text, boolean or null")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
                Ok(Value::Bool(b))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
                Ok(Value::Number(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
                Ok(Value::Number(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
                Ok(Value::Number(v))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
                Ok(Value::Text(s.into()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Value, E> {
                Ok(Value::Text(s.into()))
            }
        }
        d.deserialize_any(Scalar)
    }
}

/// An id, version or attribute: text, or a number or boolean spelled as JSON spells it.
struct Label(String);

impl<'de> Deserialize<'de> for Label {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Label, D::Error> {
        struct Text;
        impl<'de> Visitor<'de> for Text {
            type Value = Label;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("text or a number")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Label, E> {
                Ok(Label(s.to_string()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Label, E> {
                Ok(Label(s))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Label, E> {
                Ok(Label(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Label, E> {
                Ok(Label(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Label, E> {
                serde_json::Number::from_f64(v).map(|n| Label(n.to_string())).ok_or_else(|| E::custom("not finite"))
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Label, E> {
                Ok(Label(b.to_string()))
            }
        }
        d.deserialize_any(Text)
    }
}

/// A record's features as the line lists them, names borrowed from the line where they
/// have no escapes.
struct FeatureList<'a> {
    names: Vec<Cow<'a, str>>,
    values: Vec<Value>,
}

/// A feature name, borrowed from the line where it has no escapes.
struct Name<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Name<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Name<'a>, D::Error> {
        struct Text;
        impl<'de> Visitor<'de> for Text {
            type Value = Cow<'de, str>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a name")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Cow<'de, str>, E> {
                Ok(Cow::Borrowed(s))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Cow<'de, str>, E> {
                Ok(Cow::Owned(s.to_string()))
            }
        }
        d.deserialize_str(Text).map(Name)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for FeatureList<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<FeatureList<'a>, D::Error> {
        struct Pairs<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Pairs<'a> {
            type Value = FeatureList<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of features")
            }
            fn visit_map<M: de::MapAccess<'de>>(self, mut map: M) -> Result<FeatureList<'a>, M::Error> {
                let capacity = map.size_hint().unwrap_or(16);
                let mut list =
                    FeatureList { names: Vec::with_capacity(capacity), values: Vec::with_capacity(capacity) };
                while let Some((Name(name), value)) = map.next_entry::<Name<'a>, Value>()? {
                    list.names.push(name);
                    list.values.push(value);
                }
                Ok(list)
            }
        }
        d.deserialize_map(Pairs(std::marker::PhantomData))
    }
}

/// Attribute → group, groups read as [`Label`]s.
struct Attributes(BTreeMap<String, String>);

impl<'de> Deserialize<'de> for Attributes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Attributes, D::Error> {
        struct Groups;
        impl<'de> Visitor<'de> for Groups {
            type Value = Attributes;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of attributes")
            }
            fn visit_map<M: de::MapAccess<'de>>(self, mut map: M) -> Result<Attributes, M::Error> {
                let mut out = BTreeMap::new();
                while let Some((name, Label(group))) = map.next_entry::<String, Label>()? {
                    out.insert(name, group);
                }
                Ok(Attributes(out))
            }
        }
        d.deserialize_map(Groups)
    }
}

#[derive(Deserialize)]
struct Fast<'a> {
    id: Label,
    timestamp: serde_json::Number,
    #[serde(default)]
    version: Option<Label>,
    #[serde(borrow)]
    features: FeatureList<'a>,
    prediction: Value,
    #[serde(default)]
    score: Option<f64>,
    #[serde(default)]
    probabilities: Option<BTreeMap<String, f64>>,
    #[serde(default)]
    label: Option<Value>,
    #[serde(default)]
    attributes: Option<Attributes>,
    #[serde(default)]
    latency_ms: Option<f64>,
}

impl RecordReader {
    /// One NDJSON line (see [`Record::from_json_line`]).
    pub fn read_line(&mut self, line: &str, default_version: &str) -> Result<Record, String> {
        let fast = serde_json::from_str::<Fast>(line).ok().and_then(|f| {
            let timestamp = f
                .timestamp
                .as_i64()
                .or_else(|| f.timestamp.as_f64().filter(|x| x.is_finite()).map(|x| x.floor() as i64))?;
            // Null here may be a missing field: the slow path tells them apart.
            if f.prediction == Value::Null {
                return None;
            }
            let FeatureList { names, values } = f.features;
            // A repeated feature name is left to the slow path, which keeps the last value.
            let layout = self.layout(names.iter().map(|n| n.as_ref()))?;
            Some(Record {
                id: f.id.0,
                timestamp,
                version: f.version.map(|v| v.0).unwrap_or_else(|| default_version.to_string()),
                features: Features::with_layout(layout, values)?,
                prediction: f.prediction,
                score: f.score,
                probabilities: f.probabilities,
                label: f.label.filter(|l| *l != Value::Null),
                attributes: f.attributes.map(|a| a.0).unwrap_or_default(),
                latency_ms: f.latency_ms,
            })
        });
        match fast {
            Some(record) => Ok(record),
            None => {
                let doc: Json = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
                self.read_json(&doc, default_version)
            }
        }
    }
}

#[cfg(test)]
mod fast_path_tests {
    use super::*;

    #[test]
    fn the_fast_path_reads_lines_as_from_json_does() {
        let lines = [
            r#"{"id":"a","timestamp":1790000000,"version":"2","features":{"x":1.5,"c":"k","b":true,"n":null},"prediction":1,"score":0.7,"label":0,"attributes":{"sex":"f","band":3},"latency_ms":12}"#,
            r#"{"id":7,"timestamp":1790000000.9,"features":{},"prediction":"yes","probabilities":{"yes":0.4,"no":0.6}}"#,
            r#"{"id":"b","timestamp":5,"features":{"x":[1]},"prediction":1}"#,
            r#"{"id":"c","timestamp":"soon","features":{},"prediction":1}"#,
            r#"{"id":"d","timestamp":5,"features":{},"prediction":null}"#,
            r#"{"timestamp":5,"features":{},"prediction":1}"#,
            r#"{"id":"e","timestamp":5,"features":{},"prediction":1,"label":null,"extra":{"ignored":true}}"#,
            r#"not json"#,
        ];
        for line in lines {
            let fast = Record::from_json_line(line, "9");
            let slow = serde_json::from_str::<Json>(line)
                .map_err(|e| format!("not JSON: {e}"))
                .and_then(|doc| Record::from_json(&doc, "9"));
            assert_eq!(fast, slow, "{line}");
        }
    }
}
