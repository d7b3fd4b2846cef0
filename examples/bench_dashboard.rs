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
    campaigns::dashboard::dashboard,
    db::{unix_now, Db},
    domain::dashboard::Period,
};

const RUNS: usize = 20;

async fn measure(db: Db) {
    let ctx = support::owner(&db).await;
    let campaign = support::live_campaign(&db, &ctx).await;
    let now = unix_now();
    let start = Instant::now();
    support::fill_busy_account(&db, &ctx, &campaign, now).await;
    println!(
        "Dashboard on {} with {} participants and {} charges (filled in {:.1} s):",
        db.backend().name(),
        support::PARTICIPANTS,
        support::CHARGES,
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
