//! Sending participants to Stripe: each audience's settings, the customers participants are
//! linked to, their Stripe outcome, the watch for customers the merchant's system creates, and
//! the connection's alert. Every statement is scoped to the account.

use sqlx::{Any, AnyConnection, Executor, FromRow, Row};

use super::participants::ParticipantRow;
use crate::domain::{
    participants::{ParticipantKind, StripeStatus},
    sending::SendSettings,
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

/// Who in a campaign a Stripe customer of the connected account counts for.
pub async fn customer_holders<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    campaign_id: &str,
    customer_id: &str,
) -> Result<Vec<ParticipantRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {} FROM participants WHERE account_id = $1 AND campaign_id = $3 AND id IN \
           (SELECT participant_id FROM participant_customers WHERE account_id = $1 AND customer_id = $2 \
            AND stripe_account = {})",
        super::participants::COLUMNS,
        super::stripe_connections::CURRENT_STRIPE_ACCOUNT
    ))
    .bind(account_id)
    .bind(customer_id)
    .bind(campaign_id)
    .fetch_all(ex)
    .await
}

/// Links (participant, customer) pairs, many a statement, as customers of the Stripe account
/// connected now.
pub async fn link_customers(
    conn: &mut AnyConnection,
    account_id: &str,
    links: &[(&str, &str)],
    how: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let stripe_account = super::stripe_connections::current_stripe_account(&mut *conn, account_id)
        .await?
        .unwrap_or_default();
    for chunk in links.chunks(super::rows_per_statement(6)) {
        let sql = format!(
            "INSERT INTO participant_customers (account_id, participant_id, customer_id, how, linked_at, stripe_account) \
             VALUES {} ON CONFLICT (participant_id, customer_id) DO NOTHING",
            super::value_rows(conn, chunk.len(), 6)
        );
        let mut q = sqlx::query(&sql);
        for (participant, customer) in chunk {
            q = q
                .bind(account_id)
                .bind(*participant)
                .bind(*customer)
                .bind(how)
                .bind(now)
                .bind(&stripe_account);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// People linked to customers of a Stripe account other than `stripe_account`, with that
/// account: after a switch, their links are set aside (kept, but counted for nothing).
pub async fn linked_elsewhere(
    conn: &mut AnyConnection,
    account_id: &str,
    stripe_account: &str,
) -> Result<Vec<(ParticipantRow, String)>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {}, (SELECT MIN(pc.stripe_account) FROM participant_customers pc \
           WHERE pc.participant_id = participants.id AND pc.stripe_account <> $2) AS former \
         FROM participants WHERE account_id = $1 AND id IN \
           (SELECT participant_id FROM participant_customers WHERE account_id = $1 AND stripe_account <> $2) \
         ORDER BY created_at, id",
        super::participants::COLUMNS
    ))
    .bind(account_id)
    .bind(stripe_account)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok((ParticipantRow::from_row(r)?, r.try_get("former")?)))
        .collect()
}

/// Those of `ids` who were in Stripe only through the former account's customers are not
/// in Stripe any more: "Send existing participants" (or the next send) puts them in this one.
pub async fn unsend<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    ids: &[&str],
    note: &str,
) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "UPDATE participants SET stripe_status = 'not_sent', stripe_customer_id = NULL, stripe_note = $2 \
         WHERE account_id = $1 AND stripe_status = 'sent' AND id IN {} AND NOT EXISTS \
           (SELECT 1 FROM participant_customers pc WHERE pc.participant_id = participants.id \
            AND pc.stripe_account = {})",
        super::in_list(3, ids.len()),
        super::stripe_connections::CURRENT_STRIPE_ACCOUNT
    );
    let mut q = sqlx::query(&sql).bind(account_id).bind(note);
    for id in ids {
        q = q.bind(*id);
    }
    q.execute(ex).await?;
    Ok(())
}

/// The customers a participant is linked to, oldest link first.
pub async fn customers_of<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    participant_id: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(&format!(
        "SELECT customer_id FROM participant_customers WHERE account_id = $1 AND participant_id = $2 \
         AND stripe_account = {} ORDER BY linked_at, customer_id",
        super::stripe_connections::CURRENT_STRIPE_ACCOUNT
    ))
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
