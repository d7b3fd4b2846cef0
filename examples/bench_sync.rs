//! Prints how fast a one-time sync reads Stripe customers and enrols them, and how close the
//! referral-link write-back runs to Stripe's rate limit (SQLite; the sandbox over HTTP in the
//! same process, with a database of its own, as Stripe is another system):
//!
//!     . scripts/env.sh && cargo run --release --features ssr --example bench_sync
//!
//! 1. 100,000 customers in the sandbox, its rate limit off: one sync with nothing written
//!    back; customers read and enrolled per second, from the start to the last page.
//! 2. 500 newer customers synced into a second campaign with the referral link and code written
//!    back, under the test-mode limit of 25 requests a second (the sandbox's and Refloop's):
//!    links written per second and the share of the limit, and that none was lost.
//!
//! Then the process's peak memory (Refloop and the sandbox together).

use std::time::{Duration, Instant};

mod support;

use futures::StreamExt;
use refloop::{
    campaigns::{self, sync},
    db::{self, Db},
    domain::{campaigns::CampaignStatus, integrations::StripeMode, sync::SyncSettings},
    integrations,
    jobs::{Queue, Worker, WorkerConfig},
    secrets::Sealer,
    stripe::{
        rate_limit::{RateLimiters, TEST_MODE_RATE},
        types::CustomerParams,
    },
    stripe_sandbox::Sandbox,
    workflows::{self, StripeAccess},
};
use serde_json::json;

const CUSTOMERS: usize = 100_000;
const NEWER: usize = 500;

async fn seed(access: &StripeAccess, db: &Db, account: &str, prefix: &str, n: usize) {
    let client = access.connect(db, account).await.unwrap().unwrap().client;
    futures::stream::iter(0..n)
        .map(|i| {
            let client = client.clone();
            let params = CustomerParams {
                email: Some(format!("{prefix}{i}@bench.test")),
                name: Some(format!("Customer {i}")),
                ..Default::default()
            };
            async move {
                client
                    .create_customer(&params, &format!("seed-{prefix}-{i}"))
                    .await
                    .unwrap()
            }
        })
        .buffer_unordered(32)
        .for_each(|_| async {})
        .await;
}

fn workers(queue: &Queue, access: &StripeAccess) -> tokio::sync::watch::Sender<bool> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let config = WorkerConfig {
        concurrency: 4,
        ..Default::default()
    };
    tokio::spawn(
        Worker::new(queue.clone(), workflows::registry(access.clone()), config).run(stopped),
    );
    stop
}

async fn campaign(db: &Db, ctx: &refloop::auth::Ctx, slug: &str) -> String {
    let id = campaigns::create(db, ctx, slug, slug).await.unwrap();
    campaigns::set_status(db, ctx, &id, CampaignStatus::Live)
        .await
        .unwrap();
    id
}

/// Waits for the campaign's latest sync to finish; its progress.
async fn finished(
    db: &Db,
    ctx: &refloop::auth::Ctx,
    campaign: &str,
) -> refloop::domain::sync::SyncProgress {
    loop {
        let s = sync::overview(db, ctx, campaign).await.unwrap();
        if let Some(p) = s.runs.first().filter(|p| !p.status.active()) {
            return p.clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&format!("sqlite://{}/bench.db", dir.path().display()))
        .await
        .unwrap();
    let stripe_db = Db::connect(&format!("sqlite://{}/stripe.db", dir.path().display()))
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = Sandbox::start(stripe_db, refloop::stripe_sandbox::Access::Controls).router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let http = reqwest::Client::new();
    let limit = |rate: serde_json::Value| {
        let http = http.clone();
        let url = format!("{base}/_sandbox/settings");
        async move {
            http.post(url)
                .json(&json!({ "rate_limit": rate }))
                .send()
                .await
                .unwrap();
        }
    };
    let sealer = Sealer::random();
    let access = |rate: f64| StripeAccess {
        sealer: sealer.clone(),
        api_url: base.clone(),
        sandbox_url: base.clone(),
        limiters: RateLimiters::new(rate, rate),
        public_url: "https://refer.example".into(),
        ..Default::default()
    };
    let fast = access(1_000_000.0);
    let ctx = support::owner(&db).await;
    integrations::connect_stripe(&db, &fast, &ctx, StripeMode::Sandbox, "")
        .await
        .unwrap();
    db::campaigns::set_participant_limit(db.pool(), &ctx.account_id, 1_000_000)
        .await
        .unwrap();

    // 1. Read and enrol, rate limit off.
    limit(json!(null)).await;
    let started = Instant::now();
    seed(&fast, &db, &ctx.account_id, "c", CUSTOMERS).await;
    println!(
        "seeded {CUSTOMERS} customers in the sandbox in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let first = campaign(&db, &ctx, "everyone").await;
    let queue = Queue::new(db.clone());
    let stop = workers(&queue, &fast);
    let nothing_back = SyncSettings {
        link_key: String::new(),
        code_key: String::new(),
        ..Default::default()
    };
    let started = Instant::now();
    sync::start(&db, &queue, &ctx, &first, nothing_back)
        .await
        .unwrap();
    let p = finished(&db, &ctx, &first).await;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "sync, rate limit off (SQLite): {} customers read, {} enrolled, {} skipped in {secs:.1} s: {:.0} customers/s",
        p.read,
        p.enrolled,
        p.skipped_total(),
        p.read as f64 / secs
    );
    stop.send(true).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;

    // 2. Write-back under the test-mode limit.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let since = db::unix_now();
    seed(&fast, &db, &ctx.account_id, "n", NEWER).await;
    limit(json!(TEST_MODE_RATE)).await;
    let limited = access(TEST_MODE_RATE);
    let queue = Queue::new(db.clone());
    let _stop = workers(&queue, &limited);
    let second = campaign(&db, &ctx, "newer").await;
    // Let the bucket fill after the seeding above.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let started = Instant::now();
    let write = SyncSettings {
        created_after: Some(since),
        ..Default::default()
    };
    sync::start(&db, &queue, &ctx, &second, write)
        .await
        .unwrap();
    let p = finished(&db, &ctx, &second).await;
    let secs = started.elapsed().as_secs_f64();
    let rate = p.written as f64 / secs;
    println!(
        "write-back, test-mode limit {TEST_MODE_RATE}/s: {} of {} links written ({} failed, {} lost) in {secs:.1} s: {rate:.1}/s, {:.0}% of the limit (the run's {} list pages share it)",
        p.written,
        p.to_write,
        p.write_failed,
        p.to_write - p.written - p.write_failed,
        100.0 * rate / TEST_MODE_RATE,
        (p.read + 99) / 100,
    );
    if let Some(mb) = peak_memory_mb() {
        println!("peak memory (Refloop and the sandbox, one process): {mb:.0} MB");
    }
}
