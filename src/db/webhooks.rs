//! The merchant's outbound webhook endpoints and the messages sent to them. Every statement is
//! scoped to the account, except the delivery job's reads by id (its payload names them).

use sqlx::{any::AnyRow, Any, Executor, FromRow, Row};

use crate::domain::webhooks::{DeliveryStatus, WebhookDelivery, WebhookEvent};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointRow {
    pub id: String,
    pub account_id: String,
    pub url: String,
    pub events: Vec<WebhookEvent>,
    pub sealed_secret: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub created_by: String,
    pub created_at: i64,
}

impl FromRow<'_, AnyRow> for EndpointRow {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let events: String = row.try_get("events")?;
        let keys: Vec<String> = serde_json::from_str(&events).unwrap_or_default();
        let status: String = row.try_get("status")?;
        Ok(EndpointRow {
            id: row.try_get("id")?,
            account_id: row.try_get("account_id")?,
            url: row.try_get("url")?,
            events: keys
                .iter()
                .filter_map(|k| WebhookEvent::from_key(k))
                .collect(),
            sealed_secret: row.try_get("sealed_secret")?,
            enabled: status == "enabled",
            disabled_reason: row.try_get("disabled_reason")?,
            created_by: row.try_get("created_by")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

const ENDPOINT_COLUMNS: &str =
    "id, account_id, url, events, sealed_secret, status, disabled_reason, created_by, created_at";

pub async fn insert_endpoint<'c>(
    ex: impl Executor<'c, Database = Any>,
    e: &EndpointRow,
) -> Result<(), sqlx::Error> {
    let events: Vec<&str> = e.events.iter().map(|k| k.key()).collect();
    sqlx::query(&format!(
        "INSERT INTO webhook_endpoints ({ENDPOINT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(&e.id)
    .bind(&e.account_id)
    .bind(&e.url)
    .bind(serde_json::to_string(&events).expect("keys serialize"))
    .bind(&e.sealed_secret)
    .bind(if e.enabled { "enabled" } else { "disabled" })
    .bind(&e.disabled_reason)
    .bind(&e.created_by)
    .bind(e.created_at)
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn endpoints<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
) -> Result<Vec<EndpointRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE account_id = $1 ORDER BY created_at, id"
    ))
    .bind(account_id)
    .fetch_all(ex)
    .await
}

pub async fn endpoint<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    id: &str,
) -> Result<Option<EndpointRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE account_id = $1 AND id = $2"
    ))
    .bind(account_id)
    .bind(id)
    .fetch_optional(ex)
    .await
}

/// Enables an endpoint (`reason` None) or disables it with the reason; false when the account
/// has no such endpoint.
pub async fn set_enabled<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    id: &str,
    reason: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE webhook_endpoints SET status = $1, disabled_reason = $2 WHERE account_id = $3 AND id = $4",
    )
    .bind(if reason.is_none() { "enabled" } else { "disabled" })
    .bind(reason)
    .bind(account_id)
    .bind(id)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes an endpoint and its messages; false when the account has no such endpoint.
pub async fn delete_endpoint(
    conn: &mut sqlx::AnyConnection,
    account_id: &str,
    id: &str,
) -> Result<bool, sqlx::Error> {
    sqlx::query("DELETE FROM webhook_deliveries WHERE account_id = $1 AND endpoint_id = $2")
        .bind(account_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query("DELETE FROM webhook_endpoints WHERE account_id = $1 AND id = $2")
        .bind(account_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// A message to one endpoint, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    pub id: String,
    pub account_id: String,
    pub endpoint_id: String,
    pub event: WebhookEvent,
    pub payload: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub response_status: Option<i64>,
    pub response_body: String,
    pub created_at: i64,
    pub last_attempt_at: Option<i64>,
    pub next_attempt_at: Option<i64>,
}

impl DeliveryRow {
    pub fn view(&self) -> WebhookDelivery {
        WebhookDelivery {
            id: self.id.clone(),
            event: self.event,
            status: self.status,
            attempts: self.attempts,
            response_status: self.response_status,
            response_body: self.response_body.clone(),
            created_at: self.created_at,
            last_attempt_at: self.last_attempt_at,
            next_attempt_at: self.next_attempt_at,
        }
    }
}

impl FromRow<'_, AnyRow> for DeliveryRow {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let event: String = row.try_get("event")?;
        let status: String = row.try_get("status")?;
        Ok(DeliveryRow {
            id: row.try_get("id")?,
            account_id: row.try_get("account_id")?,
            endpoint_id: row.try_get("endpoint_id")?,
            event: WebhookEvent::from_key(&event).unwrap_or(WebhookEvent::ParticipantJoined),
            payload: row.try_get("payload")?,
            status: DeliveryStatus::from_key(&status).unwrap_or(DeliveryStatus::Failed),
            attempts: row.try_get("attempts")?,
            response_status: row.try_get("response_status")?,
            response_body: row.try_get("response_body")?,
            created_at: row.try_get("created_at")?,
            last_attempt_at: row.try_get("last_attempt_at")?,
            next_attempt_at: row.try_get("next_attempt_at")?,
        })
    }
}

const DELIVERY_COLUMNS: &str =
    "id, account_id, endpoint_id, event, payload, status, attempts, response_status, \
     response_body, created_at, last_attempt_at, next_attempt_at";

pub async fn insert_delivery<'c>(
    ex: impl Executor<'c, Database = Any>,
    d: &DeliveryRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO webhook_deliveries ({DELIVERY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
    .bind(&d.id)
    .bind(&d.account_id)
    .bind(&d.endpoint_id)
    .bind(d.event.key())
    .bind(&d.payload)
    .bind(d.status.key())
    .bind(d.attempts)
    .bind(d.response_status)
    .bind(&d.response_body)
    .bind(d.created_at)
    .bind(d.last_attempt_at)
    .bind(d.next_attempt_at)
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn delivery<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    id: &str,
) -> Result<Option<DeliveryRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE account_id = $1 AND id = $2"
    ))
    .bind(account_id)
    .bind(id)
    .fetch_optional(ex)
    .await
}

/// Records an attempt's outcome (or a replay's reset), unless the message moved on meanwhile
/// (its attempts are no longer `attempts_before`); true when recorded.
pub async fn record<'c>(
    ex: impl Executor<'c, Database = Any>,
    d: &DeliveryRow,
    attempts_before: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE webhook_deliveries SET status = $1, attempts = $2, response_status = $3, response_body = $4, \
         last_attempt_at = $5, next_attempt_at = $6 WHERE account_id = $7 AND id = $8 AND attempts = $9",
    )
    .bind(d.status.key())
    .bind(d.attempts)
    .bind(d.response_status)
    .bind(&d.response_body)
    .bind(d.last_attempt_at)
    .bind(d.next_attempt_at)
    .bind(&d.account_id)
    .bind(&d.id)
    .bind(attempts_before)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// An endpoint's latest messages, newest first.
pub async fn deliveries_of<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    endpoint_id: &str,
    limit: i64,
) -> Result<Vec<DeliveryRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE account_id = $1 AND endpoint_id = $2 \
         ORDER BY created_at DESC, id DESC LIMIT $3"
    ))
    .bind(account_id)
    .bind(endpoint_id)
    .bind(limit)
    .fetch_all(ex)
    .await
}

/// Whether a message to the endpoint was delivered after `since` (its last success).
pub async fn delivered_since<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    endpoint_id: &str,
    since: i64,
) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM webhook_deliveries WHERE account_id = $1 AND endpoint_id = $2 \
         AND status = 'delivered' AND last_attempt_at >= $3",
    )
    .bind(account_id)
    .bind(endpoint_id)
    .bind(since)
    .fetch_one(ex)
    .await?;
    Ok(n > 0)
}
