//! Settings kept as one JSON document per campaign (qualification, rewards), in tables of the
//! shape `(campaign_id PRIMARY KEY, account_id, settings, updated_at)`.

use serde::{de::DeserializeOwned, Serialize};
use sqlx::{Any, Executor};

/// The campaign's document in `table`, if saved (and still readable).
pub(crate) async fn load<'c, T: DeserializeOwned>(
    ex: impl Executor<'c, Database = Any>,
    table: &'static str,
    account_id: &str,
    campaign_id: &str,
) -> Result<Option<T>, sqlx::Error> {
    let text: Option<String> = sqlx::query_scalar(&format!(
        "SELECT settings FROM {table} WHERE account_id = $1 AND campaign_id = $2"
    ))
    .bind(account_id)
    .bind(campaign_id)
    .fetch_optional(ex)
    .await?;
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
}

pub(crate) async fn save<'c, T: Serialize>(
    ex: impl Executor<'c, Database = Any>,
    table: &'static str,
    account_id: &str,
    campaign_id: &str,
    value: &T,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO {table} (campaign_id, account_id, settings, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (campaign_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at"
    ))
    .bind(campaign_id)
    .bind(account_id)
    .bind(serde_json::to_string(value).expect("settings serialize"))
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}
