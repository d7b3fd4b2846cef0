//! Instance-wide settings: small named values this Refloop installation keeps about itself
//! (its id, watermarks of background work, first-run facts). Not per account.

use sqlx::Row;

use super::{unix_now, Db};

/// The value stored under `key`, if any.
pub async fn get(db: &Db, key: &str) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query("SELECT value FROM instance_settings WHERE key = $1")
        .bind(key)
        .fetch_optional(db.pool())
        .await?;
    row.map(|r| r.try_get("value")).transpose()
}

/// Stores `value` under `key`, replacing what was there.
pub async fn set(db: &Db, key: &str, value: &str) -> Result<(), sqlx::Error> {
    set_in(&mut *db.pool().acquire().await?, key, value).await
}

/// As `set`, inside the caller's transaction.
pub async fn set_in(
    conn: &mut sqlx::AnyConnection,
    key: &str,
    value: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO instance_settings (key, value, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(key)
    .bind(value)
    .bind(unix_now())
    .execute(conn)
    .await?;
    Ok(())
}

/// The value under `key`; stores `value` first if there is none. When several processes race,
/// all of them get the value the first one stored.
pub async fn get_or_insert(db: &Db, key: &str, value: &str) -> Result<String, sqlx::Error> {
    sqlx::query(
        "INSERT INTO instance_settings (key, value, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (key) DO NOTHING",
    )
    .bind(key)
    .bind(value)
    .bind(unix_now())
    .execute(db.pool())
    .await?;
    Ok(get(db, key).await?.unwrap_or_else(|| value.to_string()))
}
