//! The durable job queue everything Refloop does in the background runs on: jobs live in the
//! database, are enqueued inside the transaction of their cause, claimed with a fenced lease,
//! retried with backoff, and dead (and visible) when out of attempts. Workers wake within
//! milliseconds: in-process through `Queue::wake`, across PostgreSQL processes through
//! `LISTEN/NOTIFY`, with a slow poll as a safety net.
//!
//! Plain infrastructure: it knows job kinds only as names in a `Registry`, and hands each
//! handler the context the registry was made with (the workflows' `StripeAccess`, or nothing).

pub mod probe;
pub mod queue;
pub mod stats;
mod worker;

use std::{
    collections::HashMap,
    future::Future,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

use sqlx::AnyConnection;
use tokio::sync::Notify;

pub use queue::{Claimed, NewJob};
pub use worker::{Worker, WorkerConfig};

use crate::db::Db;

/// Why a job failed: worth another try later, or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobError {
    Retry(String),
    Permanent(String),
    /// Not now (e.g. this Stripe account's rate limit): back in the queue after the delay,
    /// without using an attempt, and without holding a worker meanwhile.
    Later(std::time::Duration),
}

impl JobError {
    pub fn message(&self) -> &str {
        match self {
            JobError::Retry(m) | JobError::Permanent(m) => m,
            JobError::Later(_) => "deferred",
        }
    }
}

impl From<sqlx::Error> for JobError {
    fn from(err: sqlx::Error) -> Self {
        JobError::Retry(format!("database: {err}"))
    }
}

/// What a handler gets: the job, the database to do its work in, and the context its registry
/// was made with.
#[derive(Debug, Clone)]
pub struct JobCtx<C = ()> {
    pub db: Db,
    pub job: Claimed,
    pub app: C,
    /// Set by `complete_in`: the worker then has no completion of its own to record.
    completed_in_handler: Arc<AtomicBool>,
}

impl<C> JobCtx<C> {
    /// Marks the job done inside the handler's own transaction, so that the job's effect and
    /// its completion commit together: if this worker lost its lease (another took the job
    /// over), this fails and the transaction must roll back, so the effect happens once.
    pub async fn complete_in(&self, conn: &mut AnyConnection) -> Result<(), JobError> {
        if queue::complete(conn, &self.job).await? {
            self.completed_in_handler.store(true, Ordering::Relaxed);
            Ok(())
        } else {
            Err(JobError::Permanent(
                "the lease on this job was lost to another worker".into(),
            ))
        }
    }
}

type HandlerFn<C> =
    dyn Fn(JobCtx<C>) -> Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>> + Send + Sync;

/// The handlers workers run, by job kind, the recurring jobs they enqueue, and the context
/// every handler is given.
#[derive(Clone)]
pub struct Registry<C = ()> {
    context: C,
    handlers: HashMap<String, Arc<HandlerFn<C>>>,
    schedules: Vec<Schedule>,
}

/// A job enqueued once per period, by whichever process gets there first.
#[derive(Clone, Debug)]
pub struct Schedule {
    pub name: String,
    pub period: std::time::Duration,
    pub job: NewJob,
}

/// A registry whose handlers need nothing but the database (the queue's own tests and probes).
impl Default for Registry<()> {
    fn default() -> Self {
        Registry::new(())
    }
}

impl<C: Clone + Send + Sync + 'static> Registry<C> {
    /// No handlers yet; each will be given `context`.
    pub fn new(context: C) -> Self {
        Registry {
            context,
            handlers: HashMap::new(),
            schedules: Vec::new(),
        }
    }

    pub fn register<F, Fut>(mut self, kind: &str, handler: F) -> Self
    where
        F: Fn(JobCtx<C>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), JobError>> + Send + 'static,
    {
        self.handlers.insert(
            kind.to_string(),
            Arc::new(move |ctx| Box::pin(handler(ctx))),
        );
        self
    }

    /// Enqueues `job` every `period` (sweeps, reconciliation): once per period across every
    /// process sharing the database.
    pub fn every(mut self, name: &str, period: std::time::Duration, job: NewJob) -> Self {
        self.schedules.push(Schedule {
            name: name.to_string(),
            period,
            job,
        });
        self
    }

    fn get(&self, kind: &str) -> Option<Arc<HandlerFn<C>>> {
        self.handlers.get(kind).cloned()
    }
}

/// Enqueues and wakes. Cheap to clone; share one per process.
#[derive(Clone, Debug)]
pub struct Queue {
    db: Db,
    wake: Arc<Notify>,
}

impl Queue {
    pub fn new(db: Db) -> Queue {
        Queue {
            db,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Adds a job inside the caller's transaction (see `queue::enqueue`). Call `wake` after the
    /// commit so this process's workers start it at once.
    pub async fn enqueue(
        &self,
        conn: &mut AnyConnection,
        job: &NewJob,
    ) -> Result<Option<String>, sqlx::Error> {
        queue::enqueue(conn, job).await
    }

    /// Enqueues in a transaction of its own and wakes the workers.
    pub async fn push(&self, job: &NewJob) -> Result<Option<String>, sqlx::Error> {
        let mut tx = self.db.begin().await?;
        let id = self.enqueue(&mut tx, job).await?;
        tx.commit().await?;
        self.wake();
        Ok(id)
    }

    pub fn wake(&self) {
        self.wake.notify_waiters();
    }

    fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }
}
