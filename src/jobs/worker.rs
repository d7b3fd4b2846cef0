//! Workers: claim due jobs up to a concurrency, run their handlers, keep their leases alive,
//! record the outcome, and on shutdown let running jobs finish within a deadline and give the
//! rest back.

use std::{
    sync::{atomic::Ordering, Arc},
    time::Duration,
};

use tokio::{sync::watch, task::JoinSet};

use super::{queue, Claimed, JobCtx, JobError, Queue, Registry};
use crate::db::Backend;

/// How often a worker looks whether a recurring job is due, and marks abandoned jobs dead.
const SCHEDULE_CHECK_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// A name for this worker, stored with its leases.
    pub owner: String,
    pub concurrency: usize,
    pub lease_ms: i64,
    /// The safety-net poll when nothing wakes the worker.
    pub poll_ms: u64,
    pub retry_base_ms: i64,
    /// How long running jobs get to finish on shutdown.
    pub shutdown_grace: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            owner: format!("worker-{}-{}", std::process::id(), crate::db::new_id("w")),
            concurrency: 4,
            lease_ms: 30_000,
            poll_ms: 1_000,
            retry_base_ms: 1_000,
            shutdown_grace: Duration::from_secs(20),
        }
    }
}

pub struct Worker<C = ()> {
    queue: Queue,
    registry: Arc<Registry<C>>,
    config: WorkerConfig,
}

impl<C: Clone + Send + Sync + 'static> Worker<C> {
    pub fn new(queue: Queue, registry: Registry<C>, config: WorkerConfig) -> Self {
        Worker {
            queue,
            registry: Arc::new(registry),
            config,
        }
    }

    /// Runs until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let db = self.queue.db.clone();
        let wake = self.queue.waker();
        if db.backend() == Backend::Postgres {
            tokio::spawn(listen(db.url().to_string(), wake.clone(), shutdown.clone()));
        }
        let mut running: JoinSet<()> = JoinSet::new();
        let mut held: Vec<(tokio::task::Id, Claimed)> = Vec::new();
        let mut schedules_checked: Option<tokio::time::Instant> = None;
        loop {
            if *shutdown.borrow() {
                break;
            }
            // Registered before claiming, so a wake that comes while claiming is not lost.
            let notified = wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            // Schedules are periods of minutes: looking once a second is plenty, and spares
            // the database a write on every turn of a busy loop.
            let schedules_due =
                schedules_checked.is_none_or(|at| at.elapsed() >= SCHEDULE_CHECK_EVERY);
            if schedules_due {
                schedules_checked = Some(tokio::time::Instant::now());
                if let Err(e) = queue::bury_abandoned(&db).await {
                    tracing::warn!(error = %e, "job queue: abandoned jobs not marked dead");
                }
            }
            for schedule in self.registry.schedules.iter().filter(|_| schedules_due) {
                match queue::take_schedule_slot(
                    &db,
                    &schedule.name,
                    schedule.period.as_millis() as i64,
                )
                .await
                {
                    Ok(true) => {
                        if let Err(e) = self.queue.push(&schedule.job).await {
                            tracing::warn!(error = %e, schedule = %schedule.name, "job queue: scheduled job not enqueued");
                        }
                    }
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, schedule = %schedule.name, "job queue: schedule not checked")
                    }
                }
            }
            while let Some(done) = running.try_join_next_with_id() {
                let id = match done {
                    Ok((id, ())) => id,
                    Err(e) => e.id(),
                };
                held.retain(|(task, _)| *task != id);
            }
            let free = self.config.concurrency.saturating_sub(running.len());
            let claimed = if free > 0 {
                match queue::claim(&db, &self.config.owner, self.config.lease_ms, free as i64).await
                {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "job queue: claiming failed");
                        Vec::new()
                    }
                }
            } else {
                Vec::new()
            };
            let got_work = !claimed.is_empty();
            for job in claimed {
                let handle = running.spawn(run_one(
                    self.queue.clone(),
                    self.registry.clone(),
                    self.config.clone(),
                    job.clone(),
                ));
                held.push((handle.id(), job));
            }
            if got_work && running.len() < self.config.concurrency {
                continue;
            }
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep(Duration::from_millis(self.config.poll_ms)) => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
                _ = shutdown.changed() => {}
            }
        }
        // Let running jobs finish within the grace period; give the rest back.
        let deadline = tokio::time::sleep(self.config.shutdown_grace);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                next = running.join_next_with_id() => match next {
                    None => break,
                    Some(Ok((id, ()))) => held.retain(|(task, _)| *task != id),
                    Some(Err(e)) => { let id = e.id(); held.retain(|(task, _)| *task != id) }
                },
                _ = &mut deadline => {
                    running.abort_all();
                    for (_, job) in &held {
                        let _ = queue::release(&db, job, 0).await;
                    }
                    tracing::warn!(released = held.len(), "job queue: shutdown deadline passed, jobs given back");
                    break;
                }
            }
        }
    }
}

/// Runs one job: its handler, with the lease kept alive, then the outcome recorded.
async fn run_one<C: Clone + Send + Sync + 'static>(
    queue: Queue,
    registry: Arc<Registry<C>>,
    config: WorkerConfig,
    job: Claimed,
) {
    let db = queue.db.clone();
    let Some(handler) = registry.get(&job.kind) else {
        let _ = queue::fail(
            &db,
            &job,
            &format!("no handler for jobs of kind `{}`", job.kind),
            true,
            0,
        )
        .await;
        return;
    };
    let ctx = JobCtx {
        db: db.clone(),
        job: job.clone(),
        app: registry.context.clone(),
        completed_in_handler: Default::default(),
    };
    let completed_in_handler = ctx.completed_in_handler.clone();
    // Stops extending the lease when the job ends, or when this task is dropped (a worker
    // shut down hard): its lease then expires and another worker takes the job over.
    struct Heartbeat(tokio::task::JoinHandle<()>);
    impl Drop for Heartbeat {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let heartbeat = {
        let (db, job) = (db.clone(), job.clone());
        Heartbeat(tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis((config.lease_ms / 3).max(10) as u64))
                    .await;
                if !queue::extend(&db, &job, config.lease_ms)
                    .await
                    .unwrap_or(false)
                {
                    break;
                }
            }
        }))
    };
    let outcome = handler(ctx).await;
    drop(heartbeat);
    let recorded = match &outcome {
        // A handler that completed in its own transaction has nothing left to record.
        Ok(()) if completed_in_handler.load(Ordering::Relaxed) => Ok(()),
        // One that did not is completed here.
        Ok(()) => {
            let mut conn = match db.pool().acquire().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, job = %job.id, "job queue: cannot record completion");
                    return;
                }
            };
            queue::complete(&mut conn, &job).await.map(|_| ())
        }
        Err(JobError::Retry(m)) => queue::fail(
            &db,
            &job,
            m,
            false,
            queue::backoff_ms(config.retry_base_ms, job.attempts),
        )
        .await
        .map(|_| ()),
        Err(JobError::Permanent(m)) => queue::fail(&db, &job, m, true, 0).await.map(|_| ()),
        Err(JobError::Later(delay)) => queue::release(&db, &job, delay.as_millis() as i64)
            .await
            .map(|_| ()),
    };
    if let Err(e) = recorded {
        tracing::warn!(error = %e, job = %job.id, "job queue: recording the outcome failed; the lease will expire and it will run again");
    }
    if let Err(e @ (JobError::Retry(_) | JobError::Permanent(_))) = &outcome {
        tracing::info!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = e.message(), "job failed");
    }
}

/// Wakes this process's workers when another process enqueues (PostgreSQL `LISTEN`).
async fn listen(url: String, wake: Arc<tokio::sync::Notify>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let mut listener = match sqlx::postgres::PgListener::connect(&url).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "job queue: LISTEN connection failed; polling meanwhile");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        if listener.listen("refloop_jobs").await.is_err() {
            tokio::time::sleep(Duration::from_secs(5)).await;
            continue;
        }
        loop {
            tokio::select! {
                n = listener.recv() => match n {
                    Ok(_) => wake.notify_waiters(),
                    Err(_) => break,
                },
                _ = shutdown.changed() => return,
            }
        }
    }
}
