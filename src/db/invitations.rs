//! Single-use invitations to join an account, stored by the hash of their token.

use sqlx::{any::AnyRow, Any, Executor, FromRow, Row};

use crate::domain::permissions::Role;

#[derive(Debug, Clone)]
pub struct InvitationRow {
    pub id: String,
    pub account_id: String,
    pub email: String,
    pub role: Role,
    pub invited_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl FromRow<'_, AnyRow> for InvitationRow {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let role: String = row.try_get("role")?;
        Ok(InvitationRow {
            id: row.try_get("id")?,
            account_id: row.try_get("account_id")?,
            email: row.try_get("email")?,
            role: Role::from_key(&role).unwrap_or(Role::Viewer),
            invited_by: row.try_get("invited_by")?,
            created_at: row.try_get("created_at")?,
            expires_at: row.try_get("expires_at")?,
            accepted_at: row.try_get("accepted_at")?,
            revoked_at: row.try_get("revoked_at")?,
        })
    }
}

const COLUMNS: &str =
    "id, account_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at";

pub async fn insert<'c>(
    ex: impl Executor<'c, Database = Any>,
    inv: &InvitationRow,
    token_hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO invitations (id, account_id, email, role, token_hash, invited_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&inv.id)
    .bind(&inv.account_id)
    .bind(&inv.email)
    .bind(inv.role.key())
    .bind(token_hash)
    .bind(&inv.invited_by)
    .bind(inv.created_at)
    .bind(inv.expires_at)
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn by_token<'c>(
    ex: impl Executor<'c, Database = Any>,
    token_hash: &str,
) -> Result<Option<InvitationRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM invitations WHERE token_hash = $1"
    ))
    .bind(token_hash)
    .fetch_optional(ex)
    .await
}

/// Invitations that can still be accepted, newest first.
pub async fn pending<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    now: i64,
) -> Result<Vec<InvitationRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM invitations WHERE account_id = $1 AND accepted_at IS NULL \
         AND revoked_at IS NULL AND expires_at > $2 ORDER BY created_at DESC, id DESC"
    ))
    .bind(account_id)
    .bind(now)
    .fetch_all(ex)
    .await
}

/// Revokes one pending invitation; false if there was none with that id in the account.
pub async fn revoke<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE invitations SET revoked_at = $1 WHERE id = $2 AND account_id = $3 \
         AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .bind(account_id)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Revokes every pending invitation for an email in the account (a new one replaces them).
pub async fn revoke_for_email<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    email: &str,
    now: i64,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE invitations SET revoked_at = $1 WHERE account_id = $2 AND email = $3 \
         AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(account_id)
    .bind(email)
    .execute(ex)
    .await?
    .rows_affected())
}

/// Marks the invitation used, only if it still can be: of two racing acceptances one wins.
pub async fn claim<'c>(
    ex: impl Executor<'c, Database = Any>,
    token_hash: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE invitations SET accepted_at = $1 WHERE token_hash = $2 \
         AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(token_hash)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}
