//! Prints the job queue's throughput and its latency from enqueue to start, on SQLite and on
//! PostgreSQL:
//!
//!     . scripts/env.sh && cargo run --release --features ssr --example bench_job_queue
//!
//! PostgreSQL is reached through `TEST_DATABASE_URL` (a throwaway database is created and
//! dropped). Jobs are probe jobs: each writes one row and completes in the same transaction.

use std::time::{Duration, Instant};

mod support;

use refloop::{
    db::Db,
    jobs::{probe, Queue, Registry, Worker, WorkerConfig},
};

const THROUGHPUT_JOBS: i64 = 5_000;
const LATENCY_JOBS: usize = 300;

async fn measure(db: Db) {
    let queue = Queue::new(db.clone());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let config = WorkerConfig {
        concurrency: 8,
        ..Default::default()
    };
    let worker = tokio::spawn(
        Worker::new(queue.clone(), probe::register(Registry::default()), config).run(stopped),
    );

    // Latency: one job at a time into an idle worker, woken in-process.
    for i in 0..LATENCY_JOBS {
        queue
            .push(&probe::new(&format!("latency-{i}"), 0))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    wait_done(&db, LATENCY_JOBS as i64).await;
    let mut waits: Vec<i64> =
        sqlx::query_scalar("SELECT started_ms - created_ms FROM jobs WHERE status = 'done'")
            .fetch_all(db.pool())
            .await
            .unwrap();
    waits.sort_unstable();
    let pct = |p: f64| waits[((waits.len() as f64 - 1.0) * p).round() as usize];

    // Throughput: a backlog drained by one process with 8 jobs in flight.
    let mut tx = db.begin().await.unwrap();
    for i in 0..THROUGHPUT_JOBS {
        queue
            .enqueue(&mut tx, &probe::new(&format!("bulk-{i}"), 0))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let start = Instant::now();
    queue.wake();
    wait_done(&db, LATENCY_JOBS as i64 + THROUGHPUT_JOBS).await;
    let rate = THROUGHPUT_JOBS as f64 / start.elapsed().as_secs_f64();

    stop.send(true).unwrap();
    worker.await.unwrap();
    println!("job queue on {}:", db.backend().name());
    println!(
        "  throughput: {rate:.0} jobs/s ({THROUGHPUT_JOBS} probe jobs, 1 process, 8 in flight)"
    );
    println!(
        "  enqueue to start: p50 {} ms, p99 {} ms ({LATENCY_JOBS} jobs, one at a time)",
        pct(0.5),
        pct(0.99)
    );
}

async fn wait_done(db: &Db, n: i64) {
    loop {
        let done: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status = 'done'")
            .fetch_one(db.pool())
            .await
            .unwrap();
        if done >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
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

    let pg = support::Postgres::create("refloop_bench_jobs").await;
    let db = Db::connect(&pg.url).await.unwrap();
    measure(db.clone()).await;
    db.close().await;
    pg.drop().await;
}
