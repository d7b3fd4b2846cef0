//! Connecting one Stripe account per Refloop account: the key checked against Stripe (the
//! sandbox, over real HTTP), then sealed at rest.

use refloop::{
    db::stripe_connections,
    domain::integrations::{StripeMode, REQUIRED_PERMISSIONS},
    error::AppError,
    integrations,
};
use serde_json::json;

use crate::{accounts::owner, stripe_client::SandboxServer, support::TestDb};

crate::on_both_backends!(
    a_key_is_checked_sealed_at_rest_and_only_its_hint_is_shown,
    a_key_lacking_permissions_is_refused_naming_what_to_tick,
    only_one_stripe_account_at_a_time,
    a_malformed_key_is_refused_and_nothing_is_stored,
);

/// A secret key of a new sandbox account named "Acme Test", and the account's id.
async fn sandbox_key(sb: &SandboxServer) -> (String, String) {
    let created = sb.control("accounts", json!({"name": "Acme Test"})).await;
    (
        created["secret_key"].as_str().unwrap().to_string(),
        created["account"].as_str().unwrap().to_string(),
    )
}

async fn a_key_is_checked_sealed_at_rest_and_only_its_hint_is_shown(t: &TestDb) {
    let sb = SandboxServer::start(t).await;
    let access = sb.access();
    let sealer = &access.sealer;
    let (alice, _) = owner(&t.db, "Acme", "alice@acme.test").await;
    let (key, account) = sandbox_key(&sb).await;
    let shown = integrations::connect_stripe(&t.db, &access, &alice, StripeMode::Key, &key)
        .await
        .unwrap();
    let hint = format!("sk_test_…{}", &key[key.len() - 4..]);
    assert_eq!(shown.key_hint.as_deref(), Some(hint.as_str()));
    assert!(!shown.livemode);
    assert_eq!(
        shown.describe(),
        format!("Your Stripe account Acme Test ({account}) (test mode) with key {hint}")
    );
    let row = stripe_connections::get(t.db.pool(), &alice.account_id)
        .await
        .unwrap()
        .unwrap();
    let sealed = row.sealed_key.unwrap();
    assert!(!sealed.contains(&key[8..]), "stored sealed, not in clear");
    assert_eq!(sealer.open(&sealed).unwrap(), key);
    let status = integrations::stripe_status(&t.db, &alice)
        .await
        .unwrap()
        .unwrap();
    assert!(!serde_json::to_string(&status).unwrap().contains(&key[8..]));
}

async fn a_key_lacking_permissions_is_refused_naming_what_to_tick(t: &TestDb) {
    let sb = SandboxServer::start(t).await;
    let access = sb.access();
    let (alice, _) = owner(&t.db, "Acme", "alice@acme.test").await;
    let (_, account) = sandbox_key(&sb).await;
    let restricted = |permissions: Vec<&'static str>| {
        let sb = &sb;
        let account = account.clone();
        async move {
            sb.control(
                "keys",
                json!({"account": account, "permissions": permissions}),
            )
            .await["key"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let all: Vec<&str> = REQUIRED_PERMISSIONS.iter().map(|(p, _, _)| *p).collect();
    // Each permission left out is named, with what Refloop does with it; nothing is stored.
    for (left_out, label, why) in REQUIRED_PERMISSIONS {
        let key = restricted(all.iter().copied().filter(|p| *p != left_out).collect()).await;
        let err = integrations::connect_stripe(&t.db, &access, &alice, StripeMode::Key, &key)
            .await
            .unwrap_err();
        let message = err.field_message("key").unwrap_or_default().to_string();
        assert!(
            message.contains(&format!("{label} (to {why})")),
            "{left_out}: {err:?}"
        );
        assert_eq!(message.matches("(to ").count(), 1, "{message}");
    }
    let none = restricted(vec![]).await;
    let err = integrations::connect_stripe(&t.db, &access, &alice, StripeMode::Key, &none)
        .await
        .unwrap_err();
    assert_eq!(
        err.field_message("key").unwrap().matches("(to ").count(),
        REQUIRED_PERMISSIONS.len()
    );
    assert!(integrations::stripe_status(&t.db, &alice)
        .await
        .unwrap()
        .is_none());
    // A key Stripe does not know is refused as such.
    let err = integrations::connect_stripe(
        &t.db,
        &access,
        &alice,
        StripeMode::Key,
        "sk_test_51Hnobodyknowsthiskey",
    )
    .await
    .unwrap_err();
    assert!(err
        .field_message("key")
        .unwrap()
        .contains("rejected the API key"));
    // With every permission, the restricted key connects.
    let key = restricted(all).await;
    let shown = integrations::connect_stripe(&t.db, &access, &alice, StripeMode::Key, &key)
        .await
        .unwrap();
    assert!(shown.describe().contains(&account), "{}", shown.describe());
}

async fn only_one_stripe_account_at_a_time(t: &TestDb) {
    let (alice, _) = owner(&t.db, "Acme", "alice@acme.test").await;
    let sb = SandboxServer::start(t).await;
    let access = sb.access();
    let (key, _) = sandbox_key(&sb).await;
    integrations::connect_stripe(&t.db, &access, &alice, StripeMode::Sandbox, "")
        .await
        .unwrap();
    let err = integrations::connect_stripe(&t.db, &access, &alice, StripeMode::Key, &key)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AppError::Conflict(m) if m.contains("Built-in Stripe sandbox (test mode) is already connected") && m.contains("disconnect it first")),
        "{err:?}"
    );
    integrations::disconnect_stripe(&t.db, &alice)
        .await
        .unwrap();
    assert!(integrations::stripe_status(&t.db, &alice)
        .await
        .unwrap()
        .is_none());
    integrations::connect_stripe(&t.db, &access, &alice, StripeMode::Key, &key)
        .await
        .unwrap();
    // Another account has its own, independent connection.
    let (olga, _) = owner(&t.db, "Other", "olga@other.test").await;
    assert!(integrations::stripe_status(&t.db, &olga)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        integrations::disconnect_stripe(&t.db, &olga)
            .await
            .unwrap_err(),
        AppError::NotFound("Stripe connection".into())
    );
}

async fn a_malformed_key_is_refused_and_nothing_is_stored(t: &TestDb) {
    let (alice, _) = owner(&t.db, "Acme", "alice@acme.test").await;
    // Refused before anything is sent: no Stripe answers at this address.
    let access = refloop::workflows::StripeAccess {
        api_url: "http://127.0.0.1:9".into(),
        ..Default::default()
    };
    let err = integrations::connect_stripe(
        &t.db,
        &access,
        &alice,
        StripeMode::Key,
        "pk_live_51Habcdefghijklmnop",
    )
    .await
    .unwrap_err();
    assert!(err.field_message("key").unwrap().contains("publishable"));
    assert!(integrations::stripe_status(&t.db, &alice)
        .await
        .unwrap()
        .is_none());
}
