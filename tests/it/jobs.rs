//! The job queue on both backends: transactional enqueue, leases and fencing, retries with
//! backoff, dead jobs, scheduling, dedupe, recurring slots, and workers running every job
//! exactly once.

use std::time::Duration;

use refloop::jobs::{
    queue::{self, now_ms},
    JobError, NewJob, Queue, Registry, Worker, WorkerConfig,
};
use serde_json::json;
use sqlx::Row;

use crate::support::TestDb;

crate::on_both_backends!(
    a_job_exists_only_if_its_cause_commits,
    a_claimed_job_is_fenced_to_its_lease_holder,
    failures_back_off_and_end_dead_and_can_be_retried,
    scheduled_and_deduplicated_jobs,
    a_recurring_slot_is_taken_once_per_period,
    three_workers_run_every_job_exactly_once,
    the_operations_view_is_per_account_and_metrics_cover_the_instance,
    one_throttled_account_does_not_starve_another,
    shutdown_gives_unfinished_jobs_back,
    recurring_jobs_run_once_per_period_across_workers,
    a_job_whose_worker_keeps_stopping_ends_dead,
);

/// A handler that takes its worker down with it (a crash, an out-of-memory kill) leaves its
/// lease to run out; after its attempts it is dead, not taken again for ever.
async fn a_job_whose_worker_keeps_stopping_ends_dead(t: &TestDb) {
    let q = Queue::new(t.db.clone());
    let id = q
        .push(&NewJob::new("crashes", json!({})).max_attempts(3))
        .await
        .unwrap()
        .unwrap();
    for attempt in 1..=3 {
        let claimed = queue::claim(&t.db, "w", 1, 10).await.unwrap();
        assert_eq!(claimed.len(), 1, "attempt {attempt}");
        assert_eq!(claimed[0].attempts, attempt);
        // The worker stops here; its lease of 1 ms runs out.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(queue::claim(&t.db, "w", 1, 10).await.unwrap().is_empty());
    assert_eq!(status(t, &id).await, ("running".to_string(), 3));
    // Workers mark it dead, once a second.
    assert_eq!(queue::bury_abandoned(&t.db).await.unwrap(), 1);
    assert_eq!(status(t, &id).await, ("dead".to_string(), 3));
    let error: String = sqlx::query_scalar("SELECT last_error FROM jobs WHERE id = $1")
        .bind(&id)
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    assert!(error.contains("stopped before it finished"), "{error}");
}

async fn status(t: &TestDb, id: &str) -> (String, i64) {
    let row = sqlx::query("SELECT status, attempts FROM jobs WHERE id = $1")
        .bind(id)
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    (row.get("status"), row.get("attempts"))
}

async fn a_job_exists_only_if_its_cause_commits(t: &TestDb) {
    let q = Queue::new(t.db.clone());
    let mut tx = t.db.begin().await.unwrap();
    q.enqueue(&mut tx, &NewJob::new("send", json!({"n": 1})))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert!(queue::claim(&t.db, "w", 1000, 10).await.unwrap().is_empty());
    let mut tx = t.db.begin().await.unwrap();
    let id = q
        .enqueue(
            &mut tx,
            &NewJob::new("send", json!({"n": 2})).account("acc_1"),
        )
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    let claimed = queue::claim(&t.db, "w", 1000, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        (
            claimed[0].id.as_str(),
            claimed[0].payload["n"].as_i64(),
            claimed[0].account_id.as_deref()
        ),
        (id.as_str(), Some(2), Some("acc_1"))
    );
}

async fn a_claimed_job_is_fenced_to_its_lease_holder(t: &TestDb) {
    let q = Queue::new(t.db.clone());
    let id = q
        .push(&NewJob::new("send", json!({})))
        .await
        .unwrap()
        .unwrap();
    // Leases long enough that a busy machine cannot let one run out between two claims.
    let first = queue::claim(&t.db, "a", 500, 10).await.unwrap().remove(0);
    assert!(
        queue::claim(&t.db, "b", 500, 10).await.unwrap().is_empty(),
        "held by a"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    // a's lease expired (a crashed, say): b takes the job over.
    let second = queue::claim(&t.db, "b", 10_000, 10)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(second.id, id);
    assert_eq!(second.attempts, 2);
    let mut conn = t.db.pool().acquire().await.unwrap();
    assert!(
        !queue::complete(&mut conn, &first).await.unwrap(),
        "a can no longer finish it"
    );
    assert!(!queue::fail(&t.db, &first, "late", false, 0).await.unwrap());
    assert!(!queue::extend(&t.db, &first, 1000).await.unwrap());
    assert!(queue::complete(&mut conn, &second).await.unwrap());
    assert_eq!(status(t, &id).await.0, "done");
}

async fn failures_back_off_and_end_dead_and_can_be_retried(t: &TestDb) {
    let q = Queue::new(t.db.clone());
    let id = q
        .push(&NewJob::new("send", json!({})).max_attempts(2))
        .await
        .unwrap()
        .unwrap();
    let job = queue::claim(&t.db, "w", 1000, 1).await.unwrap().remove(0);
    let before = now_ms();
    queue::fail(
        &t.db,
        &job,
        "Stripe said 503",
        false,
        queue::backoff_ms(1000, job.attempts),
    )
    .await
    .unwrap();
    let row = sqlx::query("SELECT status, run_at_ms, last_error FROM jobs WHERE id = $1")
        .bind(&id)
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>("status"), "queued");
    let delay = row.get::<i64, _>("run_at_ms") - before;
    assert!((700..=1300).contains(&delay), "backoff {delay} ms");
    assert_eq!(row.get::<String, _>("last_error"), "Stripe said 503");
    assert!(
        queue::claim(&t.db, "w", 1000, 1).await.unwrap().is_empty(),
        "not before its time"
    );
    sqlx::query("UPDATE jobs SET run_at_ms = 0 WHERE id = $1")
        .bind(&id)
        .execute(t.db.pool())
        .await
        .unwrap();
    let job = queue::claim(&t.db, "w", 1000, 1).await.unwrap().remove(0);
    queue::fail(&t.db, &job, "still 503", false, 0)
        .await
        .unwrap();
    assert_eq!(
        status(t, &id).await,
        ("dead".to_string(), 2),
        "out of attempts"
    );
    assert!(queue::claim(&t.db, "w", 1000, 1).await.unwrap().is_empty());
    assert!(queue::retry_dead(&t.db, &id).await.unwrap());
    assert_eq!(status(t, &id).await, ("queued".to_string(), 0));
    // A permanent failure is dead at once.
    let job = queue::claim(&t.db, "w", 1000, 1).await.unwrap().remove(0);
    queue::fail(&t.db, &job, "the key lost a permission", true, 0)
        .await
        .unwrap();
    assert_eq!(status(t, &id).await.0, "dead");
    assert!((1..=4).all(|a| queue::backoff_ms(1000, a) <= 1000 * (1 << (a - 1)) * 12 / 10));
}

async fn scheduled_and_deduplicated_jobs(t: &TestDb) {
    let q = Queue::new(t.db.clone());
    q.push(&NewJob::new("later", json!({})).at(now_ms() + 60_000))
        .await
        .unwrap();
    assert!(queue::claim(&t.db, "w", 1000, 10).await.unwrap().is_empty());
    let a = q
        .push(&NewJob::new("sync", json!({})).dedupe("sync:acc_1"))
        .await
        .unwrap();
    let b = q
        .push(&NewJob::new("sync", json!({})).dedupe("sync:acc_1"))
        .await
        .unwrap();
    assert!(a.is_some() && b.is_none(), "one waiting job per key");
    let job = queue::claim(&t.db, "w", 1000, 10).await.unwrap().remove(0);
    assert!(
        q.push(&NewJob::new("sync", json!({})).dedupe("sync:acc_1"))
            .await
            .unwrap()
            .is_none(),
        "nor while it runs"
    );
    let mut conn = t.db.pool().acquire().await.unwrap();
    queue::complete(&mut conn, &job).await.unwrap();
    assert!(
        q.push(&NewJob::new("sync", json!({})).dedupe("sync:acc_1"))
            .await
            .unwrap()
            .is_some(),
        "again once done"
    );
}

async fn a_recurring_slot_is_taken_once_per_period(t: &TestDb) {
    let racers: Vec<_> = (0..6)
        .map(|_| {
            let db = t.db.clone();
            tokio::spawn(async move {
                queue::take_schedule_slot(&db, "reconcile", 60_000)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut won = 0;
    for r in racers {
        won += usize::from(r.await.unwrap());
    }
    assert_eq!(won, 1);
    assert!(
        !queue::take_schedule_slot(&t.db, "reconcile", 60_000)
            .await
            .unwrap(),
        "not again this period"
    );
}

async fn three_workers_run_every_job_exactly_once(t: &TestDb) {
    sqlx::query("CREATE TABLE effects (job_id TEXT PRIMARY KEY NOT NULL, n BIGINT NOT NULL)")
        .execute(t.db.pool())
        .await
        .unwrap();
    let q = Queue::new(t.db.clone());
    let jobs = 300;
    let mut tx = t.db.begin().await.unwrap();
    for n in 0..jobs {
        q.enqueue(&mut tx, &NewJob::new("effect", json!({ "n": n })))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    // The handler writes its effect and completes the job in one transaction; a flaky tenth of
    // the first attempts fail and are retried.
    let registry = Registry::default().register("effect", |ctx| async move {
        let n = ctx.job.payload["n"].as_i64().unwrap();
        if ctx.job.attempts == 1 && n % 10 == 0 {
            return Err(JobError::Retry("flaky".into()));
        }
        let mut tx = ctx.db.begin().await?;
        sqlx::query("INSERT INTO effects (job_id, n) VALUES ($1, $2)")
            .bind(&ctx.job.id)
            .bind(n)
            .execute(&mut *tx)
            .await?;
        ctx.complete_in(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let workers: Vec<_> = (0..3)
        .map(|i| {
            let config = WorkerConfig {
                owner: format!("w{i}"),
                concurrency: 4,
                poll_ms: 50,
                retry_base_ms: 10,
                ..Default::default()
            };
            tokio::spawn(Worker::new(q.clone(), registry.clone(), config).run(stopped.clone()))
        })
        .collect();
    q.wake();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let done: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status = 'done'")
            .fetch_one(t.db.pool())
            .await
            .unwrap();
        if done == jobs || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.send(true).unwrap();
    for w in workers {
        w.await.unwrap();
    }
    let effects: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM effects")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    let distinct: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT n) FROM effects")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    assert_eq!(
        (effects, distinct),
        (jobs, jobs),
        "every job's effect exactly once"
    );
    let retried: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE attempts = 2")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    assert_eq!(retried, jobs / 10);
}

async fn the_operations_view_is_per_account_and_metrics_cover_the_instance(t: &TestDb) {
    use refloop::jobs::stats;
    let q = Queue::new(t.db.clone());
    let failing = q
        .push(
            &NewJob::new("stripe.sync", json!({}))
                .account("acc_a")
                .max_attempts(1)
                .at(1),
        )
        .await
        .unwrap()
        .unwrap();
    for _ in 0..3 {
        q.push(&NewJob::new("stripe.send", json!({})).account("acc_a"))
            .await
            .unwrap();
    }
    q.push(&NewJob::new("stripe.send", json!({})).account("acc_b"))
        .await
        .unwrap();
    let job = queue::claim(&t.db, "w", 1000, 1).await.unwrap().remove(0);
    assert_eq!(job.id, failing, "the earliest due job first");
    queue::fail(
        &t.db,
        &job,
        "Stripe says this key lacks rak_customer_write",
        false,
        0,
    )
    .await
    .unwrap();

    let a = stats::account_stats(&t.db, "acc_a").await.unwrap();
    let send = a.by_kind.iter().find(|k| k.kind == "stripe.send").unwrap();
    assert_eq!(send.queued + send.running, 3, "only acc_a's jobs");
    assert_eq!(a.dead.len(), 1);
    assert_eq!(
        a.dead[0].error,
        "Stripe says this key lacks rak_customer_write"
    );
    assert!(a.oldest_waiting_ms.is_some());
    let b = stats::account_stats(&t.db, "acc_b").await.unwrap();
    assert!(b.dead.is_empty());
    assert!(
        !stats::retry_dead(&t.db, "acc_b", &failing).await.unwrap(),
        "another account's job"
    );
    assert!(stats::retry_dead(&t.db, "acc_a", &failing).await.unwrap());
    assert!(stats::account_stats(&t.db, "acc_a")
        .await
        .unwrap()
        .dead
        .is_empty());

    let metrics = stats::prometheus(&t.db).await.unwrap();
    assert!(metrics.contains("# TYPE refloop_jobs gauge"), "{metrics}");
    assert!(
        metrics.contains("refloop_jobs{kind=\"stripe.sync\",status=\"queued\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("refloop_jobs_oldest_waiting_seconds "),
        "{metrics}"
    );
}

async fn wait_for(t: &TestDb, sql: &str, want: i64, limit: Duration) -> bool {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let n: i64 = sqlx::query_scalar(sql)
            .fetch_one(t.db.pool())
            .await
            .unwrap();
        if n >= want {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn one_throttled_account_does_not_starve_another(t: &TestDb) {
    let q = Queue::new(t.db.clone());
    let mut tx = t.db.begin().await.unwrap();
    for _ in 0..60 {
        q.enqueue(
            &mut tx,
            &NewJob::new("stripe.call", json!({})).account("acc_busy"),
        )
        .await
        .unwrap();
    }
    for _ in 0..5 {
        q.enqueue(
            &mut tx,
            &NewJob::new("stripe.call", json!({})).account("acc_quiet"),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    // Each account's Stripe allows 10 requests a second; a job without a token steps aside.
    let access = refloop::workflows::StripeAccess::default();
    let registry = Registry::new(access).register("stripe.call", |ctx| async move {
        let account = ctx.job.account_id.clone().unwrap_or_default();
        ctx.app
            .limiters
            .for_account(&account, 10.0)
            .try_acquire()
            .map_err(JobError::Later)?;
        Ok(())
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let config = WorkerConfig {
        concurrency: 2,
        poll_ms: 20,
        ..Default::default()
    };
    let worker = tokio::spawn(Worker::new(q.clone(), registry, config).run(stopped));
    let quiet_done = wait_for(
        t,
        "SELECT COUNT(*) FROM jobs WHERE account_id = 'acc_quiet' AND status = 'done'",
        5,
        Duration::from_secs(10),
    )
    .await;
    let busy_done: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM jobs WHERE account_id = 'acc_busy' AND status = 'done'",
    )
    .fetch_one(t.db.pool())
    .await
    .unwrap();
    stop.send(true).unwrap();
    worker.await.unwrap();
    assert!(quiet_done, "the quiet account's jobs all ran");
    assert!(
        busy_done < 50,
        "while the busy account was still held to its limit ({busy_done} of 60 done)"
    );
    let attempts: i64 = sqlx::query_scalar("SELECT MAX(attempts) FROM jobs")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    assert!(attempts <= 1, "stepping aside uses no attempt");
}

async fn shutdown_gives_unfinished_jobs_back(t: &TestDb) {
    let q = Queue::new(t.db.clone());
    let id = q
        .push(&refloop::jobs::probe::new("slow", 5_000))
        .await
        .unwrap()
        .unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let config = WorkerConfig {
        concurrency: 1,
        poll_ms: 20,
        shutdown_grace: Duration::from_millis(100),
        ..Default::default()
    };
    let worker = tokio::spawn(
        Worker::new(
            q.clone(),
            refloop::jobs::probe::register(Registry::default()),
            config,
        )
        .run(stopped),
    );
    assert!(
        wait_for(
            t,
            "SELECT COUNT(*) FROM jobs WHERE status = 'running'",
            1,
            Duration::from_secs(10)
        )
        .await
    );
    stop.send(true).unwrap();
    worker.await.unwrap();
    assert_eq!(
        status(t, &id).await,
        ("queued".to_string(), 0),
        "given back, the attempt not counted"
    );
    let effects: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM job_probes")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    assert_eq!(effects, 0);
}

async fn recurring_jobs_run_once_per_period_across_workers(t: &TestDb) {
    let q = Queue::new(t.db.clone());
    let registry = refloop::jobs::probe::register(Registry::default()).every(
        "probe-sweep",
        Duration::from_millis(400),
        refloop::jobs::probe::new("sweep", 0),
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let workers: Vec<_> = (0..3)
        .map(|i| {
            let config = WorkerConfig {
                owner: format!("s{i}"),
                poll_ms: 20,
                ..Default::default()
            };
            tokio::spawn(Worker::new(q.clone(), registry.clone(), config).run(stopped.clone()))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    stop.send(true).unwrap();
    for w in workers {
        w.await.unwrap();
    }
    let runs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'queue.probe'")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    assert!(
        (1..=3).contains(&runs),
        "three workers over ~2.75 periods enqueued {runs} sweeps, not one each"
    );
}
