//! The Stripe account connected to each Refloop account (at most one).

use sqlx::{any::AnyRow, Any, Executor, FromRow, Row};

use crate::domain::integrations::{StripeConnection, StripeMode};

#[derive(Debug, Clone)]
pub struct ConnectionRow {
    pub account_id: String,
    pub mode: StripeMode,
    pub sealed_key: Option<String>,
    pub key_hint: Option<String>,
    pub livemode: bool,
    /// The Stripe account the key opens (`acct_…`) and its name, when Stripe said.
    pub stripe_account_id: Option<String>,
    pub stripe_account_name: Option<String>,
    pub connected_by: String,
    pub connected_at: i64,
    /// A permanent failure talking to Stripe since connecting, and when it happened.
    pub alert: Option<String>,
    pub alert_at: Option<i64>,
}

impl ConnectionRow {
    /// What may be shown in the browser: no key.
    pub fn public(&self) -> StripeConnection {
        StripeConnection {
            mode: self.mode,
            key_hint: self.key_hint.clone(),
            livemode: self.livemode,
            stripe_account: self.stripe_account_id.as_ref().map(|id| {
                match &self.stripe_account_name {
                    Some(name) => format!("{name} ({id})"),
                    None => id.clone(),
                }
            }),
            connected_by: self.connected_by.clone(),
            connected_at: self.connected_at,
            alert: self.alert.clone(),
            alert_at: self.alert_at,
            dashboard_url: match (self.mode, &self.stripe_account_id) {
                (StripeMode::Sandbox, Some(id)) => format!("/sandbox/stripe/?account={id}"),
                (StripeMode::Sandbox, None) => "/sandbox/stripe/".into(),
                (StripeMode::Key, _) if self.livemode => {
                    "https://dashboard.stripe.com/customers".into()
                }
                (StripeMode::Key, _) => "https://dashboard.stripe.com/test/customers".into(),
            },
        }
    }
}

impl FromRow<'_, AnyRow> for ConnectionRow {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let mode: String = row.try_get("mode")?;
        Ok(ConnectionRow {
            account_id: row.try_get("account_id")?,
            mode: StripeMode::from_key(&mode).unwrap_or(StripeMode::Key),
            sealed_key: row.try_get("sealed_key")?,
            key_hint: row.try_get("key_hint")?,
            livemode: row.try_get::<i64, _>("livemode")? != 0,
            stripe_account_id: row.try_get("stripe_account_id")?,
            stripe_account_name: row.try_get("stripe_account_name")?,
            connected_by: row.try_get("connected_by")?,
            connected_at: row.try_get("connected_at")?,
            alert: row.try_get("alert")?,
            alert_at: row.try_get("alert_at")?,
        })
    }
}

pub async fn get<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
) -> Result<Option<ConnectionRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT account_id, mode, sealed_key, key_hint, livemode, stripe_account_id, stripe_account_name, \
         connected_by, connected_at, alert, alert_at \
         FROM stripe_connections WHERE account_id = $1",
    )
    .bind(account_id)
    .fetch_optional(ex)
    .await
}

/// The Stripe account an account is connected to now, as SQL whose `$1` is the account id:
/// ledgers and links of any other Stripe account count for nothing.
pub const CURRENT_STRIPE_ACCOUNT: &str =
    "(SELECT sc.stripe_account_id FROM stripe_connections sc WHERE sc.account_id = $1)";

/// The Stripe account an account is connected to now, if any.
pub async fn current_stripe_account<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    Ok(sqlx::query_scalar::<_, Option<String>>(
        "SELECT stripe_account_id FROM stripe_connections WHERE account_id = $1",
    )
    .bind(account_id)
    .fetch_optional(ex)
    .await?
    .flatten())
}

/// Stores the connection; false if the account already has one (disconnect it first).
pub async fn insert<'c>(
    ex: impl Executor<'c, Database = Any>,
    row: &ConnectionRow,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO stripe_connections (account_id, mode, sealed_key, key_hint, livemode, \
         stripe_account_id, stripe_account_name, connected_by, connected_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (account_id) DO NOTHING",
    )
    .bind(&row.account_id)
    .bind(row.mode.key())
    .bind(&row.sealed_key)
    .bind(&row.key_hint)
    .bind(i64::from(row.livemode))
    .bind(&row.stripe_account_id)
    .bind(&row.stripe_account_name)
    .bind(&row.connected_by)
    .bind(row.connected_at)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM stripe_connections WHERE account_id = $1")
        .bind(account_id)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}
