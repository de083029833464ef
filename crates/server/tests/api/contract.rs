//! The API contract: every answer the tests read is checked against the schema
//! `openapi.json` gives for its route and status (a small validator for the part of JSON
//! Schema that utoipa emits: `$ref`, `type`, `properties`, `required`, `items`,
//! `additionalProperties`, `enum`, `oneOf`/`anyOf`/`allOf`, `minimum`), and every response
//! the document lists has a schema.

use serde_json::Value;
use std::sync::OnceLock;

fn doc() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| serde_json::to_value(riskops_server::openapi()).unwrap())
}

/// The schemas the document gives for answers with `status` on the route `path` matches
/// (one per method; the most specific template wins: literal segments beat parameters).
fn schemas_for(path: &str, status: u16) -> Option<Vec<&'static Value>> {
    let paths = doc()["paths"].as_object()?;
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let matches = |template: &str| -> Option<usize> {
        let parts: Vec<&str> = template.split('/').collect();
        if parts.len() != segments.len() {
            return None;
        }
        let mut literal = 0;
        for (t, s) in parts.iter().zip(&segments) {
            if t.starts_with('{') {
                continue;
            }
            if t != s {
                return None;
            }
            literal += 1;
        }
        Some(literal)
    };
    let (_, item) = paths.iter().filter_map(|(t, item)| matches(t).map(|l| (l, item))).max_by_key(|(l, _)| *l)?;
    let code = status.to_string();
    let found: Vec<&Value> = item
        .as_object()?
        .values()
        .filter_map(|op| op["responses"].get(&code))
        .filter_map(|r| r["content"]["application/json"].get("schema"))
        .collect();
    Some(found)
}

/// Ok when no route of the document matches (`/healthz`, `/metrics`) or the answer
/// validates against one of the schemas its route gives for that status.
pub fn check(path: &str, status: u16, body: &Value) -> Result<(), String> {
    let Some(mut schemas) = schemas_for(path, status) else { return Ok(()) };
    if schemas.is_empty() && status >= 400 {
        // Any route may answer 401, 405, 413, …: every error has the one error shape.
        schemas.push(&doc()["components"]["schemas"]["ErrorBody"]);
    }
    if schemas.is_empty() {
        return Err(format!("the document lists no JSON answer with status {status} for this route"));
    }
    let mut errors = Vec::new();
    for schema in schemas {
        match validate(schema, body, "$") {
            Ok(()) => return Ok(()),
            Err(e) => errors.push(e),
        }
    }
    Err(errors.join("; or "))
}

fn resolve(schema: &Value) -> &Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            resolve(&doc()["components"]["schemas"][name])
        }
        None => schema,
    }
}

fn type_matches(name: &str, value: &Value) -> bool {
    match name {
        "null" => value.is_null(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        _ => true,
    }
}

/// The fields a schema names, its `allOf` parts' included (`#[serde(flatten)]`).
fn named_fields(schema: &Value, out: &mut Vec<String>) {
    let schema = resolve(schema);
    if let Some(p) = schema.get("properties").and_then(Value::as_object) {
        out.extend(p.keys().cloned());
    }
    for part in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        named_fields(part, out);
    }
}

pub fn validate(schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    validate_in(schema, value, at, true)
}

/// `closed`: a field the schema does not name is an error (undocumented fields are how a
/// contract drifts); parts of an `allOf` are checked open, and the whole closed.
fn validate_in(schema: &Value, value: &Value, at: &str, closed: bool) -> Result<(), String> {
    let schema = resolve(schema);
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            let errors: Vec<String> = options.iter().filter_map(|o| validate(o, value, at).err()).collect();
            if errors.len() == options.len() {
                return Err(format!("{at}: matches none of {key}: {}", errors.join(" | ")));
            }
        }
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            validate_in(s, value, at, false)?;
        }
        if closed && let Some(obj) = value.as_object() {
            let mut named = Vec::new();
            named_fields(schema, &mut named);
            if let Some(k) = obj.keys().find(|k| !named.contains(k)) {
                return Err(format!("{at}: field {k:?} is not in the schema"));
            }
        }
    }
    match schema.get("type") {
        Some(Value::String(t)) if !type_matches(t, value) => return Err(format!("{at}: {value} is not {t}")),
        Some(Value::Array(ts)) if !ts.iter().filter_map(Value::as_str).any(|t| type_matches(t, value)) => {
            return Err(format!("{at}: {value} is none of {ts:?}"));
        }
        _ => {}
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {options:?}"));
    }
    if let (Some(min), Some(x)) = (schema.get("minimum").and_then(Value::as_f64), value.as_f64())
        && x < min
    {
        return Err(format!("{at}: {x} is below the minimum {min}"));
    }
    if let Some(obj) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for name in schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
            if !obj.contains_key(name) {
                return Err(format!("{at}: required field {name:?} is missing"));
            }
        }
        for (k, v) in obj {
            match properties.and_then(|p| p.get(k)) {
                Some(s) => validate(s, v, &format!("{at}.{k}"))?,
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) if properties.is_some() => {
                        return Err(format!("{at}: field {k:?} is not in the schema"));
                    }
                    Some(s @ Value::Object(_)) => validate(s, v, &format!("{at}.{k}"))?,
                    _ if closed && properties.is_some_and(|p| !p.is_empty()) && schema.get("allOf").is_none() => {
                        return Err(format!("{at}: field {k:?} is not in the schema"));
                    }
                    _ => {}
                },
            }
        }
    }
    if let (Some(items), Some(list)) = (schema.get("items"), value.as_array()) {
        for (i, v) in list.iter().enumerate() {
            validate(items, v, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

#[test]
fn every_response_the_document_lists_has_a_schema() {
    let mut missing = Vec::new();
    for (path, item) in doc()["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for (status, response) in op["responses"].as_object().unwrap() {
                let Some(content) = response.get("content").and_then(Value::as_object) else {
                    // Only answers without a body (204) may have no content.
                    if status != "204" {
                        missing.push(format!("{method} {path} {status}: no content"));
                    }
                    continue;
                };
                for (media, c) in content {
                    if media == "application/json" && c.get("schema").is_none() {
                        missing.push(format!("{method} {path} {status}: {media} without a schema"));
                    }
                }
            }
        }
    }
    assert!(missing.is_empty(), "responses without a schema:\n{}", missing.join("\n"));
}

#[test]
fn the_validator_refuses_what_does_not_match() {
    let schema = serde_json::json!({"type": "object", "required": ["a"], "properties": {"a": {"type": "integer", "minimum": 0}, "b": {"type": ["string", "null"]}}});
    assert!(validate(&schema, &serde_json::json!({"a": 1, "b": null}), "$").is_ok());
    assert!(validate(&schema, &serde_json::json!({"b": "x"}), "$").is_err());
    assert!(validate(&schema, &serde_json::json!({"a": -1}), "$").is_err());
    assert!(validate(&schema, &serde_json::json!({"a": 1, "c": 2}), "$").is_err());
    assert!(validate(&schema, &serde_json::json!({"a": "1"}), "$").is_err());
}
