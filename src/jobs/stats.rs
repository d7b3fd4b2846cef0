//! What the queue is doing: per account for the Operations page, and for the whole instance
//! in Prometheus' text format at `/metrics`.

use sqlx::Row;

use super::queue::now_ms;
use crate::{
    db::Db,
    domain::operations::{JobSummary, KindCounts, QueueStats},
};

const RECENT_MS: i64 = 60_000;

/// The queue as one account sees it: its own jobs only.
pub async fn account_stats(db: &Db, account_id: &str) -> Result<QueueStats, sqlx::Error> {
    let now = now_ms();
    let rows = sqlx::query(
        "SELECT kind, \
           SUM(CASE WHEN status = 'queued' THEN 1 ELSE 0 END) AS queued, \
           SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END) AS running, \
           SUM(CASE WHEN status = 'dead' THEN 1 ELSE 0 END) AS dead, \
           SUM(CASE WHEN status = 'done' AND finished_ms >= $2 THEN 1 ELSE 0 END) AS done_recently \
         FROM jobs WHERE account_id = $1 GROUP BY kind ORDER BY kind",
    )
    .bind(account_id)
    .bind(now - RECENT_MS)
    .fetch_all(db.pool())
    .await?;
    let by_kind = rows
        .iter()
        .map(|r| {
            Ok(KindCounts {
                kind: r.try_get("kind")?,
                queued: r.try_get("queued")?,
                running: r.try_get("running")?,
                dead: r.try_get("dead")?,
                done_last_minute: r.try_get("done_recently")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let oldest: Option<i64> = sqlx::query_scalar("SELECT MIN(run_at_ms) FROM jobs WHERE account_id = $1 AND status = 'queued' AND run_at_ms <= $2")
        .bind(account_id)
        .bind(now)
        .fetch_one(db.pool())
        .await?;
    let list = |status: &'static str| {
        sqlx::query(
            "SELECT id, kind, attempts, max_attempts, last_error, COALESCE(finished_ms, started_ms, created_ms) AS at FROM jobs \
             WHERE account_id = $1 AND status = $2 AND last_error IS NOT NULL ORDER BY at DESC LIMIT 50",
        )
        .bind(account_id)
        .bind(status)
    };
    let summarize = |rows: Vec<sqlx::any::AnyRow>| {
        rows.iter()
            .map(|r| {
                Ok(JobSummary {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    attempts: r.try_get("attempts")?,
                    max_attempts: r.try_get("max_attempts")?,
                    error: r
                        .try_get::<Option<String>, _>("last_error")?
                        .unwrap_or_default(),
                    at_ms: r.try_get("at")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
    };
    Ok(QueueStats {
        by_kind,
        oldest_waiting_ms: oldest.map(|o| now - o),
        failing: summarize(list("queued").fetch_all(db.pool()).await?)?,
        dead: summarize(list("dead").fetch_all(db.pool()).await?)?,
    })
}

/// Puts one of the account's dead jobs back in the queue. False if there is no such dead job.
pub async fn retry_dead(db: &Db, account_id: &str, id: &str) -> Result<bool, sqlx::Error> {
    super::queue::revive(db, id, Some(account_id)).await
}

/// The whole instance's queue in Prometheus' text format.
pub async fn prometheus(db: &Db) -> Result<String, sqlx::Error> {
    let now = now_ms();
    let rows = sqlx::query(
        "SELECT kind, status, COUNT(*) AS n FROM jobs GROUP BY kind, status ORDER BY kind, status",
    )
    .fetch_all(db.pool())
    .await?;
    let mut out =
        String::from("# HELP refloop_jobs Jobs by kind and status.\n# TYPE refloop_jobs gauge\n");
    for r in &rows {
        let (kind, status, n): (String, String, i64) =
            (r.try_get("kind")?, r.try_get("status")?, r.try_get("n")?);
        out.push_str(&format!(
            "refloop_jobs{{kind=\"{kind}\",status=\"{status}\"}} {n}\n"
        ));
    }
    let oldest: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(run_at_ms) FROM jobs WHERE status = 'queued' AND run_at_ms <= $1",
    )
    .bind(now)
    .fetch_one(db.pool())
    .await?;
    out.push_str("# HELP refloop_jobs_oldest_waiting_seconds Age of the oldest job waiting to start.\n# TYPE refloop_jobs_oldest_waiting_seconds gauge\n");
    out.push_str(&format!(
        "refloop_jobs_oldest_waiting_seconds {:.3}\n",
        oldest.map_or(0.0, |o| (now - o) as f64 / 1000.0)
    ));
    let done: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status = 'done' AND finished_ms >= $1")
            .bind(now - RECENT_MS)
            .fetch_one(db.pool())
            .await?;
    out.push_str("# HELP refloop_jobs_done_last_minute Jobs finished in the last 60 seconds.\n# TYPE refloop_jobs_done_last_minute gauge\n");
    out.push_str(&format!("refloop_jobs_done_last_minute {done}\n"));
    Ok(out)
}
