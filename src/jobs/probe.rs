//! Probe jobs: they do nothing but record, in the same transaction that completes them, that
//! they ran. Operators use them to measure the queue end to end; the tests use them to prove
//! that a job's effect happens exactly once, whatever crashes in between.

use serde_json::json;

use super::{queue::now_ms, JobCtx, JobError, NewJob, Registry};

pub const KIND: &str = "queue.probe";

/// A probe that takes `work_ms` to run.
pub fn new(tag: &str, work_ms: u64) -> NewJob {
    NewJob::new(
        KIND,
        json!({ "tag": tag, "work_ms": work_ms, "enqueued_ms": now_ms() }),
    )
}

pub fn register<C: Clone + Send + Sync + 'static>(registry: Registry<C>) -> Registry<C> {
    registry.register(KIND, run)
}

async fn run<C>(ctx: JobCtx<C>) -> Result<(), JobError> {
    let work_ms = ctx.job.payload["work_ms"].as_u64().unwrap_or(0);
    if work_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(work_ms)).await;
    }
    let mut tx = ctx.db.begin().await?;
    sqlx::query(
        "INSERT INTO job_probes (job_id, tag, enqueued_ms, finished_ms) VALUES ($1, $2, $3, $4)",
    )
    .bind(&ctx.job.id)
    .bind(ctx.job.payload["tag"].as_str().unwrap_or_default())
    .bind(ctx.job.payload["enqueued_ms"].as_i64().unwrap_or_default())
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    ctx.complete_in(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}
