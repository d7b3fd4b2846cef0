//! Qualification by spend and rewards, end to end over real HTTP: the sandbox delivers signed
//! webhooks to Refloop's endpoint, the real job queue processes them, and rewards are issued
//! back in the sandbox. Faults (dropped, duplicated, delayed, reordered deliveries) must end in
//! exactly the right qualifications and exactly one reward each.

use std::time::Duration;

use axum::{routing::post, Router};
use refloop::{
    auth::Ctx,
    campaigns::{self, qualification, rewards as reward_rules},
    db::{participants, qualification as ledger, rewards},
    domain::{
        campaigns::PromoteToggle,
        integrations::StripeMode,
        participants::Qualification,
        qualification::{EndpointHealth, QualificationForm},
        rewards::{RewardDecision, RewardForm, RewardRuleForm, RewardStatus},
    },
    integrations,
    jobs::{Queue, Worker, WorkerConfig},
    mail::Mailer,
    state::Webhooks,
    stripe::{signature, StripeClient},
    stripe_sandbox::Sandbox,
    workflows::{self, StripeAccess},
};
use serde_json::{json, Value};

use crate::{
    accounts::owner,
    campaigns::{join_ok, live_campaign, request},
    support::TestDb,
};

crate::on_both_backends!(
    a_payment_that_reaches_the_target_qualifies_and_rewards_within_seconds,
    a_refund_returns_the_referral_to_pending_and_reverses_the_credit,
    faulty_deliveries_end_in_exactly_the_right_qualifications_and_rewards,
    the_endpoint_refuses_bad_signatures_and_unknown_addresses,
    a_deleted_or_disabled_endpoint_is_shown_and_repaired,
    rewards_wait_for_approval_and_for_a_stripe_customer,
    a_promotion_code_is_only_for_its_customer_and_shown_on_their_page,
    after_switching_stripe_accounts_the_old_accounts_events_count_for_nothing,
    friends_qualifying_at_once_earn_exactly_their_milestones_and_tiers,
    a_reward_granted_by_a_process_that_stopped_is_issued_by_its_job,
    targets_in_zero_and_three_decimal_currencies_are_counted_in_stripe_s_units,
    a_payment_in_another_currency_counts_at_the_amount_stripe_settled,
);

/// Refloop's webhook route and the sandbox on one address (the sandbox delivers to it over
/// HTTP), an account connected to the sandbox with a live campaign sending everyone to
/// Stripe, qualification saved, and workers running.
pub(crate) struct Qualifying {
    pub(crate) base: String,
    pub(crate) queue: Queue,
    pub(crate) access: StripeAccess,
    pub(crate) alice: Ctx,
    /// Alice's session cookie, for requests made as her over HTTP.
    pub(crate) alice_session: String,
    pub(crate) campaign: String,
    pub(crate) http: reqwest::Client,
    pub(crate) stop: tokio::sync::watch::Sender<bool>,
}

const SLUG: &str = "spend";

/// The secret key the harness seals Stripe keys with, so that the binary can be started on
/// its database (`refloop admin backup` and the like) with `REFLOOP_SECRET_KEY`.
pub(crate) const SECRET_KEY: &str = "cmVmbG9vcCB0ZXN0IGtleSwgMzIgYnl0ZXMgbG9uZyE=";

impl Qualifying {
    pub(crate) async fn start(t: &TestDb, reward: RewardForm) -> Qualifying {
        Self::start_mailing(t, reward, Mailer::disabled()).await
    }

    /// As `start`, the workers sending the campaign's emails through `mailer`.
    pub(crate) async fn start_mailing(
        t: &TestDb,
        reward: RewardForm,
        mailer: Mailer,
    ) -> Qualifying {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let access = StripeAccess {
            sealer: refloop::secrets::Sealer::from_base64(SECRET_KEY).unwrap(),
            api_url: format!("{base}/sandbox"),
            sandbox_url: format!("{base}/sandbox"),
            limiters: refloop::stripe::rate_limit::RateLimiters::new(1_000.0, 1_000.0),
            public_url: base.clone(),
            ..Default::default()
        };
        let queue = Queue::new(t.db.clone());
        let app = Router::new()
            .route(
                "/webhooks/stripe/{id}",
                post(refloop::server::webhooks::stripe),
            )
            .with_state(Webhooks {
                db: t.db.clone(),
                sealer: access.sealer.clone(),
                queue: queue.clone(),
            })
            .nest_service(
                "/sandbox",
                Sandbox::start(t.db.clone(), refloop::stripe_sandbox::Access::Controls).router(),
            );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let http = reqwest::Client::new();
        http.post(format!("{base}/sandbox/_sandbox/settings"))
            .json(&json!({ "rate_limit": null }))
            .send()
            .await
            .unwrap();
        let (alice, alice_session) = owner(&t.db, "Acme", "alice@acme.test").await;
        integrations::connect_stripe(&t.db, &access, &alice, StripeMode::Sandbox, "")
            .await
            .unwrap();
        let campaign = live_campaign(&t.db, &alice, SLUG).await;
        for toggle in [PromoteToggle::SendReferrers, PromoteToggle::SendFriends] {
            campaigns::set_toggle(&t.db, &Default::default(), &alice, &campaign, toggle, true)
                .await
                .unwrap();
        }
        let status = qualification::save(
            &t.db,
            &access,
            &queue,
            &alice,
            &campaign,
            target_50_in_30_days(),
        )
        .await
        .unwrap();
        assert_eq!(status.health, EndpointHealth::Enabled);
        reward_rules::save(&t.db, &alice, &campaign, reward)
            .await
            .unwrap();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let config = WorkerConfig {
            concurrency: 4,
            poll_ms: 20,
            retry_base_ms: 20,
            ..Default::default()
        };
        tokio::spawn(
            Worker::new(
                queue.clone(),
                refloop::notifications::register(workflows::registry(access.clone()), mailer),
                config,
            )
            .run(stopped),
        );
        Qualifying {
            base,
            queue,
            access,
            alice,
            alice_session,
            campaign,
            http,
            stop,
        }
    }

    pub(crate) async fn control(&self, action: &str, body: Value) -> Value {
        let res = self
            .http
            .post(format!("{}/sandbox/_sandbox/{action}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{}", res.text().await.unwrap());
        res.json().await.unwrap()
    }

    pub(crate) async fn stripe(&self, t: &TestDb) -> StripeClient {
        self.access
            .connect(&t.db, &self.alice.account_id)
            .await
            .unwrap()
            .unwrap()
            .client
    }

    /// Polls (up to 20 s) until `done` holds for the participant with this email.
    pub(crate) async fn until(
        &self,
        t: &TestDb,
        email: &str,
        what: &str,
        done: impl Fn(&participants::ParticipantRow) -> bool,
    ) -> participants::ParticipantRow {
        let mut last = None;
        for _ in 0..1_000 {
            let p = participants::by_email(t.db.pool(), &self.campaign, email)
                .await
                .unwrap()
                .unwrap();
            if done(&p) {
                return p;
            }
            last = Some(p);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{email} never {what}: {last:?}");
    }

    /// A referrer and a friend they invited, both in Stripe; the friend's customer id.
    pub(crate) async fn pair(&self, t: &TestDb, referrer: &str, friend: &str) -> String {
        let code = join_ok(&t.db, request(SLUG, referrer, "Ann", None)).await;
        join_ok(&t.db, request(SLUG, friend, "Bob", Some(&code))).await;
        self.customer(t, friend).await
    }

    pub(crate) async fn customer(&self, t: &TestDb, email: &str) -> String {
        self.until(t, email, "reached Stripe", |p| {
            p.stripe_customer_id.is_some()
        })
        .await
        .stripe_customer_id
        .unwrap()
    }

    /// A 60.00 USD payment by `customer` merged straight into the ledger, as its delivered
    /// `charge.succeeded` would be, without evaluating anyone.
    pub(crate) async fn paid_in_ledger(
        &self,
        t: &TestDb,
        conn: &mut sqlx::AnyConnection,
        charge_id: &str,
        customer: &str,
    ) {
        let stripe_account = refloop::db::stripe_connections::current_stripe_account(
            t.db.pool(),
            &self.alice.account_id,
        )
        .await
        .unwrap()
        .unwrap();
        let charge = ledger::ChargeUpdate {
            charge_id: charge_id.into(),
            customer_id: Some(customer.into()),
            amount: 6_000,
            currency: Some("usd".into()),
            created: refloop::db::unix_now(),
            paid: true,
            ..Default::default()
        };
        let now = refloop::db::unix_now();
        ledger::merge_charge(conn, &self.alice.account_id, &stripe_account, &charge, now)
            .await
            .unwrap();
    }

    /// A payment by the customer; its charge id.
    pub(crate) async fn pay(&self, t: &TestDb, customer: &str, amount: i64) -> String {
        self.pay_in(t, customer, amount, "usd").await
    }

    pub(crate) async fn pay_in(
        &self,
        t: &TestDb,
        customer: &str,
        amount: i64,
        currency: &str,
    ) -> String {
        let key = format!("pay-{}", refloop::db::new_id("k"));
        let intent = self
            .stripe(t)
            .await
            .pay(customer, amount, currency, "pm_card_visa", &key)
            .await
            .unwrap();
        intent.latest_charge.unwrap()
    }

    pub(crate) async fn rewards_of(&self, t: &TestDb, email: &str) -> Vec<rewards::RewardRow> {
        let p = participants::by_email(t.db.pool(), &self.campaign, email)
            .await
            .unwrap()
            .unwrap();
        rewards::for_recipient(t.db.pool(), &self.alice.account_id, &p.id)
            .await
            .unwrap()
    }

    pub(crate) async fn until_reward(
        &self,
        t: &TestDb,
        email: &str,
        status: RewardStatus,
    ) -> rewards::RewardRow {
        for _ in 0..1_000 {
            if let Some(r) = self
                .rewards_of(t, email)
                .await
                .into_iter()
                .find(|r| r.status == status)
            {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "{email} never had a reward {status:?}: {:?}",
            self.rewards_of(t, email).await
        );
    }

    pub(crate) async fn timeline(&self, t: &TestDb, email: &str) -> Vec<String> {
        let p = participants::by_email(t.db.pool(), &self.campaign, email)
            .await
            .unwrap()
            .unwrap();
        participants::timeline(t.db.pool(), &self.alice.account_id, &p.id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.detail)
            .collect()
    }

    pub(crate) async fn balance(&self, t: &TestDb, customer: &str) -> i64 {
        self.stripe(t)
            .await
            .retrieve_customer(customer)
            .await
            .unwrap()
            .balance
    }
}

impl Drop for Qualifying {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

pub(crate) fn target_50_in_30_days() -> QualificationForm {
    QualificationForm {
        target: "50.00".into(),
        currency: "usd".into(),
        window_days: "30".into(),
        ..Default::default()
    }
}

pub(crate) fn credit(amount: &str, auto_issue: bool, reverse_on_refund: bool) -> RewardForm {
    RewardForm {
        auto_issue,
        rules: vec![RewardRuleForm {
            recipient: "referrer".into(),
            kind: "credit".into(),
            amount: amount.into(),
            currency: "usd".into(),
            every: "1".into(),
            reverse_on_refund,
            ..Default::default()
        }],
        ..Default::default()
    }
}

async fn a_payment_that_reaches_the_target_qualifies_and_rewards_within_seconds(t: &TestDb) {
    let q = Qualifying::start(t, credit("10.00", true, false)).await;
    let customer = q.pair(t, "ann@x.test", "bob@x.test").await;

    let first = q.pay(t, &customer, 2_000).await;
    let bob = q
        .until(t, "bob@x.test", "counted the first payment", |p| {
            p.spent == 2_000
        })
        .await;
    assert_eq!(bob.qualification, Qualification::Pending);
    assert_eq!(
        bob.qualification_note,
        "Spent 20.00 USD of 50.00 USD within 30 days (1 payment)"
    );

    let second = q.pay(t, &customer, 3_500).await;
    let bob = q
        .until(t, "bob@x.test", "qualified", |p| {
            p.qualification == Qualification::Qualified
        })
        .await;
    assert_eq!(bob.spent, 5_500);
    let timeline = q.timeline(t, "bob@x.test").await;
    // Charges are ordered by their time in seconds; two in the same second by their ids.
    assert!(
        timeline.iter().any(|d| d.starts_with("Qualified on ")
            && [&first, &second]
                .iter()
                .any(|c| d.ends_with(&format!("(target reached by {c})")))),
        "{timeline:?}"
    );
    assert!(
        timeline.contains(&"Spent 55.00 USD of 50.00 USD within 30 days (2 payments)".to_string())
    );

    let reward = q.until_reward(t, "ann@x.test", RewardStatus::Issued).await;
    let ann_customer = q.customer(t, "ann@x.test").await;
    assert_eq!(reward.customer_id.as_deref(), Some(ann_customer.as_str()));
    let txn = reward.stripe_ref.clone().unwrap();
    assert!(txn.starts_with("cbtxn_"), "{txn}");
    assert_eq!(q.balance(t, &ann_customer).await, -1_000);
    let ann_timeline = q.timeline(t, "ann@x.test").await;
    assert!(
        ann_timeline.contains(&format!(
            "Reward: 10.00 USD credit issued to {ann_customer} ({txn})"
        )),
        "{ann_timeline:?}"
    );
    assert!(ann_timeline
        .iter()
        .any(|d| d.starts_with("bob@x.test: Qualified on ")));
    let ann = participants::by_email(t.db.pool(), &q.campaign, "ann@x.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ann.qualified_referrals, 1);
    // The payment's own job issued the credit once it had qualified Bob: the reward's job,
    // there in case it had not, never ran.
    assert_eq!(
        issue_job(t, &reward.id).await,
        ("done".to_string(), 0),
        "the reward's job ran"
    );

    // A third payment changes the spend, not the qualification or the reward.
    q.pay(t, &customer, 1_000).await;
    q.until(t, "bob@x.test", "counted the third payment", |p| {
        p.spent == 6_500
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(q.rewards_of(t, "ann@x.test").await.len(), 1);
    assert_eq!(q.balance(t, &ann_customer).await, -1_000);
}

async fn targets_in_zero_and_three_decimal_currencies_are_counted_in_stripe_s_units(t: &TestDb) {
    let q = Qualifying::start(t, credit("10.00", true, false)).await;
    // XPF has no decimals: a target of 5000 is 5000 francs, as Stripe's charges count them.
    save_target(t, &q, "5000", "XPF").await;
    let bob = q.pair(t, "ann@x.test", "bob@x.test").await;
    q.pay_in(t, &bob, 3_000, "xpf").await;
    let counted = q
        .until(t, "bob@x.test", "counted 3000 XPF", |p| p.spent == 3_000)
        .await;
    assert_eq!(
        counted.qualification_note,
        "Spent 3000 XPF of 5000 XPF within 30 days (1 payment)"
    );
    q.pay_in(t, &bob, 2_000, "xpf").await;
    q.until(t, "bob@x.test", "qualified in XPF", |p| {
        p.qualification == Qualification::Qualified
    })
    .await;

    // KWD has three: "12,5" is 12.500 dinars, 12500 fils in Stripe.
    save_target(t, &q, "12,5", "KWD").await;
    let dan = q.pair(t, "cat@x.test", "dan@x.test").await;
    q.pay_in(t, &dan, 12_490, "kwd").await;
    let counted = q
        .until(t, "dan@x.test", "counted 12.490 KWD", |p| p.spent == 12_490)
        .await;
    assert_eq!(counted.qualification, Qualification::Pending);
    assert_eq!(
        counted.qualification_note,
        "Spent 12.490 KWD of 12.500 KWD within 30 days (1 payment)"
    );
    q.pay_in(t, &dan, 10, "kwd").await;
    q.until(t, "dan@x.test", "qualified in KWD", |p| {
        p.qualification == Qualification::Qualified
    })
    .await;
}

async fn a_payment_in_another_currency_counts_at_the_amount_stripe_settled(t: &TestDb) {
    // The target is 50.00 USD; the sandbox settles in USD, a euro at 1.08.
    let q = Qualifying::start(t, credit("10.00", true, false)).await;
    let bob = q.pair(t, "ann@x.test", "bob@x.test").await;
    q.pay_in(t, &bob, 4_500, "eur").await;
    let counted = q
        .until(t, "bob@x.test", "counted 45.00 EUR as 48.60 USD", |p| {
            p.spent == 4_860
        })
        .await;
    let spent = "Spent 48.60 USD of 50.00 USD within 30 days (1 payment); 45.00 EUR counted as 48.60 USD at Stripe's rate 1.08";
    assert_eq!(
        (counted.qualification, counted.qualification_note.as_str()),
        (Qualification::Pending, spent)
    );
    assert!(q
        .timeline(t, "bob@x.test")
        .await
        .contains(&spent.to_string()));

    // The next payment is counted at the rate of its own day.
    q.control("settings", json!({ "exchange_rates": { "eur": 1.1 } }))
        .await;
    q.pay_in(t, &bob, 200, "eur").await;
    let qualified = q
        .until(t, "bob@x.test", "qualified", |p| {
            p.qualification == Qualification::Qualified
        })
        .await;
    assert_eq!(qualified.spent, 4_860 + 220);
    // Both were paid within the second: the order they are named in is the charges'.
    let note = &qualified.qualification_note;
    for said in [
        "; Spent 50.80 USD of 50.00 USD within 30 days (2 payments); ",
        "45.00 EUR counted as 48.60 USD at Stripe's rate 1.08",
        "2.00 EUR counted as 2.20 USD at Stripe's rate 1.1",
    ] {
        assert!(note.contains(said), "{note}");
    }
    q.until_reward(t, "ann@x.test", RewardStatus::Issued).await;

    // A target in euros counts them as paid, with no conversion.
    save_target(t, &q, "40.00", "EUR").await;
    let dan = q.pair(t, "cat@x.test", "dan@x.test").await;
    q.pay_in(t, &dan, 4_000, "eur").await;
    let dan = q
        .until(t, "dan@x.test", "qualified in EUR", |p| {
            p.qualification == Qualification::Qualified
        })
        .await;
    assert!(
        dan.qualification_note
            .ends_with("Spent 40.00 EUR of 40.00 EUR within 30 days (1 payment)"),
        "{}",
        dan.qualification_note
    );
}

async fn save_target(t: &TestDb, q: &Qualifying, target: &str, currency: &str) {
    let form = QualificationForm {
        target: target.into(),
        currency: currency.into(),
        window_days: "30".into(),
        ..Default::default()
    };
    qualification::save(&t.db, &q.access, &q.queue, &q.alice, &q.campaign, form)
        .await
        .unwrap();
}

async fn a_refund_returns_the_referral_to_pending_and_reverses_the_credit(t: &TestDb) {
    let q = Qualifying::start(t, credit("10.00", true, true)).await;
    let customer = q.pair(t, "ann@x.test", "bob@x.test").await;
    let charge = q.pay(t, &customer, 6_000).await;
    q.until(t, "bob@x.test", "qualified", |p| {
        p.qualification == Qualification::Qualified
    })
    .await;
    q.until_reward(t, "ann@x.test", RewardStatus::Issued).await;
    let ann_customer = q.customer(t, "ann@x.test").await;
    assert_eq!(q.balance(t, &ann_customer).await, -1_000);

    q.stripe(t)
        .await
        .refund(&charge, Some(2_000), "refund-1")
        .await
        .unwrap();
    let bob = q
        .until(t, "bob@x.test", "went back to pending", |p| {
            p.qualification == Qualification::Pending
        })
        .await;
    assert_eq!(bob.spent, 4_000);
    assert!(q
        .timeline(t, "bob@x.test")
        .await
        .contains(&"Back to pending: Spent 40.00 USD of 50.00 USD within 30 days (1 payment) after a refund or dispute".to_string()));
    let reversed = q
        .until_reward(t, "ann@x.test", RewardStatus::Reversed)
        .await;
    assert!(reversed.reversal_ref.unwrap().starts_with("cbtxn_"));
    assert_eq!(q.balance(t, &ann_customer).await, 0);
    let ann = participants::by_email(t.db.pool(), &q.campaign, "ann@x.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ann.qualified_referrals, 0);
}

async fn faulty_deliveries_end_in_exactly_the_right_qualifications_and_rewards(t: &TestDb) {
    let q = Qualifying::start(t, credit("5.00", true, false)).await;
    q.control(
        "settings",
        json!({
            "webhook_drop_rate": 0.3, "webhook_duplicate_rate": 0.5,
            "webhook_delay_ms": 50, "webhook_reorder_ms": 400,
        }),
    )
    .await;
    let mut friends = Vec::new();
    for i in 0..6 {
        let customer = q
            .pair(t, &format!("ref{i}@x.test"), &format!("friend{i}@x.test"))
            .await;
        // Even friends reach the target in two payments; odd ones stop short.
        let amounts: &[i64] = if i % 2 == 0 {
            &[3_000, 2_500]
        } else {
            &[2_000, 1_000]
        };
        for amount in amounts {
            q.pay(t, &customer, *amount).await;
        }
        friends.push(i);
    }
    // Let the delayed and reordered deliveries arrive, then read back what was dropped.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let found = qualification::reconcile_now(&t.db, &q.queue, &q.alice).await;
    assert!(found.is_ok());
    for i in friends {
        let email = format!("friend{i}@x.test");
        let expected = if i % 2 == 0 { 5_500 } else { 3_000 };
        let p = q
            .until(t, &email, "reached its spend", |p| p.spent == expected)
            .await;
        let qualified = i % 2 == 0;
        assert_eq!(
            p.qualification == Qualification::Qualified,
            qualified,
            "{email}"
        );
        let referrer = format!("ref{i}@x.test");
        if qualified {
            q.until_reward(t, &referrer, RewardStatus::Issued).await;
            let customer = q.customer(t, &referrer).await;
            assert_eq!(q.balance(t, &customer).await, -500, "{referrer}");
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for i in 0..6 {
        let rewards = q.rewards_of(t, &format!("ref{i}@x.test")).await;
        assert_eq!(rewards.len(), usize::from(i % 2 == 0), "ref{i}");
    }
    // Every event is in the ledger once, however often it was delivered.
    let (rows, distinct): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT event_id) FROM stripe_events")
            .fetch_one(t.db.pool())
            .await
            .unwrap();
    assert_eq!(rows, distinct);
}

async fn the_endpoint_refuses_bad_signatures_and_unknown_addresses(t: &TestDb) {
    let q = Qualifying::start(t, RewardForm::default()).await;
    let w = ledger::webhook_for(t.db.pool(), &q.alice.account_id)
        .await
        .unwrap()
        .unwrap();
    let secret = q.access.sealer.open(&w.sealed_secret).unwrap();
    let body = json!({
        "id": "evt_test_1", "object": "event", "type": "customer.updated", "created": 1,
        "data": { "object": { "id": "cus_x", "object": "customer" } }, "livemode": false,
    })
    .to_string();
    let post = |id: String, header: String| {
        let (http, base, body) = (q.http.clone(), q.base.clone(), body.clone());
        async move {
            http.post(format!("{base}/webhooks/stripe/{id}"))
                .header("stripe-signature", header)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let now = refloop::db::unix_now();
    let good = signature::header(&secret, now, body.as_bytes());
    let forged = signature::header("whsec_wrong", now, body.as_bytes());
    assert_eq!(post(w.id.clone(), forged).await, 400);
    assert_eq!(post("wh_nobody".into(), good.clone()).await, 404);
    assert_eq!(post(w.id.clone(), good.clone()).await, 200);
    assert_eq!(post(w.id.clone(), good).await, 200);
    let status = qualification::overview(&t.db, &q.access, &q.alice, &q.campaign)
        .await
        .unwrap()
        .webhook
        .unwrap();
    assert_eq!(status.signature_failures, 1);
    assert_eq!(status.events_received, 2);
    assert!(status.last_event_at.is_some());
    let recorded: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM stripe_events WHERE event_id = 'evt_test_1'")
            .fetch_one(t.db.pool())
            .await
            .unwrap();
    assert_eq!(recorded, 1);
}

async fn a_deleted_or_disabled_endpoint_is_shown_and_repaired(t: &TestDb) {
    let q = Qualifying::start(t, RewardForm::default()).await;
    let overview = || qualification::overview(&t.db, &q.access, &q.alice, &q.campaign);
    let first = overview().await.unwrap().webhook.unwrap();
    assert_eq!(
        (first.health, first.problem.clone()),
        (EndpointHealth::Enabled, None)
    );

    let stripe = q.stripe(t).await;
    stripe
        .update_webhook_endpoint(&first.endpoint_id, None, Some(true), "disable-1")
        .await
        .unwrap();
    let disabled = overview().await.unwrap().webhook.unwrap();
    assert_eq!(disabled.health, EndpointHealth::Disabled);
    assert!(disabled.problem.unwrap().contains("Repair enables it"));
    qualification::repair(&t.db, &q.access, &q.queue, &q.alice)
        .await
        .unwrap();
    let enabled = overview().await.unwrap().webhook.unwrap();
    assert_eq!(enabled.health, EndpointHealth::Enabled);
    assert_eq!(enabled.endpoint_id, first.endpoint_id);

    stripe
        .delete_webhook_endpoint(&first.endpoint_id)
        .await
        .unwrap();
    let deleted = overview().await.unwrap().webhook.unwrap();
    assert_eq!(deleted.health, EndpointHealth::Deleted);
    assert!(deleted.problem.unwrap().contains("Repair creates it again"));
    // Payments made while it was missing are read back by the repair's reconciliation.
    let customer = q.pair(t, "ann@x.test", "bob@x.test").await;
    q.pay(t, &customer, 6_000).await;
    qualification::repair(&t.db, &q.access, &q.queue, &q.alice)
        .await
        .unwrap();
    let repaired = overview().await.unwrap().webhook.unwrap();
    assert_eq!(repaired.health, EndpointHealth::Enabled);
    assert_ne!(repaired.endpoint_id, first.endpoint_id);
    q.until(t, "bob@x.test", "qualified after the repair", |p| {
        p.qualification == Qualification::Qualified
    })
    .await;
    // And new payments arrive through the new endpoint.
    q.pay(t, &customer, 1_000).await;
    q.until(
        t,
        "bob@x.test",
        "counted a payment through the new endpoint",
        |p| p.spent == 7_000,
    )
    .await;
}

async fn rewards_wait_for_approval_and_for_a_stripe_customer(t: &TestDb) {
    let mut form = credit("10.00", false, false);
    form.rules.push(RewardRuleForm {
        recipient: "friend".into(),
        kind: "manual".into(),
        description: "A T-shirt".into(),
        every: "1".into(),
        ..Default::default()
    });
    let q = Qualifying::start(t, form).await;
    // Ann joins while people referring are not sent: her reward has no customer to go to.
    campaigns::set_toggle(
        &t.db,
        &Default::default(),
        &q.alice,
        &q.campaign,
        PromoteToggle::SendReferrers,
        false,
    )
    .await
    .unwrap();
    let customer = q.pair(t, "ann@x.test", "bob@x.test").await;
    q.pay(t, &customer, 5_000).await;
    let awaiting = q
        .until_reward(t, "ann@x.test", RewardStatus::AwaitingApproval)
        .await;
    let shirt = q
        .until_reward(t, "bob@x.test", RewardStatus::AwaitingApproval)
        .await;
    assert_eq!(shirt.description, "A T-shirt");

    reward_rules::decide(
        &t.db,
        &q.queue,
        &q.alice,
        &awaiting.id,
        RewardDecision::Approve,
        "",
    )
    .await
    .unwrap();
    let waiting = q.until_reward(t, "ann@x.test", RewardStatus::Waiting).await;
    assert!(
        waiting
            .note
            .contains("ann@x.test is not linked to a Stripe customer yet"),
        "{}",
        waiting.note
    );
    // A second decision on the same reward is refused.
    let again = reward_rules::decide(
        &t.db,
        &q.queue,
        &q.alice,
        &awaiting.id,
        RewardDecision::Reject,
        "",
    )
    .await;
    assert!(again.is_err());

    // Once Ann is sent to Stripe, the reward follows.
    campaigns::set_toggle(
        &t.db,
        &Default::default(),
        &q.alice,
        &q.campaign,
        PromoteToggle::SendReferrers,
        true,
    )
    .await
    .unwrap();
    refloop::campaigns::sending::send_existing(
        &t.db,
        &q.alice,
        &q.campaign,
        refloop::domain::participants::ParticipantKind::Referring,
    )
    .await
    .unwrap();
    q.queue.wake();
    let issued = q.until_reward(t, "ann@x.test", RewardStatus::Issued).await;
    let ann_customer = q.customer(t, "ann@x.test").await;
    assert_eq!(issued.customer_id.as_deref(), Some(ann_customer.as_str()));
    assert_eq!(q.balance(t, &ann_customer).await, -1_000);

    // The manual reward: approved, then fulfilled by a teammate.
    reward_rules::decide(
        &t.db,
        &q.queue,
        &q.alice,
        &shirt.id,
        RewardDecision::Approve,
        "",
    )
    .await
    .unwrap();
    q.until_reward(t, "bob@x.test", RewardStatus::ToFulfil)
        .await;
    reward_rules::decide(
        &t.db,
        &q.queue,
        &q.alice,
        &shirt.id,
        RewardDecision::MarkFulfilled,
        "",
    )
    .await
    .unwrap();
    q.until_reward(t, "bob@x.test", RewardStatus::Fulfilled)
        .await;
    assert!(q
        .timeline(t, "bob@x.test")
        .await
        .iter()
        .any(|d| d.starts_with("Reward: A T-shirt — Fulfilled by ")));
}

async fn a_promotion_code_is_only_for_its_customer_and_shown_on_their_page(t: &TestDb) {
    let q = Qualifying::start(
        t,
        RewardForm {
            auto_issue: true,
            rules: vec![RewardRuleForm {
                recipient: "friend".into(),
                kind: "promotion_code".into(),
                amount: "5.00".into(),
                currency: "usd".into(),
                every: "1".into(),
                ..Default::default()
            }],
            ..Default::default()
        },
    )
    .await;
    let customer = q.pair(t, "ann@x.test", "bob@x.test").await;
    q.pay(t, &customer, 5_000).await;
    let reward = q.until_reward(t, "bob@x.test", RewardStatus::Issued).await;
    let code = reward.code.clone().unwrap();
    let codes = q
        .stripe(t)
        .await
        .list_promotion_codes(&customer)
        .await
        .unwrap();
    let issued = codes.iter().find(|c| c.code == code).expect("in Stripe");
    assert_eq!(issued.customer.as_deref(), Some(customer.as_str()));
    assert_eq!(Some(issued.id.clone()), reward.stripe_ref);
    let bob = participants::by_email(t.db.pool(), &q.campaign, "bob@x.test")
        .await
        .unwrap()
        .unwrap();
    let page = refloop::campaigns::join::personal_page(&t.db, &q.base, &bob.page_token)
        .await
        .unwrap();
    assert_eq!(
        page.rewards,
        [format!("Promotion code for 5.00 USD off: {code}")]
    );
    // Ann earned nothing under this rule.
    assert!(q.rewards_of(t, "ann@x.test").await.is_empty());
}

/// Switching Stripe accounts leaves nothing behind: an event from the old account, signed with
/// the old endpoint's secret, is refused and counted; nothing qualifies, nothing is issued; both
/// people's timelines say their links to the old account's customers were set aside.
async fn after_switching_stripe_accounts_the_old_accounts_events_count_for_nothing(t: &TestDb) {
    let q = Qualifying::start(t, credit("10.00", true, false)).await;
    let bob_customer = q.pair(t, "ann@x.test", "bob@x.test").await;
    let ann_customer = q.customer(t, "ann@x.test").await;
    q.pay(t, &bob_customer, 2_000).await;
    q.until(t, "bob@x.test", "counted the first payment", |p| {
        p.spent == 2_000
    })
    .await;
    let old = refloop::db::stripe_connections::get(t.db.pool(), &q.alice.account_id)
        .await
        .unwrap()
        .unwrap()
        .stripe_account_id
        .unwrap();
    let webhook = ledger::webhook_for(t.db.pool(), &q.alice.account_id)
        .await
        .unwrap()
        .unwrap();
    let old_secret = q.access.sealer.open(&webhook.sealed_secret).unwrap();

    // Alice switches to another Stripe account.
    integrations::disconnect_stripe(&t.db, &q.alice)
        .await
        .unwrap();
    integrations::connect_stripe(&t.db, &q.access, &q.alice, StripeMode::Sandbox, "")
        .await
        .unwrap();
    let new = refloop::db::stripe_connections::get(t.db.pool(), &q.alice.account_id)
        .await
        .unwrap()
        .unwrap()
        .stripe_account_id
        .unwrap();
    assert_ne!(old, new);
    for email in ["ann@x.test", "bob@x.test"] {
        let timeline = q.timeline(t, email).await;
        assert!(
            timeline.iter().any(|d| d.starts_with(&format!(
                "Stripe account changed from {old} to {new}: links to the old account's customers"
            ))),
            "{email}: {timeline:?}"
        );
    }

    // The old account's customer pays enough to qualify; the old endpoint delivers it, signed
    // with the old secret.
    let log = q.control("deliveries", json!({ "account": old })).await;
    let earlier: Vec<Value> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].clone())
        .collect();
    let paid = q
        .control(
            "payment",
            json!({ "account": old, "customer": bob_customer, "amount": 9_000 }),
        )
        .await;
    let charge = paid["id"].as_str().unwrap().to_string();
    let mut answered = None;
    for _ in 0..500 {
        let log = q.control("deliveries", json!({ "account": old })).await;
        answered = log["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| {
                d["type"] == "charge.succeeded"
                    && !earlier.contains(&d["id"])
                    && d["attempts"].as_i64() > Some(0)
                    && d["last_status_code"].is_number()
            })
            .cloned();
        if answered.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let answered = answered.expect("the old endpoint's delivery was answered");
    assert_eq!(answered["last_status_code"], 410, "{answered}");
    // The same payment sent again, signed afresh with the old secret, is refused too.
    let body = json!({
        "id": "evt_replayed_old", "object": "event", "type": "charge.succeeded", "created": refloop::db::unix_now(),
        "data": { "object": { "id": charge, "object": "charge", "customer": bob_customer, "amount": 9_000,
            "amount_refunded": 0, "currency": "usd", "status": "succeeded", "captured": true, "created": refloop::db::unix_now() } }
    })
    .to_string();
    let res = q
        .http
        .post(format!("{}/webhooks/stripe/{}", q.base, webhook.id))
        .header(
            "stripe-signature",
            signature::header(&old_secret, refloop::db::unix_now(), body.as_bytes()),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 410);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let bob = participants::by_email(t.db.pool(), &q.campaign, "bob@x.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bob.qualification, Qualification::Pending, "{bob:?}");
    assert!(q.rewards_of(t, "ann@x.test").await.is_empty());
    let refused = ledger::webhook_for(t.db.pool(), &q.alice.account_id)
        .await
        .unwrap()
        .unwrap();
    assert!(refused.foreign_events >= 2, "{refused:?}");
    // Refloop no longer takes Ann for the old account's customer.
    let ann = participants::by_email(t.db.pool(), &q.campaign, "ann@x.test")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(
        ann.stripe_customer_id.as_deref(),
        Some(ann_customer.as_str())
    );
}

/// Eight friends of one referrer qualify at the same moment; a reward for every 2nd qualified
/// friend is given exactly four times, once for each of the 2nd, 4th, 6th and 8th.
async fn friends_qualifying_at_once_earn_exactly_their_milestones_and_tiers(t: &TestDb) {
    let credit = |amount: &str| RewardRuleForm {
        recipient: "referrer".into(),
        kind: "credit".into(),
        amount: amount.into(),
        currency: "usd".into(),
        every: "1".into(),
        ..Default::default()
    };
    let q = Qualifying::start(
        t,
        RewardForm {
            auto_issue: false,
            rules: vec![
                RewardRuleForm {
                    every: "2".into(),
                    ..credit("5.00")
                },
                RewardRuleForm {
                    up_to: "4".into(),
                    ..credit("10.00")
                },
                RewardRuleForm {
                    from: "5".into(),
                    ..credit("20.00")
                },
            ],
            ..Default::default()
        },
    )
    .await;
    let code = join_ok(&t.db, request(SLUG, "ann@x.test", "Ann", None)).await;
    let mut friends = Vec::new();
    for i in 0..8 {
        let email = format!("friend{i}@x.test");
        join_ok(&t.db, request(SLUG, &email, "Friend", Some(&code))).await;
        let customer = q.customer(t, &email).await;
        let p = participants::by_email(t.db.pool(), &q.campaign, &email)
            .await
            .unwrap()
            .unwrap();
        friends.push((p.id, customer));
    }
    // Their payments are in the ledger; then all eight are evaluated at once.
    let mut conn = t.db.pool().acquire().await.unwrap();
    for (i, (_, customer)) in friends.iter().enumerate() {
        q.paid_in_ledger(t, &mut conn, &format!("ch_at_once_{i}"), customer)
            .await;
    }
    drop(conn);
    let runs: Vec<_> = friends
        .iter()
        .map(|(id, _)| {
            let (db, account, id) = (t.db.clone(), q.alice.account_id.clone(), id.clone());
            tokio::spawn(async move {
                let mut tx = db.begin().await.unwrap();
                refloop::workflows::qualification::evaluate(
                    &mut tx,
                    &account,
                    &id,
                    refloop::db::unix_now(),
                )
                .await
                .unwrap();
                tx.commit().await.unwrap();
            })
        })
        .collect();
    for r in runs {
        r.await.unwrap();
    }
    let ann = participants::by_email(t.db.pool(), &q.campaign, "ann@x.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ann.qualified_referrals, 8);
    // Every 2nd: 4 × 5.00; the first four: 4 × 10.00; from the fifth: 4 × 20.00.
    let mut amounts: Vec<i64> = q
        .rewards_of(t, "ann@x.test")
        .await
        .iter()
        .map(|r| r.amount)
        .collect();
    amounts.sort();
    assert_eq!(
        amounts,
        [500, 500, 500, 500, 1000, 1000, 1000, 1000, 2000, 2000, 2000, 2000]
    );
}

/// The status and attempts of the job that issues a reward if nothing else does, and when it
/// is due.
async fn issue_job_due(t: &TestDb, reward_id: &str) -> ((String, i64), i64) {
    let (status, attempts, due): (String, i64, i64) =
        sqlx::query_as("SELECT status, attempts, run_at_ms FROM jobs WHERE dedupe_key = $1")
            .bind(format!("reward.issue:{reward_id}"))
            .fetch_one(t.db.pool())
            .await
            .unwrap();
    ((status, attempts), due)
}

/// The status and attempts of the job that issues a reward if nothing else does.
async fn issue_job(t: &TestDb, reward_id: &str) -> (String, i64) {
    issue_job_due(t, reward_id).await.0
}

async fn a_reward_granted_by_a_process_that_stopped_is_issued_by_its_job(t: &TestDb) {
    let q = Qualifying::start(t, credit("10.00", true, false)).await;
    let customer = q.pair(t, "ann@x.test", "bob@x.test").await;
    let bob = participants::by_email(t.db.pool(), &q.campaign, "bob@x.test")
        .await
        .unwrap()
        .unwrap();
    // Bob's payment is evaluated and committed; then the process stops before it issues the
    // reward it granted.
    let mut tx = t.db.begin().await.unwrap();
    q.paid_in_ledger(t, &mut tx, "ch_before_the_stop", &customer)
        .await;
    let granted = refloop::workflows::qualification::evaluate(
        &mut tx,
        &q.alice.account_id,
        &bob.id,
        refloop::db::unix_now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(granted.len(), 1);
    let reward = &granted[0];
    tokio::time::sleep(Duration::from_millis(500)).await;
    let waiting = q.rewards_of(t, "ann@x.test").await;
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].status, RewardStatus::Queued, "{waiting:?}");
    let (job, due_in) = issue_job_due(t, &reward.id).await;
    assert_eq!(job, ("queued".to_string(), 0));
    assert!(
        due_in - refloop::jobs::queue::now_ms() > 10_000,
        "the job waits for the granting work to issue it first"
    );

    // Its time comes (moved forward here instead of waiting 15 s): the job issues it, once.
    sqlx::query("UPDATE jobs SET run_at_ms = 0 WHERE dedupe_key = $1")
        .bind(format!("reward.issue:{}", reward.id))
        .execute(t.db.pool())
        .await
        .unwrap();
    q.queue.wake();
    let issued = q.until_reward(t, "ann@x.test", RewardStatus::Issued).await;
    let ann_customer = q.customer(t, "ann@x.test").await;
    assert_eq!(issued.customer_id.as_deref(), Some(ann_customer.as_str()));
    assert_eq!(q.balance(t, &ann_customer).await, -1_000);
    assert_eq!(issue_job(t, &reward.id).await, ("done".to_string(), 1));
    let timeline = q.timeline(t, "ann@x.test").await;
    assert_eq!(
        timeline
            .iter()
            .filter(|d| d.starts_with("Reward: 10.00 USD credit issued to"))
            .count(),
        1,
        "{timeline:?}"
    );
}
