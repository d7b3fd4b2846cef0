//! The queue's storage operations. Claiming takes a lease with a fencing token; every later
//! step on the job names that token, so a worker whose lease expired (and whose job another
//! worker took over) can no longer finish, fail or extend it.

use rand::Rng;
use serde_json::Value;
use sqlx::{any::AnyRow, AnyConnection, FromRow, Row};

use crate::db::{new_id, Backend, Db};

/// Milliseconds since the Unix epoch: the queue's clock.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub payload: Value,
    pub account_id: Option<String>,
    pub run_at_ms: Option<i64>,
    pub dedupe_key: Option<String>,
    pub max_attempts: i64,
}

impl NewJob {
    pub fn new(kind: &str, payload: Value) -> NewJob {
        NewJob {
            kind: kind.to_string(),
            payload,
            account_id: None,
            run_at_ms: None,
            dedupe_key: None,
            max_attempts: 10,
        }
    }

    pub fn account(mut self, account_id: &str) -> Self {
        self.account_id = Some(account_id.to_string());
        self
    }

    /// Not before this time.
    pub fn at(mut self, run_at_ms: i64) -> Self {
        self.run_at_ms = Some(run_at_ms);
        self
    }

    /// At most one waiting or running job with this key.
    pub fn dedupe(mut self, key: impl Into<String>) -> Self {
        self.dedupe_key = Some(key.into());
        self
    }

    pub fn max_attempts(mut self, n: i64) -> Self {
        self.max_attempts = n.max(1);
        self
    }
}

/// Adds a job inside the caller's transaction, so it exists if and only if the change that
/// causes it is committed. Returns its id, or `None` when a job with the same dedupe key is
/// already waiting or running. On PostgreSQL the commit also wakes other processes' workers.
pub async fn enqueue(
    conn: &mut AnyConnection,
    job: &NewJob,
) -> Result<Option<String>, sqlx::Error> {
    let id = new_id("job");
    let now = now_ms();
    let done = sqlx::query(
        "INSERT INTO jobs (id, kind, payload, account_id, status, attempts, max_attempts, run_at_ms, dedupe_key, created_ms) \
         VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
    )
    .bind(&id)
    .bind(&job.kind)
    .bind(job.payload.to_string())
    .bind(&job.account_id)
    .bind(job.max_attempts)
    .bind(job.run_at_ms.unwrap_or(now))
    .bind(&job.dedupe_key)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(None);
    }
    if Backend::of(conn) == Backend::Postgres {
        sqlx::query("SELECT pg_notify('refloop_jobs', $1)")
            .bind(&job.kind)
            .execute(&mut *conn)
            .await?;
    }
    Ok(Some(id))
}

/// A job a worker holds, with the token that proves it still does.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: String,
    pub kind: String,
    pub payload: Value,
    pub account_id: Option<String>,
    pub attempts: i64,
    pub max_attempts: i64,
    pub token: String,
}

impl FromRow<'_, AnyRow> for Claimed {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Claimed {
            id: row.try_get("id")?,
            kind: row.try_get("kind")?,
            payload: serde_json::from_str(&row.try_get::<String, _>("payload")?)
                .unwrap_or(Value::Null),
            account_id: row.try_get("account_id")?,
            attempts: row.try_get("attempts")?,
            max_attempts: row.try_get("max_attempts")?,
            token: row.try_get("lease_token")?,
        })
    }
}

/// Takes up to `limit` due jobs (or jobs whose lease expired with attempts left) for `owner`,
/// for `lease_ms`. One statement: on PostgreSQL concurrent claimers skip each other's rows
/// (`FOR UPDATE SKIP LOCKED`); SQLite runs it as one atomic write.
pub async fn claim(
    db: &Db,
    owner: &str,
    lease_ms: i64,
    limit: i64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let now = now_ms();
    let token: String = format!("{:016x}-", rand::thread_rng().gen::<u64>());
    let lock = match db.backend() {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE jobs SET status = 'running', lease_owner = $1, lease_token = $2 || id, lease_until_ms = $3, \
         attempts = attempts + 1, started_ms = $4 \
         WHERE id IN (SELECT id FROM jobs WHERE (status = 'queued' AND run_at_ms <= $4) \
                      OR (status = 'running' AND lease_until_ms < $4 AND attempts < max_attempts) \
                      ORDER BY run_at_ms LIMIT $5{lock}) \
         RETURNING id, kind, payload, account_id, attempts, max_attempts, lease_token"
    );
    sqlx::query_as(&sql)
        .bind(owner)
        .bind(token)
        .bind(now + lease_ms)
        .bind(now)
        .bind(limit)
        .fetch_all(db.pool())
        .await
}

/// Marks dead every job whose lease ran out with its attempts used up (its handler kept
/// stopping the worker, say): `claim` never takes them again, and this says so. Workers call it
/// once a second, not on every claim, sparing the database a write per claim.
pub async fn bury_abandoned(db: &Db) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE jobs SET status = 'dead', finished_ms = $1, lease_owner = NULL, lease_until_ms = NULL, \
         last_error = 'The worker running it stopped before it finished, on every attempt.' \
         WHERE status = 'running' AND lease_until_ms < $1 AND attempts >= max_attempts",
    )
    .bind(now_ms())
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected())
}

/// Marks the job done, in the caller's transaction when the job's effect is written there too
/// (then the effect and the completion commit together, or neither does). False: the lease
/// was lost, and the caller must roll back.
pub async fn complete(conn: &mut AnyConnection, job: &Claimed) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE jobs SET status = 'done', finished_ms = $1, lease_owner = NULL, lease_until_ms = NULL, last_error = NULL \
         WHERE id = $2 AND lease_token = $3 AND status = 'running'",
    )
    .bind(now_ms())
    .bind(&job.id)
    .bind(&job.token)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks done, in the caller's transaction, the job with this dedupe key that is waiting to
/// run: its work was done another way. A job already running is left to finish (and find
/// nothing to do). True when there was one.
pub async fn complete_waiting(
    conn: &mut AnyConnection,
    dedupe_key: &str,
) -> Result<bool, sqlx::Error> {
    // The partial index's own condition spelled out, so that SQLite uses it.
    let done = sqlx::query(
        "UPDATE jobs SET status = 'done', finished_ms = $1 \
         WHERE dedupe_key = $2 AND status IN ('queued', 'running') AND status = 'queued'",
    )
    .bind(now_ms())
    .bind(dedupe_key)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a failure: again after `retry_in_ms`, or dead when out of attempts or `permanent`.
pub async fn fail(
    db: &Db,
    job: &Claimed,
    error: &str,
    permanent: bool,
    retry_in_ms: i64,
) -> Result<bool, sqlx::Error> {
    let dead = permanent || job.attempts >= job.max_attempts;
    let done = sqlx::query(
        "UPDATE jobs SET status = $1, run_at_ms = $2, last_error = $3, finished_ms = $4, lease_owner = NULL, lease_until_ms = NULL \
         WHERE id = $5 AND lease_token = $6 AND status = 'running'",
    )
    .bind(if dead { "dead" } else { "queued" })
    .bind(now_ms() + retry_in_ms)
    .bind(error)
    .bind(if dead { Some(now_ms()) } else { None })
    .bind(&job.id)
    .bind(&job.token)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Extends a lease still held. False: it was lost.
pub async fn extend(db: &Db, job: &Claimed, lease_ms: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE jobs SET lease_until_ms = $1 WHERE id = $2 AND lease_token = $3 AND status = 'running'")
        .bind(now_ms() + lease_ms)
        .bind(&job.id)
        .bind(&job.token)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives a job back untouched (shutdown, or "not now"): queued again after `delay_ms`, the
/// attempt not counted.
pub async fn release(db: &Db, job: &Claimed, delay_ms: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE jobs SET status = 'queued', attempts = attempts - 1, lease_owner = NULL, lease_until_ms = NULL, run_at_ms = $3 \
         WHERE id = $1 AND lease_token = $2 AND status = 'running'",
    )
    .bind(&job.id)
    .bind(&job.token)
    .bind(now_ms() + delay_ms)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Puts a dead job back in the queue with fresh attempts.
pub async fn retry_dead(db: &Db, id: &str) -> Result<bool, sqlx::Error> {
    revive(db, id, None).await
}

/// Puts a dead job back, only if it belongs to `account_id` (`None`: any job).
pub(super) async fn revive(
    db: &Db,
    id: &str,
    account_id: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE jobs SET status = 'queued', attempts = 0, run_at_ms = $1, finished_ms = NULL \
         WHERE id = $2 AND status = 'dead' AND ($3 = '' OR account_id = $3)",
    )
    .bind(now_ms())
    .bind(id)
    .bind(account_id.unwrap_or_default())
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Exponential backoff with jitter: `base · 2^(attempt-1)`, capped at an hour, ±20%.
pub fn backoff_ms(base_ms: i64, attempt: i64) -> i64 {
    let exp = base_ms
        .saturating_mul(1i64 << (attempt - 1).clamp(0, 30))
        .min(3_600_000);
    (exp as f64 * rand::thread_rng().gen_range(0.8..=1.2)) as i64
}

/// Claims the right to enqueue a recurring job for the period that is due: of several
/// processes racing, exactly one wins each period. Returns whether this caller won.
pub async fn take_schedule_slot(db: &Db, name: &str, period_ms: i64) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO job_schedules (name, next_run_ms) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(name)
    .bind(now)
    .execute(db.pool())
    .await?;
    let next: i64 = sqlx::query_scalar("SELECT next_run_ms FROM job_schedules WHERE name = $1")
        .bind(name)
        .fetch_one(db.pool())
        .await?;
    if next > now {
        return Ok(false);
    }
    let won = sqlx::query(
        "UPDATE job_schedules SET next_run_ms = $1 WHERE name = $2 AND next_run_ms = $3",
    )
    .bind(now + period_ms)
    .bind(name)
    .bind(next)
    .execute(db.pool())
    .await?;
    Ok(won.rows_affected() == 1)
}
