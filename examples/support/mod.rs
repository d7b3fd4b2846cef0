//! What the benchmarks share. Each uses some of it.
#![allow(dead_code)]

use std::time::Duration;

use refloop::{
    accounts::{self, SignUp},
    auth::{caller_from, session, Ctx},
    db::Db,
    stripe_sandbox::{Access, Sandbox},
};
use sqlx::{Connection, Executor};

/// Signs up a new account and returns its owner, as a server function would see them.
pub async fn owner(db: &Db) -> Ctx {
    let token = accounts::sign_up(
        db,
        SignUp {
            company: "Bench".into(),
            name: "Bench Owner".into(),
            email: "owner@bench.test".into(),
            password: "correct horse battery".into(),
        },
        "127.0.0.1",
    )
    .await
    .unwrap();
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(
        axum::http::header::COOKIE,
        format!("{}={token}", session::COOKIE).parse().unwrap(),
    );
    caller_from(db, &headers, "127.0.0.1".into())
        .await
        .unwrap()
        .unwrap()
}

/// A live campaign "Bench" at `/j/bench`, of `ctx`'s account; its id.
pub async fn live_campaign(db: &Db, ctx: &Ctx) -> String {
    let id = refloop::campaigns::create(db, ctx, "Bench", "bench")
        .await
        .unwrap();
    refloop::campaigns::set_status(
        db,
        ctx,
        &id,
        refloop::domain::campaigns::CampaignStatus::Live,
    )
    .await
    .unwrap();
    id
}

/// A throwaway PostgreSQL database on the server at `TEST_DATABASE_URL`: created empty (after
/// dropping one left by an earlier run), dropped by `drop`.
pub struct Postgres {
    admin: sqlx::PgConnection,
    name: String,
    pub url: String,
}

impl Postgres {
    pub async fn create(name: &str) -> Postgres {
        let admin_url = std::env::var("TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".into());
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("PostgreSQL at TEST_DATABASE_URL");
        admin
            .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
            .await
            .unwrap();
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        let url = match admin_url.rfind('/') {
            Some(i) => format!("{}/{name}", &admin_url[..i]),
            None => admin_url.clone(),
        };
        Postgres {
            admin,
            name: name.to_string(),
            url,
        }
    }

    pub async fn drop(mut self) {
        self.admin
            .execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
            .await
            .unwrap();
    }
}

/// The release binary the benchmarks run as other processes (`cargo leptos build --release`).
pub fn release_binary() -> std::path::PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    std::path::Path::new(&target)
        .join("release")
        .join("refloop")
}

/// A free port on the loopback address.
pub async fn free_port() -> u16 {
    tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until `url` answers at all.
pub async fn answering(url: &str) {
    let http = reqwest::Client::new();
    while http.get(url).send().await.is_err() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The sandbox standing in for Stripe: its address, and its database (the benchmarks read its
/// delivery log). Its process, when it has one of its own, ends with it.
pub struct StripeSide {
    pub url: String,
    pub db: Db,
    _process: Option<tokio::process::Child>,
}

impl StripeSide {
    /// A sandbox keeping its data in `file`, in its own process unless `BENCH_SANDBOX=inline`.
    pub async fn start(file: &std::path::Path) -> StripeSide {
        let url = format!("sqlite://{}", file.display());
        let db = Db::connect(&url).await.unwrap();
        let port = free_port().await;
        let address = format!("http://127.0.0.1:{port}");
        if std::env::var("BENCH_SANDBOX").as_deref() == Ok("inline") {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .unwrap();
            let sandbox = Sandbox::start(db.clone(), Access::Controls);
            tokio::spawn(async move { axum::serve(listener, sandbox.router()).await.unwrap() });
            return StripeSide {
                url: address,
                db,
                _process: None,
            };
        }
        let binary = release_binary();
        let process = tokio::process::Command::new(&binary)
            .args(["stripe-sandbox", "--port", &port.to_string()])
            .env("DATABASE_URL", &url)
            .env("RUST_LOG", "warn")
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{} (build it with `cargo leptos build --release`, or set BENCH_SANDBOX=inline): {e}",
                    binary.display()
                )
            });
        answering(&format!("{address}/_sandbox/settings")).await;
        StripeSide {
            url: address,
            db,
            _process: Some(process),
        }
    }
}

pub const REFERRERS: i64 = 20_000;
pub const PARTICIPANTS: i64 = 100_000;
pub const CHARGES: i64 = 1_000_000;
pub const CLICKS: i64 = 300_000;
const DAY: i64 = 86_400;

/// `n` rows numbered from 0, as the start of an `INSERT … SELECT` (both backends).
fn numbers(n: i64) -> String {
    format!("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {n} - 1)")
}

/// A busy account's campaign, filled with one statement per table (the workflows' own paths
/// are measured by their benchmarks): 20,000 people referring, 80,000 invited friends (half of
/// them paying, a quarter qualified, each with a reward), 1,000,000 charges over the last year
/// that all count for friends, and 300,000 clicks.
pub async fn fill_busy_account(db: &Db, ctx: &Ctx, campaign: &str, now: i64) {
    let (account, pool) = (&ctx.account_id, db.pool());
    // Joined over the last year; friends qualify within 30 days of joining.
    let created = format!("{now} - ((i * 7919) % 365) * {DAY} - (i % {DAY})");
    let statements = [
        format!(
            "{} INSERT INTO participants (id, account_id, campaign_id, email, first_name, last_name, fields, \
               code, page_token, referrer_id, source, qualification, search, created_at, qualified_at, paying) \
             SELECT CASE WHEN i < {REFERRERS} THEN 'r' ELSE 'f' END || i, '{account}', '{campaign}', \
               'user' || i || '@example.com', 'First' || (i % 100), 'Last' || (i % 1000), '{{}}', 'c' || i, 't' || i, \
               CASE WHEN i < {REFERRERS} THEN NULL ELSE 'r' || (i % {REFERRERS}) END, 'join', \
               CASE WHEN i < {REFERRERS} THEN 'none' WHEN i % 4 = 0 THEN 'qualified' ELSE 'pending' END, \
               'user' || i, {created}, \
               CASE WHEN i >= {REFERRERS} AND i % 4 = 0 THEN {created} + (i % 30) * {DAY} + 3600 END, \
               CASE WHEN i >= {REFERRERS} AND i % 2 = 0 THEN 1 ELSE 0 END \
             FROM n",
            numbers(PARTICIPANTS)
        ),
        // Paying friends are the even ones from REFERRERS on: f20000, f20002, …
        format!(
            "{} INSERT INTO stripe_charges (account_id, charge_id, customer_id, email, amount, currency, created, paid, updated_at) \
             SELECT '{account}', 'ch_' || i, 'cus_' || ({REFERRERS} + 2 * (i % 40000)), NULL, 1000 + (i % 50) * 100, 'usd', \
               {now} - (i % 365) * {DAY} - (i % {DAY}), 1, {now} FROM n",
            numbers(CHARGES)
        ),
        format!(
            "INSERT INTO referred_payments (account_id, campaign_id, participant_id, referrer_id, charge_id, currency, net, paid_at, day) \
             SELECT account_id, '{campaign}', 'f' || CAST(SUBSTR(customer_id, 5) AS BIGINT), \
               'r' || (CAST(SUBSTR(customer_id, 5) AS BIGINT) % {REFERRERS}), charge_id, currency, amount, created, \
               (created / {DAY}) * {DAY} FROM stripe_charges WHERE account_id = '{account}'"
        ),
        format!(
            "INSERT INTO referred_revenue_days (account_id, campaign_id, day, currency, revenue) \
             SELECT account_id, campaign_id, day, currency, SUM(net) FROM referred_payments \
             WHERE account_id = '{account}' GROUP BY account_id, campaign_id, day, currency"
        ),
        format!(
            "INSERT INTO rewards (id, account_id, campaign_id, rule_id, referral_id, recipient_id, kind, amount, currency, \
               description, status, note, created_at, updated_at) \
             SELECT 'rw_' || id, account_id, campaign_id, 'rule', id, referrer_id, 'credit', 1000, 'usd', \
               '10.00 USD credit', CASE WHEN created_at % 10 = 0 THEN 'awaiting_approval' ELSE 'issued' END, '', \
               qualified_at, qualified_at \
             FROM participants WHERE account_id = '{account}' AND qualified_at IS NOT NULL"
        ),
        format!(
            "{} INSERT INTO participant_events (id, account_id, campaign_id, participant_id, kind, detail, at) \
             SELECT 'ev_' || i, '{account}', '{campaign}', 'r' || (i % {REFERRERS}), 'clicked', '', \
               {now} - (i % 365) * {DAY} - (i % {DAY}) FROM n",
            numbers(CLICKS)
        ),
    ];
    for sql in statements {
        pool.execute(sql.as_str()).await.unwrap();
    }
    // As autovacuum leaves a table that has settled: statistics, and (PostgreSQL) the
    // visibility map that lets the counts read the indexes alone.
    let settle = match db.backend() {
        refloop::db::Backend::Postgres => "VACUUM ANALYZE",
        refloop::db::Backend::Sqlite => "ANALYZE",
    };
    pool.execute(settle).await.unwrap();
}
