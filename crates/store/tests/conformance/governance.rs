//! Governance through the store: project tiers, evidence, promotions and deployments,
//! and a history that cannot be rewritten.

use super::*;

#[tokio::test]
async fn project_tiers_are_set_and_cleared() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let mut chain = Chain::new(store).await;
        let before = store.project("default").await.unwrap().unwrap();
        assert_eq!(before.tier_override, None, "{kind:?}");

        let set = |tier| store.set_project_tier("default", tier, audit(&permit, "project.tier", "project:default"), T0);
        let critical = set(Some(Tier::Critical)).await.unwrap();
        chain.one("project.tier").await;
        assert_eq!(critical, Project { tier_override: Some(Tier::Critical), ..before.clone() });
        assert_eq!(store.project("default").await.unwrap(), Some(critical.clone()));
        assert_eq!(store.list_projects().await.unwrap(), [critical]);

        let low = set(Some(Tier::Low)).await.unwrap();
        chain.one("project.tier").await;
        assert_eq!(low.tier_override, Some(Tier::Low));
        let cleared = set(None).await.unwrap();
        chain.one("project.tier").await;
        assert_eq!(cleared, before);
        assert_eq!(store.project("default").await.unwrap(), Some(before));

        let unknown =
            store.set_project_tier("nope", Some(Tier::Low), audit(&permit, "project.tier", "project:nope"), T0);
        let unknown = unknown.await.unwrap_err();
        assert_eq!((unknown.kind, unknown.message.as_str()), (ErrorKind::NotFound, "no project named \"nope\""));
        chain.none().await;

        // A new project has no override.
        let p = NewProject { name: "fraud".into(), description: String::new() };
        let made = store.create_project(p, audit(&permit, "project.create", "project:fraud"), T0).await.unwrap();
        chain.one("project.create").await;
        assert_eq!(made.tier_override, None);
        assert_eq!(store.project("fraud").await.unwrap(), Some(made));
        chain.verify().await;
    }
}

#[tokio::test]
async fn evidence_and_policy_versions_are_kept() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        register(store, &permit, "scorecard", 1).await;
        let mut chain = Chain::new(store).await;

        let evidence = |version: u32, kind: &str, n: u8, passed: Option<bool>| NewEvidence {
            model: "scorecard".into(),
            version,
            kind: kind.into(),
            digest: digest(n),
            size: 1234,
            passed,
            summary: format!("{kind} report"),
            produced_by: (kind == "fairness").then(|| "riskops".to_string()),
            dataset: (kind == "fairness").then(|| "holdout@1".to_string()),
        };
        let add = |new: NewEvidence| {
            let target = format!("model:{}@{}", new.model, new.version);
            store.add_evidence(new, audit(&permit, "evidence.add", &target), T0)
        };
        let validation = add(evidence(1, "validation", 7, Some(true))).await.unwrap();
        chain.one("evidence.add").await;
        assert_eq!(
            (validation.model.as_str(), validation.version, validation.size, validation.created_by.as_str()),
            ("scorecard", 1, 1234, "admin")
        );
        // Produced evidence keeps who produced it and on which data.
        let fairness = add(evidence(1, "fairness", 8, None)).await.unwrap();
        chain.one("evidence.add").await;
        assert_eq!(
            (fairness.produced_by.as_deref(), fairness.dataset.as_deref()),
            (Some("riskops"), Some("holdout@1"))
        );
        assert_eq!(store.evidence("scorecard", 1).await.unwrap(), [validation, fairness], "{kind:?}");

        let unknown = add(evidence(2, "validation", 9, Some(false))).await.unwrap_err();
        assert_eq!((unknown.kind, unknown.message.as_str()), (ErrorKind::NotFound, "no model version scorecard@2"));
        let no_model = add(NewEvidence { model: "nope".into(), ..evidence(1, "validation", 9, None) }).await;
        assert_eq!(no_model.unwrap_err().kind, ErrorKind::NotFound);
        chain.none().await;
        assert!(store.evidence("scorecard", 2).await.unwrap().is_empty());
        assert!(store.evidence("nope", 1).await.unwrap().is_empty());
        assert!(store.digest_referenced(digest(7).as_str()).await.unwrap());
        assert!(!store.digest_referenced(digest(9).as_str()).await.unwrap());

        assert_eq!(store.document("policy").await.unwrap(), None, "{kind:?}");
        let docs = [json!({"tiers": {"low": {"staging": {"evidence": []}}}}), json!({"tiers": {}, "weight": 1.5})];
        for (i, doc) in docs.iter().enumerate() {
            let stored = store
                .set_document("policy", doc.clone(), audit(&permit, "policy.update", "policy"), minutes(i as i64))
                .await;
            let stored = stored.unwrap();
            let event = chain.one("policy.update").await;
            assert_eq!(stored.version, i as u32 + 1, "{kind:?}");
            assert_eq!(event.after, Some(json!({"version": i + 1})));
            assert_eq!(store.document("policy").await.unwrap(), Some(stored));
        }
        let latest = store.document("policy").await.unwrap().unwrap();
        assert_eq!(
            (latest.document, latest.created_by.as_str(), latest.created_at),
            (docs[1].clone(), "admin", minutes(1))
        );
        chain.verify().await;
    }
}

#[tokio::test]
async fn promotions_are_decided_closed_and_deployed() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        register(store, &permit, "scorecard", 1).await;
        register(store, &permit, "scorecard", 2).await;
        let mut chain = Chain::new(store).await;

        let request = |version: u32, environment| NewPromotion {
            model: "scorecard".into(),
            version,
            environment,
            reason: "ready".into(),
            tier: Tier::High,
            gate: Policy::default_policy().gate(Tier::High, environment),
        };
        let open =
            |new: NewPromotion| store.create_promotion(new, audit(&permit, "promotion.request", "promotion"), T0);
        let staging = open(request(1, Environment::Staging)).await.unwrap();
        let event = chain.one("promotion.request").await;
        assert_eq!(event.target, format!("promotion:{}", staging.id), "{kind:?}");
        assert_eq!(event.after, Some(json!({"id": staging.id})));
        assert_eq!(
            (staging.model.as_str(), staging.project.as_str(), staging.version, staging.environment),
            ("scorecard", "default", 1, Environment::Staging)
        );
        assert_eq!(
            (
                staging.reason.as_str(),
                staging.requested_by.as_str(),
                staging.status,
                staging.created_at,
                staging.closed_at
            ),
            ("ready", "admin", PromotionStatus::Pending, T0, None)
        );
        assert!(staging.decisions.is_empty());
        assert_eq!(store.promotion(staging.id).await.unwrap(), Some(staging.clone()));
        assert!(store.promotion(999_999).await.unwrap().is_none());

        let second = open(request(1, Environment::Staging)).await.unwrap_err();
        assert_eq!(
            (second.kind, second.message.as_str()),
            (ErrorKind::Conflict, "scorecard@1 already has a pending request for staging")
        );
        assert_eq!(open(request(3, Environment::Staging)).await.unwrap_err().kind, ErrorKind::NotFound);
        chain.none().await;
        let production = open(request(1, Environment::Production)).await.unwrap();
        chain.one("promotion.request").await;

        // Decisions, in the order they were made; one per person.
        let target = format!("promotion:{}", staging.id);
        let decision = |by: &str, roles: &[Role], approve: bool, at| Decision {
            by: by.into(),
            roles: roles.to_vec(),
            approve,
            comment: format!("{by} decided"),
            at,
        };
        let decide = |id: i64, d: Decision| store.add_decision(id, d, audit(&permit, "promotion.approve", &target), T0);
        let ana = decision("ana", &[Role::Validator, Role::RiskOfficer], true, minutes(1));
        let after = decide(staging.id, ana.clone()).await.unwrap();
        chain.one("promotion.approve").await;
        assert_eq!(after.decisions, std::slice::from_ref(&ana), "{kind:?}");
        let twice = decide(staging.id, decision("ana", &[Role::Validator], false, minutes(2))).await.unwrap_err();
        assert_eq!(
            (twice.kind, twice.message),
            (ErrorKind::Conflict, format!("ana has already decided on promotion request {}", staging.id))
        );
        let nowhere = decide(999_999, decision("bob", &[], true, minutes(2))).await.unwrap_err();
        assert_eq!((nowhere.kind, nowhere.message.as_str()), (ErrorKind::NotFound, "no promotion request 999999"));
        chain.none().await;
        let bob = decision("bob", &[], false, minutes(2));
        let after = decide(staging.id, bob.clone()).await.unwrap();
        chain.one("promotion.approve").await;
        assert_eq!(after.decisions, [ana.clone(), bob.clone()]);

        // Completing enters the version into the environment, in the same transaction.
        let signature = ModelSignature { key_id: "key-1".into(), signature: "ab".repeat(64) };
        let entering = NewDeployment {
            signature: Some(signature.clone()),
            ..deployment(1, Environment::Staging, Some(staging.id), false)
        };
        let close = |id: i64, d: Option<NewDeployment>, action: &str, at| {
            store.close_promotion(id, d, None, audit(&permit, action, &format!("promotion:{id}")), at)
        };
        let completed = close(staging.id, Some(entering), "promotion.completed", minutes(3)).await.unwrap();
        let event = chain.one("promotion.completed").await;
        assert_eq!(event.after, Some(json!({"replaced": null})), "{kind:?}");
        assert_eq!((completed.status, completed.closed_at), (PromotionStatus::Completed, Some(minutes(3))));
        assert_eq!(completed.decisions, [ana, bob]);
        assert_eq!(store.promotion(staging.id).await.unwrap(), Some(completed.clone()));
        let history = store.deployments("scorecard").await.unwrap();
        assert_eq!(history.len(), 1, "{kind:?}");
        let first = &history[0];
        assert_eq!(
            (first.model.as_str(), first.version, first.environment, first.since, first.until),
            ("scorecard", 1, Environment::Staging, minutes(3), None)
        );
        assert_eq!(
            (first.by.as_str(), first.promotion_id, first.emergency, &first.digest, &first.signature),
            ("admin", Some(staging.id), false, &digest(1), &Some(signature))
        );

        // A closed request neither closes again nor takes decisions.
        let again = close(staging.id, None, "promotion.rejected", minutes(4)).await.unwrap_err();
        assert_eq!(
            (again.kind, again.message),
            (ErrorKind::Conflict, format!("promotion request {} is already completed", staging.id))
        );
        let late = decide(staging.id, decision("carol", &[Role::Committee], true, minutes(4))).await.unwrap_err();
        assert_eq!(late.kind, ErrorKind::Conflict);
        assert_eq!(close(999_999, None, "promotion.rejected", minutes(4)).await.unwrap_err().kind, ErrorKind::NotFound);
        chain.none().await;

        // Closing without a deployment rejects and deploys nothing.
        let rejected = close(production.id, None, "promotion.rejected", minutes(4)).await.unwrap();
        let event = chain.one("promotion.rejected").await;
        assert_eq!(event.after, None);
        assert_eq!((rejected.status, rejected.closed_at), (PromotionStatus::Rejected, Some(minutes(4))));
        assert_eq!(store.deployments("scorecard").await.unwrap().len(), 1);

        // Once closed, the same version and environment can be requested again.
        let reopened = open(request(1, Environment::Staging)).await.unwrap();
        chain.one("promotion.request").await;

        // Newest first, filtered by model and status.
        let ids = |list: Vec<Promotion>| list.into_iter().map(|p| p.id).collect::<Vec<_>>();
        let all = store.promotions(&PromotionFilter::default()).await.unwrap();
        assert_eq!(ids(all), [reopened.id, production.id, staging.id], "{kind:?}");
        let pending = PromotionFilter { status: Some(PromotionStatus::Pending), ..Default::default() };
        assert_eq!(ids(store.promotions(&pending).await.unwrap()), [reopened.id]);
        let done = PromotionFilter { model: Some("scorecard".into()), status: Some(PromotionStatus::Completed) };
        assert_eq!(ids(store.promotions(&done).await.unwrap()), [staging.id]);
        let other = PromotionFilter { model: Some("nope".into()), status: None };
        assert!(store.promotions(&other).await.unwrap().is_empty());

        // Deploying version 2 ends version 1's stay.
        let deploy = |d: NewDeployment, at| {
            let target = format!("model:scorecard@{}", d.version);
            store.deploy(d, audit(&permit, "model.rollback", &target), at)
        };
        let two = deploy(deployment(2, Environment::Staging, None, true), minutes(5)).await.unwrap();
        let event = chain.one("model.rollback").await;
        assert_eq!(event.after, Some(json!({"replaced": 1})), "{kind:?}");
        assert_eq!(
            (two.version, two.since, two.until, two.emergency, two.promotion_id),
            (2, minutes(5), None, true, None)
        );
        let history = store.deployments("scorecard").await.unwrap();
        assert_eq!(history.len(), 2);
        assert_eq!((history[0].version, history[0].until), (1, Some(minutes(5))), "{kind:?}");
        assert_eq!(history[1], two);
        assert!(!history[0].active_at(minutes(5)) && history[1].active_at(minutes(5)));

        // Environments are independent.
        deploy(deployment(2, Environment::Production, None, false), minutes(6)).await.unwrap();
        assert_eq!(chain.one("model.rollback").await.after, Some(json!({"replaced": null})));
        let history = store.deployments("scorecard").await.unwrap();
        let current: Vec<_> =
            history.iter().filter(|d| d.until.is_none()).map(|d| (d.version, d.environment)).collect();
        assert_eq!(current, [(2, Environment::Staging), (2, Environment::Production)]);
        assert!(store.deployments("nope").await.unwrap().is_empty());

        let unknown = deploy(deployment(3, Environment::Staging, None, true), minutes(7)).await.unwrap_err();
        assert_eq!((unknown.kind, unknown.message.as_str()), (ErrorKind::NotFound, "no model version scorecard@3"));
        chain.none().await;
        assert_eq!(store.deployments("scorecard").await.unwrap().len(), 3);
        chain.verify().await;
    }
}

#[tokio::test]
async fn concurrent_deploys_and_policy_updates_happen_one_at_a_time() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        register(store, &permit, "scorecard", 1).await;
        register(store, &permit, "scorecard", 2).await;
        let mut tasks = Vec::new();
        for i in 0..8u32 {
            let (store, permit) = (store.clone(), permit.clone());
            tasks.push(tokio::spawn(async move {
                let new = deployment(1 + i % 2, Environment::Staging, None, true);
                store.deploy(new, audit(&permit, "model.rollback", "model:scorecard"), T0).await.unwrap();
                let policy =
                    store.set_document("policy", json!({"n": i}), audit(&permit, "policy.update", "policy"), T0).await;
                policy.unwrap().version
            }));
        }
        let mut versions = Vec::new();
        for t in tasks {
            versions.push(t.await.unwrap());
        }
        versions.sort();
        assert_eq!(versions, (1..=8).collect::<Vec<_>>(), "{kind:?}");
        let history = store.deployments("scorecard").await.unwrap();
        assert_eq!(history.len(), 8);
        assert_eq!(history.iter().filter(|d| d.until.is_none()).count(), 1, "{kind:?}");
        let events = store.audit_events(0, 10_000).await.unwrap();
        let first_stays = events
            .iter()
            .filter(|e| e.action == "model.rollback" && e.after == Some(json!({"replaced": null})))
            .count();
        assert_eq!(first_stays, 1, "{kind:?}");
        let report = verify_chain(&events);
        assert!(report.ok, "{kind:?}: {report:?}");
        assert_eq!(report.events, 2 + 2 + 16);
    }
}

#[tokio::test]
async fn governance_history_cannot_be_rewritten() {
    async fn history(store: &Arc<dyn Store>) {
        let permit = admin_permit(store).await;
        register(store, &permit, "scorecard", 1).await;
        register(store, &permit, "scorecard", 2).await;
        let ev = NewEvidence {
            model: "scorecard".into(),
            version: 1,
            kind: "validation".into(),
            digest: digest(7),
            size: 1,
            passed: Some(true),
            summary: String::new(),
            produced_by: None,
            dataset: None,
        };
        store.add_evidence(ev, audit(&permit, "evidence.add", "model:scorecard@1"), T0).await.unwrap();
        store.set_document("policy", json!({}), audit(&permit, "policy.update", "policy"), T0).await.unwrap();
        let request = NewPromotion {
            model: "scorecard".into(),
            version: 1,
            environment: Environment::Staging,
            reason: String::new(),
            tier: Tier::Low,
            gate: Policy::default_policy().gate(Tier::Low, Environment::Staging),
        };
        let p = store.create_promotion(request, audit(&permit, "promotion.request", "promotion"), T0).await.unwrap();
        let d =
            Decision { by: "ana".into(), roles: vec![Role::Validator], approve: true, comment: String::new(), at: T0 };
        store.add_decision(p.id, d, audit(&permit, "promotion.approve", "promotion"), T0).await.unwrap();
        let entering = deployment(1, Environment::Staging, Some(p.id), false);
        store
            .close_promotion(p.id, Some(entering), None, audit(&permit, "promotion.completed", "promotion"), T0)
            .await
            .unwrap();
        let two = deployment(2, Environment::Staging, None, true);
        store.deploy(two, audit(&permit, "model.rollback", "model:scorecard@2"), minutes(1)).await.unwrap();
    }
    // {s}. is the PostgreSQL schema; every statement must be refused by a trigger.
    const REWRITES: [&str; 9] = [
        "UPDATE {s}.model_versions SET endpoint_url = 'http://elsewhere'",
        "UPDATE {s}.evidence SET passed = NULL",
        "DELETE FROM {s}.evidence",
        "UPDATE {s}.promotions SET status = 'pending'",
        "DELETE FROM {s}.promotions",
        "UPDATE {s}.promotion_decisions SET approve = NOT approve",
        "UPDATE {s}.deployments SET until = NULL",
        "UPDATE {s}.deployments SET version = 9",
        "DELETE FROM {s}.deployments",
    ];

    let b = sqlite().await;
    history(&b.store).await;
    let path = b._dir.as_ref().unwrap().path().join(riskops_store::sqlite::FILE_NAME);
    let conn = rusqlite::Connection::open(path).unwrap();
    for sql in REWRITES {
        let sql = sql.replace("{s}.", "");
        assert!(conn.execute(&sql, []).is_err(), "SQLite accepted {sql}");
    }

    if let Some(pg) = postgres().await {
        history(&pg.store).await;
        let schema = pg.pg_schema.as_ref().unwrap();
        let (client, conn) = tokio_postgres::connect(schema.base_url(), tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        for sql in REWRITES {
            let sql = sql.replace("{s}", schema.name());
            let err = client.batch_execute(&sql).await.expect_err(&sql);
            assert!(
                err.as_db_error().is_some_and(|e| e.code() == &tokio_postgres::error::SqlState::RAISE_EXCEPTION),
                "{sql}: {err:?}"
            );
        }
        // A pending request may only be closed: reopening is refused above, rewriting is too.
        let reason = format!("UPDATE {}.promotions SET reason = 'rewritten'", schema.name());
        assert!(client.batch_execute(&reason).await.is_err());
    }
}

#[tokio::test]
async fn a_model_version_keeps_its_signature() {
    let signature = ModelInterface {
        inputs: vec![
            InterfaceInput { name: "age".into(), elem_type: "float".into(), shape: vec![None, Some(1)] },
            InterfaceInput { name: "sex".into(), elem_type: "string".into(), shape: vec![None, Some(1)] },
        ],
        label: "output_label".into(),
        probabilities: Some(("output_probability".into(), vec!["0".into(), "1".into()])),
        task: "classification".into(),
    };
    for b in backends().await {
        let store = &b.store;
        let permit = admin_permit(store).await;
        let new = NewModelVersion {
            name: "signed".into(),
            project: "default".into(),
            description: String::new(),
            framework: Framework::Onnx,
            digest: digest(7),
            size: 10,
            training_data: None,
            validation_data: None,
            code: None,
            params: json!({}),
            metrics: json!({}),
            tags: Default::default(),
            signature: Some(signature.clone()),
            endpoint: None,
        };
        let created =
            store.create_model_version(new, audit(&permit, "model.register", "model:signed"), T0).await.unwrap();
        assert_eq!(created.signature.as_ref(), Some(&signature));
        let read = store.model_version("signed", Some(1)).await.unwrap().unwrap();
        assert_eq!(read.signature, Some(signature.clone()), "{:?}", store.kind());
        // Versions without one (other frameworks) read back as None.
        register(store, &permit, "unsigned", 8).await;
        assert_eq!(store.model_version("unsigned", None).await.unwrap().unwrap().signature, None);
        assert_eq!(store.model_version("unsigned", None).await.unwrap().unwrap().endpoint, None);

        // A served model keeps its endpoint and protocol (changing them: `REWRITES`).
        let endpoint = Endpoint::new("http://scoring:8080/v2/models/signed", Protocol::V2).unwrap();
        let served = NewModelVersion {
            endpoint: Some(endpoint.clone()),
            digest: Digest::from_sha256(&sha2::Sha256::digest(endpoint.descriptor())),
            ..created_input(&signature)
        };
        store.create_model_version(served, audit(&permit, "model.register", "model:signed"), T0).await.unwrap();
        let read = store.model_version("signed", Some(2)).await.unwrap().unwrap();
        assert_eq!(read.endpoint, Some(endpoint), "{:?}", store.kind());
    }
}

fn created_input(signature: &ModelInterface) -> NewModelVersion {
    NewModelVersion {
        name: "signed".into(),
        project: "default".into(),
        description: String::new(),
        framework: Framework::Sklearn,
        digest: digest(9),
        size: 10,
        training_data: None,
        validation_data: None,
        code: None,
        params: json!({}),
        metrics: json!({}),
        tags: Default::default(),
        signature: Some(signature.clone()),
        endpoint: None,
    }
}
