//! Nothing grows forever: a recurring job deletes what has served its purpose (finished jobs
//! after the retention period, expired sessions and password-reset links, old throttling
//! counters, join attempts, referral-click marks, where people joined from once their
//! campaign's qualification window has passed, the sandbox's and the API's expired idempotency
//! replies), a batch at a time so that no statement holds the database for long.

use std::time::Duration;

use serde_json::json;

use crate::{
    db::{unix_now, Db},
    jobs::{queue::now_ms, JobCtx, JobError, NewJob, Registry},
};

pub const PRUNE: &str = "housekeeping.prune";
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// Rows one statement deletes.
const BATCH: i64 = 5_000;
/// Counters and marks that only matter for a day (throttles, join attempts, clicks).
const A_DAY_SECS: i64 = 86_400;

/// Registers the prune job, run every hour, keeping finished jobs `retention_days`.
pub fn register<C: Clone + Send + Sync + 'static>(
    registry: Registry<C>,
    retention_days: u64,
) -> Registry<C> {
    registry.register(PRUNE, run_prune).every(
        PRUNE,
        PRUNE_EVERY,
        NewJob::new(PRUNE, json!({ "retention_days": retention_days }))
            .dedupe(PRUNE)
            .max_attempts(3),
    )
}

/// What one prune deleted, by table.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pruned {
    pub jobs: u64,
    pub sessions: u64,
    pub throttles: u64,
    pub join_attempts: u64,
    pub clicks: u64,
    pub password_resets: u64,
    pub sandbox_idempotency: u64,
    pub sightings: u64,
    pub api_idempotency: u64,
}

async fn run_prune<C>(ctx: JobCtx<C>) -> Result<(), JobError> {
    let days = ctx.job.payload["retention_days"].as_u64().unwrap_or(14);
    let pruned = prune(&ctx.db, days).await?;
    tracing::info!(?pruned, "housekeeping: pruned");
    let mut conn = ctx.db.pool().acquire().await?;
    ctx.complete_in(&mut conn).await
}

/// Deletes, in batches, everything older than it needs to be; finished jobs after
/// `retention_days` (jobs still queued or running are never touched).
pub async fn prune(db: &Db, retention_days: u64) -> Result<Pruned, sqlx::Error> {
    let now = unix_now();
    let jobs_before = now_ms() - retention_days as i64 * A_DAY_SECS * 1000;
    Ok(Pruned {
        jobs: in_batches(
            db,
            "jobs",
            "id",
            "status IN ('done', 'dead') AND finished_ms < $1",
            jobs_before,
        )
        .await?,
        sessions: in_batches(db, "sessions", "token_hash", "expires_at < $1", now).await?,
        throttles: in_batches(
            db,
            "throttles",
            "key",
            "window_start < $1",
            now - A_DAY_SECS,
        )
        .await?,
        join_attempts: in_batches(db, "join_attempts", "id", "at < $1", now - A_DAY_SECS).await?,
        clicks: in_batches(
            db,
            "referral_clicks",
            "visitor",
            "day < $1",
            now / A_DAY_SECS - 1,
        )
        .await?,
        password_resets: in_batches(db, "password_resets", "token_hash", "expires_at < $1", now)
            .await?,
        sandbox_idempotency: in_batches(
            db,
            "sandbox_idempotency",
            "key",
            "created < $1",
            now - A_DAY_SECS,
        )
        .await?,
        sightings: in_batches(
            db,
            "join_sightings",
            "participant_id",
            "keep_until < $1",
            now,
        )
        .await?,
        api_idempotency: in_batches(
            db,
            "api_idempotency",
            "idempotency_key",
            "created_at < $1",
            now - A_DAY_SECS,
        )
        .await?,
    })
}

/// `DELETE FROM table WHERE condition` (with `$1` = `bound`), about `BATCH` rows a statement
/// (`key` picks the batch; the condition is checked again, so a key that is not unique never
/// takes a row that is still needed).
async fn in_batches(
    db: &Db,
    table: &str,
    key: &str,
    condition: &str,
    bound: i64,
) -> Result<u64, sqlx::Error> {
    let sql = format!(
        "DELETE FROM {table} WHERE {condition} AND {key} IN \
         (SELECT {key} FROM {table} WHERE {condition} LIMIT {BATCH})"
    );
    let mut total = 0;
    loop {
        let done = sqlx::query(&sql).bind(bound).execute(db.pool()).await?;
        total += done.rows_affected();
        if done.rows_affected() == 0 {
            return Ok(total);
        }
    }
}
