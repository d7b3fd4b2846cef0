//! Throttling counters: one per key (`signin-email:…`, `signin-ip:…`, `signup-ip:…`) and fixed
//! window, bumped atomically before the work they guard, so that attempts made at the same
//! moment cannot all pass a check that none of them had counted yet.

use sqlx::{Any, Executor};

/// Counts one more attempt under `key`, in a window of `window_secs` from the first attempt
/// in it: the count, this attempt included.
pub async fn bump<'c>(
    ex: impl Executor<'c, Database = Any>,
    key: &str,
    now: i64,
    window_secs: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO throttles (key, window_start, count) VALUES ($1, $2, 1) \
         ON CONFLICT (key) DO UPDATE SET \
           count = CASE WHEN throttles.window_start < $3 THEN 1 ELSE throttles.count + 1 END, \
           window_start = CASE WHEN throttles.window_start < $3 THEN $2 ELSE throttles.window_start END \
         RETURNING count",
    )
    .bind(key)
    .bind(now)
    .bind(now - window_secs)
    .fetch_one(ex)
    .await
}

/// Takes back one attempt that turned out well (a right password from a busy office).
pub async fn take_back<'c>(
    ex: impl Executor<'c, Database = Any>,
    key: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE throttles SET count = count - 1 WHERE key = $1 AND count > 0")
        .bind(key)
        .execute(ex)
        .await?;
    Ok(())
}

/// Forgets every attempt under `key` (an email that signed in).
pub async fn clear<'c>(
    ex: impl Executor<'c, Database = Any>,
    key: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM throttles WHERE key = $1")
        .bind(key)
        .execute(ex)
        .await?;
    Ok(())
}
