//! A workflow's failure reaches a person through one mapping: what they can act on is shown as
//! it is; a database failure shows only a reference id (its details go to the log).

use refloop::{
    campaigns::qualification,
    db::{stripe_connections, unix_now},
    domain::integrations::StripeMode,
    error::AppError,
    secrets::Sealer,
    workflows::{webhook, StripeAccess},
};

use crate::{accounts::owner, campaigns::live_campaign, support::TestDb};

crate::on_both_backends!(a_database_failure_inside_a_workflow_shows_only_a_reference);

async fn a_database_failure_inside_a_workflow_shows_only_a_reference(t: &TestDb) {
    let (alice, _) = owner(&t.db, "Acme", "alice@acme.test").await;
    let campaign = live_campaign(&t.db, &alice, "errors").await;
    let access = StripeAccess {
        sealer: Sealer::random(),
        // Never reached: the workflow fails on the database before it asks Stripe.
        api_url: "http://127.0.0.1:9".into(),
        ..Default::default()
    };
    let connected = stripe_connections::insert(
        t.db.pool(),
        &stripe_connections::ConnectionRow {
            account_id: alice.account_id.clone(),
            mode: StripeMode::Key,
            sealed_key: Some(access.sealer.seal("sk_test_errors")),
            key_hint: Some("sk_test_…rors".into()),
            livemode: false,
            stripe_account_id: Some("acct_errors".into()),
            stripe_account_name: Some("Errors".into()),
            connected_by: alice.name.clone(),
            connected_at: unix_now(),
            alert: None,
            alert_at: None,
        },
    )
    .await
    .unwrap();
    assert!(connected);

    // The webhook workflow reads its table; the table is gone.
    sqlx::query("ALTER TABLE stripe_webhooks RENAME TO stripe_webhooks_away")
        .execute(t.db.pool())
        .await
        .unwrap();
    let err = qualification::overview(&t.db, &access, &alice, &campaign)
        .await
        .expect_err("the workflow cannot read its table");
    let shown = err.to_string();
    assert_eq!(err.status(), 500, "{shown}");
    assert!(shown.contains("reference"), "{shown}");
    for detail in ["stripe_webhooks", "database:", "table"] {
        assert!(!shown.contains(detail), "the browser is shown “{shown}”");
    }

    // What the person can act on is still said as it is.
    sqlx::query("ALTER TABLE stripe_webhooks_away RENAME TO stripe_webhooks")
        .execute(t.db.pool())
        .await
        .unwrap();
    let other_key = StripeAccess {
        sealer: Sealer::random(),
        ..access
    };
    let err = AppError::from(
        webhook::ensure(&t.db, &other_key, &alice.account_id)
            .await
            .expect_err("the key cannot be opened with another secret key"),
    );
    assert_eq!(err.status(), 503);
    assert!(
        err.to_string().contains("REFLOOP_SECRET_KEY"),
        "{}",
        err.to_string()
    );
}
