//! Prints how fast people who join reach Stripe as customers, through the real join service,
//! job queue, client and the sandbox over HTTP (SQLite):
//!
//!     . scripts/env.sh && cargo run --release --features ssr --example bench_send_stripe
//!
//! 1. Latency: 100 people join one after another (5 a second); for each, the time from the join
//!    form's submission to their Stripe customer existing in the sandbox (p50, p95).
//! 2. Sustained rate: 400 participants sent at once (Send existing participants) while the
//!    sandbox enforces Stripe's test-mode limit of 25 requests a second; each participant
//!    takes two requests (the look-up by email and the creation). Prints participants and
//!    requests per second, the share of the limit used, and that none was lost or doubled.

use std::{collections::HashMap, time::Instant};

mod support;

use refloop::{
    campaigns::{self, join, sending},
    db::{participants, Db},
    domain::{
        campaigns::PromoteToggle,
        integrations::StripeMode,
        participants::{ParticipantKind, StripeStatus},
    },
    integrations,
    jobs::{Queue, Worker, WorkerConfig},
    secrets::Sealer,
    stripe::rate_limit::{RateLimiters, TEST_MODE_RATE},
    stripe_sandbox::Sandbox,
    workflows::{self, StripeAccess},
};

const JOINS: usize = 100;
const BACKFILL: usize = 400;

fn request(slug: &str, email: &str) -> join::JoinRequest {
    join::JoinRequest {
        slug: slug.into(),
        values: HashMap::from([
            ("email".to_string(), email.to_string()),
            ("first_name".to_string(), "Bench".to_string()),
        ]),
        referral_code: None,
        honeypot: String::new(),
        ip: "203.0.113.9".into(),
        sighting: Default::default(),
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn status(db: &Db, campaign: &str, email: &str) -> StripeStatus {
    participants::by_email(db.pool(), campaign, email)
        .await
        .unwrap()
        .unwrap()
        .stripe_status
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&format!("sqlite://{}/bench.db", dir.path().display()))
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = Sandbox::start(db.clone(), refloop::stripe_sandbox::Access::Controls).router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let access = StripeAccess {
        sealer: Sealer::random(),
        api_url: base.clone(),
        sandbox_url: base.clone(),
        limiters: RateLimiters::new(TEST_MODE_RATE, TEST_MODE_RATE),
        public_url: "https://refer.example".into(),
        ..Default::default()
    };
    let ctx = support::owner(&db).await;
    integrations::connect_stripe(&db, &access, &ctx, StripeMode::Sandbox, "")
        .await
        .unwrap();
    let campaign = support::live_campaign(&db, &ctx).await;
    let queue = Queue::new(db.clone());
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let config = WorkerConfig {
        concurrency: 8,
        ..Default::default()
    };
    tokio::spawn(
        Worker::new(queue.clone(), workflows::registry(access.clone()), config).run(stopped),
    );

    // 1. From the join form to the customer in Stripe.
    campaigns::set_toggle(
        &db,
        &Default::default(),
        &ctx,
        &campaign,
        PromoteToggle::SendReferrers,
        true,
    )
    .await
    .unwrap();
    let mut latencies = Vec::new();
    for n in 0..JOINS {
        let email = format!("join{n}@bench.test");
        let started = Instant::now();
        join::join(&db, 1_000_000, request("bench", &email))
            .await
            .unwrap();
        queue.wake();
        while status(&db, &campaign, &email).await != StripeStatus::Sent {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    latencies.sort_by(f64::total_cmp);
    println!(
        "join → Stripe customer ({JOINS} joins, 5/s, SQLite): p50 {:.0} ms, p95 {:.0} ms, slowest {:.0} ms",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.95),
        latencies[latencies.len() - 1]
    );

    // 2. A backlog, sent under the test-mode limit.
    campaigns::set_toggle(
        &db,
        &Default::default(),
        &ctx,
        &campaign,
        PromoteToggle::SendReferrers,
        false,
    )
    .await
    .unwrap();
    for n in 0..BACKFILL {
        join::join(
            &db,
            1_000_000,
            request("bench", &format!("old{n}@bench.test")),
        )
        .await
        .unwrap();
    }
    // Let the bucket refill after the joins above.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let started = Instant::now();
    let queued = sending::send_existing(&db, &ctx, &campaign, ParticipantKind::Referring)
        .await
        .unwrap();
    queue.wake();
    let sent_sql =
        "SELECT COUNT(*) FROM participants WHERE email LIKE 'old%' AND stripe_status = 'sent'";
    loop {
        let sent: i64 = sqlx::query_scalar(sent_sql)
            .fetch_one(db.pool())
            .await
            .unwrap();
        if sent as usize >= BACKFILL || started.elapsed().as_secs() > 120 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    let sent: i64 = sqlx::query_scalar(sent_sql)
        .fetch_one(db.pool())
        .await
        .unwrap();
    let customers: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sandbox_objects WHERE kind = 'customer' AND email LIKE 'old%'",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    let per_sec = sent as f64 / secs;
    println!(
        "sustained under the sandbox's test-mode limit ({TEST_MODE_RATE} requests/s): {queued} queued, {sent} sent in {secs:.1} s = {per_sec:.1} participants/s = {:.1} requests/s ({:.0}% of the limit); customers in the sandbox: {customers} (lost {}, doubled {})",
        per_sec * 2.0,
        per_sec * 2.0 / TEST_MODE_RATE * 100.0,
        BACKFILL as i64 - sent,
        (customers - sent).max(0)
    );
}
