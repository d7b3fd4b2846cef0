//! Integration health: each check made to fail for real (against the sandbox over HTTP, the
//! database and the job queue), with the evidence it shows, then fixed and seen to pass; and a
//! participant's "Why?".

use std::time::Duration;

use refloop::{
    accounts,
    auth::Ctx,
    campaigns::{self, qualification, sending, sync},
    db::{self, participants, Db},
    domain::{
        campaigns::PromoteToggle,
        health::{CheckId, CheckState, HealthAction, HealthCheck, HealthFix, WhyAnswer},
        integrations::StripeMode,
        participants::{ParticipantKind, StripeStatus},
        permissions::{Permission, Role},
        qualification::{CustomerScope, QualificationForm},
        sending::{DuplicatePolicy, NewPeople, SendSettings},
        sync::{RunStatus, SyncSettings},
    },
    health::{self, why::why, Depth},
    integrations,
    jobs::NewJob,
    stripe::types::CustomerParams,
};
use serde_json::{json, Value};

use crate::{
    accounts::{owner, teammate},
    campaigns::{join_ok, live_campaign, request},
    qualification::{credit, target_50_in_30_days, Qualifying},
    support::TestDb,
    sync::Syncing,
};

crate::on_both_backends!(
    connection_permission_and_queue_checks_fail_then_pass,
    sending_and_qualification_checks_fail_then_pass,
    sync_checks_fail_then_pass,
);

async fn check(
    t: &TestDb,
    access: &refloop::workflows::StripeAccess,
    ctx: &Ctx,
    id: CheckId,
) -> HealthCheck {
    at_depth(t, access, ctx, id, Depth::Full).await
}

async fn at_depth(
    t: &TestDb,
    access: &refloop::workflows::StripeAccess,
    ctx: &Ctx,
    id: CheckId,
    depth: Depth,
) -> HealthCheck {
    let health = health::run(
        &t.db,
        access,
        &refloop::mail::Mailer::disabled(),
        ctx,
        depth,
    )
    .await
    .unwrap();
    assert_eq!(health.checks.len(), 19);
    health.check(id).unwrap().clone()
}

/// Polls (up to 20 s) until the check is in `state` (without probing the key, as the banner).
async fn until(
    t: &TestDb,
    access: &refloop::workflows::StripeAccess,
    ctx: &Ctx,
    id: CheckId,
    state: CheckState,
) -> HealthCheck {
    let mut last = None;
    for _ in 0..400 {
        let c = at_depth(t, access, ctx, id, Depth::Quick).await;
        if c.state == state {
            return c;
        }
        last = Some(c);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{id:?} never became {state:?}: {last:?}");
}

/// A restricted key of the sandbox `account` with these permissions.
async fn key_with(s: &Syncing, account: &Value, permissions: &[&str]) -> String {
    s.control(
        "keys",
        json!({ "account": account["account"], "permissions": permissions }),
    )
    .await["key"]
        .as_str()
        .unwrap()
        .to_string()
}

fn has(c: &HealthCheck, text: &str) -> bool {
    c.summary.contains(text) || c.evidence.iter().any(|l| l.contains(text))
}

async fn connection_permission_and_queue_checks_fail_then_pass(t: &TestDb) {
    let s = Syncing::start(t).await;
    let access = &s.access;

    // 1. A viewer may not manage the integration and is told who can grant it.
    let (mut viewer, _) = teammate(&t.db, &s.alice, "vic@acme.test", Role::Viewer).await;
    let c = check(t, access, &viewer, CheckId::Permission).await;
    assert_eq!(c.state, CheckState::Fail, "{c:?}");
    assert!(has(&c, "alice@acme.test"), "{c:?}");
    assert!(c.summary.contains("Manage integrations"), "{c:?}");
    accounts::set_permission(
        &t.db,
        &s.alice,
        &viewer.user_id.clone(),
        Permission::ManageIntegrations,
        true,
    )
    .await
    .unwrap();
    viewer.permissions.insert(Permission::ManageIntegrations);
    let c = check(t, access, &viewer, CheckId::Permission).await;
    assert_eq!(c.state, CheckState::Pass, "{c:?}");

    // 3. An account with nothing connected; then the sandbox, named with its mode.
    let (bea, _) = owner(&t.db, "Beta", "bea@beta.test").await;
    let c = check(t, access, &bea, CheckId::OneAccount).await;
    assert_eq!(c.state, CheckState::Fail, "{c:?}");
    assert!(c.summary.contains("No Stripe account is connected"));
    integrations::connect_stripe(&t.db, access, &bea, StripeMode::Sandbox, "")
        .await
        .unwrap();
    let c = check(t, access, &bea, CheckId::OneAccount).await;
    assert_eq!(c.state, CheckState::Pass, "{c:?}");
    assert!(
        c.summary.contains(
            "Built-in Stripe sandbox (test mode). Refloop connects one Stripe account at a time"
        ),
        "{c:?}"
    );

    // 2. A restricted key with every permission passes; revoked in Stripe, it fails, named.
    let (dan, _) = owner(&t.db, "Delta", "dan@delta.test").await;
    let account = s.control("accounts", json!({ "name": "Delta" })).await;
    let required: Vec<&str> = refloop::domain::integrations::REQUIRED_PERMISSIONS
        .iter()
        .map(|(p, _, _)| *p)
        .collect();
    let with_balance = [required.clone(), vec!["rak_balance_read"]].concat();
    // Without the optional Balance read it works, warned of what it cannot do.
    let key = key_with(&s, &account, &required).await;
    integrations::connect_stripe(&t.db, access, &dan, StripeMode::Key, &key)
        .await
        .unwrap();
    let c = check(t, access, &dan, CheckId::StripeKey).await;
    assert_eq!(c.state, CheckState::Warn, "{c:?}");
    assert!(
        c.summary
            .contains("lacks Balance: Read (to count a payment in another currency"),
        "{c:?}"
    );
    assert!(has(&c, "Missing: rak_balance_read"), "{c:?}");
    integrations::disconnect_stripe(&t.db, &dan).await.unwrap();
    let key = key_with(&s, &account, &with_balance).await;
    integrations::connect_stripe(&t.db, access, &dan, StripeMode::Key, &key)
        .await
        .unwrap();
    let c = check(t, access, &dan, CheckId::StripeKey).await;
    assert_eq!(c.state, CheckState::Pass, "{c:?}");
    s.control("revoke_key", json!({ "key": key })).await;
    let c = check(t, access, &dan, CheckId::StripeKey).await;
    assert_eq!(c.state, CheckState::Fail, "{c:?}");
    let hint = refloop::domain::integrations::key_hint(&key);
    assert!(
        c.summary
            .starts_with(&format!("Stripe rejects {hint}: it was revoked")),
        "{c:?}"
    );
    integrations::disconnect_stripe(&t.db, &dan).await.unwrap();
    let key = key_with(&s, &account, &with_balance).await;
    integrations::connect_stripe(&t.db, access, &dan, StripeMode::Key, &key)
        .await
        .unwrap();
    let c = check(t, access, &dan, CheckId::StripeKey).await;
    assert_eq!(c.state, CheckState::Pass, "{c:?}");

    // 11. Work waiting six minutes with no worker running fails, with what waits; a worker
    // clears it.
    let c = check(t, access, &s.alice, CheckId::Queue).await;
    assert_eq!(c.state, CheckState::Pass, "{c:?}");
    let mut job = NewJob::new("queue.probe", json!({}));
    job.account_id = Some(s.alice.account_id.clone());
    job.run_at_ms = Some(db::unix_now() * 1000 - 6 * 60_000);
    s.queue.push(&job).await.unwrap();
    let c = check(t, access, &s.alice, CheckId::Queue).await;
    assert_eq!(c.state, CheckState::Fail, "{c:?}");
    assert!(c.summary.starts_with("Work has waited 6 min"), "{c:?}");
    assert!(has(&c, "queue.probe: 1 waiting"), "{c:?}");
    let _workers = s.workers(30_000);
    until(t, access, &s.alice, CheckId::Queue, CheckState::Pass).await;
}

async fn sending_and_qualification_checks_fail_then_pass(t: &TestDb) {
    let q = Qualifying::start(t, credit("10.00", true, false)).await;
    let (db, access, alice) = (&t.db, &q.access, &q.alice);
    let stripe = q.stripe(t).await;

    // 8. A second live campaign without qualification settings fails; saving them passes.
    let other = live_campaign(db, alice, "other").await;
    let c = check(t, access, alice, CheckId::Webhook).await;
    assert_eq!(c.state, CheckState::Fail, "{c:?}");
    assert!(
        c.summary
            .contains("is live, but its qualification settings are not saved"),
        "{c:?}"
    );
    qualification::save(db, access, &q.queue, alice, &other, target_50_in_30_days())
        .await
        .unwrap();
    let c = check(t, access, alice, CheckId::Webhook).await;
    assert_eq!(c.state, CheckState::Pass, "{c:?}");
    // The endpoint deleted in Stripe fails, with Repair; Repair passes.
    let endpoint = db::qualification::webhook_for(db.pool(), &alice.account_id)
        .await
        .unwrap()
        .unwrap()
        .endpoint_id;
    stripe.delete_webhook_endpoint(&endpoint).await.unwrap();
    let c = check(t, access, alice, CheckId::Webhook).await;
    assert_eq!(c.state, CheckState::Fail, "{c:?}");
    assert!(
        c.summary.starts_with("The endpoint was deleted in Stripe"),
        "{c:?}"
    );
    let repair = HealthAction::RepairWebhook;
    assert!(c
        .fixes
        .contains(&HealthFix::action("Repair", repair.clone())));
    health::fix(db, access, &q.queue, alice, &repair)
        .await
        .unwrap();
    let c = check(t, access, alice, CheckId::Webhook).await;
    assert_eq!(c.state, CheckState::Pass, "{c:?}");

    // 6. Cid joined "other" before its sending was on: not in Stripe; the fix sends him.
    join_ok(db, request("other", "cid@x.test", "Cid", None)).await;
    campaigns::set_toggle(
        db,
        access,
        alice,
        &other,
        PromoteToggle::SendReferrers,
        true,
    )
    .await
    .unwrap();
    let c = check(t, access, alice, CheckId::JoinedBeforeSending).await;
    assert_eq!(c.state, CheckState::Warn, "{c:?}");
    assert!(
        has(
            &c,
            "“Spring referrals” (people referring): 1 person not in Stripe"
        ),
        "{c:?}"
    );
    let send = HealthAction::SendExisting {
        campaign_id: other.clone(),
    };
    assert!(c
        .fixes
        .iter()
        .any(|f| matches!(f, HealthFix::Action { action, .. } if *action == send)));
    health::fix(db, access, &q.queue, alice, &send)
        .await
        .unwrap();
    until(
        t,
        access,
        alice,
        CheckId::JoinedBeforeSending,
        CheckState::Pass,
    )
    .await;

    // 4. The name mapped to a field the form no longer has: nobody of that audience is sent.
    let mut form = campaigns::detail(db, alice, "http://refloop.test", &other)
        .await
        .unwrap()
        .referrer_form;
    let defaults = SendSettings::default_for(&form);
    let settings_with_name = |name: &str| SendSettings {
        name: name.into(),
        ..defaults.clone()
    };
    form.push(refloop::domain::campaigns::FormField {
        key: "company".into(),
        label: "Company".into(),
        kind: refloop::domain::campaigns::FieldKind::Text,
        required: false,
    });
    let friends = campaigns::detail(db, alice, "http://refloop.test", &other)
        .await
        .unwrap()
        .friend_form;
    campaigns::save_forms(db, alice, &other, form.clone(), friends.clone(), true)
        .await
        .unwrap();
    sending::save_settings(
        db,
        alice,
        &other,
        ParticipantKind::Referring,
        settings_with_name("company"),
    )
    .await
    .unwrap();
    form.pop();
    campaigns::save_forms(db, alice, &other, form.clone(), friends, true)
        .await
        .unwrap();
    let c = check(t, access, alice, CheckId::SendMapping).await;
    assert_eq!(c.state, CheckState::Fail, "{c:?}");
    assert!(has(&c, "The Name is mapped from “company”"), "{c:?}");
    sending::save_settings(
        db,
        alice,
        &other,
        ParticipantKind::Referring,
        settings_with_name(refloop::domain::sending::FIRST_AND_LAST),
    )
    .await
    .unwrap();
    let c = check(t, access, alice, CheckId::SendMapping).await;
    assert_eq!(c.state, CheckState::Pass, "{c:?}");

    // 5. "Wait for my system": Dee waits, since when; the merchant's system creates her
    // customer and she is linked.
    let waiting = SendSettings {
        new_people: NewPeople::WaitForMySystem,
        ..SendSettings::default_for(&form)
    };
    sending::save_settings(
        db,
        alice,
        &other,
        ParticipantKind::Referring,
        waiting.clone(),
    )
    .await
    .unwrap();
    join_ok(db, request("other", "dee@x.test", "Dee", None)).await;
    let c = until(t, access, alice, CheckId::Waiting, CheckState::Warn).await;
    assert!(
        has(&c, "dee@x.test (“Spring referrals”) waiting since"),
        "{c:?}"
    );
    let params = CustomerParams {
        email: Some("dee@x.test".into()),
        ..Default::default()
    };
    stripe
        .create_customer(&params, "their-system-dee")
        .await
        .unwrap();
    until(t, access, alice, CheckId::Waiting, CheckState::Pass).await;

    // 7. Two customers share Eve's email and the policy flags it: not sent, said why; with the
    // policy "most recent" and the fix, she is linked.
    for n in 0..2 {
        let params = CustomerParams {
            email: Some("eve@x.test".into()),
            ..Default::default()
        };
        stripe
            .create_customer(&params, &format!("eve-{n}"))
            .await
            .unwrap();
    }
    let flag = SendSettings {
        duplicates: DuplicatePolicy::NoneFlag,
        ..SendSettings::default_for(&form)
    };
    sending::save_settings(db, alice, &other, ParticipantKind::Referring, flag)
        .await
        .unwrap();
    join_ok(db, request("other", "eve@x.test", "Eve", None)).await;
    let c = until(
        t,
        access,
        alice,
        CheckId::ExistingCustomers,
        CheckState::Warn,
    )
    .await;
    assert!(has(&c, "eve@x.test (“Spring referrals”)"), "{c:?}");
    assert!(has(&c, "2 customers share this email"), "{c:?}");
    assert!(has(&c, "link none and flag it"), "{c:?}");
    sending::save_settings(
        db,
        alice,
        &other,
        ParticipantKind::Referring,
        SendSettings::default_for(&form),
    )
    .await
    .unwrap();
    health::fix(db, access, &q.queue, alice, &send)
        .await
        .unwrap();
    for _ in 0..400 {
        let eve = participants::by_email(db.pool(), &other, "eve@x.test")
            .await
            .unwrap()
            .unwrap();
        if eve.stripe_status == StripeStatus::Sent {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let c = check(t, access, alice, CheckId::ExistingCustomers).await;
    assert_eq!(c.state, CheckState::Pass, "{c:?}");
    assert!(has(&c, "eve@x.test"), "{c:?}");
    assert!(has(&c, "policy: most recent"), "{c:?}");

    // 9. Bob (invited by Ann) pays 20.00 of 50.00: listed with the amount; 30.00 more
    // qualifies him.
    let bob = q.pair(t, "ann@x.test", "bob@x.test").await;
    q.pay(t, &bob, 2_000).await;
    let c = until(t, access, alice, CheckId::NearMisses, CheckState::Warn).await;
    assert!(has(&c, "bob@x.test"), "{c:?}");
    assert!(
        has(&c, "Spent 20.00 USD of 50.00 USD within 30 days"),
        "{c:?}"
    );
    // His "Why?" says the same, in order.
    let answer = why_of(db, alice, &q.campaign, "bob@x.test").await;
    assert!(
        answer.stripe.starts_with(&format!("In Stripe as {bob}")),
        "{answer:?}"
    );
    assert!(
        answer
            .qualification
            .contains("so far: Spent 20.00 USD of 50.00 USD within 30 days (1 payment)"),
        "{answer:?}"
    );
    assert!(answer.rewards.starts_with("No reward yet"), "{answer:?}");
    assert!(answer.steps.windows(2).all(|w| w[0].at <= w[1].at));
    assert!(answer.steps[0].text.starts_with("Joined"), "{answer:?}");
    q.pay(t, &bob, 3_000).await;
    until(t, access, alice, CheckId::NearMisses, CheckState::Pass).await;

    // 10. Fay's own customer is linked; she pays through another customer with her email,
    // which does not count; counting every customer with the email passes.
    q.pair(t, "gus@x.test", "fay@x.test").await;
    let params = CustomerParams {
        email: Some("fay@x.test".into()),
        ..Default::default()
    };
    let second = stripe.create_customer(&params, "fay-second").await.unwrap();
    let paid_elsewhere = q.pay(t, &second.id, 1_000).await;
    let c = until(
        t,
        access,
        alice,
        CheckId::SharedEmailSpend,
        CheckState::Warn,
    )
    .await;
    assert!(
        has(
            &c,
            "fay@x.test (“Spring referrals”): paid through 1 other customer"
        ),
        "{c:?}"
    );
    // Her own "Why?" names that payment and why it did not count.
    let answer = why_of(db, alice, &q.campaign, "fay@x.test").await;
    assert!(
        answer
            .qualification
            .contains("so far: Spent 0.00 USD of 50.00 USD within 30 days (0 payments)"),
        "{answer:?}"
    );
    assert!(
        answer.qualification.contains(&format!(
            "Not counted: {paid_elsewhere} (10.00 USD by {}), paid by another Stripe customer with their email; this campaign counts only the customers linked to them",
            second.id
        )),
        "{answer:?}"
    );
    let every = QualificationForm {
        scope: CustomerScope::SameEmail.key().into(),
        ..target_50_in_30_days()
    };
    qualification::save(db, access, &q.queue, alice, &q.campaign, every)
        .await
        .unwrap();
    let c = check(t, access, alice, CheckId::SharedEmailSpend).await;
    assert_eq!(c.state, CheckState::Pass, "{c:?}");
    // Counted now, her "Why?" no longer sets it aside.
    let answer = why_of(db, alice, &q.campaign, "fay@x.test").await;
    assert!(!answer.qualification.contains("Not counted"), "{answer:?}");
}

/// The "Why?" of the participant of `campaign` with this email.
async fn why_of(db: &Db, alice: &Ctx, campaign: &str, email: &str) -> WhyAnswer {
    let p = participants::by_email(db.pool(), campaign, email)
        .await
        .unwrap()
        .unwrap();
    why(db, alice, campaign, &p.id).await.unwrap()
}

async fn sync_checks_fail_then_pass(t: &TestDb) {
    let s = Syncing::start(t).await;
    let (db, access, alice) = (&t.db, &s.access, &s.alice);
    let _workers = s.workers(30_000);
    db::campaigns::set_participant_limit(db.pool(), &alice.account_id, 2)
        .await
        .unwrap();
    for (email, name) in [
        ("a@x.test", "Amy One"),
        ("b@x.test", "Ben Two"),
        ("c@x.test", "Cal Three"),
    ] {
        s.customer(t, Some(email), Some(name)).await;
    }
    let nameless = s.customer(t, Some("d@x.test"), None).await;
    sync::start(db, &s.queue, alice, &s.campaign, SyncSettings::default())
        .await
        .unwrap();
    let p = s.finished(t).await;
    assert_eq!(p.status, RunStatus::Done, "{p:?}");
    // 14. Every link the sync enrolled is written.
    until(t, access, alice, CheckId::WriteBack, CheckState::Pass).await;

    // 12. The limit stopped the sync: failing, with how many were not added.
    let c = check(t, access, alice, CheckId::UserLimit).await;
    assert_eq!(c.state, CheckState::Fail, "{c:?}");
    assert!(has(&c, "2 of 2 people in the account"), "{c:?}");
    assert!(has(&c, "1 Stripe customers not added by the sync"), "{c:?}");

    // 13. The nameless customer was skipped for the blank field.
    let c = check(t, access, alice, CheckId::SyncSkips).await;
    assert_eq!(c.state, CheckState::Warn, "{c:?}");
    assert!(has(&c, "1 customers skipped by the sync"), "{c:?}");

    // 15. The sync is set up, its ongoing sync off: new customers are not enrolled.
    let c = check(t, access, alice, CheckId::OngoingSync).await;
    assert_eq!(c.state, CheckState::Warn, "{c:?}");
    assert!(c
        .summary
        .contains("Ongoing sync is off for “Spring referrals”"));
    let start = HealthAction::StartOngoingSync {
        campaign_id: s.campaign.clone(),
    };
    health::fix(db, access, &s.queue, alice, &start)
        .await
        .unwrap();
    let c = check(t, access, alice, CheckId::OngoingSync).await;
    assert_eq!(c.state, CheckState::Pass, "{c:?}");

    // Fixed: the limit raised, the name filled in Stripe, the sync run again.
    db::campaigns::set_participant_limit(db.pool(), &alice.account_id, 100)
        .await
        .unwrap();
    let named = CustomerParams {
        name: Some("Dot Four".into()),
        ..Default::default()
    };
    s.stripe(t)
        .await
        .update_customer(&nameless, &named, "name-dot")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    sync::start(db, &s.queue, alice, &s.campaign, SyncSettings::default())
        .await
        .unwrap();
    let p = s.finished(t).await;
    assert_eq!((p.status, p.enrolled), (RunStatus::Done, 2), "{p:?}");
    for id in [CheckId::UserLimit, CheckId::SyncSkips, CheckId::WriteBack] {
        let c = check(t, access, alice, id).await;
        assert_eq!(c.state, CheckState::Pass, "{c:?}");
    }
    let c = check(t, access, alice, CheckId::SyncSkips).await;
    assert!(
        c.summary
            .contains("were already in the campaign and were linked instead"),
        "{c:?}"
    );
}
