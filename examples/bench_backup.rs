//! Prints how long `refloop admin backup` and `restore` take on a busy account (100,000
//! participants, 1,000,000 charges, 300,000 clicks: `support::fill_busy_account`), on SQLite
//! and on PostgreSQL, and how large the backup is:
//!
//!     . scripts/env.sh && cargo run --release --features ssr --example bench_backup
//!
//! Each figure is the operator's command as the binary runs it (`refloop::admin::run`), the
//! best of 3. PostgreSQL is reached through `TEST_DATABASE_URL` (a throwaway database is
//! created and dropped); its backup is `pg_dump --format=custom`.

use std::time::Instant;

mod support;

use clap::Parser;
use refloop::{
    config::{AdminCommand, Cli},
    db::{unix_now, Db},
    secrets::Sealer,
};

const RUNS: usize = 3;

async fn measure(url: &str, dir: &std::path::Path) {
    let db = Db::connect(url).await.unwrap();
    let ctx = support::owner(&db).await;
    let campaign = support::live_campaign(&db, &ctx).await;
    let started = Instant::now();
    support::fill_busy_account(&db, &ctx, &campaign, unix_now()).await;
    let backend = db.backend().name();
    db.close().await;
    println!(
        "{backend}: {} participants and {} charges (filled in {:.1} s)",
        support::PARTICIPANTS,
        support::CHARGES,
        started.elapsed().as_secs_f64()
    );
    let (_, key) = Sealer::generate();
    let config = Cli::parse_from(["refloop", "--database-url", url, "--secret-key", &key]).config;
    let (mut backups, mut restores, mut size) = (Vec::new(), Vec::new(), 0);
    for run in 0..RUNS {
        let file = dir.join(format!("{}-{run}.backup", backend.to_lowercase()));
        let t = Instant::now();
        let report = refloop::admin::run(&config, AdminCommand::Backup { file: file.clone() })
            .await
            .unwrap();
        backups.push(t.elapsed().as_secs_f64());
        assert!(report.ok, "{}", report.text);
        size = std::fs::metadata(&file).unwrap().len();
        let t = Instant::now();
        let report = refloop::admin::run(&config, AdminCommand::Restore { file })
            .await
            .unwrap();
        restores.push(t.elapsed().as_secs_f64());
        assert!(report.ok, "{}", report.text);
    }
    let best = |times: &[f64]| times.iter().copied().fold(f64::INFINITY, f64::min);
    println!(
        "  admin backup  {:>6.2} s (best of {RUNS}; file {:.1} MB)\n  admin restore {:>6.2} s (best of {RUNS})",
        best(&backups),
        size as f64 / (1 << 20) as f64,
        best(&restores)
    );
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    measure(
        &format!("sqlite://{}/bench.db", dir.path().display()),
        dir.path(),
    )
    .await;
    let pg = support::Postgres::create("refloop_bench_backup").await;
    measure(&pg.url, dir.path()).await;
    pg.drop().await;
}
