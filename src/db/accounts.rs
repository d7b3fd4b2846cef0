//! Accounts and the people in them. Every lookup but sign-in's (which knows only an email) is
//! scoped to an account.

use sqlx::{any::AnyRow, Any, Executor, FromRow, Row};

use crate::domain::permissions::{Overrides, Role};

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: String,
    pub account_id: String,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub role: Role,
    pub overrides: Overrides,
    pub created_at: i64,
}

impl FromRow<'_, AnyRow> for UserRow {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let role: String = row.try_get("role")?;
        Ok(UserRow {
            id: row.try_get("id")?,
            account_id: row.try_get("account_id")?,
            email: row.try_get("email")?,
            name: row.try_get("name")?,
            password_hash: row.try_get("password_hash")?,
            role: Role::from_key(&role).ok_or_else(|| sqlx::Error::ColumnDecode {
                index: "role".into(),
                source: format!("unknown role {role}").into(),
            })?,
            overrides: Overrides::decode(&row.try_get::<String, _>("overrides")?),
            created_at: row.try_get("created_at")?,
        })
    }
}

const USER_COLUMNS: &str =
    "id, account_id, email, name, password_hash, role, overrides, created_at";

pub async fn insert_account<'c>(
    ex: impl Executor<'c, Database = Any>,
    id: &str,
    name: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(name)
        .bind(now)
        .execute(ex)
        .await?;
    Ok(())
}

pub async fn account_name<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT name FROM accounts WHERE id = $1")
        .bind(account_id)
        .fetch_optional(ex)
        .await
}

pub async fn insert_user<'c>(
    ex: impl Executor<'c, Database = Any>,
    user: &UserRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO users (id, account_id, email, name, password_hash, role, overrides, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&user.id)
    .bind(&user.account_id)
    .bind(&user.email)
    .bind(&user.name)
    .bind(&user.password_hash)
    .bind(user.role.key())
    .bind(user.overrides.encode())
    .bind(user.created_at)
    .execute(ex)
    .await?;
    Ok(())
}

/// The user with this (normalised) email, in whatever account: only sign-in and sign-up ask.
pub async fn user_by_email<'c>(
    ex: impl Executor<'c, Database = Any>,
    email: &str,
) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE email = $1"
    ))
    .bind(email)
    .fetch_optional(ex)
    .await
}

pub async fn user_in_account<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    user_id: &str,
) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE id = $1 AND account_id = $2"
    ))
    .bind(user_id)
    .bind(account_id)
    .fetch_optional(ex)
    .await
}

/// A user by id, in whatever account (a password-reset link names only its user).
pub async fn user_by_id<'c>(
    ex: impl Executor<'c, Database = Any>,
    user_id: &str,
) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
        .bind(user_id)
        .fetch_optional(ex)
        .await
}

pub async fn update_password<'c>(
    ex: impl Executor<'c, Database = Any>,
    user_id: &str,
    password_hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(password_hash)
        .bind(user_id)
        .execute(ex)
        .await?;
    Ok(())
}

/// Everyone in the account, owners first, then by name.
pub async fn users_in_account<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
) -> Result<Vec<UserRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE account_id = $1 \
         ORDER BY CASE role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 WHEN 'manager' THEN 2 ELSE 3 END, \
         name, email"
    ))
    .bind(account_id)
    .fetch_all(ex)
    .await
}

/// Serialises the account's admissions until the transaction ends: the participant limit and
/// each referrer's cap are read under it, so that people joining at the same moment cannot all
/// take the last place. (A row lock on PostgreSQL; SQLite's transactions already run one at a
/// time.)
pub async fn lock_admissions<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE accounts SET id = id WHERE id = $1")
        .bind(account_id)
        .execute(ex)
        .await?;
    Ok(())
}

/// How many accounts this Refloop holds (the sign-up policy asks).
pub async fn count_accounts<'c>(ex: impl Executor<'c, Database = Any>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
        .fetch_one(ex)
        .await
}

pub async fn count_owners<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE account_id = $1 AND role = 'owner'")
        .bind(account_id)
        .fetch_one(ex)
        .await
}

pub async fn update_role<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    user_id: &str,
    role: Role,
    overrides: &Overrides,
) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE users SET role = $1, overrides = $2 WHERE id = $3 AND account_id = $4")
            .bind(role.key())
            .bind(overrides.encode())
            .bind(user_id)
            .bind(account_id)
            .execute(ex)
            .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete_user<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    user_id: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM users WHERE id = $1 AND account_id = $2")
        .bind(user_id)
        .bind(account_id)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether an error is a unique-constraint violation (a duplicate), on either backend.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            db.is_unique_violation()
                || db.message().contains("UNIQUE constraint failed")
                || db.code().as_deref() == Some("23505")
        }
        _ => false,
    }
}
