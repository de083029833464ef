//! Prometheus metrics over HTTP: `/metrics` parses as the text format line by line, its
//! drift values are the ones the monitoring API reports for the same window, server
//! counters and histograms are consistent, labels carry no raw paths, tokens or record
//! values, and it needs a token that may read the registry.

use super::*;
use riskops_core::clock::Clock;
use std::collections::BTreeMap;
use std::time::Duration;

/// One sample of the exposition.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn parse_float(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => s.parse().ok().filter(|x: &f64| x.is_finite()),
    }
}

/// Labels from just after `{` to the matching `}`; returns them and the rest of the line.
fn parse_labels(mut rest: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((labels, after));
        }
        let eq = rest.find('=').ok_or("a label without =")?;
        let name = &rest[..eq];
        if !is_label_name(name) {
            return Err(format!("bad label name {name:?}"));
        }
        let mut chars = rest[eq + 1..].char_indices();
        if chars.next().map(|(_, c)| c) != Some('"') {
            return Err("a label value must be quoted".into());
        }
        let mut value = String::new();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next().map(|(_, c)| c) {
                    Some('\\') => value.push('\\'),
                    Some('"') => value.push('"'),
                    Some('n') => value.push('\n'),
                    other => return Err(format!("bad escape \\{other:?}")),
                },
                '"' => {
                    end = Some(eq + 1 + i + 1);
                    break;
                }
                '\n' => return Err("a raw newline in a label value".into()),
                c => value.push(c),
            }
        }
        let end = end.ok_or("an unterminated label value")?;
        if labels.insert(name.to_string(), value).is_some() {
            return Err(format!("label {name} twice"));
        }
        rest = &rest[end..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

/// A strict reading of the text format 0.0.4: every line is `# HELP`, `# TYPE` (once per
/// family, before its samples) or a sample of a declared family; no series twice.
fn parse_exposition(text: &str) -> Vec<Sample> {
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut helps: BTreeMap<String, String> = BTreeMap::new();
    let mut seen = std::collections::HashSet::new();
    let mut samples = Vec::new();
    assert!(text.ends_with('\n'), "the exposition ends with a newline");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            assert!(is_metric_name(name), "bad name in {line:?}");
            assert!(!help.contains('\\') || help.contains("\\\\") || help.contains("\\n"), "{line:?}");
            assert!(helps.insert(name.to_string(), help.to_string()).is_none(), "HELP twice: {line:?}");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or_else(|| panic!("{line:?}"));
            assert!(is_metric_name(name), "bad name in {line:?}");
            assert!(["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind), "{line:?}");
            assert!(types.insert(name.to_string(), kind.to_string()).is_none(), "TYPE twice: {line:?}");
            continue;
        }
        assert!(!line.starts_with('#') && !line.trim().is_empty(), "unexpected line {line:?}");
        let name_end = line.find(['{', ' ']).unwrap_or_else(|| panic!("no value in {line:?}"));
        let name = &line[..name_end];
        assert!(is_metric_name(name), "bad metric name in {line:?}");
        let (labels, rest) = match line[name_end..].strip_prefix('{') {
            Some(inner) => parse_labels(inner).unwrap_or_else(|e| panic!("{e} in {line:?}")),
            None => (BTreeMap::new(), &line[name_end..]),
        };
        let rest = rest.strip_prefix(' ').unwrap_or_else(|| panic!("no space before the value in {line:?}"));
        let mut parts = rest.split(' ');
        let value = parts.next().and_then(parse_float).unwrap_or_else(|| panic!("bad value in {line:?}"));
        if let Some(ts) = parts.next() {
            assert!(ts.parse::<i64>().is_ok(), "bad timestamp in {line:?}");
        }
        assert!(parts.next().is_none(), "trailing text in {line:?}");
        // The sample belongs to a family declared before it.
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .filter_map(|s| name.strip_suffix(s))
            .find(|f| types.get(*f).is_some_and(|k| k == "histogram" || k == "summary"))
            .unwrap_or(name);
        assert!(types.contains_key(family), "{name} has no # TYPE before it");
        assert!(seen.insert((name.to_string(), labels.clone())), "series twice: {line:?}");
        samples.push(Sample { name: name.to_string(), labels, value });
    }
    samples
}

#[test]
fn the_strict_parser_refuses_what_the_format_does_not_allow() {
    let ok = "# HELP a_b Some help.\n# TYPE a_b gauge\na_b{x=\"q\\\"uo\\\\te\\n\",y=\"\"} -1.5e-3\na_b 7 1700000000\n";
    let samples = parse_exposition(ok);
    assert_eq!(samples[0].labels["x"], "q\"uo\\te\n");
    assert_eq!(samples[0].value, -0.0015);
    for bad in [
        "# TYPE a gauge\na{x=\"1\"}\n",
        "# TYPE a gauge\na{x=1} 1\n",
        "# TYPE a gauge\n1a 1\n",
        "# TYPE a gauge\na{x=\"\\q\"} 1\n",
        "a 1\n",
        "# TYPE a gauge\na one\n",
        "# TYPE a gauge\na 1\na 2\n",
    ] {
        assert!(std::panic::catch_unwind(|| parse_exposition(bad)).is_err(), "{bad:?} was accepted");
    }
}

fn find<'a>(samples: &'a [Sample], name: &str, labels: &[(&str, &str)]) -> Option<&'a Sample> {
    samples
        .iter()
        .find(|s| s.name == name && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v)))
}

fn with<'a>(base: &[(&'a str, &'a str)], extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    base.iter().chain(extra).copied().collect()
}

/// Records of the hour starting at `start`: `shift` moves income far from the reference.
fn hour(start: i64, tag: &str, n: usize, shift: f64) -> Vec<u8> {
    (0..n)
        .map(|i| {
            let segment = ["a", "b", "c"][i % 3];
            // Independent of the prediction, so no fairness monitor fires.
            let sex = ["f", "m"][(i / 2) % 2];
            let r = json!({
                "id": format!("{tag}-{i}"),
                "timestamp": start + i as i64,
                "version": "1",
                "features": {"age": 20 + i % 50, "income": (i as f64) * 1.5 + shift, "segment": segment},
                "prediction": (i % 2) as u8,
                "score": if i % 2 == 1 { 0.8 } else { 0.3 },
                "label": (i % 4 == 0) as u8,
                "attributes": {"sex": sex},
            });
            format!("{r}\n")
        })
        .collect::<String>()
        .into_bytes()
}

impl TestServer {
    /// `GET /metrics`: status, content type and body text.
    async fn metrics(&self, token: Option<&str>) -> (StatusCode, String, String) {
        let mut req = self.http.get(self.url("/metrics"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let response = req.send().await.unwrap();
        let status = response.status();
        let content_type =
            response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        (status, content_type, response.text().await.unwrap())
    }

    /// The open incidents of the model `churn`.
    async fn open_incidents(&self) -> Vec<Value> {
        let (status, body) = self.get("/api/v1/incidents?model=churn&state=open", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["incidents"].as_array().unwrap().clone()
    }

    async fn send_ndjson(&self, token: &str, path: &str, body: Vec<u8>) -> Value {
        let req = self.http.post(self.url(path)).bearer_auth(token).header("content-type", "application/x-ndjson");
        let (status, answer) = read(req.body(body).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        answer
    }
}

/// Checks the text with the Prometheus project's Python parser when it is installed.
fn python_parser_agrees(text: &str) {
    let probe = std::process::Command::new("python3").args(["-c", "import prometheus_client"]).output();
    if !probe.is_ok_and(|o| o.status.success()) {
        return;
    }
    use std::io::Write;
    let script = "import sys\nfrom prometheus_client.parser import text_string_to_metric_families\n\
                  n = sum(len(f.samples) for f in text_string_to_metric_families(sys.stdin.read()))\nprint(n)\n";
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "prometheus_client refused the text: {}", String::from_utf8_lossy(&out.stderr));
    let n: usize = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert!(n > 0, "prometheus_client read no samples");
}

#[tokio::test]
async fn metrics_export_the_latest_window_incidents_and_server_counters() {
    for s in servers().await {
        let (status, d) = s.upload("/api/v1/datasets/customers/versions", json!({}), csv(300, 0.0)).await;
        assert_eq!(status, StatusCode::CREATED, "{d}");
        let (status, m) =
            s.upload("/api/v1/models/churn/versions", json!({"training_data": "customers@1"}), b"model".to_vec()).await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        let ingest = s.user("collector", &["ingest@default"]).await;
        let viewer = s.user("vera", &["viewer"]).await;
        let (status, p) = s.post("/api/v1/projects", json!({"name": "elsewhere"})).await;
        assert_eq!(status, StatusCode::CREATED, "{p}");
        let outsider = s.user("otto", &["viewer@elsewhere"]).await;
        let base = "/api/v1/projects/default/models/churn";
        let (status, monitor) = s
            .call(
                "POST",
                &format!("{base}/monitors"),
                TOKEN,
                Some(json!({"metric": "drift.share", "above": 0.3, "for": 1, "severity": "high"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{monitor}");

        // Three days ago a calm hour (like the reference), then a day later one where income
        // drifted: the second is the latest window (found past the first day of the look-back).
        let now = SystemClock.now().unix_timestamp();
        let latest = now - now % 3600 - 2 * 86_400;
        let calm = latest - 86_400;
        let a = s.send_ndjson(&ingest, &format!("{base}/predictions"), hour(calm, "calm", 300, 0.0)).await;
        let b = s.send_ndjson(&ingest, &format!("{base}/predictions"), hour(latest, "drift", 150, 2000.0)).await;
        assert_eq!((a["accepted"].as_u64(), b["accepted"].as_u64()), (Some(300), Some(150)), "{a} {b}");
        let (status, _) = s.get("/no/such/place-churn", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // The monitor judges the drifting window (closed: it ended long ago) and opens an
        // incident.
        let mut incidents = Vec::new();
        for _ in 0..300 {
            incidents = s.open_incidents().await;
            if !incidents.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(!incidents.is_empty(), "no incident opened");

        let (status, report) =
            s.get(&format!("{base}/monitoring?from={latest}&to={}", latest + 3600), Some(&viewer)).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        let w = &report["windows"][0];
        assert_eq!(w["records"], 150, "{report}");

        // Scraped while the incidents stay as they are (alerting runs in the background).
        let (mut status, mut content_type, mut text) = (StatusCode::OK, String::new(), String::new());
        for _ in 0..50 {
            (status, content_type, text) = s.metrics(Some(&viewer)).await;
            let after = s.open_incidents().await;
            if after == incidents {
                break;
            }
            incidents = after;
        }
        assert_eq!(status, StatusCode::OK, "{text}");
        assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
        let samples = parse_exposition(&text);
        python_parser_agrees(&text);

        // Drift per feature: the same statistic as the monitoring API's, and the verdict.
        let version = [("project", "default"), ("model", "churn"), ("version", "1")];
        for f in w["drift"]["features"].as_array().unwrap() {
            let name = f["name"].as_str().unwrap();
            let labels = with(&version, &[("feature", name), ("method", f["method"].as_str().unwrap())]);
            let stat = find(&samples, "riskops_drift_statistic", &labels).unwrap_or_else(|| panic!("{name}: {text}"));
            assert!((stat.value - f["statistic"].as_f64().unwrap()).abs() <= 1e-12, "{name}: {} vs {f}", stat.value);
            let detected = find(&samples, "riskops_drift_detected", &labels).unwrap();
            assert_eq!(detected.value, if f["drifted"] == true { 1.0 } else { 0.0 }, "{name}");
        }
        let detected = find(&samples, "riskops_drift_detected", &with(&version, &[("feature", "income")])).unwrap();
        assert_eq!(detected.value, 1.0, "income drifted");
        let share = find(&samples, "riskops_drift_share", &version).unwrap();
        assert!((share.value - w["drift"]["share"].as_f64().unwrap()).abs() <= 1e-12);
        assert_eq!(find(&samples, "riskops_window_records", &version).unwrap().value, 150.0);
        let end = find(&samples, "riskops_window_end_timestamp_seconds", &version).unwrap();
        assert_eq!(end.value, (latest + 3600) as f64);

        // Performance and fairness (per attribute, never per group: groups are record values).
        let accuracy = find(&samples, "riskops_performance", &with(&version, &[("metric", "accuracy")])).unwrap();
        assert!((accuracy.value - w["performance"]["accuracy"].as_f64().unwrap()).abs() <= 1e-12);
        let parity = find(
            &samples,
            "riskops_fairness",
            &with(&version, &[("attribute", "sex"), ("metric", "demographic_parity_difference")]),
        )
        .unwrap();
        assert!(
            (parity.value - w["fairness"]["sex"]["demographic_parity_difference"].as_f64().unwrap()).abs() <= 1e-12
        );

        // Open incidents by severity: every severity listed, the open one counted.
        for severity in ["low", "medium", "high", "critical"] {
            let expected = incidents.iter().filter(|i| i["severity"] == severity).count() as f64;
            let n = find(&samples, "riskops_open_incidents", &with(&version, &[("severity", severity)]))
                .unwrap_or_else(|| panic!("{severity}: {text}"));
            assert_eq!(n.value, expected, "{severity}");
        }

        // Server metrics: requests by route template; histograms cumulative, +Inf = count.
        let predictions = find(
            &samples,
            "riskops_http_requests_total",
            &[
                ("method", "POST"),
                ("route", "/api/v1/projects/{project}/models/{model}/predictions"),
                ("status", "200"),
            ],
        )
        .unwrap_or_else(|| panic!("{text}"));
        assert!(predictions.value >= 2.0, "{}", predictions.value);
        assert!(find(&samples, "riskops_http_requests_total", &[("route", "unmatched"), ("status", "404")]).is_some());
        assert!(find(&samples, "riskops_ingested_records_total", &[]).unwrap().value >= 450.0);
        let histogram = "riskops_http_request_duration_seconds";
        let mut series: BTreeMap<(String, String), Vec<(f64, f64)>> = BTreeMap::new();
        for b in samples.iter().filter(|s| s.name == format!("{histogram}_bucket")) {
            let key = (b.labels["method"].clone(), b.labels["route"].clone());
            series.entry(key).or_default().push((parse_float(&b.labels["le"]).unwrap(), b.value));
        }
        assert!(series.contains_key(&("POST".into(), "/api/v1/projects/{project}/models/{model}/predictions".into())));
        for ((method, route), buckets) in &series {
            let labels = [("method", method.as_str()), ("route", route.as_str())];
            assert!(buckets.windows(2).all(|p| p[0].0 < p[1].0 && p[0].1 <= p[1].1), "{route}: {buckets:?}");
            let (le, inf) = *buckets.last().unwrap();
            assert_eq!(le, f64::INFINITY, "{route}");
            let count = find(&samples, &format!("{histogram}_count"), &labels).unwrap();
            assert_eq!(inf, count.value, "{route}");
            assert!(find(&samples, &format!("{histogram}_sum"), &labels).unwrap().value >= 0.0);
        }

        // Labels hold names: no raw path, token or record id or value.
        for sample in &samples {
            for v in sample.labels.values() {
                assert!(!v.contains("/no/such") && !v.contains("/default/"), "a raw path in {sample:?}");
                assert!(!v.starts_with("drift-") && !v.starts_with("calm-") && v != "f" && v != "m", "{sample:?}");
                assert!(![TOKEN, &viewer, &ingest].contains(&v.as_str()), "a token in {sample:?}");
            }
        }
        assert!(!text.contains(&viewer) && !text.contains(TOKEN));

        // A viewer of another project sees no model of this one; the ingest account may not
        // read the registry; no token is a 401.
        let (status, _, other) = s.metrics(Some(&outsider)).await;
        assert_eq!(status, StatusCode::OK, "{other}");
        assert!(parse_exposition(&other).iter().all(|s| !s.labels.contains_key("model")), "{other}");
        let (status, _, _) = s.metrics(Some(&ingest)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, body) = s.get("/metrics", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_error(&body, "unauthorized");
        s.stop().await;
    }
}
