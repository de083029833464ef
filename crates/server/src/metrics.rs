//! Prometheus metrics: `GET /metrics` in the text exposition format 0.0.4.
//!
//! Server metrics are counted by [`track`], a middleware on every route: requests by
//! method, matched route template and status, and a latency histogram per method and
//! route; [`record_ingested`] counts prediction records accepted. They live in one
//! process-wide registry (like a Prometheus client's default registry): one server runs
//! per process. Model metrics come from [`riskops_core::Riskops::model_metrics`] at each
//! scrape: the latest window of each model version the caller may read.
//!
//! Labels carry names only (project, model, feature, attribute, route template, metric),
//! never a raw path, a token, a record id or a record's values: a route is the template
//! it matched (`/api/v1/projects/{project}/…`), or `unmatched`; fairness is exported per
//! attribute, not per group (group names are record values).

use crate::error::{ApiError, ErrorBody};
use crate::extract::Caller;
use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use riskops_core::service::ModelMetrics;
use riskops_monitor::analysis::{EstimatedValue, ReconstructionValue};
use riskops_monitor::{FeatureDrift, Observed, PerformanceReport, WindowReport};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Upper bounds (seconds) of the latency histogram's buckets; `+Inf` follows.
pub const LATENCY_BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The route label of a request that matched no route.
pub const UNMATCHED: &str = "unmatched";

#[derive(Debug, Clone, Default)]
struct Histogram {
    /// Observations per bucket (not cumulative; the last one is `+Inf`).
    buckets: [u64; LATENCY_BUCKETS.len() + 1],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        let i = LATENCY_BUCKETS.iter().position(|le| seconds <= *le).unwrap_or(LATENCY_BUCKETS.len());
        self.buckets[i] += 1;
        self.count += 1;
        self.sum += seconds;
    }
}

#[derive(Debug, Clone, Default)]
struct HttpMetrics {
    /// `(method, route, status)` → requests.
    requests: BTreeMap<(&'static str, String, u16), u64>,
    /// `(method, route)` → latency.
    latency: BTreeMap<(&'static str, String), Histogram>,
}

static HTTP: Mutex<HttpMetrics> = Mutex::new(HttpMetrics { requests: BTreeMap::new(), latency: BTreeMap::new() });
static INGESTED: AtomicU64 = AtomicU64::new(0);

/// Counts prediction records accepted (called by the predictions route with its answer).
pub fn record_ingested(n: u64) {
    INGESTED.fetch_add(n, Ordering::Relaxed);
}

/// Ingestion tries repeated because another replica changed a batch's windows first, and
/// batches that still met others after every try (answered 503: send again).
static INGEST_RETRIES: AtomicU64 = AtomicU64::new(0);
static INGEST_GAVE_UP: AtomicU64 = AtomicU64::new(0);

/// Counts a batch's repeated tries (the predictions route, with its outcome).
pub fn record_ingest_retries(n: u32) {
    INGEST_RETRIES.fetch_add(u64::from(n), Ordering::Relaxed);
}

/// Counts a batch that kept meeting others and was refused with 503.
pub fn record_ingest_gave_up() {
    INGEST_GAVE_UP.fetch_add(1, Ordering::Relaxed);
}

/// A method as a label: the standard ones by name, any other (clients may invent
/// methods) as `other`, so labels stay few.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

fn observe(method: &'static str, route: &str, status: u16, seconds: f64) {
    let mut http = HTTP.lock().unwrap_or_else(PoisonError::into_inner);
    *http.requests.entry((method, route.to_string(), status)).or_insert(0) += 1;
    http.latency.entry((method, route.to_string())).or_default().observe(seconds);
}

/// Middleware: counts each request by method, matched route template (never the raw path,
/// which carries names) and status, and observes its latency until the response head.
/// Added with `Router::layer`, so it runs after routing and sees [`MatchedPath`].
pub async fn track(request: Request, next: Next) -> Response {
    let method = method_label(request.method());
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    let started = Instant::now();
    let response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();
    observe(method, route.as_deref().unwrap_or(UNMATCHED), response.status().as_u16(), seconds);
    response
}

/// Prometheus metrics, text format 0.0.4. Needs a bearer token like every other route,
/// of any role that may read the registry (viewer and up); model metrics cover the
/// projects the token may read. Per model version, from its latest window (looked for in
/// the last 90 days): drift statistic, p-value and verdict per feature, the share of
/// features drifted, records, performance and fairness metrics, and incidents not resolved
/// per severity; server-wide: requests by method, route template and status, latency
/// histograms per route, and prediction records ingested. Give Prometheus the token with
/// `authorization: {credentials_file: …}` in the scrape config.
#[utoipa::path(
    get, path = "/metrics", tag = "system", security(("bearer" = [])),
    responses(
        (status = 200, description = "Metrics in the Prometheus text exposition format 0.0.4", content_type = "text/plain; version=0.0.4; charset=utf-8", body = String),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)
    )
)]
pub async fn prometheus(State(state): State<AppState>, Caller(ctx): Caller) -> Result<Response, ApiError> {
    let models = state.riskops.model_metrics(&ctx).await?;
    let http = HTTP.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let compromised = state.riskops.compromised_deployments(&ctx);
    let mut body = render(&models, &http, INGESTED.load(Ordering::Relaxed));
    body.push_str(&render_compromised(&compromised));
    body.push_str(&render_ingest_conflicts(
        INGEST_RETRIES.load(Ordering::Relaxed),
        INGEST_GAVE_UP.load(Ordering::Relaxed),
    ));
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response())
}

/// Replicas sharing a model's windows: how often a batch tried again, how often it gave up.
fn render_ingest_conflicts(retries: u64, gave_up: u64) -> String {
    let mut e = Exposition { out: String::new() };
    let name = "riskops_ingest_conflict_retries_total";
    e.family(name, "counter", "Ingestion tries repeated because another replica changed the batch's windows first.");
    e.sample(name, &[], &retries.to_string());
    let name = "riskops_ingest_conflicts_exhausted_total";
    e.family(name, "counter", "Batches refused with 503 after every try met another replica's write.");
    e.sample(name, &[], &gave_up.to_string());
    e.out
}

/// Deployments the last integrity check found compromised, one sample each (none: the
/// family alone, so an alert rule can expect it).
fn render_compromised(compromised: &[riskops_core::service::IntegrityProblem]) -> String {
    let mut e = Exposition { out: String::new() };
    let name = "riskops_deployment_compromised";
    e.family(
        name,
        "gauge",
        "1 for a current deployment whose artifact, registry digest or signature failed the integrity check.",
    );
    for p in compromised {
        let version = p.version.to_string();
        e.sample(name, &[("model", &p.model), ("version", &version), ("environment", p.environment.as_str())], "1");
    }
    e.out
}

/// The exposition text being written: families of samples, each with `# HELP` and `# TYPE`.
struct Exposition {
    out: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: &str) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape_label(v));
            }
            self.out.push('}');
        }
        self.out.push(' ');
        self.out.push_str(value);
        self.out.push('\n');
    }
}

/// A label value as the format wants it: backslash, double quote and newline escaped.
fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A float as the format writes it (`NaN`, `+Inf`, `-Inf`; otherwise the shortest text
/// that reads back to the same value).
fn float(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 { "+Inf".into() } else { "-Inf".into() }
    } else if x != 0.0 && !(1e-4..1e16).contains(&x.abs()) {
        // Exponent notation where plain digits would run long (a p-value of 1e-120).
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// Per model version: a closure's samples (extra labels and value) under the version's labels.
fn per_version(
    e: &mut Exposition,
    models: &[ModelMetrics],
    name: &str,
    samples: impl Fn(&ModelMetrics) -> Vec<(Vec<(&'static str, String)>, String)>,
) {
    for m in models {
        let version = m.version.to_string();
        for (extra, value) in samples(m) {
            let mut labels: Vec<(&str, &str)> =
                vec![("project", m.project.as_str()), ("model", m.model.as_str()), ("version", version.as_str())];
            labels.extend(extra.iter().map(|(k, v)| (*k, v.as_str())));
            e.sample(name, &labels, &value);
        }
    }
}

fn report(m: &ModelMetrics) -> Option<&WindowReport> {
    m.latest.as_ref().map(|w| &w.report.report)
}

/// One sample per feature of the drift report: `(feature, method)` labels and the value.
fn drift_samples(
    m: &ModelMetrics,
    value: impl Fn(&FeatureDrift) -> Option<f64>,
) -> Vec<(Vec<(&'static str, String)>, String)> {
    report(m)
        .into_iter()
        .flat_map(|r| &r.drift.features)
        .filter_map(|f| {
            let v = value(f)?;
            Some((vec![("feature", f.name.clone()), ("method", f.method.name().to_string())], float(v)))
        })
        .collect()
}

/// The latest window's headline estimated metrics (the confusion counts are left out).
fn estimated(m: &ModelMetrics) -> impl Iterator<Item = (&'static str, &EstimatedValue)> {
    let e = report(m).and_then(|r| r.estimated.as_ref()).and_then(|e| e.as_ref().ok());
    e.into_iter().flat_map(|e| e.estimated.values()).take(5)
}

fn reconstruction(m: &ModelMetrics) -> Option<&ReconstructionValue> {
    let r = report(m)?.multivariate.as_ref()?.as_ref().ok()?;
    Some(&r.reconstruction_error)
}

/// A sample with extra labels, when the value is defined.
fn sample((labels, x): (Vec<(&'static str, String)>, f64)) -> Option<(Vec<(&'static str, String)>, String)> {
    x.is_finite().then(|| (labels, float(x)))
}

/// A sample without labels beyond the version's, when the value is defined.
fn one(x: Option<f64>) -> Vec<(Vec<(&'static str, String)>, String)> {
    x.filter(|x| x.is_finite()).map(|x| (Vec::new(), float(x))).into_iter().collect()
}

fn flag(b: bool) -> f64 {
    f64::from(u8::from(b))
}

fn render(models: &[ModelMetrics], http: &HttpMetrics, ingested: u64) -> String {
    let mut e = Exposition { out: String::new() };

    e.family("riskops_build_info", "gauge", "The riskops server's version (always 1).");
    e.sample("riskops_build_info", &[("version", env!("CARGO_PKG_VERSION"))], "1");

    e.family("riskops_http_requests_total", "counter", "HTTP requests by method, matched route template and status.");
    for ((method, route, status), n) in &http.requests {
        let status = status.to_string();
        e.sample(
            "riskops_http_requests_total",
            &[("method", method), ("route", route), ("status", &status)],
            &n.to_string(),
        );
    }

    let name = "riskops_http_request_duration_seconds";
    e.family(name, "histogram", "Time from a request to its response head, by method and matched route template.");
    for ((method, route), h) in &http.latency {
        let mut cumulative = 0;
        let bounds = LATENCY_BUCKETS.iter().map(|b| float(*b)).chain(std::iter::once("+Inf".to_string()));
        for (le, n) in bounds.zip(h.buckets) {
            cumulative += n;
            e.sample(
                &format!("{name}_bucket"),
                &[("method", method), ("route", route), ("le", &le)],
                &cumulative.to_string(),
            );
        }
        e.sample(&format!("{name}_sum"), &[("method", method), ("route", route)], &float(h.sum));
        e.sample(&format!("{name}_count"), &[("method", method), ("route", route)], &h.count.to_string());
    }

    e.family(
        "riskops_ingested_records_total",
        "counter",
        "Prediction records accepted (duplicates and rejects not counted).",
    );
    e.sample("riskops_ingested_records_total", &[], &ingested.to_string());

    e.family(
        "riskops_drift_statistic",
        "gauge",
        "Drift statistic of a feature in the version's latest window, against its reference dataset.",
    );
    per_version(&mut e, models, "riskops_drift_statistic", |m| drift_samples(m, |f| Some(f.statistic)));

    e.family(
        "riskops_drift_p_value",
        "gauge",
        "p-value of the drift test of a feature in the latest window, where the method has one.",
    );
    per_version(&mut e, models, "riskops_drift_p_value", |m| drift_samples(m, |f| f.p_value));

    e.family("riskops_drift_detected", "gauge", "1 when the feature drifted in the latest window, else 0.");
    per_version(&mut e, models, "riskops_drift_detected", |m| drift_samples(m, |f| Some(flag(f.drifted))));

    e.family("riskops_drift_share", "gauge", "Share of features drifted in the latest window.");
    per_version(&mut e, models, "riskops_drift_share", |m| one(report(m).map(|r| r.drift.share)));

    e.family("riskops_window_records", "gauge", "Prediction records in the latest window.");
    per_version(&mut e, models, "riskops_window_records", |m| {
        m.latest.iter().map(|w| (Vec::new(), w.records.to_string())).collect()
    });

    e.family(
        "riskops_window_rejected_records",
        "gauge",
        "Records of the latest window refused by the version's schema, by reason (a record counts under each of its reasons).",
    );
    per_version(&mut e, models, "riskops_window_rejected_records", |m| {
        let by_reason = report(m).into_iter().flat_map(|r| &r.quality.rejected_by_reason);
        by_reason.map(|(reason, n)| (vec![("reason", reason.name().to_string())], n.to_string())).collect()
    });

    e.family(
        "riskops_window_rejected_rate",
        "gauge",
        "Share of the latest window's records that were refused (rejected / (accepted + rejected)).",
    );
    per_version(&mut e, models, "riskops_window_rejected_rate", |m| {
        one(report(m).and_then(|r| r.quality.rejected_rate))
    });

    e.family("riskops_window_labelled_records", "gauge", "Records of the latest window whose label has arrived.");
    per_version(&mut e, models, "riskops_window_labelled_records", |m| {
        m.latest.iter().map(|w| (Vec::new(), w.labelled.to_string())).collect()
    });

    e.family("riskops_window_end_timestamp_seconds", "gauge", "End of the latest window (unix seconds).");
    per_version(&mut e, models, "riskops_window_end_timestamp_seconds", |m| {
        m.latest.iter().map(|w| (Vec::new(), w.end.to_string())).collect()
    });

    e.family(
        "riskops_performance",
        "gauge",
        "Performance of the latest window's labelled records (accuracy, f1, roc_auc, ... or mae, rmse, ...).",
    );
    per_version(&mut e, models, "riskops_performance", |m| {
        // Counts of records are left out: `riskops_window_labelled_records` has them.
        let values = report(m).and_then(|r| r.performance.as_ref()).map(PerformanceReport::values);
        values
            .into_iter()
            .flatten()
            .filter(|(metric, _)| !matches!(*metric, "count" | "scored"))
            .map(|(metric, x)| (vec![("metric", metric.to_string())], float(x)))
            .collect()
    });

    e.family(
        "riskops_estimated_performance",
        "gauge",
        "Performance of the latest window estimated without labels (CBPE: roc_auc, f1, precision, recall, accuracy), once it has closed.",
    );
    per_version(&mut e, models, "riskops_estimated_performance", |m| {
        estimated(m).map(|(metric, v)| (vec![("metric", metric.to_string())], v.value)).filter_map(sample).collect()
    });

    e.family(
        "riskops_estimated_performance_alert",
        "gauge",
        "1 when the latest window's estimated metric is outside its thresholds from the reference, else 0.",
    );
    per_version(&mut e, models, "riskops_estimated_performance_alert", |m| {
        estimated(m)
            .map(|(metric, v)| (vec![("metric", metric.to_string())], flag(v.alert)))
            .filter_map(sample)
            .collect()
    });

    e.family(
        "riskops_reconstruction_error",
        "gauge",
        "Data-reconstruction error of the latest window (multivariate drift), once it has closed.",
    );
    per_version(&mut e, models, "riskops_reconstruction_error", |m| one(reconstruction(m).map(|r| r.value)));

    e.family(
        "riskops_reconstruction_error_alert",
        "gauge",
        "1 when the latest window's reconstruction error is outside its thresholds from the reference, else 0.",
    );
    per_version(
        &mut e,
        models,
        "riskops_reconstruction_error_alert",
        |m| one(reconstruction(m).map(|r| flag(r.alert))),
    );

    e.family(
        "riskops_business",
        "gauge",
        "Business value of the latest window from the model's values per outcome (value, cost, value_per_1000, cost_per_1000).",
    );
    per_version(&mut e, models, "riskops_business", |m| {
        let Some(business) = m.latest.as_ref().and_then(|w| w.report.business.as_ref()) else { return Vec::new() };
        ["value", "cost", "value_per_1000", "cost_per_1000"]
            .into_iter()
            .filter_map(|metric| Some((vec![("metric", metric.to_string())], float(business.metric(metric)?))))
            .collect()
    });

    e.family(
        "riskops_fairness",
        "gauge",
        "Fairness of the latest window per sensitive attribute (demographic parity, equalized odds, four-fifths ratio).",
    );
    per_version(&mut e, models, "riskops_fairness", |m| {
        let mut out = Vec::new();
        for (attribute, f) in report(m).into_iter().flat_map(|r| &r.fairness) {
            // Only the attribute's summary: its groups are named by record values.
            let fields = [
                ("demographic_parity_difference", f.demographic_parity_difference),
                ("demographic_parity_ratio", f.demographic_parity_ratio),
                ("equalized_odds_difference", f.equalized_odds_difference),
                ("four_fifths_ratio", f.four_fifths.as_ref().map(|x| x.ratio)),
            ];
            for (metric, x) in fields {
                if let Some(x) = x.filter(|x| x.is_finite()) {
                    out.push((vec![("attribute", attribute.clone()), ("metric", metric.to_string())], float(x)));
                }
            }
        }
        out
    });

    e.family(
        "riskops_attribution",
        "gauge",
        "Attributions of the latest window's sampled records per feature (share of mean |SHAP|, change from the validation data's share, mean_abs_shap, reference_share): the names monitors read as explain.<feature>.<metric>.",
    );
    per_version(&mut e, models, "riskops_attribution", |m| {
        let mut out = Vec::new();
        for metric in riskops_monitor::EXPLAIN_FEATURE {
            if let Some(Observed::PerName(values)) = report(m).and_then(|r| r.metric(&["explain", "*", metric])) {
                for (feature, x) in values {
                    out.push((vec![("feature", feature), ("metric", metric.to_string())], float(x)));
                }
            }
        }
        out
    });

    e.family(
        "riskops_attribution_shift",
        "gauge",
        "Half the sum of |change| of the features' attribution shares in the latest window (explain.shift).",
    );
    per_version(&mut e, models, "riskops_attribution_shift", |m| {
        one(report(m).and_then(|r| match r.metric(&["explain", "shift"]) {
            Some(Observed::One(x)) => Some(x),
            _ => None,
        }))
    });

    e.family(
        "riskops_attribution_unexplained",
        "gauge",
        "Share of the latest window's logged outputs that the model's attributions of the logged features do not account for (explain.unexplained).",
    );
    per_version(&mut e, models, "riskops_attribution_unexplained", |m| {
        one(report(m).and_then(|r| match r.metric(&["explain", "unexplained"]) {
            Some(Observed::One(x)) => Some(x),
            _ => None,
        }))
    });

    e.family("riskops_open_incidents", "gauge", "Incidents open or acknowledged (not resolved), by severity.");
    per_version(&mut e, models, "riskops_open_incidents", |m| {
        m.open_incidents.iter().map(|(s, n)| (vec![("severity", s.as_str().to_string())], n.to_string())).collect()
    });

    e.out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_floats_written_as_the_format_wants() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(float(f64::NAN), "NaN");
        assert_eq!(float(f64::INFINITY), "+Inf");
        assert_eq!(float(f64::NEG_INFINITY), "-Inf");
        assert_eq!(float(0.1), "0.1");
        assert_eq!(float(0.1 + 0.2).parse::<f64>().ok(), Some(0.1 + 0.2));
        assert_eq!(float(2.5e-121), "2.5e-121");
        assert_eq!(float(-3e20), "-3e20");
        assert_eq!(float(12.0), "12");
    }

    #[test]
    fn histogram_buckets_take_each_observation_once() {
        let mut h = Histogram::default();
        for s in [0.001, 0.005, 0.2, 11.0] {
            h.observe(s);
        }
        assert_eq!(h.buckets[0], 2);
        assert_eq!(h.buckets[5], 1);
        assert_eq!(h.buckets[LATENCY_BUCKETS.len()], 1);
        assert_eq!(h.count, 4);
    }

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }
}
