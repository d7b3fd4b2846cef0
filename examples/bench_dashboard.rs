//! Prints how long the dashboard takes at 100,000 participants and 1,000,000 charges, on SQLite
//! and on PostgreSQL:
//!
//!     . scripts/env.sh && cargo run --release --features ssr --example bench_dashboard
//!
//! The account has one campaign: 20,000 people referring, 80,000 invited friends (half of
//! them paying, a quarter qualified, each with a reward), 1,000,000 charges over the last year
//! that all count for friends (the worst case: every charge is a referred payment, kept in the
//! ledger the qualification workflow writes) and 300,000 clicks. Each figure is one call of the
//! service behind the page (every figure, chart and table of the dashboard): the median, p95
//! and slowest of 20 calls per period. PostgreSQL is reached through `TEST_DATABASE_URL` (a
//! throwaway database is created and dropped).

use std::time::Instant;

mod support;

use refloop::{
    auth::Ctx,
    campaigns::dashboard::dashboard,
    db::{unix_now, Db},
    domain::dashboard::Period,
};
use sqlx::Executor;

const REFERRERS: i64 = 20_000;
const PARTICIPANTS: i64 = 100_000;
const CHARGES: i64 = 1_000_000;
const CLICKS: i64 = 300_000;
const RUNS: usize = 20;
const DAY: i64 = 86_400;

/// `n` rows numbered from 0, as the start of an `INSERT … SELECT` (both backends).
fn numbers(n: i64) -> String {
    format!("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {n} - 1)")
}

/// Fills the ledgers with one statement each (the workflow's own path is measured by the
/// qualification benchmark; this one measures the reads).
async fn fill(db: &Db, ctx: &Ctx, campaign: &str, now: i64) {
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

async fn measure(db: Db) {
    let ctx = support::owner(&db).await;
    let campaign = support::live_campaign(&db, &ctx).await;
    let now = unix_now();
    let start = Instant::now();
    fill(&db, &ctx, &campaign, now).await;
    println!(
        "Dashboard on {} with {PARTICIPANTS} participants and {CHARGES} charges (filled in {:.1} s):",
        db.backend().name(),
        start.elapsed().as_secs_f64()
    );
    let cases = [
        ("the account, last 30 days", "", "30d"),
        ("the account, last 90 days", "", "90d"),
        ("the account, all time", "", "all"),
        (
            "the campaign's Overview, all time",
            campaign.as_str(),
            "all",
        ),
    ];
    let mut slowest_p95: f64 = 0.0;
    for (name, scope, key) in cases {
        let period = Period::parse(key, "", "", now).unwrap();
        let mut times = Vec::with_capacity(RUNS);
        let mut shown = String::new();
        for _ in 0..RUNS {
            let t = Instant::now();
            let d = dashboard(&db, &ctx, scope, period.clone()).await.unwrap();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            shown = format!(
                "revenue {} USD, {} friends invited, {} paying, {} qualified",
                d.revenue.first().map_or(0, |r| r.amount) / 100,
                d.funnel.invited,
                d.funnel.paying,
                d.funnel.qualified
            );
        }
        times.sort_by(|a, b| a.total_cmp(b));
        let p95 = times[(RUNS * 95).div_ceil(100) - 1];
        slowest_p95 = slowest_p95.max(p95);
        println!(
            "  {name:<36} median {:>6.1} ms, p95 {p95:>6.1} ms, slowest {:>6.1} ms ({shown})",
            times[RUNS / 2],
            times[RUNS - 1]
        );
    }
    println!("  slowest period's p95: {slowest_p95:.1} ms (goal: < 100 ms on both backends)");
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    measure(
        Db::connect(&format!("sqlite://{}/bench.db", dir.path().display()))
            .await
            .unwrap(),
    )
    .await;

    let pg = support::Postgres::create("refloop_bench_dashboard").await;
    let db = Db::connect(&pg.url).await.unwrap();
    measure(db.clone()).await;
    db.close().await;
    pg.drop().await;
}
