//! Connecting one Stripe account per Refloop account, with its key sealed at rest.

use refloop::{
    db::stripe_connections, domain::integrations::StripeMode, error::AppError, integrations,
    secrets::Sealer,
};

use crate::{accounts::owner, support::TestDb};

crate::on_both_backends!(
    a_key_is_sealed_at_rest_and_only_its_hint_is_shown,
    only_one_stripe_account_at_a_time,
    a_malformed_key_is_refused_and_nothing_is_stored,
);

async fn a_key_is_sealed_at_rest_and_only_its_hint_is_shown(t: &TestDb) {
    let sealer = Sealer::random();
    let (alice, _) = owner(&t.db, "Acme", "alice@acme.test").await;
    let key = "rk_live_51HsecretSECRETsecret9f3a";
    let shown = integrations::connect_stripe(&t.db, &sealer, &alice, StripeMode::Key, key)
        .await
        .unwrap();
    assert_eq!(shown.key_hint.as_deref(), Some("rk_live_…9f3a"));
    assert!(shown.livemode);
    assert_eq!(
        shown.describe(),
        "Your Stripe account (live mode) with key rk_live_…9f3a"
    );
    let row = stripe_connections::get(t.db.pool(), &alice.account_id)
        .await
        .unwrap()
        .unwrap();
    let sealed = row.sealed_key.unwrap();
    assert!(!sealed.contains("secret"), "stored sealed, not in clear");
    assert_eq!(sealer.open(&sealed).unwrap(), key);
    let status = integrations::stripe_status(&t.db, &alice)
        .await
        .unwrap()
        .unwrap();
    assert!(!serde_json::to_string(&status).unwrap().contains("secret"));
}

async fn only_one_stripe_account_at_a_time(t: &TestDb) {
    let sealer = Sealer::random();
    let (alice, _) = owner(&t.db, "Acme", "alice@acme.test").await;
    integrations::connect_stripe(&t.db, &sealer, &alice, StripeMode::Sandbox, "")
        .await
        .unwrap();
    let err = integrations::connect_stripe(
        &t.db,
        &sealer,
        &alice,
        StripeMode::Key,
        "rk_test_51Habcdefghijklmnop",
    )
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
    integrations::connect_stripe(
        &t.db,
        &sealer,
        &alice,
        StripeMode::Key,
        "rk_test_51Habcdefghijklmnop",
    )
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
    let sealer = Sealer::random();
    let (alice, _) = owner(&t.db, "Acme", "alice@acme.test").await;
    let err = integrations::connect_stripe(
        &t.db,
        &sealer,
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
