//! Sending participants to Stripe: each audience's settings, the customers participants are
//! linked to, their Stripe outcome, the watch for customers the merchant's system creates, and
//! the connection's alert. Every statement is scoped to the account.

use sqlx::{Any, AnyConnection, Executor, Row};

use super::participants::ParticipantRow;
use crate::domain::{
    participants::{ParticipantKind, StripeStatus},
    stripe_send::SendSettings,
};

pub async fn settings<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    campaign_id: &str,
    audience: ParticipantKind,
) -> Result<Option<SendSettings>, sqlx::Error> {
    let text: Option<String> = sqlx::query_scalar(
        "SELECT settings FROM stripe_send_settings WHERE account_id = $1 AND campaign_id = $2 AND audience = $3",
    )
    .bind(account_id)
    .bind(campaign_id)
    .bind(audience.key())
    .fetch_optional(ex)
    .await?;
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
}

pub async fn save_settings<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    campaign_id: &str,
    audience: ParticipantKind,
    settings: &SendSettings,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO stripe_send_settings (account_id, campaign_id, audience, settings, updated_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (campaign_id, audience) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
    )
    .bind(account_id)
    .bind(campaign_id)
    .bind(audience.key())
    .bind(serde_json::to_string(settings).expect("settings serialize"))
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// Where a participant now stands with Stripe.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: StripeStatus,
    /// The first customer linked, if any.
    pub customer: Option<String>,
    pub note: String,
    pub since: Option<i64>,
}

pub async fn set_outcome<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    participant_id: &str,
    o: &Outcome,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE participants SET stripe_status = $1, stripe_customer_id = COALESCE($2, stripe_customer_id), \
         stripe_note = $3, stripe_since = $4 WHERE id = $5 AND account_id = $6",
    )
    .bind(o.status.key())
    .bind(&o.customer)
    .bind(&o.note)
    .bind(o.since)
    .bind(participant_id)
    .bind(account_id)
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn link_customer(
    conn: &mut AnyConnection,
    account_id: &str,
    participant_id: &str,
    customer_id: &str,
    how: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    link_customers(conn, account_id, &[(participant_id, customer_id)], how, now).await
}

/// Links (participant, customer) pairs, many a statement.
pub async fn link_customers(
    conn: &mut AnyConnection,
    account_id: &str,
    links: &[(&str, &str)],
    how: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    for chunk in links.chunks(super::rows_per_statement(5)) {
        let sql = format!(
            "INSERT INTO participant_customers (account_id, participant_id, customer_id, how, linked_at) \
             VALUES {} ON CONFLICT (participant_id, customer_id) DO NOTHING",
            super::value_rows(conn, chunk.len(), 5)
        );
        let mut q = sqlx::query(&sql);
        for (participant, customer) in chunk {
            q = q
                .bind(account_id)
                .bind(*participant)
                .bind(*customer)
                .bind(how)
                .bind(now);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The customers a participant is linked to, oldest link first.
pub async fn customers_of<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    participant_id: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT customer_id FROM participant_customers WHERE account_id = $1 AND participant_id = $2 \
         ORDER BY linked_at, customer_id",
    )
    .bind(account_id)
    .bind(participant_id)
    .fetch_all(ex)
    .await
}

const UNSENT: &str = "stripe_status IN ('not_sent', 'skipped', 'failed')";

fn audience_filter(audience: ParticipantKind) -> &'static str {
    match audience {
        ParticipantKind::Referring => "referrer_id IS NULL",
        ParticipantKind::Invited => "referrer_id IS NOT NULL",
    }
}

/// Participants of an audience not in Stripe (never sent, skipped or failed), oldest first.
pub async fn unsent<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    campaign_id: &str,
    audience: ParticipantKind,
    limit: i64,
) -> Result<Vec<ParticipantRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {} FROM participants WHERE account_id = $1 AND campaign_id = $2 AND {} AND {UNSENT} \
         ORDER BY created_at, id LIMIT $3",
        super::participants::COLUMNS,
        audience_filter(audience)
    ))
    .bind(account_id)
    .bind(campaign_id)
    .bind(limit)
    .fetch_all(ex)
    .await
}

/// How many of an audience are in each Stripe status.
pub async fn status_counts<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    campaign_id: &str,
    audience: ParticipantKind,
) -> Result<Vec<(StripeStatus, i64)>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT stripe_status, COUNT(*) AS n FROM participants WHERE account_id = $1 AND campaign_id = $2 AND {} \
         GROUP BY stripe_status",
        audience_filter(audience)
    ))
    .bind(account_id)
    .bind(campaign_id)
    .fetch_all(ex)
    .await?;
    Ok(StripeStatus::ALL
        .iter()
        .map(|s| {
            let n = rows
                .iter()
                .find(|r| r.try_get::<String, _>("stripe_status").ok().as_deref() == Some(s.key()))
                .and_then(|r| r.try_get::<i64, _>("n").ok())
                .unwrap_or(0);
            (*s, n)
        })
        .collect())
}

/// Everyone in the account waiting for the merchant's system to create their customer.
pub async fn waiting<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    limit: i64,
) -> Result<Vec<ParticipantRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {} FROM participants WHERE account_id = $1 AND stripe_status = 'waiting' \
         ORDER BY stripe_since, id LIMIT $2",
        super::participants::COLUMNS
    ))
    .bind(account_id)
    .bind(limit)
    .fetch_all(ex)
    .await
}

/// The watch's position: events after this time are new; the last look-up by email.
pub async fn watch_state<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
) -> Result<Option<(i64, i64)>, sqlx::Error> {
    let row =
        sqlx::query("SELECT events_after, looked_up_at FROM stripe_watch WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(ex)
            .await?;
    row.map(|r| Ok((r.try_get("events_after")?, r.try_get("looked_up_at")?)))
        .transpose()
}

pub async fn save_watch_state<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    events_after: i64,
    looked_up_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO stripe_watch (account_id, events_after, looked_up_at) VALUES ($1, $2, $3) \
         ON CONFLICT (account_id) DO UPDATE SET events_after = excluded.events_after, looked_up_at = excluded.looked_up_at",
    )
    .bind(account_id)
    .bind(events_after)
    .bind(looked_up_at)
    .execute(ex)
    .await?;
    Ok(())
}

/// Raises the connection's alert (a permanent failure talking to Stripe).
pub async fn raise_alert<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    message: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE stripe_connections SET alert = $1, alert_at = $2 WHERE account_id = $3")
        .bind(message)
        .bind(now)
        .bind(account_id)
        .execute(ex)
        .await?;
    Ok(())
}
