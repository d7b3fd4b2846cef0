//! Commissions end to end over real HTTP: a year of monthly payments in the sandbox (its clock
//! moved a calendar month at a time), each delivered by webhook and evaluated by the real job
//! queue, makes exactly one ledger entry per payment and rule, issued as Stripe credit; a
//! refund takes back its own payment's commission only.

use refloop::{
    campaigns::{qualification, rewards as reward_rules},
    db::{qualification as ledger, rewards::RewardRow},
    domain::{
        commissions::CommissionForm,
        qualification::QualificationForm,
        rewards::{RewardDecision, RewardForm, RewardRuleForm, RewardStatus},
        time::add_months,
    },
    workflows,
};
use reqwest::Method;
use serde_json::json;

use crate::{
    campaigns::{join_ok, request},
    qualification::Qualifying,
    support::TestDb,
};

crate::on_both_backends!(
    a_year_of_monthly_payments_earns_twelve_commissions_and_a_refund_takes_back_its_own,
    manual_commissions_are_paid_out_from_a_csv_and_marked_paid_with_a_reference,
    a_subscription_billed_by_a_test_clock_earns_its_commissions,
    a_friend_subscribing_at_checkout_is_attributed_and_each_renewal_earns,
    holds_of_payments_on_a_test_clock_end_when_the_clock_passes_them,
);

/// 20% of each payment for 12 months, as credit for the person referring, reversed if its
/// payment is refunded.
fn twenty_percent_for_a_year() -> RewardForm {
    RewardForm {
        auto_issue: true,
        rules: vec![RewardRuleForm {
            recipient: "referrer".into(),
            kind: "credit".into(),
            currency: "usd".into(),
            every: "1".into(),
            reverse_on_refund: true,
            commission: CommissionForm {
                percent: "20".into(),
                span: "months".into(),
                months: "12".into(),
                ..Default::default()
            },
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// Ann's commission entries, by payment, oldest first.
async fn entries(q: &Qualifying, t: &TestDb) -> Vec<RewardRow> {
    let mut rows: Vec<RewardRow> = q
        .rewards_of(t, "ann@x.test")
        .await
        .into_iter()
        .filter(RewardRow::is_commission)
        .collect();
    rows.sort_by_key(|r| r.paid_at);
    rows
}

/// Waits until the payment is in Refloop's ledger: its evaluation committed with it.
async fn until_counted(q: &Qualifying, t: &TestDb, charge: &str) {
    for _ in 0..1_000 {
        let payer = ledger::charge_payer(t.db.pool(), &q.alice.account_id, charge)
            .await
            .unwrap();
        if payer.is_some() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("{charge} never reached the ledger");
}

async fn a_year_of_monthly_payments_earns_twelve_commissions_and_a_refund_takes_back_its_own(
    t: &TestDb,
) {
    let q = Qualifying::start(t, twenty_percent_for_a_year()).await;
    let bob = q.pair(t, "ann@x.test", "bob@x.test").await;
    let ann = q.customer(t, "ann@x.test").await;

    // 49.00 a month for six months, then an upgrade to 99.00: thirteen payments, a calendar
    // month apart.
    let mut charges = Vec::new();
    for month in 0..13 {
        let amount = if month < 6 { 4_900 } else { 9_900 };
        let charge = q.pay(t, &bob, amount).await;
        until_counted(&q, t, &charge).await;
        charges.push(charge);
        let now = q.control("clock", json!({ "advance_secs": 0 })).await["now"]
            .as_i64()
            .unwrap();
        q.control("clock", json!({ "advance_secs": add_months(now, 1) - now }))
            .await;
    }
    for _ in 0..1_000 {
        let made = entries(&q, t).await;
        if made.len() >= 12 && made.iter().all(|r| r.status == RewardStatus::Issued) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let made = entries(&q, t).await;
    let paid_on: Vec<&str> = made.iter().map(|r| r.charge_id.as_str()).collect();
    assert_eq!(
        paid_on,
        charges[..12],
        "one entry for each of the first twelve"
    );
    let amounts: Vec<i64> = made.iter().map(|r| r.amount).collect();
    assert_eq!(amounts, [[980; 6], [1_980; 6]].concat());
    assert!(
        made[0].description.starts_with("20% of 49.00 USD paid on ")
            && made[0]
                .description
                .ends_with(&format!("by {} = 9.80 USD", charges[0])),
        "{}",
        made[0].description
    );
    assert!(made.iter().all(|r| r.status == RewardStatus::Issued));
    let earned: i64 = amounts.iter().sum();
    assert_eq!(q.balance(t, &ann).await, -earned);

    // Reconciling reads every payment again and makes nothing twice.
    workflows::qualification::reconcile(&t.db, &q.access, &q.alice.account_id)
        .await
        .unwrap();
    assert_eq!(entries(&q, t).await.len(), 12);

    // Month 3 refunded: its commission alone is reversed, once.
    q.stripe(t)
        .await
        .refund(&charges[2], None, "refund-month-3")
        .await
        .unwrap();
    let reversed = q
        .until_reward(t, "ann@x.test", RewardStatus::Reversed)
        .await;
    assert_eq!(reversed.charge_id, charges[2]);
    assert!(reversed.note.contains(&format!(
        "after its payment {} was refunded or lost in a dispute",
        charges[2]
    )));
    let after = entries(&q, t).await;
    assert_eq!(
        after
            .iter()
            .filter(|r| r.status == RewardStatus::Reversed)
            .count(),
        1
    );
    assert_eq!(q.balance(t, &ann).await, -(earned - 980));
    let timeline = q.timeline(t, "ann@x.test").await;
    assert!(
        timeline.iter().any(
            |e| e.starts_with("Reward: 20% of 49.00 USD paid on ") && e.contains("Reversed on")
        ),
        "{timeline:?}"
    );
}

async fn manual_commissions_are_paid_out_from_a_csv_and_marked_paid_with_a_reference(t: &TestDb) {
    let mut form = twenty_percent_for_a_year();
    form.rules[0].kind = "manual".into();
    form.rules[0].commission.percent = "10".into();
    let q = Qualifying::start(t, form).await;
    let bob = q.pair(t, "ann@x.test", "bob@x.test").await;
    let first = q.pay(t, &bob, 4_900).await;
    let second = q.pay(t, &bob, 12_345).await;
    for _ in 0..1_000 {
        if entries(&q, t).await.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let made = entries(&q, t).await;
    assert!(
        made.iter().all(|r| r.status == RewardStatus::ToFulfil),
        "{made:?}"
    );

    // The payout run: one line per entry to pay, amounts as people read them.
    let (file, csv) = reward_rules::payouts_csv(&t.db, &q.alice, &q.campaign)
        .await
        .unwrap();
    assert_eq!(file, "payouts-spend.csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "reward_id,recipient_email,recipient_first_name,amount,currency,description,earned_at,friend_email"
    );
    assert_eq!(lines.len(), 3, "{csv}");
    let by_charge = |charge: &str| {
        let entry = made.iter().find(|r| r.charge_id == charge).unwrap();
        lines
            .iter()
            .find(|l| l.starts_with(&entry.id))
            .unwrap()
            .to_string()
    };
    assert!(by_charge(&first).contains(",ann@x.test,Ann,4.90,USD,10% of 49.00 USD paid on "));
    assert!(
        by_charge(&second).contains(",12.35,USD,") && by_charge(&second).ends_with(",bob@x.test")
    );

    // Marked paid with the transfer's reference: off the payout run, the reference kept.
    let paid = made.iter().find(|r| r.charge_id == first).unwrap();
    let too_long = "x".repeat(101);
    let refused = reward_rules::decide(
        &t.db,
        &q.queue,
        &q.alice,
        &paid.id,
        RewardDecision::MarkFulfilled,
        &too_long,
    )
    .await
    .unwrap_err();
    assert!(refused.field_message("reference").is_some(), "{refused:?}");
    reward_rules::decide(
        &t.db,
        &q.queue,
        &q.alice,
        &paid.id,
        RewardDecision::MarkFulfilled,
        " SEPA-2026-0042 ",
    )
    .await
    .unwrap();
    let fulfilled = q
        .until_reward(t, "ann@x.test", RewardStatus::Fulfilled)
        .await;
    assert_eq!(fulfilled.payout_ref.as_deref(), Some("SEPA-2026-0042"));
    assert!(
        fulfilled.note.ends_with(", reference SEPA-2026-0042"),
        "{}",
        fulfilled.note
    );
    let (_, csv) = reward_rules::payouts_csv(&t.db, &q.alice, &q.campaign)
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), 2);
    assert!(!csv.contains(&paid.id));
}

/// Bob, a friend of Ann and a customer of the merchant's own system (he counts by his email),
/// subscribed to a 49.00 monthly plan on a test clock frozen at `start`, once he has joined, so
/// that his first invoice is paid at once and counts.
struct OnAClock {
    stripe: refloop::stripe::client::StripeClient,
    clock: String,
    subscription: String,
    start: i64,
}

impl OnAClock {
    async fn subscribe(q: &Qualifying, t: &TestDb) -> OnAClock {
        let same_email = QualificationForm {
            scope: "same_email".into(),
            ..crate::qualification::target_50_in_30_days()
        };
        qualification::save(
            &t.db,
            &q.access,
            &q.queue,
            &q.alice,
            &q.campaign,
            same_email,
        )
        .await
        .unwrap();
        q.pair(t, "ann@x.test", "bob@x.test").await;
        let start = refloop::db::unix_now();
        let stripe = q.stripe(t).await;
        let clock = stripe
            .request(
                Method::POST,
                "/v1/test_helpers/test_clocks",
                &json!({ "frozen_time": start }),
                None,
            )
            .await
            .unwrap();
        let customer = stripe
            .request(
                Method::POST,
                "/v1/customers",
                &json!({ "email": "bob@x.test", "test_clock": clock["id"] }),
                None,
            )
            .await
            .unwrap();
        let basic = monthly(&stripe, 4_900).await;
        let sub = stripe
            .request(
                Method::POST,
                "/v1/subscriptions",
                &json!({ "customer": customer["id"], "items": [{ "price": basic }] }),
                None,
            )
            .await
            .unwrap();
        OnAClock {
            stripe,
            clock: clock["id"].as_str().unwrap().to_string(),
            subscription: sub["id"].as_str().unwrap().to_string(),
            start,
        }
    }

    /// Advances the clock to `to`, billing every period that starts by then.
    async fn advance(&self, to: i64) {
        let path = format!("/v1/test_helpers/test_clocks/{}/advance", self.clock);
        let advanced = self
            .stripe
            .request(Method::POST, &path, &json!({ "frozen_time": to }), None)
            .await
            .unwrap();
        assert_eq!(advanced["frozen_time"], to);
    }
}

/// A monthly price of `amount` cents; its id.
async fn monthly(stripe: &refloop::stripe::client::StripeClient, amount: i64) -> String {
    let price = stripe
        .request(
            Method::POST,
            "/v1/prices",
            &json!({
                "currency": "usd", "unit_amount": amount, "product_data": { "name": "Plan" },
                "recurring": { "interval": "month" },
            }),
            None,
        )
        .await
        .unwrap();
    price["id"].as_str().unwrap().to_string()
}

async fn a_subscription_billed_by_a_test_clock_earns_its_commissions(t: &TestDb) {
    let q = Qualifying::start(t, twenty_percent_for_a_year()).await;
    let bob = OnAClock::subscribe(&q, t).await;
    let start = bob.start;
    let stripe = bob.stripe.clone();
    let pro = monthly(&stripe, 9_900).await;
    let sub_id = bob.subscription.clone();
    // A year of months; an upgrade to the 99.00 plan before the seventh is billed.
    for month in 1..=12 {
        if month == 6 {
            let path = format!("/v1/subscriptions/{sub_id}");
            stripe
                .request(
                    Method::POST,
                    &path,
                    &json!({ "items": [{ "price": pro }] }),
                    None,
                )
                .await
                .unwrap();
        }
        bob.advance(add_months(start, month)).await;
    }
    let sub = stripe
        .request(
            Method::GET,
            &format!("/v1/subscriptions/{sub_id}"),
            &json!({}),
            None,
        )
        .await
        .unwrap();
    let last = stripe
        .request(
            Method::GET,
            &format!("/v1/invoices/{}", sub["latest_invoice"].as_str().unwrap()),
            &json!({}),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        (
            last["status"].as_str(),
            last["amount_paid"].as_i64(),
            last["period_start"].as_i64()
        ),
        (Some("paid"), Some(9_900), Some(add_months(start, 12)))
    );
    until_counted(&q, t, last["charge"].as_str().unwrap()).await;
    for _ in 0..1_000 {
        if entries(&q, t)
            .await
            .iter()
            .all(|r| r.status == RewardStatus::Issued)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Thirteen invoices: twelve commissions, the upgrade's from the seventh, none for the 13th.
    let made = entries(&q, t).await;
    let amounts: Vec<i64> = made.iter().map(|r| r.amount).collect();
    assert_eq!(amounts, [[980; 6], [1_980; 6]].concat());
    let paid_at: Vec<i64> = made.iter().map(|r| r.paid_at).collect();
    assert_eq!(
        paid_at,
        (0..12).map(|m| add_months(start, m)).collect::<Vec<_>>()
    );
    assert!(made.iter().all(|r| r.status == RewardStatus::Issued));
    let ann = q.customer(t, "ann@x.test").await;
    assert_eq!(q.balance(t, &ann).await, -(6 * 980 + 6 * 1_980));
}

async fn a_friend_subscribing_at_checkout_is_attributed_and_each_renewal_earns(t: &TestDb) {
    let q = Qualifying::start(t, twenty_percent_for_a_year()).await;
    let code = join_ok(&t.db, request("spend", "ann@x.test", "Ann", None)).await;
    let stripe = q.stripe(t).await;
    let call = |method: Method, path: String, params: serde_json::Value| {
        let stripe = stripe.clone();
        async move {
            stripe
                .request(method, &path, &params, None)
                .await
                .unwrap_or_else(|e| panic!("{path}: {e}"))
        }
    };
    // The clock runs a minute ahead: the first invoice is paid after the checkout opened (when
    // Dan joins, by its reference).
    let start = refloop::db::unix_now() + 60;
    let clock = call(
        Method::POST,
        "/v1/test_helpers/test_clocks".into(),
        json!({ "frozen_time": start }),
    )
    .await;
    let customer = call(
        Method::POST,
        "/v1/customers".into(),
        json!({ "email": "dan@x.test", "test_clock": clock["id"] }),
    )
    .await;
    let price = call(
        Method::POST,
        "/v1/prices".into(),
        json!({
            "currency": "usd", "unit_amount": 4_900, "product_data": { "name": "Plan" },
            "recurring": { "interval": "month" },
        }),
    )
    .await;
    // A recurring price is for subscription mode only, as Stripe has it.
    let refused = stripe
        .request(
            Method::POST,
            "/v1/checkout/sessions",
            &json!({ "mode": "payment", "line_items": [{ "price": price["id"], "quantity": 1 }] }),
            None,
        )
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("recurring price"), "{refused}");
    let session = call(
        Method::POST,
        "/v1/checkout/sessions".into(),
        json!({
            "mode": "subscription", "line_items": [{ "price": price["id"], "quantity": 1 }],
            "customer": customer["id"], "client_reference_id": code,
        }),
    )
    .await;
    let page = session["url"].as_str().unwrap().to_string();
    let paid = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(&page)
        .form(&[("card", "4242424242424242"), ("name", "Dan")])
        .send()
        .await
        .unwrap();
    assert!(paid.status().is_success() || paid.status().is_redirection());
    let session = call(
        Method::GET,
        format!("/v1/checkout/sessions/{}", session["id"].as_str().unwrap()),
        json!({}),
    )
    .await;
    assert_eq!(
        (
            session["mode"].as_str(),
            session["status"].as_str(),
            &session["payment_intent"]
        ),
        (
            Some("subscription"),
            Some("complete"),
            &serde_json::Value::Null
        )
    );
    let sub = call(
        Method::GET,
        format!(
            "/v1/subscriptions/{}",
            session["subscription"].as_str().unwrap()
        ),
        json!({}),
    )
    .await;
    assert_eq!(sub["latest_invoice"], session["invoice"]);

    // Dan is Ann's friend by the checkout's reference; his first invoice earns, then each
    // month the clock bills.
    let mut dan = None;
    for _ in 0..1_000 {
        dan = refloop::db::participants::by_email(t.db.pool(), &q.campaign, "dan@x.test")
            .await
            .unwrap();
        if dan.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let dan = dan.expect("Dan joined by the checkout's reference");
    let ann = refloop::db::participants::by_email(t.db.pool(), &q.campaign, "ann@x.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dan.referrer_id.as_deref(), Some(ann.id.as_str()));
    for month in 1..=2 {
        let path = format!(
            "/v1/test_helpers/test_clocks/{}/advance",
            clock["id"].as_str().unwrap()
        );
        call(
            Method::POST,
            path,
            json!({ "frozen_time": add_months(start, month) }),
        )
        .await;
    }
    for _ in 0..1_000 {
        if entries(&q, t).await.len() == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let made = entries(&q, t).await;
    let paid_at: Vec<i64> = made.iter().map(|r| r.paid_at).collect();
    assert_eq!(
        paid_at,
        (0..3).map(|m| add_months(start, m)).collect::<Vec<_>>()
    );
    assert!(made
        .iter()
        .all(|r| r.amount == 980 && r.referral_id == dan.id));
}

/// Waits until `advances` test clock advances have reached Refloop and every event is processed.
async fn until_events_done(t: &TestDb, advances: i64) {
    for _ in 0..1_000 {
        let (ready,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM stripe_events WHERE type = 'test_helpers.test_clock.ready'",
        )
        .fetch_one(t.db.pool())
        .await
        .unwrap();
        let (busy,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM jobs WHERE kind IN ('stripe.event', 'reward.release') AND status IN ('queued', 'running') AND run_at_ms <= $1",
        )
        .bind(refloop::jobs::queue::now_ms())
        .fetch_one(t.db.pool())
        .await
        .unwrap();
        if ready == advances && busy == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the clock's {advances} advances were never processed");
}

/// Waits until Ann's entries have these statuses, oldest first; they are returned.
async fn until_statuses(q: &Qualifying, t: &TestDb, want: &[RewardStatus]) -> Vec<RewardRow> {
    let mut made = Vec::new();
    for _ in 0..1_000 {
        made = entries(q, t).await;
        if made.iter().map(|r| r.status).eq(want.iter().copied()) {
            return made;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!(
        "wanted {want:?}, have {:?}",
        made.iter().map(|r| (r.status, &r.note)).collect::<Vec<_>>()
    );
}

async fn holds_of_payments_on_a_test_clock_end_when_the_clock_passes_them(t: &TestDb) {
    let mut held = twenty_percent_for_a_year();
    held.rules[0].hold_days = "14".into();
    let q = Qualifying::start(t, held).await;
    let bob = OnAClock::subscribe(&q, t).await;
    let start = bob.start;
    let ann = q.customer(t, "ann@x.test").await;
    let first = until_statuses(&q, t, &[RewardStatus::Held]).await;
    assert_eq!(first[0].held_until, Some(start + 14 * 86_400));

    // Thirteen days on the clock: the hold has a day to go, and it stays.
    bob.advance(start + 13 * 86_400).await;
    until_events_done(t, 1).await;
    assert_eq!(entries(&q, t).await[0].status, RewardStatus::Held);
    // A month on: the first payment's hold is over and it is issued; the second's has begun.
    bob.advance(add_months(start, 1)).await;
    let made = until_statuses(&q, t, &[RewardStatus::Issued, RewardStatus::Held]).await;
    assert_eq!(made[1].held_until, Some(add_months(start, 1) + 14 * 86_400));
    assert!(
        made[0].note.starts_with("Issued") || made[0].stripe_ref.is_some(),
        "{}",
        made[0].note
    );
    assert_eq!(q.balance(t, &ann).await, -980);

    // The clock passes the second hold's end: it is issued too, by the clock and not the calendar.
    bob.advance(add_months(start, 1) + 14 * 86_400).await;
    until_statuses(&q, t, &[RewardStatus::Issued, RewardStatus::Issued]).await;
    assert_eq!(q.balance(t, &ann).await, -1_960);
}
