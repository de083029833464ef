//! Alerting's pure parts: webhook signatures and payloads, runs of breaches, URLs.

use super::evaluation::{Rejudged, judge_again, longest_fresh_run};
use super::webhooks::{payload, validate_url};
use super::*;
use crate::alerting::Monitor;
use crate::incident::{Incident, IncidentState, MonitorResult, WebhookFormat};
use serde_json::{Value, json};
use std::collections::BTreeMap;

#[test]
fn signatures_are_hmac_sha256_over_timestamp_dot_body() {
    // From Python: hmac.new(b"a-secret-of-16+bytes", b'1700000000.{"event":"incident.opened"}',
    // hashlib.sha256).hexdigest()
    assert_eq!(
        signature("a-secret-of-16+bytes", "1700000000", br#"{"event":"incident.opened"}"#),
        "sha256=04d38c383efa9a99a996344e02472dc24d52250876f40037cd3346f7327c0ad1"
    );
}

fn incident() -> Incident {
    let t = time::macros::datetime!(2026-09-21 13:00 UTC);
    Incident {
        id: 3,
        project: "fraud".into(),
        model: "detector".into(),
        version: 2,
        monitor_id: "m1".into(),
        monitor: json!({"metric": "drift.share"}),
        severity: crate::alerting::Severity::High,
        state: IncidentState::Open,
        title: "detector@2: drift.share ≥ 0.3 for 2 windows".into(),
        first_window: 1_790_078_400,
        last_window: 1_790_082_000,
        windows: 2,
        evidence: json!({}),
        advice: Some(json!({"action": "retrain", "reason": "drift held for 2 windows"})),
        raised_risks: vec![],
        opened_at: t,
        updated_at: t,
        acknowledged_by: None,
        acknowledged_at: None,
        resolved_by: None,
        resolved_at: None,
        note: String::new(),
        risk_action: None,
    }
}

#[test]
fn payloads_are_riskops_json_or_slack_messages() {
    let now = time::macros::datetime!(2026-09-21 14:00 UTC);
    let body: Value =
        serde_json::from_slice(&payload(WebhookFormat::Json, "incident.opened", 9, &incident().to_json(), now))
            .unwrap();
    assert_eq!((body["event"].as_str(), body["delivery"].as_i64()), (Some("incident.opened"), Some(9)));
    assert_eq!(body["incident"], incident().to_json());
    assert_eq!(body["sent_at"], "2026-09-21T14:00:00Z");
    let slack: Value =
        serde_json::from_slice(&payload(WebhookFormat::Slack, "incident.opened", 9, &incident().to_json(), now))
            .unwrap();
    let text = slack["text"].as_str().unwrap();
    assert!(text.starts_with("*[HIGH] incident 3 opened*: detector@2: drift.share"), "{text}");
    assert!(
        text.contains("project `fraud`, since 2026-09-22T12:00:00Z, 2 window(s)")
            && text.contains("Advice: drift held")
    );
    assert_eq!(slack["blocks"][0]["type"], "section");
    assert_eq!(slack["blocks"][0]["text"]["text"], text);
}

fn result(start: i64, breached: bool, incident: Option<i64>) -> (i64, MonitorResult) {
    (
        start,
        MonitorResult {
            version: 1,
            window_start: start,
            window_end: start + 1,
            monitor_id: "m1".into(),
            value: Some(1.0),
            at: None,
            breached,
            incident_id: incident,
        },
    )
}

#[test]
fn a_run_must_last_the_persistence_and_hold_fresh_windows() {
    let r: BTreeMap<_, _> = [result(1, true, None), result(2, false, None), result(3, true, None)].into();
    assert!(longest_fresh_run(&r, 2).is_none(), "no two consecutive breaches");
    let r: BTreeMap<_, _> = [result(1, true, None), result(2, true, None), result(3, false, None)].into();
    assert_eq!(longest_fresh_run(&r, 2).unwrap().len(), 2);
    let r: BTreeMap<_, _> = [result(1, true, Some(7)), result(2, true, Some(7))].into();
    assert!(longest_fresh_run(&r, 1).is_none(), "every window is in an incident already");
    let r: BTreeMap<_, _> = [result(1, true, Some(7)), result(2, true, Some(7)), result(3, true, None)].into();
    let run = longest_fresh_run(&r, 3).unwrap();
    assert_eq!(run.iter().filter(|x| x.incident_id.is_none()).count(), 1);
}

#[test]
fn an_incident_judged_again_shows_its_values_and_resolves_when_none_breaches() {
    let monitor = Monitor::from_json(&json!({"id": "m1", "metric": "drift.share", "above": 0.3})).unwrap();
    let mut i = incident();
    i.version = 1;
    let at = |start: i64, value: f64, breached: bool| {
        let (_, mut r) = result(start, breached, Some(3));
        r.value = Some(value);
        (start, r)
    };
    let before: BTreeMap<_, _> = [at(1, 0.5, true), at(2, 0.45, true)].into();
    // Nothing of the incident was judged again: nothing changes.
    assert!(judge_again(&i, &monitor, &before, &[result(5, false, None).1]).is_none());
    // One window fell under the threshold, one still breaches: refreshed.
    let mid: BTreeMap<_, _> = [at(1, 0.2, false), at(2, 0.45, true)].into();
    let Some(Rejudged::Refreshed(r)) = judge_again(&i, &monitor, &mid, &[mid[&1].clone()]) else { panic!() };
    assert_eq!(r.evidence["values"][0]["value"], 0.2);
    // Neither breaches: resolved, with why.
    let after: BTreeMap<_, _> = [at(1, 0.2, false), at(2, 0.1, false)].into();
    let Some(Rejudged::Resolved(r)) = judge_again(&i, &monitor, &after, &[after[&2].clone()]) else { panic!() };
    assert!(r.reason.contains("none of its 2 window(s) breaches drift.share ≥ 0.3"), "{}", r.reason);
    assert_eq!((r.id, r.evidence["values"][1]["value"].as_f64()), (3, Some(0.1)));
}

#[test]
fn urls_must_be_http_without_credentials() {
    assert!(validate_url("http://127.0.0.1:9000/hook?x=1").is_ok());
    assert!(validate_url("https://hooks.slack.com/services/T/B/X").is_ok());
    for bad in ["ftp://x", "http://", "http://user:pw@host/", "http://a b/"] {
        assert_eq!(validate_url(bad).unwrap_err().field.as_deref(), Some("url"), "{bad}");
    }
}
