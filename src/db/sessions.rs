//! Sessions, stored by the hash of their token.

use sqlx::{Any, Executor};

use super::accounts::UserRow;

pub async fn insert<'c>(
    ex: impl Executor<'c, Database = Any>,
    token_hash: &str,
    user_id: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(now)
    .bind(expires_at)
    .execute(ex)
    .await?;
    Ok(())
}

/// The user a live session belongs to.
pub async fn user<'c>(
    ex: impl Executor<'c, Database = Any>,
    token_hash: &str,
    now: i64,
) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT u.id, u.account_id, u.email, u.name, u.password_hash, u.role, u.overrides, u.created_at \
         FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(ex)
    .await
}

pub async fn delete<'c>(
    ex: impl Executor<'c, Database = Any>,
    token_hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(ex)
        .await?;
    Ok(())
}

/// Ends every session of a user but `keep` (a hash), if given: "sign out everywhere", and
/// after a password change.
pub async fn delete_for_user<'c>(
    ex: impl Executor<'c, Database = Any>,
    user_id: &str,
    keep: Option<&str>,
) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> COALESCE($2, '')")
            .bind(user_id)
            .bind(keep)
            .execute(ex)
            .await?
            .rows_affected(),
    )
}

pub async fn delete_expired<'c>(
    ex: impl Executor<'c, Database = Any>,
    now: i64,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(ex)
        .await?
        .rows_affected())
}
