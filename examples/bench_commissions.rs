//! Prints how fast commissions are earned and issued for a subscription business, through the
//! real webhook endpoint, job queue, client and the sandbox over HTTP, on SQLite and on
//! PostgreSQL:
//!
//!     . scripts/env.sh && cargo leptos build --release \
//!         && cargo run --release --features ssr --example bench_commissions
//!
//! 1,000 invited friends (`BENCH_FRIENDS` for another number), of 100 people referring, each
//! subscribe to a 49.00 USD monthly plan as customers on test clocks (100 to a clock); the clocks
//! are advanced nine months, one month at a time: 10,000 monthly invoices, each paid by a charge that
//! Refloop counts. The rule pays 20% of each payment for 12 months as Stripe customer credit.
//! Printed: the invoices billed, the commission entries made and issued in Stripe, entries per
//! second from the first advance to the last credit, and the entries doubled (two for one
//! payment) or lost (a charge with none).

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

mod support;

use axum::{routing::post, Router};
use refloop::{
    campaigns::{self, join, qualification, rewards},
    db::Db,
    domain::{
        campaigns::PromoteToggle,
        commissions::CommissionForm,
        integrations::StripeMode,
        qualification::QualificationForm,
        rewards::{RewardForm, RewardRuleForm},
        time::add_months,
    },
    integrations,
    jobs::{Queue, Worker, WorkerConfig},
    secrets::Sealer,
    state::Webhooks,
    stripe::rate_limit::RateLimiters,
    workflows::{self, StripeAccess},
};
use reqwest::Method;
use serde_json::json;
use support::{Postgres, StripeSide};

const REFERRERS: usize = 100;
const MONTHS: u32 = 10;

fn friends() -> usize {
    std::env::var("BENCH_FRIENDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000)
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

async fn count(db: &Db, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(db.pool()).await.unwrap()
}

async fn measure(db: Db, stripe_side: &StripeSide, name: &str) {
    let friends = friends();
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
    reqwest::Client::new()
        .post(format!("{}/_sandbox/settings", stripe_side.url))
        .json(&json!({ "rate_limit": null }))
        .send()
        .await
        .unwrap();
    let ctx = support::owner(&db).await;
    integrations::connect_stripe(&db, &access, &ctx, StripeMode::Sandbox, "")
        .await
        .unwrap();
    let campaign = support::live_campaign(&db, &ctx).await;
    // The people referring are sent to Stripe (their credit needs a customer).
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
    // Friends pay as customers of the merchant's own system: every customer with their email
    // counts for them.
    let form = QualificationForm {
        target: "50.00".into(),
        scope: "same_email".into(),
        ..Default::default()
    };
    qualification::save(&db, &access, &queue, &ctx, &campaign, form)
        .await
        .unwrap();
    let rule = RewardRuleForm {
        recipient: "referrer".into(),
        kind: "credit".into(),
        currency: "usd".into(),
        every: "1".into(),
        commission: CommissionForm {
            percent: "20".into(),
            span: "months".into(),
            months: "12".into(),
            ..Default::default()
        },
        ..Default::default()
    };
    let form = RewardForm {
        auto_issue: true,
        rules: vec![rule],
        ..Default::default()
    };
    rewards::save(&db, &ctx, &campaign, form).await.unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(
        Worker::new(
            queue.clone(),
            workflows::registry(access.clone()),
            WorkerConfig {
                concurrency: 8,
                ..Default::default()
            },
        )
        .run(stopped),
    );

    let mut codes = Vec::new();
    for n in 0..REFERRERS {
        let token = join::join(
            &db,
            10_000_000,
            request(&format!("ref{n}@bench.test"), None),
        )
        .await
        .unwrap();
        codes.push(join::personal_page(&db, &base, &token).await.unwrap().code);
    }
    for n in 0..friends {
        let code = codes[n % REFERRERS].clone();
        join::join(
            &db,
            10_000_000,
            request(&format!("friend{n}@bench.test"), Some(code)),
        )
        .await
        .unwrap();
    }
    queue.wake();
    let stripe = access
        .connect(&db, &ctx.account_id)
        .await
        .unwrap()
        .unwrap()
        .client;
    let call = |method: Method, path: String, params: serde_json::Value| {
        let stripe = stripe.clone();
        async move {
            stripe
                .request(method, &path, &params, None)
                .await
                .unwrap_or_else(|e| panic!("{path}: {e}"))
        }
    };
    // A clock for every 100 subscriptions, so that no advance bills more than 100 at once.
    let start = refloop::db::unix_now() + 60;
    let mut clocks = Vec::new();
    for _ in 0..friends.div_ceil(100) {
        let clock = call(
            Method::POST,
            "/v1/test_helpers/test_clocks".into(),
            json!({ "frozen_time": start }),
        )
        .await;
        clocks.push(clock["id"].as_str().unwrap().to_string());
    }
    let price = call(
        Method::POST,
        "/v1/prices".into(),
        json!({
            "currency": "usd", "unit_amount": 4_900, "product_data": { "name": "Plan" },
            "recurring": { "interval": "month" },
        }),
    )
    .await;
    let started = Instant::now();
    for n in 0..friends {
        let customer = call(
            Method::POST,
            "/v1/customers".into(),
            json!({ "email": format!("friend{n}@bench.test"), "test_clock": clocks[n / 100] }),
        )
        .await;
        call(
            Method::POST,
            "/v1/subscriptions".into(),
            json!({ "customer": customer["id"], "items": [{ "price": price["id"] }] }),
        )
        .await;
    }
    for month in 1..MONTHS {
        for clock in &clocks {
            call(
                Method::POST,
                format!("/v1/test_helpers/test_clocks/{clock}/advance"),
                json!({ "frozen_time": add_months(start, month) }),
            )
            .await;
        }
    }
    let billed = started.elapsed().as_secs_f64();
    let invoices = friends as i64 * i64::from(MONTHS);
    let deadline = Instant::now() + Duration::from_secs(900);
    let issued_sql = "SELECT COUNT(*) FROM rewards WHERE charge_id <> '' AND status = 'issued'";
    while count(&db, issued_sql).await < invoices && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    let made = count(&db, "SELECT COUNT(*) FROM rewards WHERE charge_id <> ''").await;
    let issued = count(&db, issued_sql).await;
    let doubled = made
        - count(
            &db,
            "SELECT COUNT(DISTINCT charge_id) FROM rewards WHERE charge_id <> ''",
        )
        .await;
    let lost = count(
        &db,
        "SELECT COUNT(*) FROM stripe_charges c WHERE NOT EXISTS \
         (SELECT 1 FROM rewards r WHERE r.charge_id = c.charge_id)",
    )
    .await;
    let credits = count(
        &stripe_side.db,
        "SELECT COUNT(*) FROM sandbox_objects WHERE kind = 'customer_balance_transaction'",
    )
    .await;
    println!(
        "{name}: {invoices} monthly invoices ({friends} subscriptions × {MONTHS} months) billed in {billed:.1} s; \
         {made} commission entries made, {issued} issued as credit ({credits} credits in the sandbox) in {secs:.1} s \
         = {:.0} entries/s; doubled {doubled}, lost {lost}",
        issued as f64 / secs
    );
    let _ = stop.send(true);
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().display().to_string();
    let sqlite = Db::connect(&format!("sqlite://{path}/bench.db"))
        .await
        .unwrap();
    let stripe = StripeSide::start(&dir.path().join("stripe.db")).await;
    measure(sqlite, &stripe, "SQLite").await;

    let pg = Postgres::create("refloop_bench_commissions").await;
    let db = Db::connect(&pg.url).await.unwrap();
    let stripe = StripeSide::start(&dir.path().join("stripe-pg.db")).await;
    measure(db.clone(), &stripe, "PostgreSQL").await;
    db.close().await;
    pg.drop().await;
}
