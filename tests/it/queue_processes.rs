//! The queue with real worker processes: one killed mid-job, and three sharing PostgreSQL.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use refloop::jobs::{probe, Queue};

use crate::support::TestDb;

fn worker(t: &TestDb, concurrency: u32, lease_ms: u32) -> Child {
    worker_polling(t, concurrency, lease_ms, 1_000)
}

fn worker_polling(t: &TestDb, concurrency: u32, lease_ms: u32, poll_ms: u32) -> Child {
    Command::new(env!("CARGO_BIN_EXE_refloop"))
        .arg("worker")
        .env("DATABASE_URL", &t.url)
        .env("REFLOOP_WORKERS", concurrency.to_string())
        .env("REFLOOP_JOB_LEASE_MS", lease_ms.to_string())
        .env("REFLOOP_JOB_POLL_MS", poll_ms.to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("a worker process")
}

async fn count(t: &TestDb, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(t.db.pool())
        .await
        .unwrap()
}

async fn wait_until(t: &TestDb, sql: &str, want: i64, limit: Duration) {
    let deadline = Instant::now() + limit;
    while count(t, sql).await < want {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for `{sql}` to reach {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

crate::on_both_backends!(a_worker_killed_mid_job_leaves_its_effect_exactly_once);

async fn a_worker_killed_mid_job_leaves_its_effect_exactly_once(t: &TestDb) {
    let queue = Queue::new(t.db.clone());
    queue.push(&probe::new("crash", 1500)).await.unwrap();
    let mut first = worker(t, 1, 600);
    wait_until(
        t,
        "SELECT COUNT(*) FROM jobs WHERE kind = 'queue.probe' AND status = 'running'",
        1,
        Duration::from_secs(30),
    )
    .await;
    first.kill().unwrap(); // SIGKILL: no chance to give the job back
    first.wait().unwrap();
    assert_eq!(
        count(t, "SELECT COUNT(*) FROM job_probes").await,
        0,
        "killed before its effect"
    );
    let second = worker(t, 1, 600);
    wait_until(
        t,
        "SELECT COUNT(*) FROM jobs WHERE kind = 'queue.probe' AND status = 'done'",
        1,
        Duration::from_secs(30),
    )
    .await;
    stop(second);
    assert_eq!(
        count(t, "SELECT COUNT(*) FROM job_probes").await,
        1,
        "the effect happened once"
    );
    assert_eq!(
        count(t, "SELECT attempts FROM jobs WHERE kind = 'queue.probe'").await,
        2,
        "run again after the lease expired"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_on_one_postgres_run_ten_thousand_jobs_exactly_once() {
    let t = TestDb::postgres().await;
    let queue = Queue::new(t.db.clone());
    let jobs = 10_000;
    let mut tx = t.db.begin().await.unwrap();
    for i in 0..jobs {
        queue
            .enqueue(&mut tx, &probe::new(&format!("p{i}"), 0))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let workers: Vec<Child> = (0..3).map(|_| worker(&t, 8, 30_000)).collect();
    wait_until(
        &t,
        "SELECT COUNT(*) FROM jobs WHERE kind = 'queue.probe' AND status = 'done'",
        jobs,
        Duration::from_secs(180),
    )
    .await;
    for w in workers {
        stop(w);
    }
    assert_eq!(count(&t, "SELECT COUNT(*) FROM job_probes").await, jobs);
    assert_eq!(
        count(&t, "SELECT COUNT(DISTINCT tag) FROM job_probes").await,
        jobs
    );
    assert_eq!(
        count(
            &t,
            "SELECT COUNT(*) FROM jobs WHERE kind = 'queue.probe' AND attempts <> 1"
        )
        .await,
        0,
        "no job ran twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_process_starts_new_work_within_milliseconds_through_notify() {
    let t = TestDb::postgres().await;
    // Its safety-net poll is every 5 s; LISTEN/NOTIFY wakes it at once.
    let w = worker_polling(&t, 2, 30_000, 5_000);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let queue = Queue::new(t.db.clone());
    for i in 0..5 {
        queue.push(&probe::new(&format!("n{i}"), 0)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    wait_until(
        &t,
        "SELECT COUNT(*) FROM jobs WHERE kind = 'queue.probe' AND status = 'done'",
        5,
        Duration::from_secs(20),
    )
    .await;
    stop(w);
    let slowest = count(
        &t,
        "SELECT MAX(started_ms - created_ms) FROM jobs WHERE kind = 'queue.probe'",
    )
    .await;
    assert!(
        slowest < 1_000,
        "the slowest start took {slowest} ms (polling alone would take up to 5 s)"
    );
}
