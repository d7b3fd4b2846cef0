//! Prints how many Stripe events a second Refloop sustains with qualification p99 under 1 s, on
//! PostgreSQL: one Refloop process, then three sharing one database (and its job queue):
//!
//!     . scripts/env.sh && cargo leptos build --release \
//!         && cargo run --release --features ssr --example bench_event_throughput
//!
//! Refloop runs as the release binary (`refloop serve`, `BENCH_WORKERS` jobs at once in each
//! process, 8 by default) and the Stripe sandbox as a process of its own (`refloop
//! stripe-sandbox`). The benchmark plays Stripe's delivery side: it posts signed
//! `charge.succeeded` events, spread evenly over the processes' endpoints, each an invited friend
//! paying 60.00 USD towards a 50.00 USD target, at rising rates for `STEP_SECS` each. As in
//! `bench_qualification`, each qualified friend earns their referrer a 10.00 USD credit issued
//! in Stripe, and the metadata of the referrer's customer is refreshed. For each rate: the time
//! from an event's acceptance (recorded, its job enqueued) to its friend qualified (the job
//! that did it committed), p50 and p99. A rate is sustained when every event was accepted,
//! every friend qualified and p99 stayed under 1 s; the figure is the highest such rate.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

mod support;

use base64::{engine::general_purpose::STANDARD, Engine};
use rand::RngCore;
use refloop::{
    campaigns::{self, join, qualification, rewards},
    db::{qualification as ledger, unix_now, Db},
    domain::{
        campaigns::PromoteToggle,
        integrations::StripeMode,
        qualification::QualificationForm,
        rewards::{RewardForm, RewardRuleForm},
    },
    integrations,
    jobs::{queue::now_ms, Queue},
    secrets::Sealer,
    stripe::{rate_limit::RateLimiters, signature},
    workflows::StripeAccess,
};
use support::{Postgres, StripeSide};

/// Events a second, tried in turn until one is not sustained.
const RATES: [usize; 10] = [100, 200, 300, 500, 750, 1_000, 1_500, 2_000, 2_500, 3_000];
const STEP_SECS: usize = 3;
const REFERRERS: usize = 500;
const P99_GOAL_MS: f64 = 1_000.0;

fn workers() -> String {
    std::env::var("BENCH_WORKERS").unwrap_or_else(|_| "8".into())
}

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

fn percentile(sorted: &[i64], p: f64) -> i64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Refloop's processes: each serves the webhook endpoint and runs workers on `database_url`.
async fn start_refloop(
    processes: usize,
    database_url: &str,
    key: &str,
    sandbox_url: &str,
) -> (Vec<String>, Vec<tokio::process::Child>) {
    let mut ports = Vec::new();
    for _ in 0..processes {
        ports.push(support::free_port().await);
    }
    let addresses: Vec<String> = ports
        .iter()
        .map(|p| format!("http://127.0.0.1:{p}"))
        .collect();
    let site = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into()) + "/site";
    let mut children = Vec::new();
    for port in &ports {
        let child = tokio::process::Command::new(support::release_binary())
            .env("DATABASE_URL", database_url)
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("LEPTOS_SITE_ROOT", &site)
            .env("REFLOOP_PUBLIC_URL", &addresses[0])
            .env("REFLOOP_SECRET_KEY", key)
            .env("REFLOOP_SANDBOX", "off")
            .env("REFLOOP_SANDBOX_URL", sandbox_url)
            .env("REFLOOP_WORKERS", workers())
            .env("REFLOOP_STRIPE_TEST_RATE", "10000")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the release binary (cargo leptos build --release)");
        children.push(child);
    }
    let http = reqwest::Client::new();
    for (address, child) in addresses.iter().zip(children.iter_mut()) {
        while http.get(format!("{address}/healthz")).send().await.is_err() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("a Refloop process stopped on start ({status}): see its message above");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    (addresses, children)
}

/// Jobs due or running, on every process.
async fn busy_jobs(db: &Db) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM jobs WHERE (status = 'queued' AND run_at_ms <= $1) OR status = 'running'",
    )
    .bind(now_ms())
    .fetch_one(db.pool())
    .await
    .unwrap()
}

async fn drained(db: &Db, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if busy_jobs(db).await == 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Joins `emails` to the campaign, each invited by one of `codes` in turn, 16 at a time.
async fn join_all(db: &Db, emails: Vec<String>, codes: &[Option<String>]) {
    let mut joins = tokio::task::JoinSet::new();
    for (i, email) in emails.into_iter().enumerate() {
        if joins.len() >= 16 {
            joins.join_next().await.unwrap().unwrap();
        }
        let (db, code) = (db.clone(), codes[i % codes.len()].clone());
        joins.spawn(async move {
            join::join(&db, 100_000_000, request(&email, code))
                .await
                .unwrap();
        });
    }
    while let Some(done) = joins.join_next().await {
        done.unwrap();
    }
}

/// Each kind of job run since `since_ms`: how many, and p99 of waiting (from when it was due)
/// and of running. A reward's job that its payment's job made unnecessary never ran, and is
/// not counted.
async fn job_times(db: &Db, since_ms: i64) -> String {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT kind, started_ms - run_at_ms, finished_ms - started_ms FROM jobs \
         WHERE status = 'done' AND started_ms IS NOT NULL AND created_ms >= $1",
    )
    .bind(since_ms)
    .fetch_all(db.pool())
    .await
    .unwrap();
    let mut kinds: HashMap<String, (Vec<i64>, Vec<i64>)> = HashMap::new();
    for (kind, waited, ran) in rows {
        let times = kinds.entry(kind).or_default();
        times.0.push(waited);
        times.1.push(ran);
    }
    let mut kinds: Vec<_> = kinds.into_iter().collect();
    kinds.sort_by(|a, b| a.0.cmp(&b.0));
    kinds
        .into_iter()
        .map(|(kind, (mut waited, mut ran))| {
            waited.sort_unstable();
            ran.sort_unstable();
            format!(
                "{kind} ×{}: waited p99 {} ms, ran p50 {} / p99 {} ms",
                ran.len(),
                percentile(&waited, 0.99),
                percentile(&ran, 0.5),
                percentile(&ran, 0.99)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// What one rate did.
struct Step {
    accepted: usize,
    qualified: i64,
    p50: i64,
    p99: i64,
}

/// Sustains `processes` Refloop processes on a fresh PostgreSQL database at rising rates;
/// returns the highest rate sustained.
async fn measure(processes: usize, dir: &std::path::Path) -> Option<usize> {
    let name = format!(
        "{processes} process{}",
        if processes == 1 { "" } else { "es" }
    );
    let pg = Postgres::create("refloop_bench_events").await;
    let db = Db::connect(&pg.url).await.unwrap();
    let stripe = StripeSide::start(&dir.join(format!("stripe-{processes}.db"))).await;
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    let key = STANDARD.encode(key);
    let (endpoints, refloop) = start_refloop(processes, &pg.url, &key, &stripe.url).await;
    let access = StripeAccess {
        sealer: Sealer::load(Some(&key), &dir.join("unused.key")).unwrap(),
        api_url: stripe.url.clone(),
        sandbox_url: stripe.url.clone(),
        limiters: RateLimiters::new(100_000.0, 100_000.0),
        public_url: endpoints[0].clone(),
        ..Default::default()
    };
    let http = reqwest::Client::new();
    http.post(format!("{}/_sandbox/settings", stripe.url))
        .json(&serde_json::json!({ "rate_limit": null }))
        .send()
        .await
        .unwrap();

    // The campaign of bench_qualification, matching payments to friends by email.
    let ctx = support::owner(&db).await;
    integrations::connect_stripe(&db, &access, &ctx, StripeMode::Sandbox, "")
        .await
        .unwrap();
    let campaign = support::live_campaign(&db, &ctx).await;
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
    qualification::save(
        &db,
        &access,
        &Queue::new(db.clone()),
        &ctx,
        &campaign,
        QualificationForm {
            target: "50.00".into(),
            scope: "same_email".into(),
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

    // People referring, each a customer in Stripe (their credit goes there).
    let referrers: Vec<String> = (0..REFERRERS)
        .map(|n| format!("ref{n}@bench.test"))
        .collect();
    join_all(&db, referrers, &[None]).await;
    assert!(
        drained(&db, Duration::from_secs(120)).await,
        "referrers not sent to Stripe"
    );
    let codes: Vec<Option<String>> = sqlx::query_scalar(
        "SELECT code FROM participants WHERE campaign_id = $1 AND stripe_customer_id IS NOT NULL",
    )
    .bind(&campaign)
    .fetch_all(db.pool())
    .await
    .unwrap();
    assert_eq!(
        codes.len(),
        REFERRERS,
        "every referrer is a Stripe customer"
    );

    let w = ledger::webhook_for(db.pool(), &ctx.account_id)
        .await
        .unwrap()
        .unwrap();
    let secret = Arc::new(access.sealer.open(&w.sealed_secret).unwrap());
    let urls: Arc<Vec<String>> = Arc::new(
        endpoints
            .iter()
            .map(|e| format!("{e}/webhooks/stripe/{}", w.id))
            .collect(),
    );
    let mut sustained = None;
    for rate in RATES {
        let events = rate * STEP_SECS;
        let friends: Vec<String> = (0..events)
            .map(|n| format!("friend-{rate}-{n}@bench.test"))
            .collect();
        join_all(&db, friends.clone(), &codes).await;
        drained(&db, Duration::from_secs(120)).await;

        let step_started_ms = now_ms();
        let accepted = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let mut posts = tokio::task::JoinSet::new();
        for (n, email) in friends.into_iter().enumerate() {
            let due = started + Duration::from_micros(1_000_000 * n as u64 / rate as u64);
            tokio::time::sleep_until(due.into()).await;
            let (http, urls, secret, accepted) =
                (http.clone(), urls.clone(), secret.clone(), accepted.clone());
            posts.spawn(async move {
                let body = serde_json::json!({
                    "id": format!("evt_r{rate}n{n}"), "object": "event", "type": "charge.succeeded",
                    "created": unix_now(), "livemode": false,
                    "data": { "object": {
                        "id": format!("ch_{rate}_{n}"), "object": "charge", "amount": 6_000,
                        "currency": "usd", "status": "succeeded", "captured": true,
                        "amount_refunded": 0, "customer": null, "created": unix_now(),
                        "billing_details": { "email": email },
                    } },
                })
                .to_string();
                let header = signature::header(&secret, unix_now(), body.as_bytes());
                let res = http
                    .post(&urls[n % urls.len()])
                    .header("stripe-signature", header)
                    .body(body)
                    .send()
                    .await;
                if res.is_ok_and(|r| r.status().is_success()) {
                    accepted.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        while posts.join_next().await.is_some() {}
        let offered = events as f64 / started.elapsed().as_secs_f64();
        let accepted = accepted.load(Ordering::Relaxed);
        // Every event processed (or half a minute more), then what it took.
        let deadline = Instant::now() + Duration::from_secs(30);
        let latencies = loop {
            let ms: Vec<i64> = sqlx::query_scalar(
                "SELECT finished_ms - created_ms FROM jobs WHERE kind = 'stripe.event' AND status = 'done' \
                 AND created_ms >= $1 AND payload LIKE $2",
            )
            .bind(step_started_ms)
            .bind(format!("%evt_r{rate}n%"))
            .fetch_all(db.pool())
            .await
            .unwrap();
            if ms.len() >= accepted || Instant::now() > deadline {
                break ms;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let qualified: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM participants WHERE campaign_id = $1 AND qualification = 'qualified' AND email LIKE $2",
        )
        .bind(&campaign)
        .bind(format!("friend-{rate}-%"))
        .fetch_one(db.pool())
        .await
        .unwrap();
        let mut latencies = latencies;
        latencies.sort_unstable();
        let step = Step {
            accepted,
            qualified,
            p50: latencies.first().map_or(0, |_| percentile(&latencies, 0.5)),
            p99: latencies
                .first()
                .map_or(0, |_| percentile(&latencies, 0.99)),
        };
        let ok = step.accepted == events
            && step.qualified == events as i64
            && (step.p99 as f64) < P99_GOAL_MS;
        println!(
            "PostgreSQL, {name}: {rate} events/s for {STEP_SECS} s (posted at {offered:.0}/s): {} of {events} accepted, {} qualified; accepted → qualified p50 {} ms, p99 {} ms{}",
            step.accepted,
            step.qualified,
            step.p50,
            step.p99,
            if ok { "" } else { " — not sustained" }
        );
        // The credits and metadata the step set off, before the next rate; then where each
        // kind of job spent its time: waiting to be claimed, and running.
        drained(&db, Duration::from_secs(120)).await;
        println!("    {}", job_times(&db, step_started_ms).await);
        if !ok {
            break;
        }
        sustained = Some(rate);
    }
    let credits: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sandbox_objects WHERE kind = 'customer_balance_transaction'",
    )
    .fetch_one(stripe.db.pool())
    .await
    .unwrap();
    let issued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM rewards WHERE status = 'issued'")
        .fetch_one(db.pool())
        .await
        .unwrap();
    println!("PostgreSQL, {name}: {issued} rewards issued, {credits} credits in the sandbox");
    db.close().await;
    drop(refloop);
    pg.drop().await;
    sustained
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let one = measure(1, dir.path()).await;
    let three = measure(3, dir.path()).await;
    let figure = |r: Option<usize>| r.map_or("less than 100".to_string(), |r| r.to_string());
    println!(
        "one process sustains {} events/s with qualification p99 < 1 s (goal: ≥ 1,000/s)",
        figure(one)
    );
    println!(
        "three processes on one PostgreSQL sustain {} events/s (goal: ≥ 2,500/s)",
        figure(three)
    );
}
