//! Sending participants into Stripe as customers, against the sandbox over real HTTP with the
//! real job queue: every policy, waiting for the merchant's system, permanent failures,
//! injected faults, and Send existing participants.

use std::time::Duration;

use futures::TryStreamExt;
use refloop::{
    auth::Ctx,
    campaigns::{self, sending},
    db::{participants, sending as repo},
    domain::{
        campaigns::PromoteToggle,
        integrations::StripeMode,
        participants::{ParticipantKind, StripeStatus},
        sending::{DuplicatePolicy, ExistingPolicy, NewPeople, SendSettings},
    },
    integrations,
    jobs::{Queue, Worker, WorkerConfig},
    stripe::types::{CustomerParams, ListFilter},
    stripe::StripeClient,
    workflows::{self, StripeAccess},
};
use serde_json::json;

use crate::{
    accounts::owner,
    campaigns::{join_ok, live_campaign, request},
    stripe_client::SandboxServer,
    support::TestDb,
};

crate::on_both_backends!(
    people_who_join_become_customers_with_their_referral_metadata,
    existing_customers_are_linked_by_policy,
    waiting_people_are_linked_when_their_system_creates_the_customer,
    a_key_that_lost_a_permission_fails_visibly,
    lost_answers_and_errors_never_duplicate_a_customer,
    send_existing_participants_shows_a_dry_run_then_sends,
    an_incomplete_mapping_is_refused_and_blocks_sending,
);

/// A sandbox-connected account with a live campaign, and workers sending to Stripe.
struct Sending {
    sb: SandboxServer,
    access: StripeAccess,
    alice: Ctx,
    campaign: String,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Sending {
    async fn start(t: &TestDb, slug: &str) -> Sending {
        let sb = SandboxServer::start(t).await;
        sb.control("settings", json!({ "rate_limit": null })).await;
        let access = sb.access();
        let (alice, _) = owner(&t.db, "Acme", "alice@acme.test").await;
        integrations::connect_stripe(&t.db, &access, &alice, StripeMode::Sandbox, "")
            .await
            .unwrap();
        let campaign = live_campaign(&t.db, &alice, slug).await;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let queue = Queue::new(t.db.clone());
        let config = WorkerConfig {
            concurrency: 4,
            poll_ms: 20,
            retry_base_ms: 20,
            ..Default::default()
        };
        tokio::spawn(Worker::new(queue, workflows::registry(access.clone()), config).run(stopped));
        Sending {
            sb,
            access,
            alice,
            campaign,
            stop,
        }
    }

    async fn switch_on(&self, t: &TestDb) {
        for toggle in [PromoteToggle::SendReferrers, PromoteToggle::SendFriends] {
            campaigns::set_toggle(
                &t.db,
                &Default::default(),
                &self.alice,
                &self.campaign,
                toggle,
                true,
            )
            .await
            .unwrap();
        }
    }

    async fn settings(&self, t: &TestDb, change: impl FnOnce(&mut SendSettings)) {
        let mut s = sending::overview(&t.db, &self.alice, &self.campaign)
            .await
            .unwrap()
            .audiences[0]
            .settings
            .clone();
        change(&mut s);
        sending::save_settings(
            &t.db,
            &self.alice,
            &self.campaign,
            ParticipantKind::Referring,
            s,
        )
        .await
        .unwrap();
    }

    /// The connected sandbox account, as the merchant's own system reaches it.
    async fn merchant(&self, t: &TestDb) -> StripeClient {
        self.access
            .connect(&t.db, &self.alice.account_id)
            .await
            .unwrap()
            .unwrap()
            .client
    }

    /// The `referrals` count on `email`'s Stripe customer, once it reads `want` (or what it
    /// read last, after 8 s).
    async fn referrals_in_stripe(&self, t: &TestDb, email: &str, want: &str) -> String {
        let mut referrals = String::new();
        for _ in 0..400 {
            referrals = self.customers(t, email).await[0].metadata["referrals"].clone();
            if referrals == want {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        referrals
    }

    async fn customers(&self, t: &TestDb, email: &str) -> Vec<refloop::stripe::types::Customer> {
        self.merchant(t)
            .await
            .list_customers(ListFilter {
                email: Some(email.into()),
                ..Default::default()
            })
            .try_collect()
            .await
            .unwrap()
    }

    /// Waits until the participant with this email has left `Queued` (and `Waiting`, unless
    /// `waiting_is_done`), and returns them.
    async fn settled(
        &self,
        t: &TestDb,
        email: &str,
        waiting_is_done: bool,
    ) -> participants::ParticipantRow {
        // Up to 30 s: under injected faults the client backs off for seconds between tries.
        for _ in 0..1_500 {
            let p = participants::by_email(t.db.pool(), &self.campaign, email)
                .await
                .unwrap()
                .unwrap();
            let busy = p.stripe_status == StripeStatus::Queued
                || (p.stripe_status == StripeStatus::Waiting && !waiting_is_done);
            if !busy {
                return p;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{email} was never settled");
    }

    async fn timeline(&self, t: &TestDb, p: &participants::ParticipantRow) -> Vec<String> {
        participants::timeline(t.db.pool(), &self.alice.account_id, &p.id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.detail)
            .collect()
    }
}

impl Drop for Sending {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn people_who_join_become_customers_with_their_referral_metadata(t: &TestDb) {
    let s = Sending::start(t, "spring").await;
    // Before sending is on: not sent, and the note says why.
    join_ok(&t.db, request("spring", "early@x.test", "Early", None)).await;
    let early = s.settled(t, "early@x.test", false).await;
    assert_eq!(early.stripe_status, StripeStatus::NotSent);
    assert!(
        early.stripe_note.contains("was off when they joined"),
        "{}",
        early.stripe_note
    );

    s.switch_on(t).await;
    let code = join_ok(&t.db, request("spring", "ann@x.test", "Ann", None)).await;
    let ann = s.settled(t, "ann@x.test", false).await;
    assert_eq!(ann.stripe_status, StripeStatus::Sent, "{}", ann.stripe_note);
    let customer = ann.stripe_customer_id.clone().unwrap();
    let found = s.customers(t, "ann@x.test").await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, customer);
    assert_eq!(found[0].name.as_deref(), Some("Ann"));
    let m = &found[0].metadata;
    assert_eq!(m["referral_code"], code);
    assert_eq!(
        m["referral_link"],
        format!("{}/r/{code}", crate::stripe_client::PUBLIC_URL)
    );
    assert_eq!(m["campaign"], "Spring referrals");
    assert_eq!(m["referrals"], "0");
    let line = format!("Created Stripe customer {customer} (test mode)");
    assert!(s.timeline(t, &ann).await.contains(&line));

    // A friend: their referrer on their customer, and the referrer's count kept current.
    join_ok(&t.db, request("spring", "bob@x.test", "Bob", Some(&code))).await;
    let bob = s.settled(t, "bob@x.test", false).await;
    assert_eq!(bob.stripe_status, StripeStatus::Sent, "{}", bob.stripe_note);
    assert_eq!(
        s.customers(t, "bob@x.test").await[0].metadata["referred_by"],
        "ann@x.test"
    );
    assert_eq!(s.referrals_in_stripe(t, "ann@x.test", "1").await, "1");

    // Friends arriving together: their referrer's refreshes, batched, end on the true count,
    // including one that arrives while a refresh is being written.
    for i in 0..3 {
        let email = format!("friend{i}@x.test");
        join_ok(&t.db, request("spring", &email, "Friend", Some(&code))).await;
        tokio::time::sleep(Duration::from_millis(400 * i)).await;
    }
    assert_eq!(s.referrals_in_stripe(t, "ann@x.test", "4").await, "4");
}

async fn existing_customers_are_linked_by_policy(t: &TestDb) {
    let s = Sending::start(t, "spring").await;
    s.switch_on(t).await;
    let merchant = s.merchant(t).await;
    let make = |email: &'static str, n: u32| {
        let merchant = merchant.clone();
        let sb = &s.sb;
        async move {
            let mut ids = Vec::new();
            for i in 0..n {
                let c = merchant
                    .create_customer(
                        &CustomerParams {
                            email: Some(email.into()),
                            ..Default::default()
                        },
                        &format!("seed-{email}-{i}"),
                    )
                    .await
                    .unwrap();
                ids.push(c.id);
                sb.control("clock", json!({ "advance_secs": 10 })).await;
            }
            ids
        }
    };

    let one = make("one@x.test", 1).await;
    join_ok(&t.db, request("spring", "one@x.test", "One", None)).await;
    let p = s.settled(t, "one@x.test", false).await;
    assert_eq!(p.stripe_customer_id.as_deref(), Some(one[0].as_str()));
    assert_eq!(p.stripe_note, format!("Linked to existing customer {} — already in Stripe with this email; policy: link to the existing customer", one[0]));
    assert_eq!(
        s.customers(t, "one@x.test").await[0].metadata["referral_code"],
        p.code
    );

    let dup = make("dup@x.test", 3).await;
    join_ok(&t.db, request("spring", "dup@x.test", "Dup", None)).await;
    let p = s.settled(t, "dup@x.test", false).await;
    assert_eq!(p.stripe_customer_id.as_deref(), Some(dup[2].as_str()));
    assert!(
        p.stripe_note
            .ends_with("3 customers share this email; policy: most recent"),
        "{}",
        p.stripe_note
    );

    s.settings(t, |x| x.duplicates = DuplicatePolicy::Oldest)
        .await;
    let old = make("old@x.test", 2).await;
    join_ok(&t.db, request("spring", "old@x.test", "Old", None)).await;
    let p = s.settled(t, "old@x.test", false).await;
    assert_eq!(p.stripe_customer_id.as_deref(), Some(old[0].as_str()));

    s.settings(t, |x| x.duplicates = DuplicatePolicy::All).await;
    make("all@x.test", 2).await;
    join_ok(&t.db, request("spring", "all@x.test", "All", None)).await;
    let p = s.settled(t, "all@x.test", false).await;
    let linked = repo::customers_of(t.db.pool(), &s.alice.account_id, &p.id)
        .await
        .unwrap();
    assert_eq!(linked.len(), 2);

    s.settings(t, |x| x.duplicates = DuplicatePolicy::NoneFlag)
        .await;
    make("none@x.test", 2).await;
    join_ok(&t.db, request("spring", "none@x.test", "None", None)).await;
    let p = s.settled(t, "none@x.test", false).await;
    assert_eq!(p.stripe_status, StripeStatus::Skipped);
    assert!(
        p.stripe_note.contains("policy: link none and flag it"),
        "{}",
        p.stripe_note
    );
    assert!(s.timeline(t, &p).await.contains(&p.stripe_note));

    s.settings(t, |x| x.existing = ExistingPolicy::CreateNew)
        .await;
    make("new@x.test", 1).await;
    join_ok(&t.db, request("spring", "new@x.test", "New", None)).await;
    let p = s.settled(t, "new@x.test", false).await;
    assert_eq!(p.stripe_status, StripeStatus::Sent);
    assert!(p
        .stripe_note
        .contains("policy: create a new customer anyway"));
    assert_eq!(s.customers(t, "new@x.test").await.len(), 2);

    // An email mapped from a field left empty.
    s.settings(t, |x| x.email = "last_name".into()).await;
    join_ok(&t.db, request("spring", "blank@x.test", "Blank", None)).await;
    let p = s.settled(t, "blank@x.test", false).await;
    assert_eq!(p.stripe_status, StripeStatus::Skipped);
    assert_eq!(
        p.stripe_note,
        "Not sent: the field “last_name” mapped to Email is empty"
    );
}

async fn waiting_people_are_linked_when_their_system_creates_the_customer(t: &TestDb) {
    let s = Sending::start(t, "spring").await;
    s.settings(t, |x| x.new_people = NewPeople::WaitForMySystem)
        .await;
    s.switch_on(t).await;
    join_ok(&t.db, request("spring", "wait@x.test", "Wait", None)).await;
    let p = s.settled(t, "wait@x.test", true).await;
    assert_eq!(p.stripe_status, StripeStatus::Waiting);
    assert!(
        p.stripe_note
            .starts_with("Waiting for your system to create a customer with wait@x.test since "),
        "{}",
        p.stripe_note
    );

    // The merchant's system creates the customer: linked from Stripe's events, in seconds.
    let merchant = s.merchant(t).await;
    let theirs = merchant
        .create_customer(
            &CustomerParams {
                email: Some("wait@x.test".into()),
                ..Default::default()
            },
            "their-system-1",
        )
        .await
        .unwrap();
    let p = s.settled(t, "wait@x.test", false).await;
    assert_eq!(p.stripe_status, StripeStatus::Sent);
    assert_eq!(p.stripe_customer_id.as_deref(), Some(theirs.id.as_str()));
    assert!(
        p.stripe_note.ends_with("created by your system"),
        "{}",
        p.stripe_note
    );
    assert_eq!(s.customers(t, "wait@x.test").await.len(), 1);

    // Missed events: the look-up by email still finds the customer.
    join_ok(&t.db, request("spring", "missed@x.test", "Missed", None)).await;
    s.settled(t, "missed@x.test", true).await;
    sqlx::query("UPDATE stripe_watch SET events_after = $1, looked_up_at = 0")
        .bind(refloop::db::unix_now() + 3_600)
        .execute(t.db.pool())
        .await
        .unwrap();
    merchant
        .create_customer(
            &CustomerParams {
                email: Some("missed@x.test".into()),
                ..Default::default()
            },
            "their-system-2",
        )
        .await
        .unwrap();
    assert_eq!(
        s.settled(t, "missed@x.test", false).await.stripe_status,
        StripeStatus::Sent
    );

    // Nobody created one within the horizon: never linked, with the reason.
    join_ok(&t.db, request("spring", "never@x.test", "Never", None)).await;
    let p = s.settled(t, "never@x.test", true).await;
    sqlx::query("UPDATE participants SET stripe_since = stripe_since - 49 * 3600 WHERE id = $1")
        .bind(&p.id)
        .execute(t.db.pool())
        .await
        .unwrap();
    let p = s.settled(t, "never@x.test", false).await;
    assert_eq!(p.stripe_status, StripeStatus::Skipped);
    assert_eq!(
        p.stripe_note,
        "Never linked: no Stripe customer with never@x.test appeared within 48 hours"
    );
}

async fn a_key_that_lost_a_permission_fails_visibly(t: &TestDb) {
    let s = Sending::start(t, "spring").await;
    s.switch_on(t).await;
    // The merchant edits the key in Stripe: it can no longer write customers.
    let row = refloop::db::stripe_connections::get(t.db.pool(), &s.alice.account_id)
        .await
        .unwrap()
        .unwrap();
    let reduced = s
        .sb
        .control(
            "keys",
            json!({ "account": row.stripe_account_id.unwrap(), "permissions": ["rak_customer_read"] }),
        )
        .await["key"]
        .as_str()
        .unwrap()
        .to_string();
    sqlx::query("UPDATE stripe_connections SET sealed_key = $1 WHERE account_id = $2")
        .bind(s.access.sealer.seal(&reduced))
        .bind(&s.alice.account_id)
        .execute(t.db.pool())
        .await
        .unwrap();
    join_ok(&t.db, request("spring", "ann@x.test", "Ann", None)).await;
    let p = s.settled(t, "ann@x.test", false).await;
    assert_eq!(p.stripe_status, StripeStatus::Failed);
    assert!(
        p.stripe_note.contains("rak_customer_write"),
        "{}",
        p.stripe_note
    );
    assert!(s.timeline(t, &p).await.contains(&p.stripe_note));
    let status = integrations::stripe_status(&t.db, &s.alice)
        .await
        .unwrap()
        .unwrap();
    assert!(status.alert.unwrap().contains("rak_customer_write"));
    assert!(s.customers(t, "ann@x.test").await.is_empty());
}

async fn lost_answers_and_errors_never_duplicate_a_customer(t: &TestDb) {
    let s = Sending::start(t, "spring").await;
    s.switch_on(t).await;
    s.sb.control(
        "settings",
        json!({ "error_rate": 0.2, "lost_response_rate": 0.3 }),
    )
    .await;
    for i in 0..12 {
        join_ok(&t.db, request("spring", &format!("p{i}@x.test"), "P", None)).await;
    }
    for i in 0..12 {
        let p = s.settled(t, &format!("p{i}@x.test"), false).await;
        assert_eq!(p.stripe_status, StripeStatus::Sent, "{}", p.stripe_note);
    }
    s.sb.control(
        "settings",
        json!({ "error_rate": 0.0, "lost_response_rate": 0.0 }),
    )
    .await;
    for i in 0..12 {
        let found = s.customers(t, &format!("p{i}@x.test")).await;
        assert_eq!(found.len(), 1, "p{i}: {found:?}");
    }
}

async fn send_existing_participants_shows_a_dry_run_then_sends(t: &TestDb) {
    let s = Sending::start(t, "spring").await;
    for name in ["a", "b", "c"] {
        join_ok(
            &t.db,
            request("spring", &format!("{name}@x.test"), name, None),
        )
        .await;
    }
    let existing = s
        .merchant(t)
        .await
        .create_customer(
            &CustomerParams {
                email: Some("b@x.test".into()),
                ..Default::default()
            },
            "seed-b",
        )
        .await
        .unwrap();
    let preview = sending::preview(
        &t.db,
        &s.access,
        &s.alice,
        &s.campaign,
        ParticipantKind::Referring,
    )
    .await
    .unwrap();
    assert_eq!(preview.total, 3);
    let outcomes: Vec<(String, String)> = preview
        .rows
        .into_iter()
        .map(|r| (r.email, r.outcome))
        .collect();
    assert_eq!(
        outcomes[0],
        ("a@x.test".into(), "Would create a new customer".into())
    );
    assert_eq!(
        outcomes[1],
        ("b@x.test".into(), format!("Would link to {} — already in Stripe with this email; policy: link to the existing customer", existing.id))
    );
    // The dry run changed nothing.
    assert!(s.customers(t, "a@x.test").await.is_empty());

    let n = sending::send_existing(&t.db, &s.alice, &s.campaign, ParticipantKind::Referring)
        .await
        .unwrap();
    assert_eq!(n, 3);
    for name in ["a", "b", "c"] {
        let email = format!("{name}@x.test");
        assert_eq!(
            s.settled(t, &email, false).await.stripe_status,
            StripeStatus::Sent
        );
        assert_eq!(s.customers(t, &email).await.len(), 1);
    }
    // Nobody is left to send.
    let again = sending::send_existing(&t.db, &s.alice, &s.campaign, ParticipantKind::Referring)
        .await
        .unwrap();
    assert_eq!(again, 0);
}

async fn an_incomplete_mapping_is_refused_and_blocks_sending(t: &TestDb) {
    let s = Sending::start(t, "spring").await;
    let mut settings = sending::overview(&t.db, &s.alice, &s.campaign)
        .await
        .unwrap()
        .audiences[1]
        .settings
        .clone();
    settings.name.clear();
    let err = sending::save_settings(
        &t.db,
        &s.alice,
        &s.campaign,
        ParticipantKind::Invited,
        settings,
    )
    .await
    .unwrap_err();
    assert!(err
        .field_message("name")
        .unwrap()
        .contains("Map the Stripe customer's Name"));
    // A form without first or last name: the default mapping has no name, so the switch is
    // blocked with a link to the mapping, and the server refuses to switch it on.
    let mut c = campaigns::detail(&t.db, &s.alice, "http://x", &s.campaign)
        .await
        .unwrap();
    c.friend_form.retain(|f| f.key == "email");
    campaigns::save_forms(
        &t.db,
        &s.alice,
        &s.campaign,
        c.referrer_form.clone(),
        c.friend_form.clone(),
        true,
    )
    .await
    .unwrap();
    let overview = sending::overview(&t.db, &s.alice, &s.campaign)
        .await
        .unwrap();
    let blocker = overview.audiences[1].toggle.blocker.clone().unwrap();
    assert!(blocker.reason.contains("Name"), "{}", blocker.reason);
    assert_eq!(
        blocker.fix_href,
        format!("/app/campaigns/{}/stripe", s.campaign)
    );
    let err = campaigns::set_toggle(
        &t.db,
        &Default::default(),
        &s.alice,
        &s.campaign,
        PromoteToggle::SendFriends,
        true,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("Name"), "{err}");
}
