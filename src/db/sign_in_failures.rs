//! Failed sign-ins, counted per email and per address to slow down guessing.

use sqlx::{Any, Executor};

pub async fn record<'c>(
    ex: impl Executor<'c, Database = Any>,
    email: &str,
    ip: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO sign_in_failures (id, email, ip, created_at) VALUES ($1, $2, $3, $4)")
        .bind(super::new_id("sif"))
        .bind(email)
        .bind(ip)
        .bind(now)
        .execute(ex)
        .await?;
    Ok(())
}

/// Failures since `since` for this email and for this address.
pub async fn counts<'c>(
    ex: impl Executor<'c, Database = Any>,
    email: &str,
    ip: &str,
    since: i64,
) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT \
           COALESCE(SUM(CASE WHEN email = $1 THEN 1 ELSE 0 END), 0), \
           COALESCE(SUM(CASE WHEN ip = $2 THEN 1 ELSE 0 END), 0) \
         FROM sign_in_failures WHERE created_at >= $3 AND (email = $1 OR ip = $2)",
    )
    .bind(email)
    .bind(ip)
    .bind(since)
    .fetch_one(ex)
    .await
}

/// Forgets an email's failures after it signs in.
pub async fn clear<'c>(
    ex: impl Executor<'c, Database = Any>,
    email: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sign_in_failures WHERE email = $1")
        .bind(email)
        .execute(ex)
        .await?;
    Ok(())
}
