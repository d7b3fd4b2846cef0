//! Every value sealed under the instance's secret key (Stripe keys, webhook signing secrets,
//! teammate emails waiting in the queue), read and rewritten inside the caller's transaction:
//! for `refloop admin rotate-secret-key`.

use sqlx::AnyConnection;

/// Where a sealed value lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// `stripe_connections.sealed_key`, by account.
    StripeKey,
    /// `stripe_webhooks.sealed_secret`, by endpoint.
    WebhookSecret,
    /// `webhook_endpoints.sealed_secret`: the merchant's outbound endpoints, by endpoint.
    OutboundSecret,
    /// A queued job's JSON payload whose `text` is sealed, by job.
    JobPayload,
}

/// One row holding a sealed value: its key, and the value (or the whole payload).
#[derive(Debug, Clone)]
pub struct SealedRow {
    pub place: Place,
    pub id: String,
    pub value: String,
}

/// Every sealed value, the payloads of jobs of `sealed_job_kind` included.
pub async fn all(
    conn: &mut AnyConnection,
    sealed_job_kind: &str,
) -> Result<Vec<SealedRow>, sqlx::Error> {
    let mut rows = Vec::new();
    for (place, sql) in [
        (
            Place::StripeKey,
            "SELECT account_id, sealed_key FROM stripe_connections WHERE sealed_key IS NOT NULL ORDER BY account_id",
        ),
        (
            Place::WebhookSecret,
            "SELECT id, sealed_secret FROM stripe_webhooks ORDER BY id",
        ),
        (
            Place::OutboundSecret,
            "SELECT id, sealed_secret FROM webhook_endpoints ORDER BY id",
        ),
        (
            Place::JobPayload,
            "SELECT id, payload FROM jobs WHERE kind = $1 ORDER BY id",
        ),
    ] {
        let query = sqlx::query_as(sql);
        let query = match place {
            Place::JobPayload => query.bind(sealed_job_kind),
            _ => query,
        };
        let found: Vec<(String, String)> = query.fetch_all(&mut *conn).await?;
        rows.extend(found.into_iter().map(|(id, value)| SealedRow { place, id, value }));
    }
    Ok(rows)
}

/// Replaces the value of `row` (its place and id) with `value`.
pub async fn replace(
    conn: &mut AnyConnection,
    row: &SealedRow,
    value: &str,
) -> Result<(), sqlx::Error> {
    let sql = match row.place {
        Place::StripeKey => "UPDATE stripe_connections SET sealed_key = $1 WHERE account_id = $2",
        Place::WebhookSecret => "UPDATE stripe_webhooks SET sealed_secret = $1 WHERE id = $2",
        Place::OutboundSecret => "UPDATE webhook_endpoints SET sealed_secret = $1 WHERE id = $2",
        Place::JobPayload => "UPDATE jobs SET payload = $1 WHERE id = $2",
    };
    sqlx::query(sql)
        .bind(value)
        .bind(&row.id)
        .execute(conn)
        .await?;
    Ok(())
}
