//! Prints how fast payments qualify referrals and earn rewards, through the real webhook
//! endpoint, job queue, client and the sandbox over HTTP, on SQLite and on PostgreSQL:
//!
//!     . scripts/env.sh && cargo leptos build --release \
//!         && cargo run --release --features ssr --example bench_qualification
//!
//! 1. Latency at 200 payment events a second (`BENCH_RATE=100` for another rate; `BENCH_WORKERS`
//!    for the jobs a worker runs at once, 8 by default): 400 invited
//!    friends (each already a Stripe customer) each make one payment above the target, paced
//!    at that rate. For each, the time from the payment's `charge.succeeded` delivery (the
//!    moment Refloop's endpoint acknowledged it, from the sandbox's delivery log) to the
//!    referral being qualified, and to the referrer's credit being issued in Stripe (p50, p99).
//!    Stripe is another system: the sandbox runs in a process of its own (the release binary's
//!    `refloop stripe-sandbox`, with its own SQLite database); `BENCH_SANDBOX=inline` runs it
//!    inside the benchmark's process instead.
//! 2. The webhook endpoint's capacity: 4,000 signed deliveries posted by 32 concurrent clients,
//!    each recorded in the event ledger with its processing job; events accepted per second.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

mod support;

use axum::{routing::post, Router};
use refloop::{
    campaigns::{self, join, qualification, rewards},
    db::{participants, qualification as ledger, Db},
    domain::{
        campaigns::PromoteToggle,
        integrations::StripeMode,
        qualification::QualificationForm,
        rewards::{RewardForm, RewardRuleForm},
    },
    integrations,
    jobs::{Queue, Worker, WorkerConfig},
    secrets::Sealer,
    state::Webhooks,
    stripe::{rate_limit::RateLimiters, signature},
    workflows::{self, StripeAccess},
};
use support::{Postgres, StripeSide};

const FRIENDS: usize = 400;
/// Payments a second (`BENCH_RATE` to try another).
fn events_per_sec() -> u64 {
    std::env::var("BENCH_RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}
const DELIVERIES: usize = 4_000;
const CLIENTS: usize = 32;

fn request(email: &str, code: Option<String>) -> join::JoinRequest {
    join::JoinRequest {
        slug: "bench".into(),
        values: HashMap::from([
            ("email".to_string(), email.to_string()),
            ("first_name".to_string(), "Bench".to_string()),
        ]),
        referral_code: code,
        honeypot: String::new(),
        ip: "203.0.113.9".into(),
        sighting: Default::default(),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// `db` is Refloop's; the sandbox — standing in for Stripe, another system — keeps its own
/// SQLite database, as Stripe would not share Refloop's.
async fn measure(db: Db, stripe_side: &StripeSide, name: &str) {
    let stripe = stripe_side.db.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let access = StripeAccess {
        sealer: Sealer::random(),
        api_url: stripe_side.url.clone(),
        sandbox_url: stripe_side.url.clone(),
        limiters: RateLimiters::new(100_000.0, 100_000.0),
        public_url: base.clone(),
        ..Default::default()
    };
    let queue = Queue::new(db.clone());
    let app = Router::new()
        .route(
            "/webhooks/stripe/{id}",
            post(refloop::server::webhooks::stripe),
        )
        .with_state(Webhooks {
            db: db.clone(),
            sealer: access.sealer.clone(),
            queue: queue.clone(),
        });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::new();
    http.post(format!("{}/_sandbox/settings", stripe_side.url))
        .json(&serde_json::json!({ "rate_limit": null }))
        .send()
        .await
        .unwrap();
    let ctx = support::owner(&db).await;
    integrations::connect_stripe(&db, &access, &ctx, StripeMode::Sandbox, "")
        .await
        .unwrap();
    let campaign = support::live_campaign(&db, &ctx).await;
    for toggle in [PromoteToggle::SendReferrers, PromoteToggle::SendFriends] {
        campaigns::set_toggle(&db, &Default::default(), &ctx, &campaign, toggle, true)
            .await
            .unwrap();
    }
    qualification::save(
        &db,
        &access,
        &queue,
        &ctx,
        &campaign,
        QualificationForm {
            target: "50.00".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    rewards::save(
        &db,
        &ctx,
        &campaign,
        RewardForm {
            auto_issue: true,
            rules: vec![RewardRuleForm {
                recipient: "referrer".into(),
                kind: "credit".into(),
                amount: "10.00".into(),
                currency: "usd".into(),
                every: "1".into(),
                ..Default::default()
            }],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let config = WorkerConfig {
        concurrency: std::env::var("BENCH_WORKERS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(8),
        ..Default::default()
    };
    tokio::spawn(
        Worker::new(queue.clone(), workflows::registry(access.clone()), config).run(stopped),
    );

    // Friends, each invited by their own referrer, all in Stripe.
    let mut friends = Vec::new();
    for n in 0..FRIENDS {
        let token = join::join(
            &db,
            10_000_000,
            request(&format!("ref{n}@bench.test"), None),
        )
        .await
        .unwrap();
        let code = join::personal_page(&db, &base, &token).await.unwrap().code;
        join::join(
            &db,
            10_000_000,
            request(&format!("friend{n}@bench.test"), Some(code)),
        )
        .await
        .unwrap();
        friends.push(format!("friend{n}@bench.test"));
    }
    queue.wake();
    let mut customers = Vec::new();
    for email in &friends {
        loop {
            let p = participants::by_email(db.pool(), &campaign, email)
                .await
                .unwrap()
                .unwrap();
            if let Some(c) = p.stripe_customer_id {
                customers.push((p.id, c));
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let client = access
        .connect(&db, &ctx.account_id)
        .await
        .unwrap()
        .unwrap()
        .client;

    // 1. Payments at 200 a second.
    // Paced in a task of its own, so the progress below is watched while payments go out.
    let (paid_tx, mut paid_rx) = tokio::sync::mpsc::unbounded_channel::<(String, i64)>();
    let pacing = {
        let (client, customers, rate) = (client.clone(), customers.clone(), events_per_sec());
        tokio::spawn(async move {
            let started = Instant::now();
            for (i, (friend, customer)) in customers.into_iter().enumerate() {
                let due = started + Duration::from_micros(1_000_000 * i as u64 / rate);
                tokio::time::sleep_until(due.into()).await;
                let (client, paid_tx) = (client.clone(), paid_tx.clone());
                tokio::spawn(async move {
                    client
                        .pay(
                            &customer,
                            6_000,
                            "usd",
                            "pm_card_visa",
                            &format!("bench-{friend}"),
                        )
                        .await
                        .unwrap();
                    let _ = paid_tx.send((friend, now_ms()));
                });
            }
            FRIENDS as f64 / started.elapsed().as_secs_f64()
        })
    };
    let mut paid_at: HashMap<String, i64> = HashMap::new();
    let mut qualified_at: HashMap<String, i64> = HashMap::new();
    let mut rewarded_at: HashMap<String, i64> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while (qualified_at.len() < FRIENDS || rewarded_at.len() < FRIENDS) && Instant::now() < deadline
    {
        while let Ok((friend, at)) = paid_rx.try_recv() {
            paid_at.insert(friend, at);
        }
        let now = now_ms();
        let qualified: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM participants WHERE qualification = 'qualified' AND referrer_id IS NOT NULL",
        )
        .fetch_all(db.pool())
        .await
        .unwrap();
        for id in qualified {
            qualified_at.entry(id).or_insert(now);
        }
        let rewarded: Vec<String> =
            sqlx::query_scalar("SELECT referral_id FROM rewards WHERE status = 'issued'")
                .fetch_all(db.pool())
                .await
                .unwrap();
        for id in rewarded {
            rewarded_at.entry(id).or_insert(now);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let offered = pacing.await.unwrap();
    // When each payment's event reached Refloop: the sandbox logs the moment the endpoint
    // acknowledged the delivery (Refloop answers as soon as the event is recorded).
    let friend_of: HashMap<&str, &str> = customers
        .iter()
        .map(|(friend, customer)| (customer.as_str(), friend.as_str()))
        .collect();
    let deliveries: Vec<(i64, String)> = sqlx::query_as(
        "SELECT d.delivered_ms, o.data FROM sandbox_deliveries d JOIN sandbox_objects o ON o.id = d.event_id \
         WHERE o.event_type = 'charge.succeeded' AND d.status = 'delivered'",
    )
    .fetch_all(stripe.pool())
    .await
    .unwrap();
    let mut delivered_at: HashMap<&str, i64> = HashMap::new();
    for (at, data) in &deliveries {
        let event: serde_json::Value = serde_json::from_str(data).unwrap();
        if let Some(friend) = event["data"]["object"]["customer"]
            .as_str()
            .and_then(|c| friend_of.get(c))
        {
            delivered_at.insert(friend, *at);
        }
    }
    let after = |from: &HashMap<&str, i64>, to: &HashMap<String, i64>| {
        let mut ms: Vec<f64> = to
            .iter()
            .filter_map(|(friend, at)| from.get(friend.as_str()).map(|f| (at - f) as f64))
            .collect();
        ms.sort_by(f64::total_cmp);
        ms
    };
    let paid: HashMap<&str, i64> = paid_at.iter().map(|(f, at)| (f.as_str(), *at)).collect();
    let (delivery_q, delivery_r) = (
        after(&delivered_at, &qualified_at),
        after(&delivered_at, &rewarded_at),
    );
    let payment_q = after(&paid, &qualified_at);
    let credits: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sandbox_objects WHERE kind = 'customer_balance_transaction'",
    )
    .fetch_one(stripe.pool())
    .await
    .unwrap();
    println!(
        "{name}: {FRIENDS} payments offered at {offered:.0}/s: {} qualified, {} rewards issued, {credits} credits in the sandbox",
        qualified_at.len(),
        rewarded_at.len(),
    );
    println!(
        "{name}:   event delivered → qualified p50 {:.0} ms, p99 {:.0} ms (goal at 200/s: p99 < 100 ms); → credit issued in Stripe p50 {:.0} ms, p99 {:.0} ms (goal: p99 < 250 ms)",
        percentile(&delivery_q, 0.5),
        percentile(&delivery_q, 0.99),
        percentile(&delivery_r, 0.5),
        percentile(&delivery_r, 0.99),
    );
    println!(
        "{name}:   payment answered → qualified p50 {:.0} ms, p99 {:.0} ms (includes the sandbox's own delivery queue)",
        percentile(&payment_q, 0.5),
        percentile(&payment_q, 0.99),
    );
    let _ = stop.send(true);

    // 2. The endpoint alone: signed deliveries as fast as 32 clients can post them.
    let w = ledger::webhook_for(db.pool(), &ctx.account_id)
        .await
        .unwrap()
        .unwrap();
    let secret = Arc::new(access.sealer.open(&w.sealed_secret).unwrap());
    let url = Arc::new(format!("{base}/webhooks/stripe/{}", w.id));
    let started = Instant::now();
    let mut posts = tokio::task::JoinSet::new();
    for c in 0..CLIENTS {
        let (http, url, secret) = (http.clone(), url.clone(), secret.clone());
        posts.spawn(async move {
            let mut ok = 0;
            for n in (c..DELIVERIES).step_by(CLIENTS) {
                let body = serde_json::json!({
                    "id": format!("evt_bench_{n}"), "object": "event", "type": "customer.updated",
                    "created": 1, "livemode": false,
                    "data": { "object": { "id": format!("cus_bench_{n}"), "object": "customer" } },
                })
                .to_string();
                let header = signature::header(&secret, refloop::db::unix_now(), body.as_bytes());
                let res = http
                    .post(url.as_str())
                    .header("stripe-signature", header)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                ok += usize::from(res.status().is_success());
            }
            ok
        });
    }
    let mut accepted = 0;
    while let Some(ok) = posts.join_next().await {
        accepted += ok.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{name}: webhook endpoint capacity: {accepted} of {DELIVERIES} signed deliveries accepted in {secs:.2} s = {:.0} events/s ({CLIENTS} concurrent senders)",
        accepted as f64 / secs
    );
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().display().to_string();
    let open = |file: &str| {
        let url = format!("sqlite://{path}/{file}");
        async move { Db::connect(&url).await }
    };
    let sqlite = open("bench.db").await.unwrap();
    let stripe = StripeSide::start(&dir.path().join("stripe.db")).await;
    measure(sqlite, &stripe, "SQLite").await;

    let pg = Postgres::create("refloop_bench_qualification").await;
    let db = Db::connect(&pg.url).await.unwrap();
    let stripe = StripeSide::start(&dir.path().join("stripe-pg.db")).await;
    measure(db.clone(), &stripe, "PostgreSQL").await;
    db.close().await;
    pg.drop().await;
}
