//! Prints how fast payments qualify referrals and earn rewards, through the real webhook
//! endpoint, job queue, client and the sandbox over HTTP, on SQLite and on PostgreSQL:
//!
//!     . scripts/env.sh && cargo run --release --features ssr --example bench_qualification
//!
//! 1. Latency at 200 payment events a second: 400 invited friends (each already a Stripe
//!    customer) each make one payment above the target, paced at 200 a second. For each, the
//!    time from the payment's event being ready for delivery (the sandbox has answered the
//!    payment, which queues its `charge.succeeded` delivery) to the referral being qualified,
//!    and to the referrer's credit being issued in Stripe (p50, p99).
//! 2. The webhook endpoint's capacity: 4,000 signed deliveries posted by 32 concurrent clients,
//!    each recorded in the event ledger with its processing job; events accepted per second.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::{Duration, Instant},
};

mod support;

use axum::{routing::post, Router};
use refloop::{
    campaigns::{self, join, qualification, rewards},
    db::{participants, qualification as ledger, Db},
    domain::{
        campaigns::{CampaignStatus, PromoteToggle},
        integrations::StripeMode,
        qualification::QualificationForm,
        rewards::{RewardForm, RewardRuleForm},
    },
    integrations,
    jobs::{self, Queue, Worker, WorkerConfig},
    secrets::Sealer,
    stripe::{rate_limit::RateLimiters, signature},
    stripe_sandbox::Sandbox,
    workflows::StripeAccess,
};
use sqlx::{Connection, Executor};

const FRIENDS: usize = 400;
const EVENTS_PER_SEC: u64 = 200;
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
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn measure(db: Db, name: &str) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let access = StripeAccess {
        sealer: Sealer::random(),
        api_url: format!("{base}/sandbox"),
        sandbox_url: format!("{base}/sandbox"),
        limiters: RateLimiters::new(100_000.0, 100_000.0),
        public_url: base.clone(),
    };
    let queue = Queue::with_stripe(db.clone(), access.clone());
    let app = Router::new()
        .route(
            "/webhooks/stripe/{id}",
            post(refloop::server::webhooks::stripe),
        )
        .with_state(queue.clone())
        .nest_service("/sandbox", Sandbox::start(db.clone()).router());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::new();
    http.post(format!("{base}/sandbox/_sandbox/settings"))
        .json(&serde_json::json!({ "rate_limit": null }))
        .send()
        .await
        .unwrap();
    let ctx = support::owner(&db).await;
    integrations::connect_stripe(&db, &access, &ctx, StripeMode::Sandbox, "")
        .await
        .unwrap();
    let campaign = campaigns::create(&db, &ctx, "Bench", "bench")
        .await
        .unwrap();
    campaigns::set_status(&db, &ctx, &campaign, CampaignStatus::Live)
        .await
        .unwrap();
    for toggle in [PromoteToggle::SendReferrers, PromoteToggle::SendFriends] {
        campaigns::set_toggle(&db, &ctx, &campaign, toggle, true)
            .await
            .unwrap();
    }
    qualification::save(
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
        },
    )
    .await
    .unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let config = WorkerConfig {
        concurrency: 8,
        ..Default::default()
    };
    tokio::spawn(Worker::new(queue.clone(), jobs::registry(), config).run(stopped));

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
    let started = Instant::now();
    let mut paid_at: HashMap<String, Instant> = HashMap::new();
    let mut payments = tokio::task::JoinSet::new();
    for (i, (friend, customer)) in customers.iter().enumerate() {
        let due = started + Duration::from_micros(1_000_000 * i as u64 / EVENTS_PER_SEC);
        tokio::time::sleep_until(due.into()).await;
        let (client, friend, customer) = (client.clone(), friend.clone(), customer.clone());
        payments.spawn(async move {
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
            (friend, Instant::now())
        });
    }
    let mut qualified_after = Vec::new();
    let mut rewarded_after = Vec::new();
    let mut seen_q = HashSet::new();
    let mut seen_r = HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while (seen_q.len() < FRIENDS || seen_r.len() < FRIENDS) && Instant::now() < deadline {
        while let Some(done) = payments.try_join_next() {
            let (friend, at) = done.unwrap();
            paid_at.insert(friend, at);
        }
        let now = Instant::now();
        let qualified: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM participants WHERE qualification = 'qualified' AND referrer_id IS NOT NULL",
        )
        .fetch_all(db.pool())
        .await
        .unwrap();
        for id in qualified {
            if let Some(at) = paid_at.get(&id) {
                if seen_q.insert(id.clone()) {
                    qualified_after.push(now.duration_since(*at).as_secs_f64() * 1000.0);
                }
            }
        }
        let rewarded: Vec<String> =
            sqlx::query_scalar("SELECT referral_id FROM rewards WHERE status = 'issued'")
                .fetch_all(db.pool())
                .await
                .unwrap();
        for id in rewarded {
            if let Some(at) = paid_at.get(&id) {
                if seen_r.insert(id.clone()) {
                    rewarded_after.push(now.duration_since(*at).as_secs_f64() * 1000.0);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let offered = FRIENDS as f64 / started.elapsed().as_secs_f64().max(1e-9);
    qualified_after.sort_by(f64::total_cmp);
    rewarded_after.sort_by(f64::total_cmp);
    let credits: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sandbox_objects WHERE kind = 'customer_balance_transaction'",
    )
    .fetch_one(db.pool())
    .await
    .unwrap_or(-1);
    println!(
        "{name}: {FRIENDS} payments at {EVENTS_PER_SEC}/s → qualified: p50 {:.0} ms, p99 {:.0} ms; → credit issued in Stripe: p50 {:.0} ms, p99 {:.0} ms ({} qualified, {} rewards issued, {} credits in the sandbox; whole run {:.0} events/s)",
        percentile(&qualified_after, 0.5),
        percentile(&qualified_after, 0.99),
        percentile(&rewarded_after, 0.5),
        percentile(&rewarded_after, 0.99),
        qualified_after.len(),
        rewarded_after.len(),
        credits,
        offered,
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
    let sqlite = Db::connect(&format!("sqlite://{}/bench.db", dir.path().display()))
        .await
        .unwrap();
    measure(sqlite, "SQLite").await;

    let admin = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".into());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("PostgreSQL at TEST_DATABASE_URL");
    conn.execute("DROP DATABASE IF EXISTS refloop_bench_qualification WITH (FORCE)")
        .await
        .unwrap();
    conn.execute("CREATE DATABASE refloop_bench_qualification")
        .await
        .unwrap();
    let url = match admin.rfind('/') {
        Some(i) => format!("{}/refloop_bench_qualification", &admin[..i]),
        None => admin.clone(),
    };
    let db = Db::connect(&url).await.unwrap();
    measure(db.clone(), "PostgreSQL").await;
    db.close().await;
    conn.execute("DROP DATABASE IF EXISTS refloop_bench_qualification WITH (FORCE)")
        .await
        .unwrap();
}
