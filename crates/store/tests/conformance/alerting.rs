//! Alerting: due windows, monitor results, incidents, webhooks and deliveries.

use super::monitoring::{hour, window};
use super::risk::other_permit;
use super::*;
use riskops_core::alerting::Severity;
use riskops_core::incident::{
    AttemptOutcome, Delivery, DeliveryState, DueWindow, EvaluationWrite, Incident, IncidentExtension, IncidentFilter,
    IncidentState, MonitorResult, NewIncident, NewWebhook, Webhook, WebhookFormat,
};
use riskops_core::monitoring::{IngestWrite, WindowWrite};

fn unix(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

/// Commits one ingest of `model` at `at` (which the window rows remember as their last write).
async fn ingest_at(
    store: &Arc<dyn Store>,
    permit: &Permit,
    model: &str,
    windows: Vec<WindowWrite>,
    at: OffsetDateTime,
) {
    let write = IngestWrite { model: model.into(), windows, ..IngestWrite::default() };
    store.commit_ingest(write, audit(permit, "predictions.ingest", &format!("model:{model}")), at).await.unwrap();
}

fn due(model: &str, version: u32, start: i64, rev: i64) -> DueWindow {
    DueWindow { model: model.into(), version, start, end: start + 3600, rev }
}

fn result(version: u32, start: i64, monitor: &str, value: f64, breached: bool) -> MonitorResult {
    MonitorResult {
        version,
        window_start: start,
        window_end: start + 3600,
        monitor_id: monitor.into(),
        value: Some(value),
        at: None,
        breached,
        incident_id: None,
    }
}

fn new_incident(project: &str, model: &str, version: u32, monitor: &str, windows: &[i64]) -> NewIncident {
    NewIncident {
        project: project.into(),
        model: model.into(),
        version,
        monitor_id: monitor.into(),
        monitor: json!({"id": monitor, "metric": "drift.share", "above": 0.3, "for": 2}),
        severity: Severity::High,
        title: format!("{model}@{version}: {monitor}"),
        windows: windows.to_vec(),
        evidence: json!({"values": windows.iter().map(|w| json!({"window": w, "value": 0.5})).collect::<Vec<_>>()}),
        advice: Some(json!({"action": "retrain"})),
    }
}

fn evaluation(model: &str, results: Vec<MonitorResult>, opened: Vec<NewIncident>) -> EvaluationWrite {
    EvaluationWrite { model: model.into(), results, opened, ..EvaluationWrite::default() }
}

/// Opens one incident per `NewIncident` (one evaluation, one audit each) and returns their ids.
async fn open_incidents(
    store: &Arc<dyn Store>,
    permit: &Permit,
    opened: Vec<NewIncident>,
    at: OffsetDateTime,
) -> Vec<i64> {
    let model = opened[0].model.clone();
    let audits = opened.iter().map(|i| audit(permit, "incident.open", &format!("model:{}", i.model))).collect();
    store.commit_evaluation(evaluation(&model, vec![], opened), audits, at).await.unwrap()
}

fn new_webhook(project: &str, url: &str, format: WebhookFormat) -> NewWebhook {
    NewWebhook { project: project.into(), url: url.into(), secret: Secret::new(format!("secret-of-{url}")), format }
}

async fn add_webhook(store: &Arc<dyn Store>, permit: &Permit, project: &str, url: &str) -> Webhook {
    let audit = audit(permit, "webhook.add", &format!("project:{project}"));
    store.add_webhook(new_webhook(project, url, WebhookFormat::Json), audit, T0).await.unwrap()
}

/// `(webhook, incident, event, state, attempts)` of each delivery, as listed.
fn summary(ds: &[Delivery]) -> Vec<(i64, i64, &str, DeliveryState, u32)> {
    ds.iter().map(|d| (d.webhook_id, d.incident_id, d.event.as_str(), d.state, d.attempts)).collect()
}

impl Chain {
    /// The events appended since the last look, which must be `actions` in order.
    async fn these(&mut self, actions: &[&str]) {
        let events = self.since().await;
        let got: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(got, actions, "{:?}", self.store.kind());
        self.seen += events.len();
    }
}

#[tokio::test]
async fn windows_are_due_once_closed_and_until_evaluated_at_their_rev() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let evaluate = |evaluated: Vec<(u32, i64, i64)>| {
            let write = EvaluationWrite { evaluated, ..evaluation("fraud", vec![], vec![]) };
            store.commit_evaluation(write, vec![], minutes(1))
        };

        // hour(0) is written at T0 (12:00, when it starts).
        ingest_at(store, &permit, "fraud", vec![window(1, hour(0), b"a", 1, None)], T0).await;
        let (end, written) = (hour(1), unix(T0));
        // Not ended yet.
        assert!(store.due_windows(end - 1, written, 100).await.unwrap().is_empty(), "{kind:?}");
        // Ended, but written after the quiet bound: a replay may still be filling it.
        assert!(store.due_windows(end, written - 1, 100).await.unwrap().is_empty(), "{kind:?}");
        // Ended and quiet since.
        let due_h0 = due("fraud", 1, hour(0), 1);
        assert_eq!(store.due_windows(end, written, 100).await.unwrap(), std::slice::from_ref(&due_h0), "{kind:?}");

        const LATER: i64 = i64::MAX / 2;
        // A later window of the same model (any version) that has started closes it; one of
        // another model does not. The latest window is not closed by anything yet.
        ingest_at(store, &permit, "other", vec![window(1, hour(5), b"o", 1, None)], T0).await;
        // A window that has not started by now (a stray future timestamp) closes nothing.
        assert!(store.due_windows(hour(4), 0, 100).await.unwrap().is_empty(), "{kind:?}");
        assert!(store.due_windows(LATER, 0, 100).await.unwrap().is_empty(), "{kind:?}");
        ingest_at(store, &permit, "fraud", vec![window(2, hour(2), b"b", 1, None)], T0).await;
        assert_eq!(store.due_windows(LATER, 0, 100).await.unwrap(), std::slice::from_ref(&due_h0), "{kind:?}");
        ingest_at(store, &permit, "fraud", vec![window(1, hour(1), b"c", 1, None)], T0).await;
        let due_h1 = due("fraud", 1, hour(1), 1);
        assert_eq!(store.due_windows(LATER, 0, 100).await.unwrap(), [due_h0.clone(), due_h1.clone()], "{kind:?}");
        // Oldest first (per model), at most `limit`; everything ended and quiet by the end.
        assert_eq!(store.due_windows(LATER, 0, 1).await.unwrap(), std::slice::from_ref(&due_h0), "{kind:?}");
        let all = store.due_windows(hour(6), unix(T0), 100).await.unwrap();
        assert_eq!(
            all,
            [due_h0.clone(), due_h1.clone(), due("fraud", 2, hour(2), 1), due("other", 1, hour(5), 1)],
            "{kind:?}"
        );

        // Evaluated at its rev: no longer due. A stale rev (or a window never written)
        // changes nothing.
        evaluate(vec![(1, hour(0), 1)]).await.unwrap();
        for stale in [(1, hour(1), 0), (3, hour(1), 1), (1, hour(0), 1)] {
            let e = evaluate(vec![stale]).await.unwrap_err();
            assert_eq!(e.kind, ErrorKind::Conflict, "{kind:?}: {stale:?} is stale or judged already");
        }
        assert_eq!(store.due_windows(LATER, 0, 100).await.unwrap(), std::slice::from_ref(&due_h1), "{kind:?}");

        // Another ingest bumps the rev: due again, at the new rev, until evaluated at it.
        ingest_at(store, &permit, "fraud", vec![window(1, hour(0), b"a2", 1, Some(1))], minutes(70)).await;
        let due_h0_2 = due("fraud", 1, hour(0), 2);
        assert_eq!(store.due_windows(LATER, 0, 100).await.unwrap(), [due_h0_2.clone(), due_h1.clone()], "{kind:?}");
        assert_eq!(evaluate(vec![(1, hour(0), 1)]).await.unwrap_err().kind, ErrorKind::Conflict, "{kind:?}");
        assert_eq!(store.due_windows(LATER, 0, 100).await.unwrap(), [due_h0_2, due_h1.clone()], "{kind:?}: stale");
        evaluate(vec![(1, hour(0), 2)]).await.unwrap();
        assert_eq!(store.due_windows(LATER, 0, 100).await.unwrap(), [due_h1], "{kind:?}");
        // A write touches the window: the latest of its model waits for quiet again.
        let other = due("other", 1, hour(5), 1);
        assert_eq!(store.due_windows(hour(6), unix(T0), 100).await.unwrap().last(), Some(&other), "{kind:?}");
        ingest_at(store, &permit, "other", vec![window(1, hour(5), b"o2", 1, Some(1))], minutes(400)).await;
        let quiet = unix(minutes(400));
        assert!(!store.due_windows(hour(9), quiet - 1, 100).await.unwrap().iter().any(|w| w.model == "other"));
        let now_due = store.due_windows(hour(9), quiet, 100).await.unwrap();
        assert_eq!(now_due.last(), Some(&DueWindow { rev: 2, ..other }), "{kind:?}");
    }
}

#[tokio::test]
async fn evaluations_keep_results_and_open_and_extend_incidents() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let w1 = add_webhook(store, &permit, "default", "https://a.example/hook").await;
        let w2 = add_webhook(store, &permit, "default", "https://b.example/hook").await;
        let removed = add_webhook(store, &permit, "default", "https://c.example/hook").await;
        store.remove_webhook(removed.id, audit(&permit, "webhook.remove", "project:default"), T0).await.unwrap();
        let elsewhere = add_webhook(store, &permit, "credit", "https://d.example/hook").await;
        let mut chain = Chain::new(store).await;

        // One pass: results of two monitors, an incident for each (in order), audits.
        let mut h2 = result(1, hour(2), "m1", 0.6, true);
        h2.at = Some("age".into());
        let results = vec![
            result(1, hour(0), "m1", 0.1, false),
            result(1, hour(1), "m1", 0.5, true),
            h2.clone(),
            result(1, hour(1), "m2", 0.9, true),
        ];
        let first = new_incident("default", "fraud", 1, "m1", &[hour(1), hour(2)]);
        let second = NewIncident { advice: None, ..new_incident("default", "fraud", 1, "m2", &[hour(1)]) };
        let write = evaluation("fraud", results, vec![first.clone(), second.clone()]);
        let audits =
            vec![audit(&permit, "incident.open", "model:fraud"), audit(&permit, "incident.open", "model:fraud")];
        let ids = store.commit_evaluation(write, audits, minutes(1)).await.unwrap();
        chain.these(&["incident.open", "incident.open"]).await;
        assert_eq!(ids.len(), 2, "{kind:?}");
        let (a, b_) = (ids[0], ids[1]);
        assert!(a < b_, "{kind:?}");

        let opened = store.incident(a).await.unwrap().unwrap();
        let expected = Incident {
            id: a,
            project: "default".into(),
            model: "fraud".into(),
            version: 1,
            monitor_id: "m1".into(),
            monitor: first.monitor.clone(),
            severity: Severity::High,
            state: IncidentState::Open,
            title: first.title.clone(),
            first_window: hour(1),
            last_window: hour(2),
            windows: 2,
            evidence: first.evidence.clone(),
            advice: first.advice.clone(),
            raised_risks: vec![],
            opened_at: minutes(1),
            updated_at: minutes(1),
            acknowledged_by: None,
            acknowledged_at: None,
            resolved_by: None,
            resolved_at: None,
            note: String::new(),
            risk_action: Some(riskops_core::incident::RiskAction::Raise),
        };
        assert_eq!(opened, expected, "{kind:?}");
        let other = store.incident(b_).await.unwrap().unwrap();
        assert_eq!((other.monitor_id.as_str(), other.advice.as_ref(), other.windows), ("m2", None, 1), "{kind:?}");
        assert!(store.incident(b_ + 100).await.unwrap().is_none(), "{kind:?}");

        // The results remember their incident.
        let m1 = store.monitor_results("fraud", 1, "m1").await.unwrap();
        let with = |r: &MonitorResult, incident: Option<i64>| MonitorResult { incident_id: incident, ..r.clone() };
        assert_eq!(
            m1,
            [
                result(1, hour(0), "m1", 0.1, false),
                with(&result(1, hour(1), "m1", 0.5, true), Some(a)),
                with(&h2, Some(a)),
            ],
            "{kind:?}"
        );
        assert_eq!(store.monitor_results("fraud", 1, "m2").await.unwrap()[0].incident_id, Some(b_), "{kind:?}");
        assert!(store.monitor_results("fraud", 2, "m1").await.unwrap().is_empty(), "{kind:?}");
        assert!(store.monitor_results("other", 1, "m1").await.unwrap().is_empty(), "{kind:?}");

        // One incident.opened delivery per incident and webhook of the project still there.
        let queued = store.deliveries("default", None, 100).await.unwrap();
        assert_eq!(
            summary(&queued),
            [
                (w2.id, b_, "incident.opened", DeliveryState::Pending, 0),
                (w1.id, b_, "incident.opened", DeliveryState::Pending, 0),
                (w2.id, a, "incident.opened", DeliveryState::Pending, 0),
                (w1.id, a, "incident.opened", DeliveryState::Pending, 0),
            ],
            "{kind:?}"
        );
        assert!(queued.iter().all(|d| d.next_attempt_at == unix(minutes(1)) && d.created_at == minutes(1)));
        assert!(queued.iter().all(|d| d.last_status.is_none() && d.last_error.is_none() && d.delivered_at.is_none()));
        assert!(store.deliveries("credit", None, 100).await.unwrap().is_empty(), "{kind:?}");
        assert!(store.deliveries("default", Some(elsewhere.id), 100).await.unwrap().is_empty(), "{kind:?}");

        // The next pass evaluates hour 2 again (its incident is kept, its value replaced)
        // and extends the incident with hour 3; the window marked evaluated too.
        ingest_at(store, &permit, "fraud", vec![window(1, hour(3), b"h3", 1, None)], T0).await;
        chain.one("predictions.ingest").await;
        let again = result(1, hour(2), "m1", 0.7, true);
        let h3 = result(1, hour(3), "m1", 0.8, true);
        let extension = IncidentExtension {
            id: a,
            windows: vec![hour(3)],
            evidence: json!({"values": [0.5, 0.7, 0.8]}),
            advice: None,
        };
        let write = EvaluationWrite {
            model: "fraud".into(),
            evaluated: vec![(1, hour(3), 1)],
            results: vec![again.clone(), h3.clone()],
            opened: vec![],
            extended: vec![extension],
            ..EvaluationWrite::default()
        };
        let opened_now =
            store.commit_evaluation(write, vec![audit(&permit, "incident.update", "incident:1")], minutes(2)).await;
        assert!(opened_now.unwrap().is_empty(), "{kind:?}");
        chain.these(&["incident.update"]).await;
        let extended = store.incident(a).await.unwrap().unwrap();
        let expected = Incident {
            first_window: hour(1),
            last_window: hour(3),
            windows: 3,
            evidence: json!({"values": [0.5, 0.7, 0.8]}),
            updated_at: minutes(2),
            ..expected
        };
        assert_eq!(extended, expected, "{kind:?}: advice kept, opened_at kept");
        let m1 = store.monitor_results("fraud", 1, "m1").await.unwrap();
        assert_eq!(&m1[2..], [with(&again, Some(a)), with(&h3, Some(a))], "{kind:?}");
        assert!(store.due_windows(hour(9), unix(T0), 100).await.unwrap().is_empty(), "{kind:?}");
        // Extending queues nothing.
        assert_eq!(store.deliveries("default", None, 100).await.unwrap().len(), 4, "{kind:?}");

        // A window joins one incident once: extending another incident with a window that
        // belongs to one already leaves it where it is (and the counts follow the results).
        let extension =
            IncidentExtension { id: b_, windows: vec![hour(1), hour(2)], evidence: json!({}), advice: None };
        let write = EvaluationWrite { extended: vec![extension], ..evaluation("fraud", vec![], vec![]) };
        store.commit_evaluation(write, vec![], minutes(3)).await.unwrap();
        let m2 = store.incident(b_).await.unwrap().unwrap();
        assert_eq!((m2.first_window, m2.last_window, m2.windows), (hour(1), hour(1), 1), "{kind:?}");
        assert_eq!(store.incident(a).await.unwrap().unwrap().windows, 3, "{kind:?}");
        chain.verify().await;
    }
}

#[tokio::test]
async fn incidents_are_acknowledged_then_resolved_once_each() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let admin = admin_permit(store).await;
        let bob = other_permit(store, &admin, "bob").await;
        let hook = add_webhook(store, &admin, "default", "https://a.example/hook").await;
        let ids = open_incidents(
            store,
            &admin,
            vec![
                new_incident("default", "fraud", 1, "m1", &[hour(0)]),
                new_incident("default", "fraud", 1, "m2", &[hour(0)]),
            ],
            minutes(1),
        )
        .await;
        let (a, other) = (ids[0], ids[1]);
        let mut chain = Chain::new(store).await;
        let set = |id: i64, state: IncidentState, note: &'static str, permit: &Permit, at: OffsetDateTime| {
            store.set_incident_state(
                id,
                state,
                note,
                audit(permit, "incident.acknowledge", &format!("incident:{id}")),
                at,
            )
        };
        let events = |id: i64| async move {
            let ds = store.deliveries("default", Some(hook.id), 100).await.unwrap();
            ds.into_iter().filter(|d| d.incident_id == id).map(|d| d.event).rev().collect::<Vec<_>>()
        };

        let acked = set(a, IncidentState::Acknowledged, "looking into it", &bob, minutes(3)).await.unwrap();
        chain.one("incident.acknowledge").await;
        assert_eq!(acked.state, IncidentState::Acknowledged, "{kind:?}");
        assert_eq!(acked.acknowledged_by.as_deref(), Some("bob"), "{kind:?}");
        assert_eq!(acked.acknowledged_at, Some(minutes(3)), "{kind:?}");
        assert_eq!((acked.updated_at, acked.note.as_str()), (minutes(3), "looking into it"), "{kind:?}");
        assert_eq!((acked.resolved_by.as_ref(), acked.resolved_at), (None, None), "{kind:?}");
        assert_eq!(store.incident(a).await.unwrap().unwrap(), acked, "{kind:?}");
        assert_eq!(events(a).await, ["incident.opened", "incident.acknowledged"], "{kind:?}");

        // Acknowledging twice is refused, and changes nothing.
        let twice = set(a, IncidentState::Acknowledged, "me too", &admin, minutes(4)).await.unwrap_err();
        assert_eq!(twice.kind, ErrorKind::Conflict, "{kind:?}: {twice:?}");
        chain.none().await;
        assert_eq!(store.incident(a).await.unwrap().unwrap(), acked, "{kind:?}");
        assert_eq!(events(a).await.len(), 2, "{kind:?}");
        // Nor is an incident reopened.
        let reopen = set(a, IncidentState::Open, "", &admin, minutes(4)).await.unwrap_err();
        assert_eq!(reopen.kind, ErrorKind::Invalid, "{kind:?}: {reopen:?}");
        chain.none().await;

        // Resolving keeps the acknowledgement (and the note, when none is given).
        let resolved = set(a, IncidentState::Resolved, "", &admin, minutes(5)).await.unwrap();
        chain.one("incident.acknowledge").await;
        let expected = Incident {
            state: IncidentState::Resolved,
            resolved_by: Some("admin".into()),
            resolved_at: Some(minutes(5)),
            updated_at: minutes(5),
            // The risk register still has to follow.
            risk_action: Some(riskops_core::incident::RiskAction::Lower),
            ..acked.clone()
        };
        assert_eq!(resolved, expected, "{kind:?}");
        assert_eq!(events(a).await, ["incident.opened", "incident.acknowledged", "incident.resolved"], "{kind:?}");

        // Nothing after resolved.
        for state in [IncidentState::Acknowledged, IncidentState::Resolved, IncidentState::Open] {
            let err = set(a, state, "again", &admin, minutes(6)).await.unwrap_err();
            assert_eq!(err.kind, ErrorKind::Conflict, "{kind:?}: {state:?}: {err:?}");
        }
        chain.none().await;
        assert_eq!(store.incident(a).await.unwrap().unwrap(), expected, "{kind:?}");
        assert_eq!(events(a).await.len(), 3, "{kind:?}");

        // An open incident can be resolved straight away; a missing one is not found.
        let straight = set(other, IncidentState::Resolved, "false alarm", &bob, minutes(7)).await.unwrap();
        chain.one("incident.acknowledge").await;
        assert_eq!(straight.resolved_by.as_deref(), Some("bob"), "{kind:?}");
        assert_eq!((straight.acknowledged_by, straight.note.as_str()), (None, "false alarm"), "{kind:?}");
        assert_eq!(events(other).await, ["incident.opened", "incident.resolved"], "{kind:?}");
        let missing = set(other + 100, IncidentState::Acknowledged, "", &admin, minutes(7)).await.unwrap_err();
        assert_eq!(missing.kind, ErrorKind::NotFound, "{kind:?}");
        chain.none().await;

        // The risks an incident raised are recorded on it.
        store.set_incident_risks(a, &[7, 9], audit(&admin, "incident.risks", "incident:1"), minutes(8)).await.unwrap();
        chain.one("incident.risks").await;
        assert_eq!(store.incident(a).await.unwrap().unwrap().raised_risks, [7, 9], "{kind:?}");
        let err = store.set_incident_risks(other + 100, &[1], audit(&admin, "incident.risks", "x"), minutes(8)).await;
        assert_eq!(err.unwrap_err().kind, ErrorKind::NotFound, "{kind:?}");
        chain.none().await;
        chain.verify().await;
    }
}

/// A webhook receiver that keeps what it was sent.
#[derive(Default)]
struct Recording(std::sync::Mutex<Vec<serde_json::Value>>);

#[async_trait::async_trait]
impl riskops_core::service::WebhookTransport for Recording {
    async fn post(&self, _url: &str, _headers: &[(String, String)], body: Vec<u8>) -> std::result::Result<u16, String> {
        self.0.lock().unwrap().push(serde_json::from_slice(&body).unwrap());
        Ok(204)
    }
}

#[tokio::test]
async fn a_delivery_tells_of_the_incident_as_it_was_when_its_event_happened() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let admin = admin_permit(store).await;
        add_webhook(store, &admin, "default", "https://a.example/hook").await;
        let id = open_incidents(store, &admin, vec![new_incident("default", "fraud", 1, "m1", &[hour(0)])], minutes(1))
            .await[0];
        let set = |state: IncidentState, note: &'static str, at: OffsetDateTime| {
            store.set_incident_state(
                id,
                state,
                note,
                audit(&admin, "incident.acknowledge", &format!("incident:{id}")),
                at,
            )
        };
        set(IncidentState::Acknowledged, "looking into it", minutes(3)).await.unwrap();
        set(IncidentState::Resolved, "fixed upstream", minutes(5)).await.unwrap();

        // Nothing was sent before the incident was resolved; each delivery still tells its event.
        let folder = std::env::temp_dir().join(format!("riskops-conformance-{}", std::process::id()));
        let artifacts = Arc::new(riskops_store::artifacts::LocalArtifacts::new(folder).unwrap());
        let riskops = Riskops::new(store.clone(), artifacts, Arc::new(ManualClock::new(minutes(10))));
        let receiver = Recording::default();
        assert_eq!(riskops.deliver_webhooks(&receiver).await.unwrap(), 3, "{kind:?}");
        let sent = receiver.0.lock().unwrap().clone();
        let told: Vec<(&str, &str, &str)> = sent
            .iter()
            .map(|p| {
                let i = &p["incident"];
                (p["event"].as_str().unwrap(), i["state"].as_str().unwrap(), i["note"].as_str().unwrap())
            })
            .collect();
        assert_eq!(
            told,
            [
                ("incident.opened", "open", ""),
                ("incident.acknowledged", "acknowledged", "looking into it"),
                ("incident.resolved", "resolved", "fixed upstream"),
            ],
            "{kind:?}"
        );
        let acknowledged = &sent[1]["incident"];
        assert_eq!(
            (acknowledged["acknowledged_by"].as_str(), &acknowledged["resolved_at"]),
            (Some("admin"), &json!(null))
        );
        assert_eq!(acknowledged["id"], id, "{kind:?}");
    }
}

#[tokio::test]
async fn concurrent_acknowledgements_succeed_once() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let admin = admin_permit(store).await;
        add_webhook(store, &admin, "default", "https://a.example/hook").await;
        let id =
            open_incidents(store, &admin, vec![new_incident("default", "fraud", 1, "m1", &[hour(0)])], T0).await[0];
        let mut tasks = Vec::new();
        for i in 0..8 {
            let store = store.clone();
            let audit = audit(&admin, "incident.acknowledge", &format!("incident:{id}"));
            tasks.push(tokio::spawn(async move {
                store.set_incident_state(id, IncidentState::Acknowledged, &format!("n{i}"), audit, minutes(i)).await
            }));
        }
        let mut acked = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => acked += 1,
                Err(e) => assert_eq!(e.kind, ErrorKind::Conflict, "{kind:?}: {e:?}"),
            }
        }
        assert_eq!(acked, 1, "{kind:?}");
        let events = store.audit_events(0, 1000).await.unwrap();
        assert_eq!(events.iter().filter(|e| e.action == "incident.acknowledge").count(), 1, "{kind:?}");
        assert!(verify_chain(&events).ok, "{kind:?}");
        let ds = store.deliveries("default", None, 100).await.unwrap();
        assert_eq!(ds.iter().filter(|d| d.event == "incident.acknowledged").count(), 1, "{kind:?}");
    }
}

#[tokio::test]
async fn webhooks_are_added_listed_and_removed_with_their_pending_deliveries() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let mut chain = Chain::new(store).await;

        let audit_add = || audit(&permit, "webhook.add", "project:default");
        let new = new_webhook("default", "https://hooks.slack.example/x", WebhookFormat::Slack);
        let slack = store.add_webhook(new, audit_add(), minutes(1)).await.unwrap();
        chain.one("webhook.add").await;
        let expected = Webhook {
            id: slack.id,
            project: "default".into(),
            url: "https://hooks.slack.example/x".into(),
            secret: Secret::new("secret-of-https://hooks.slack.example/x".into()),
            format: WebhookFormat::Slack,
            created_by: "admin".into(),
            created_at: minutes(1),
        };
        assert_eq!(slack, expected, "{kind:?}");
        let plain = store.add_webhook(new_webhook("default", "https://p", WebhookFormat::Json), audit_add(), T0).await;
        let plain = plain.unwrap();
        chain.one("webhook.add").await;
        let credit = store.add_webhook(new_webhook("credit", "https://c", WebhookFormat::Json), audit_add(), T0).await;
        let credit = credit.unwrap();
        chain.one("webhook.add").await;
        assert!(slack.id < plain.id && plain.id < credit.id, "{kind:?}");
        assert_eq!(store.webhook(slack.id).await.unwrap(), Some(expected.clone()), "{kind:?}");
        assert_eq!(store.webhooks("default").await.unwrap(), [expected.clone(), plain.clone()], "{kind:?}");
        assert_eq!(store.webhooks("credit").await.unwrap(), std::slice::from_ref(&credit), "{kind:?}");
        assert!(store.webhooks("nobody").await.unwrap().is_empty(), "{kind:?}");

        // Deliveries: the first incident's to `slack` is delivered, the second's pending.
        let first = open_incidents(store, &permit, vec![new_incident("default", "fraud", 1, "m1", &[hour(0)])], T0);
        let first = first.await[0];
        let delivered = store.deliveries("default", Some(slack.id), 10).await.unwrap()[0].id;
        let ok = AttemptOutcome::Delivered { status: 204 };
        store.record_attempt(delivered, &ok, minutes(1)).await.unwrap();
        let second = open_incidents(store, &permit, vec![new_incident("default", "fraud", 1, "m2", &[hour(0)])], T0);
        let second = second.await[0];
        chain.these(&["incident.open", "incident.open"]).await;

        let remove = |id: i64| store.remove_webhook(id, audit(&permit, "webhook.remove", "project:default"), T0);
        remove(slack.id).await.unwrap();
        chain.one("webhook.remove").await;
        assert!(store.webhook(slack.id).await.unwrap().is_none(), "{kind:?}");
        assert_eq!(store.webhooks("default").await.unwrap(), std::slice::from_ref(&plain), "{kind:?}");
        // Its deliveries stay listed: the pending one failed, the delivered one as it was.
        let gone = store.deliveries("default", Some(slack.id), 10).await.unwrap();
        assert_eq!(
            summary(&gone),
            [
                (slack.id, second, "incident.opened", DeliveryState::Failed, 0),
                (slack.id, first, "incident.opened", DeliveryState::Delivered, 1),
            ],
            "{kind:?}"
        );
        assert_eq!(gone[0].last_error.as_deref(), Some("webhook removed"), "{kind:?}");
        assert_eq!((gone[1].last_error.as_deref(), gone[1].last_status), (None, Some(204)), "{kind:?}");
        // The other webhook's are untouched, and nothing of the removed one is due.
        let kept = store.deliveries("default", Some(plain.id), 10).await.unwrap();
        assert!(kept.iter().all(|d| d.state == DeliveryState::Pending), "{kind:?}");
        let due = store.due_deliveries(unix(minutes(60)), 100).await.unwrap();
        assert!(due.iter().all(|d| d.webhook_id == plain.id) && due.len() == 2, "{kind:?}");

        // A removed webhook gets nothing new; removing it again, or one never added, is not found.
        let third = open_incidents(store, &permit, vec![new_incident("default", "fraud", 1, "m3", &[hour(0)])], T0);
        let third = third.await[0];
        chain.one("incident.open").await;
        let latest = store.deliveries("default", None, 1).await.unwrap();
        assert_eq!(summary(&latest), [(plain.id, third, "incident.opened", DeliveryState::Pending, 0)], "{kind:?}");
        assert_eq!(store.deliveries("default", Some(slack.id), 10).await.unwrap().len(), 2, "{kind:?}");
        for id in [slack.id, credit.id + 100] {
            assert_eq!(remove(id).await.unwrap_err().kind, ErrorKind::NotFound, "{kind:?}");
        }
        chain.none().await;
        chain.verify().await;
    }
}

#[tokio::test]
async fn deliveries_are_attempted_until_delivered_or_given_up() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let w1 = add_webhook(store, &permit, "default", "https://a").await;
        let w2 = add_webhook(store, &permit, "default", "https://b").await;
        let w3 = add_webhook(store, &permit, "credit", "https://c").await;
        let first = open_incidents(store, &permit, vec![new_incident("default", "fraud", 1, "m1", &[hour(0)])], T0);
        let first = first.await[0];
        let second =
            open_incidents(store, &permit, vec![new_incident("credit", "loans", 1, "m1", &[hour(0)])], minutes(1));
        let second = second.await[0];
        let chain = Chain::new(store).await;

        let ids = |ds: &[Delivery]| ds.iter().map(|d| d.id).collect::<Vec<_>>();
        let all = store.deliveries("default", None, 100).await.unwrap();
        assert_eq!(summary(&all).iter().map(|d| (d.0, d.1)).collect::<Vec<_>>(), [(w2.id, first), (w1.id, first)]);
        let (d1, d2) = (all[1].id, all[0].id);
        let d3 = store.deliveries("credit", None, 100).await.unwrap()[0].id;
        assert_eq!(store.deliveries("credit", Some(w3.id), 100).await.unwrap()[0].incident_id, second);

        // Due once their next attempt is, oldest first, at most `limit`.
        assert!(store.due_deliveries(unix(T0) - 1, 100).await.unwrap().is_empty(), "{kind:?}");
        assert_eq!(ids(&store.due_deliveries(unix(T0), 100).await.unwrap()), [d1, d2], "{kind:?}");
        assert_eq!(ids(&store.due_deliveries(unix(minutes(1)), 100).await.unwrap()), [d1, d2, d3], "{kind:?}");
        assert_eq!(ids(&store.due_deliveries(unix(minutes(1)), 2).await.unwrap()), [d1, d2], "{kind:?}");

        // Delivered: done.
        store.record_attempt(d1, &AttemptOutcome::Delivered { status: 200 }, minutes(2)).await.unwrap();
        let one = |id: i64| async move {
            let all = [
                store.deliveries("default", None, 100).await.unwrap(),
                store.deliveries("credit", None, 100).await.unwrap(),
            ];
            all.concat().into_iter().find(|d| d.id == id).unwrap()
        };
        let done = one(d1).await;
        assert_eq!((done.state, done.attempts, done.last_status), (DeliveryState::Delivered, 1, Some(200)), "{kind:?}");
        assert_eq!((done.delivered_at, done.last_error), (Some(minutes(2)), None), "{kind:?}");
        assert_eq!((done.next_attempt_at, done.created_at), (unix(T0), T0), "{kind:?}");

        // Failed with a retry: still pending, due again at the retry.
        let retry_at = unix(minutes(10));
        let failed = AttemptOutcome::Failed { status: Some(503), error: "busy".into(), retry_at: Some(retry_at) };
        store.record_attempt(d2, &failed, minutes(2)).await.unwrap();
        let waiting = one(d2).await;
        assert_eq!((waiting.state, waiting.attempts, waiting.next_attempt_at), (DeliveryState::Pending, 1, retry_at));
        assert_eq!((waiting.last_status, waiting.last_error.as_deref()), (Some(503), Some("busy")), "{kind:?}");
        assert_eq!(waiting.delivered_at, None, "{kind:?}");
        assert_eq!(ids(&store.due_deliveries(retry_at - 1, 100).await.unwrap()), [d3], "{kind:?}");
        assert_eq!(ids(&store.due_deliveries(retry_at, 100).await.unwrap()), [d3, d2], "{kind:?}");

        // Failed without one: given up, never due again.
        let gave_up = AttemptOutcome::Failed { status: None, error: "timed out".into(), retry_at: None };
        store.record_attempt(d2, &gave_up, minutes(11)).await.unwrap();
        let given_up = one(d2).await;
        assert_eq!((given_up.state, given_up.attempts, given_up.next_attempt_at), (DeliveryState::Failed, 2, retry_at));
        assert_eq!((given_up.last_status, given_up.last_error.as_deref()), (None, Some("timed out")), "{kind:?}");
        assert_eq!(given_up.delivered_at, None, "{kind:?}");

        // A retry then a success clears the error.
        let failed = AttemptOutcome::Failed { status: None, error: "reset".into(), retry_at: Some(retry_at) };
        store.record_attempt(d3, &failed, minutes(2)).await.unwrap();
        store.record_attempt(d3, &AttemptOutcome::Delivered { status: 202 }, minutes(12)).await.unwrap();
        let late = one(d3).await;
        assert_eq!((late.state, late.attempts, late.last_status), (DeliveryState::Delivered, 2, Some(202)), "{kind:?}");
        assert_eq!((late.last_error, late.delivered_at), (None, Some(minutes(12))), "{kind:?}");
        assert!(store.due_deliveries(i64::MAX, 100).await.unwrap().is_empty(), "{kind:?}");

        // A delivery that is no longer pending is left as it is.
        for id in [d1, d2] {
            let before = one(id).await;
            store.record_attempt(id, &AttemptOutcome::Delivered { status: 200 }, minutes(20)).await.unwrap();
            store.record_attempt(id, &gave_up, minutes(20)).await.unwrap();
            assert_eq!(one(id).await, before, "{kind:?}");
        }

        // Listing: newest first, by webhook, at most `limit`.
        assert_eq!(ids(&store.deliveries("default", None, 1).await.unwrap()), [d2], "{kind:?}");
        assert_eq!(ids(&store.deliveries("default", Some(w1.id), 100).await.unwrap()), [d1], "{kind:?}");
        assert!(store.deliveries("default", Some(w3.id), 100).await.unwrap().is_empty(), "{kind:?}");
        assert!(store.deliveries("nobody", None, 100).await.unwrap().is_empty(), "{kind:?}");
        // Not audited: bookkeeping.
        chain.none().await;
    }
}

#[tokio::test]
async fn incidents_are_listed_newest_first_by_project_model_and_state() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let fraud = open_incidents(
            store,
            &permit,
            vec![
                new_incident("default", "fraud", 1, "m1", &[hour(0)]),
                new_incident("default", "fraud", 2, "m1", &[hour(0)]),
            ],
            T0,
        )
        .await;
        let scoring = open_incidents(store, &permit, vec![new_incident("default", "scoring", 1, "m1", &[hour(1)])], T0);
        let scoring = scoring.await[0];
        let loans = open_incidents(store, &permit, vec![new_incident("credit", "loans", 1, "m1", &[hour(0)])], T0);
        let loans = loans.await[0];
        let set = |id: i64, state: IncidentState| {
            store.set_incident_state(id, state, "", audit(&permit, "incident.acknowledge", "incident"), minutes(1))
        };
        set(fraud[1], IncidentState::Acknowledged).await.unwrap();
        set(loans, IncidentState::Resolved).await.unwrap();

        let list = |project: Option<&str>, model: Option<&str>, state: Option<IncidentState>| {
            let filter =
                IncidentFilter { project: project.map(str::to_string), model: model.map(str::to_string), state };
            async move { store.incidents(&filter).await.unwrap().into_iter().map(|i| i.id).collect::<Vec<_>>() }
        };
        assert_eq!(list(None, None, None).await, [loans, scoring, fraud[1], fraud[0]], "{kind:?}");
        assert_eq!(list(Some("default"), None, None).await, [scoring, fraud[1], fraud[0]], "{kind:?}");
        assert_eq!(list(None, Some("fraud"), None).await, [fraud[1], fraud[0]], "{kind:?}");
        assert_eq!(list(None, None, Some(IncidentState::Open)).await, [scoring, fraud[0]], "{kind:?}");
        assert_eq!(list(None, None, Some(IncidentState::Acknowledged)).await, [fraud[1]], "{kind:?}");
        assert_eq!(list(None, None, Some(IncidentState::Resolved)).await, [loans], "{kind:?}");
        assert_eq!(list(Some("default"), Some("fraud"), Some(IncidentState::Open)).await, [fraud[0]], "{kind:?}");
        assert!(list(Some("credit"), Some("fraud"), None).await.is_empty(), "{kind:?}");
        assert!(list(Some("nobody"), None, None).await.is_empty(), "{kind:?}");
        let full = store.incidents(&IncidentFilter { model: Some("loans".into()), ..Default::default() }).await;
        assert_eq!(full.unwrap(), [store.incident(loans).await.unwrap().unwrap()], "{kind:?}");
    }
}

#[tokio::test]
async fn one_monitor_and_version_has_one_unresolved_incident_even_with_two_servers() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let first = new_incident("default", "fraud", 1, "m1", &[hour(1)]);
        let ids = open_incidents(store, &permit, vec![first.clone()], minutes(1)).await;
        // A second server that read the same state opens the same incident: refused whole.
        let chain = Chain::new(store).await;
        let again = evaluation("fraud", vec![result(1, hour(2), "m1", 0.7, true)], vec![first.clone()]);
        let audits = vec![audit(&permit, "incident.open", "model:fraud")];
        let e = store.commit_evaluation(again, audits, minutes(2)).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Conflict, "{kind:?}");
        chain.none().await;
        assert!(store.monitor_results("fraud", 1, "m1").await.unwrap().iter().all(|r| r.window_start != hour(2)));
        // Once resolved, the monitor may open a new one; extending the resolved one is refused.
        let admin = audit(&permit, "incident.resolve", &format!("incident:{}", ids[0]));
        store.set_incident_state(ids[0], IncidentState::Resolved, "", admin, minutes(3)).await.unwrap();
        let extend = EvaluationWrite {
            extended: vec![IncidentExtension { id: ids[0], windows: vec![hour(2)], evidence: json!({}), advice: None }],
            ..evaluation("fraud", vec![], vec![])
        };
        let e = store.commit_evaluation(extend, vec![], minutes(4)).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Conflict, "{kind:?}: resolved meanwhile");
        let reopened = open_incidents(store, &permit, vec![first], minutes(5)).await;
        assert_ne!(reopened[0], ids[0], "{kind:?}");
    }
}
