//! The risk register: project context, documents kept as data, entries.

use super::*;
use riskops_core::context::{Autonomy, DataSensitivity, EuAiAct, Industry, ProjectContext, Template};
use riskops_core::risk::{ControlLink, Impact, RiskEntry, RiskFields, RiskStatus};

pub(super) fn context(industry: Industry, workflow: &str) -> ProjectContext {
    ProjectContext {
        industry,
        workflow: workflow.into(),
        workflow_description: format!("{workflow} for the call centre"),
        data_sensitivity: vec![DataSensitivity::Phi, DataSensitivity::Financial],
        autonomy: Autonomy::HumanOnTheLoop,
        eu_ai_act: Some(EuAiAct::High),
        annex_iii_area: Some("5(a) access to essential public services".into()),
        template: Some(Template::Healthcare),
    }
}

fn risk(failure_mode: &str, severity: u8, likelihood: u8) -> RiskFields {
    RiskFields {
        failure_mode: failure_mode.into(),
        category: "accuracy".into(),
        severity,
        likelihood,
        impact: Impact { financial: 4, reputational: 3, regulatory: 5, safety: 1 },
        controls: vec![],
        owner: "ana".into(),
        status: RiskStatus::Open,
        rationale: format!("{failure_mode} seen in review"),
    }
}

/// A second identity (an admin too), so that changes can be told apart by who made them.
pub(super) async fn other_permit(store: &Arc<dyn Store>, admin: &Permit, name: &str) -> Permit {
    let token = format!("{name}-token");
    let new = NewIdentity {
        roles: vec![binding(Role::Admin, None)],
        ..new_identity(name, &riskops_core::auth::hash_token(&token))
    };
    store.create_identity(new, audit(admin, "identity.create", &format!("identity:{name}")), T0).await.unwrap();
    let principal = authenticate(&service(store.clone()), &token).await.unwrap();
    authorize(&principal, Operation::IdentityAdmin, Scope::Global).unwrap()
}

#[tokio::test]
async fn project_contexts_are_set_cleared_and_read_back() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let mut chain = Chain::new(store).await;
        let before = store.project("default").await.unwrap().unwrap();
        assert_eq!(before.context, None, "{kind:?}");

        let set = |c: Option<&ProjectContext>| {
            let audit = audit(&permit, "project.context", "project:default");
            store.set_project_context("default", c.map(ProjectContext::to_json), audit, T0)
        };
        let healthcare = context(Industry::Healthcare, "billing_information");
        let described = set(Some(&healthcare)).await.unwrap();
        chain.one("project.context").await;
        assert_eq!(described, Project { context: Some(healthcare.clone()), ..before.clone() }, "{kind:?}");
        assert_eq!(store.project("default").await.unwrap(), Some(described.clone()));
        assert_eq!(store.list_projects().await.unwrap(), [described]);

        // Replaced as a whole; optional parts left out stay out.
        let finance = ProjectContext {
            data_sensitivity: vec![],
            autonomy: Autonomy::Autonomous,
            eu_ai_act: None,
            annex_iii_area: None,
            template: None,
            workflow_description: String::new(),
            ..context(Industry::Finance, "fraud_screening")
        };
        let replaced = set(Some(&finance)).await.unwrap();
        chain.one("project.context").await;
        assert_eq!(replaced.context.as_ref(), Some(&finance), "{kind:?}");
        assert_eq!(store.project("default").await.unwrap().unwrap().context, Some(finance));

        let cleared = set(None).await.unwrap();
        chain.one("project.context").await;
        assert_eq!(cleared, before, "{kind:?}");
        assert_eq!(store.project("default").await.unwrap(), Some(before));

        let unknown = store.set_project_context(
            "nope",
            Some(healthcare.to_json()),
            audit(&permit, "project.context", "project:nope"),
            T0,
        );
        let unknown = unknown.await.unwrap_err();
        assert_eq!((unknown.kind, unknown.message.as_str()), (ErrorKind::NotFound, "no project named \"nope\""));
        chain.none().await;

        // A new project has no context; setting one leaves the others alone.
        let p = NewProject { name: "triage".into(), description: String::new() };
        let made = store.create_project(p, audit(&permit, "project.create", "project:triage"), T0).await.unwrap();
        chain.one("project.create").await;
        assert_eq!(made.context, None, "{kind:?}");
        let triage = set_context_of(store, &permit, "triage", &healthcare).await;
        chain.one("project.context").await;
        assert_eq!(triage, Project { context: Some(healthcare), ..made });
        assert_eq!(store.project("default").await.unwrap().unwrap().context, None);
        chain.verify().await;
    }
}

pub(super) async fn set_context_of(store: &Arc<dyn Store>, permit: &Permit, name: &str, c: &ProjectContext) -> Project {
    let audit = audit(permit, "project.context", &format!("project:{name}"));
    store.set_project_context(name, Some(c.to_json()), audit, T0).await.unwrap()
}

#[tokio::test]
async fn documents_are_versioned_per_kind() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let mut chain = Chain::new(store).await;
        assert_eq!(store.document("taxonomy").await.unwrap(), None, "{kind:?}");

        let docs = [
            json!({"workflows": {"billing_information": {"failure_modes": ["wrong amount"]}}}),
            json!({"workflows": {}, "weight": 1.5, "bands": [4, 9, 16]}),
        ];
        for (i, doc) in docs.iter().enumerate() {
            let audit = audit(&permit, "taxonomy.update", "document:taxonomy").after(json!({"kind": "taxonomy"}));
            let stored = store.set_document("taxonomy", doc.clone(), audit, minutes(i as i64)).await.unwrap();
            let event = chain.one("taxonomy.update").await;
            assert_eq!(stored.version, i as u32 + 1, "{kind:?}");
            assert_eq!(event.after, Some(json!({"kind": "taxonomy", "version": i + 1})), "{kind:?}");
            assert_eq!(store.document("taxonomy").await.unwrap(), Some(stored));
        }
        let latest = store.document("taxonomy").await.unwrap().unwrap();
        assert_eq!(
            (latest.version, latest.document, latest.created_by.as_str(), latest.created_at),
            (2, docs[1].clone(), "admin", minutes(1)),
            "{kind:?}"
        );

        // Another kind starts at 1 and leaves the taxonomy's versions alone.
        let other = audit(&permit, "policy.update", "document:controls");
        let controls = store.set_document("controls", json!(["human review"]), other, minutes(2)).await.unwrap();
        let event = chain.one("policy.update").await;
        assert_eq!((controls.version, event.after), (1, Some(json!({"version": 1}))), "{kind:?}");
        assert_eq!(store.document("controls").await.unwrap(), Some(controls));
        assert_eq!(store.document("taxonomy").await.unwrap().unwrap().version, 2, "{kind:?}");
        assert_eq!(store.document("nothing").await.unwrap(), None);
        // The policy is not a document kind.
        assert_eq!(store.document("policy").await.unwrap(), None);
        chain.verify().await;
    }
}

#[tokio::test]
async fn concurrent_document_updates_get_one_version_each() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let mut tasks = Vec::new();
        for i in 0..8u32 {
            let (store, permit) = (store.clone(), permit.clone());
            tasks.push(tokio::spawn(async move {
                let audit = audit(&permit, "taxonomy.update", "document:taxonomy");
                store.set_document("taxonomy", json!({"n": i}), audit, T0).await.unwrap().version
            }));
        }
        let mut versions = Vec::new();
        for t in tasks {
            versions.push(t.await.unwrap());
        }
        versions.sort();
        assert_eq!(versions, (1..=8).collect::<Vec<_>>(), "{kind:?}");
        let events = store.audit_events(0, 10_000).await.unwrap();
        let report = verify_chain(&events);
        assert!(report.ok, "{kind:?}: {report:?}");
        assert_eq!(events.iter().filter(|e| e.action == "taxonomy.update").count(), 8, "{kind:?}");
    }
}

#[tokio::test]
async fn risk_entries_are_added_updated_and_listed_per_project() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let rita = other_permit(store, &permit, "rita").await;
        let p = NewProject { name: "fraud".into(), description: String::new() };
        store.create_project(p, audit(&permit, "project.create", "project:fraud"), T0).await.unwrap();
        let mut chain = Chain::new(store).await;

        let add = |project: &'static str, entries: Vec<RiskFields>| {
            let audit = audit(&permit, "risk.add", &format!("project:{project}"));
            store.add_risk_entries(project, entries, audit, T0)
        };
        let unknown = add("nope", vec![risk("hallucinated amount", 4, 3)]).await.unwrap_err();
        assert_eq!((unknown.kind, unknown.message.as_str()), (ErrorKind::NotFound, "no project named \"nope\""));
        chain.none().await;
        assert!(store.risk_entries("nope").await.unwrap().is_empty(), "{kind:?}");

        let fields = [risk("hallucinated amount", 4, 3), risk("wrong patient", 5, 2)];
        let added = add("default", fields.to_vec()).await.unwrap();
        let event = chain.one("risk.add").await;
        assert_eq!(added.len(), 2, "{kind:?}");
        assert!(added[0].id < added[1].id, "{kind:?}: {added:?}");
        assert_eq!(event.after, Some(json!({"ids": [added[0].id, added[1].id]})), "{kind:?}");
        for (entry, fields) in added.iter().zip(&fields) {
            let expected = RiskEntry {
                id: entry.id,
                project: "default".into(),
                fields: fields.clone(),
                created_at: T0,
                updated_at: T0,
                updated_by: "admin".into(),
            };
            assert_eq!(entry, &expected, "{kind:?}");
            assert_eq!(store.risk_entry(entry.id).await.unwrap().as_ref(), Some(entry));
        }

        let elsewhere = add("fraud", vec![risk("missed fraud ring", 3, 4)]).await.unwrap();
        let event = chain.one("risk.add").await;
        assert_eq!(event.after, Some(json!({"ids": [elsewhere[0].id]})));
        assert!(elsewhere[0].id > added[1].id, "{kind:?}");
        let nothing = add("fraud", vec![]).await.unwrap();
        let event = chain.one("risk.add").await;
        assert_eq!((nothing, event.after), (vec![], Some(json!({"ids": []}))), "{kind:?}");

        // Likelihood rises, a control is linked, the risk is mitigated; by someone else later.
        let changed = RiskFields {
            likelihood: 5,
            controls: vec![ControlLink { control: "human review".into(), effect: 2 }],
            status: RiskStatus::Mitigated,
            ..fields[0].clone()
        };
        let update = audit(&rita, "risk.update", &format!("risk:{}", added[0].id)).before(fields[0].to_json());
        let updated = store.update_risk_entry(added[0].id, changed.clone(), update, minutes(5)).await.unwrap();
        let event = chain.one("risk.update").await;
        assert_eq!((event.actor.as_str(), event.before), ("rita", Some(fields[0].to_json())), "{kind:?}");
        let expected = RiskEntry {
            fields: changed.clone(),
            updated_at: minutes(5),
            updated_by: "rita".into(),
            ..added[0].clone()
        };
        assert_eq!(updated, expected, "{kind:?}");
        assert_eq!(store.risk_entry(added[0].id).await.unwrap(), Some(expected.clone()));

        let missing = elsewhere[0].id + 1000;
        let update = audit(&rita, "risk.update", &format!("risk:{missing}"));
        let unknown = store.update_risk_entry(missing, changed, update, minutes(6)).await.unwrap_err();
        assert_eq!((unknown.kind, unknown.message), (ErrorKind::NotFound, format!("no risk entry {missing}")));
        chain.none().await;
        assert_eq!(store.risk_entry(missing).await.unwrap(), None);

        // Oldest first, each project its own.
        assert_eq!(store.risk_entries("default").await.unwrap(), [expected, added[1].clone()], "{kind:?}");
        assert_eq!(store.risk_entries("fraud").await.unwrap(), elsewhere, "{kind:?}");
        chain.verify().await;
    }
}

#[tokio::test]
async fn the_risk_register_cannot_be_erased() {
    async fn history(store: &Arc<dyn Store>) -> Vec<RiskEntry> {
        let permit = admin_permit(store).await;
        let t = audit(&permit, "taxonomy.update", "document:taxonomy");
        store.set_document("taxonomy", json!({"workflows": {}}), t, T0).await.unwrap();
        let a = audit(&permit, "risk.add", "project:default");
        store.add_risk_entries("default", vec![risk("wrong amount", 3, 3)], a, T0).await.unwrap()
    }
    // {s}. is the PostgreSQL schema; every statement must be refused by a trigger.
    const REWRITES: [&str; 4] = [
        "DELETE FROM {s}.risk_entries",
        "UPDATE {s}.documents SET created_by = 'mallory'",
        "UPDATE {s}.documents SET document = '{}'",
        "DELETE FROM {s}.documents",
    ];

    let b = sqlite().await;
    let entries = history(&b.store).await;
    let path = b._dir.as_ref().unwrap().path().join(riskops_store::sqlite::FILE_NAME);
    let conn = rusqlite::Connection::open(path).unwrap();
    for sql in REWRITES {
        let sql = sql.replace("{s}.", "");
        assert!(conn.execute(&sql, []).is_err(), "SQLite accepted {sql}");
    }
    assert_eq!(b.store.risk_entries("default").await.unwrap(), entries);
    assert_eq!(b.store.document("taxonomy").await.unwrap().unwrap().document, json!({"workflows": {}}));

    if let Some(pg) = postgres().await {
        let entries = history(&pg.store).await;
        let schema = pg.pg_schema.as_ref().unwrap();
        let (client, conn) = tokio_postgres::connect(schema.base_url(), tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        let truncates = ["TRUNCATE {s}.risk_entries", "TRUNCATE {s}.documents"];
        for sql in REWRITES.iter().chain(&truncates) {
            let sql = sql.replace("{s}", schema.name());
            let err = client.batch_execute(&sql).await.expect_err(&sql);
            assert!(
                err.as_db_error().is_some_and(|e| e.code() == &tokio_postgres::error::SqlState::RAISE_EXCEPTION),
                "{sql}: {err:?}"
            );
        }
        assert_eq!(pg.store.risk_entries("default").await.unwrap(), entries);
        assert_eq!(pg.store.document("taxonomy").await.unwrap().unwrap().document, json!({"workflows": {}}));
    }
}
