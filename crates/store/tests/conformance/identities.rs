//! Identities, role bindings and tokens through the store.

use super::*;

#[tokio::test]
async fn identities_are_created_once_and_listed() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let mut chain = Chain::new(store).await;
        // Bootstrap stores the admin's token under the label "bootstrap".
        let admin_tokens = store.tokens(Some("admin")).await.unwrap();
        assert_eq!(admin_tokens.iter().map(|t| t.label.as_str()).collect::<Vec<_>>(), ["bootstrap"], "{kind:?}");

        let ana = NewIdentity {
            roles: vec![binding(Role::Validator, Some("default"))],
            password_hash: Some("$argon2id$v=19$stub".into()),
            ..new_identity("ana", "hash-ana")
        };
        let first = store.create_identity(ana.clone(), audit(&permit, "identity.create", "identity:ana"), T0).await;
        let first = first.unwrap();
        chain.one("identity.create").await;
        assert_eq!(
            (first.identity.as_str(), first.label.as_str(), first.created_at, first.expires_at, first.revoked_at),
            ("ana", "first token", T0, None, None),
            "{kind:?}"
        );
        assert_eq!(store.token(first.id).await.unwrap(), Some(first.clone()));

        let dup = store
            .create_identity(new_identity("ana", "hash-other"), audit(&permit, "identity.create", "identity:ana"), T0)
            .await
            .unwrap_err();
        assert_eq!((dup.kind, dup.message.as_str()), (ErrorKind::Conflict, "an identity named \"ana\" already exists"));
        chain.none().await;
        assert!(store.identity_by_token_hash("hash-other", T0).await.unwrap().is_none(), "{kind:?}");

        let bot = NewIdentity { kind: IdentityKind::ServiceAccount, ..new_identity("ci-bot", "hash-bot") };
        store.create_identity(bot, audit(&permit, "identity.create", "identity:ci-bot"), T0).await.unwrap();
        chain.one("identity.create").await;
        store
            .create_identity(new_identity("Bo", "hash-bo"), audit(&permit, "identity.create", "identity:Bo"), T0)
            .await
            .unwrap();
        chain.one("identity.create").await;

        let found = store.identity("ana").await.unwrap().unwrap();
        assert_eq!((found.name.as_str(), found.kind, &found.roles), ("ana", IdentityKind::User, &ana.roles));
        assert_eq!(store.identity_by_token_hash("hash-ana", T0).await.unwrap(), Some(found.clone()));
        assert!(store.identity("nobody").await.unwrap().is_none());
        let (login, password) = store.identity_for_login("ana").await.unwrap().unwrap();
        assert_eq!((login, password.as_deref()), (found.clone(), Some("$argon2id$v=19$stub")));
        assert_eq!(store.identity_for_login("ci-bot").await.unwrap().unwrap().1, None);
        assert!(store.identity_for_login("nobody").await.unwrap().is_none());

        // Byte order of names, as SQLite sorts them (upper case first).
        let all = store.identities().await.unwrap();
        let names: Vec<_> = all.iter().map(|s| s.identity.name.as_str()).collect();
        assert_eq!(names, ["Bo", "admin", "ana", "ci-bot"], "{kind:?}");
        assert_eq!((&all[2].identity, all[2].created_at), (&found, T0));
        assert_eq!(all[3].identity.kind, IdentityKind::ServiceAccount);
        chain.verify().await;
    }
}

#[tokio::test]
async fn roles_are_granted_and_revoked_once() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let ana =
            NewIdentity { roles: vec![binding(Role::Validator, Some("default"))], ..new_identity("ana", "hash-ana") };
        store.create_identity(ana, audit(&permit, "identity.create", "identity:ana"), T0).await.unwrap();
        let mut chain = Chain::new(store).await;

        let grant = |b: RoleBinding, yes: bool| {
            let action = if yes { "identity.grant" } else { "identity.revoke" };
            store.set_role("ana", b, yes, audit(&permit, action, "identity:ana"), T0)
        };
        grant(binding(Role::RiskOfficer, None), true).await.unwrap();
        chain.one("identity.grant").await;
        grant(binding(Role::DataScientist, Some("zeta")), true).await.unwrap();
        chain.one("identity.grant").await;
        let after = grant(binding(Role::DataScientist, Some("alpha")), true).await.unwrap();
        chain.one("identity.grant").await;
        // Sorted by role, then project.
        let expected = vec![
            binding(Role::DataScientist, Some("alpha")),
            binding(Role::DataScientist, Some("zeta")),
            binding(Role::RiskOfficer, None),
            binding(Role::Validator, Some("default")),
        ];
        assert_eq!(after.roles, expected, "{kind:?}");
        assert_eq!(store.identity_by_token_hash("hash-ana", T0).await.unwrap().unwrap().roles, expected);

        let twice = grant(binding(Role::RiskOfficer, None), true).await.unwrap_err();
        assert_eq!(
            (twice.kind, twice.message.as_str()),
            (ErrorKind::Conflict, "ana already has the role risk_officer")
        );
        chain.none().await;

        let revoked = grant(binding(Role::Validator, Some("default")), false).await.unwrap();
        chain.one("identity.revoke").await;
        assert_eq!(revoked.roles, expected[..3]);
        let missing = grant(binding(Role::Validator, Some("default")), false).await.unwrap_err();
        assert_eq!(
            (missing.kind, missing.message.as_str()),
            (ErrorKind::Conflict, "ana does not have the role validator@default")
        );
        // A global binding and a project binding of one role are different bindings.
        let scoped = grant(binding(Role::RiskOfficer, Some("default")), false).await.unwrap_err();
        assert_eq!(scoped.kind, ErrorKind::Conflict);
        chain.none().await;

        let nobody = store.set_role(
            "nobody",
            binding(Role::Viewer, None),
            true,
            audit(&permit, "identity.grant", "identity:nobody"),
            T0,
        );
        let nobody = nobody.await.unwrap_err();
        assert_eq!((nobody.kind, nobody.message.as_str()), (ErrorKind::NotFound, "no identity named \"nobody\""));
        chain.none().await;
        assert_eq!(store.identity("ana").await.unwrap().unwrap().roles, expected[..3]);
        chain.verify().await;
    }
}

#[tokio::test]
async fn tokens_are_listed_revoked_and_expire() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let first = store.create_identity(
            new_identity("ana", "hash-ana"),
            audit(&permit, "identity.create", "identity:ana"),
            T0,
        );
        let first = first.await.unwrap();
        let mut chain = Chain::new(store).await;

        let new_token = |hash: &str, identity: &str| NewToken {
            identity: identity.into(),
            token_hash: hash.into(),
            label: "ci".into(),
            expires_at: Some(minutes(60)),
        };
        let ci =
            store.create_token(new_token("hash-ci", "ana"), audit(&permit, "token.create", "identity:ana"), minutes(1));
        let ci = ci.await.unwrap();
        chain.one("token.create").await;
        assert_eq!(
            (ci.identity.as_str(), ci.label.as_str(), ci.created_at, ci.expires_at, ci.revoked_at),
            ("ana", "ci", minutes(1), Some(minutes(60)), None)
        );

        // Newest first.
        assert_eq!(store.tokens(Some("ana")).await.unwrap(), [ci.clone(), first.clone()], "{kind:?}");
        let everyone = store.tokens(None).await.unwrap();
        assert_eq!(everyone.iter().map(|t| t.identity.as_str()).collect::<Vec<_>>(), ["ana", "ana", "admin"]);
        assert!(store.tokens(Some("nobody")).await.unwrap().is_empty());
        assert_eq!(store.token(ci.id).await.unwrap(), Some(ci.clone()));
        assert!(store.token(999_999).await.unwrap().is_none());

        let unknown =
            store.create_token(new_token("hash-x", "nobody"), audit(&permit, "token.create", "identity:nobody"), T0);
        assert_eq!(unknown.await.unwrap_err().kind, ErrorKind::NotFound);
        let same_hash =
            store.create_token(new_token("hash-ci", "ana"), audit(&permit, "token.create", "identity:ana"), T0);
        assert_eq!(same_hash.await.unwrap_err().kind, ErrorKind::Conflict);
        chain.none().await;

        // A token works until the instant it expires.
        assert_eq!(store.identity_by_token_hash("hash-ci", minutes(59)).await.unwrap().unwrap().name, "ana");
        assert!(store.identity_by_token_hash("hash-ci", minutes(60)).await.unwrap().is_none(), "{kind:?}");

        let revoked = store.revoke_token(first.id, audit(&permit, "token.revoke", "identity:ana"), minutes(2)).await;
        let revoked = revoked.unwrap();
        chain.one("token.revoke").await;
        assert_eq!(revoked, TokenInfo { revoked_at: Some(minutes(2)), ..first.clone() });
        assert_eq!(store.token(first.id).await.unwrap(), Some(revoked));
        assert!(store.identity_by_token_hash("hash-ana", minutes(2)).await.unwrap().is_none(), "{kind:?}");
        assert!(store.identity_by_token_hash("hash-ci", minutes(2)).await.unwrap().is_some());

        let again = store.revoke_token(first.id, audit(&permit, "token.revoke", "identity:ana"), minutes(3)).await;
        let again = again.unwrap_err();
        assert_eq!(
            (again.kind, again.message),
            (ErrorKind::Conflict, format!("token {} is already revoked", first.id))
        );
        let missing = store.revoke_token(999_999, audit(&permit, "token.revoke", "identity:?"), minutes(3)).await;
        let missing = missing.unwrap_err();
        assert_eq!((missing.kind, missing.message.as_str()), (ErrorKind::NotFound, "no token 999999"));
        chain.none().await;

        // An event that records no other change.
        let throttled =
            AuditRecord::new(&Permit::system_for_tests("system"), Action::AuthThrottled, "client:127.0.0.1")
                .after(json!({"failures": 5}));
        store.record_event(throttled, minutes(4)).await.unwrap();
        let event = chain.one("auth.throttled").await;
        assert_eq!((event.after, event.time), (Some(json!({"failures": 5})), minutes(4)));
        chain.verify().await;
    }
}
