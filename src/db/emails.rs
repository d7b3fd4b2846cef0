//! Campaign emails: each campaign's settings, the ledger of emails (one row per participant,
//! kind and occasion: sent, failed, not sent), and who unsubscribed. Every statement is scoped
//! to the account.

use sqlx::{Any, AnyConnection, Executor, Row};

use crate::domain::emails::{EmailKind, EmailSettings, EmailStatus};

pub async fn settings<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    campaign_id: &str,
) -> Result<Option<EmailSettings>, sqlx::Error> {
    super::campaign_json::load(ex, "email_settings", account_id, campaign_id).await
}

pub async fn save_settings<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    campaign_id: &str,
    settings: &EmailSettings,
    now: i64,
) -> Result<(), sqlx::Error> {
    super::campaign_json::save(ex, "email_settings", account_id, campaign_id, settings, now).await
}

/// One email in a participant's ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailRow {
    pub kind: EmailKind,
    pub occasion: String,
    pub status: EmailStatus,
    pub detail: String,
    pub updated_at: i64,
}

/// The state of an email while it is being decided: `retry` marks one a failed attempt left
/// to be sent again.
const RETRY: &str = "retry";

/// Takes the right to send this email: true when no attempt has been made, or the last one
/// failed in a way worth trying again. False: it was sent, refused, skipped, or another
/// attempt is sending it (or stopped half-way): it must not be sent again.
pub async fn claim(
    conn: &mut AnyConnection,
    account_id: &str,
    participant_id: &str,
    kind: EmailKind,
    occasion: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO participant_emails (id, account_id, participant_id, kind, occasion, status, detail, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'sending', '', $6, $6) \
         ON CONFLICT (participant_id, kind, occasion) DO UPDATE SET status = 'sending', updated_at = $6 \
         WHERE participant_emails.status = 'retry' AND participant_emails.account_id = $2",
    )
    .bind(super::new_id("eml"))
    .bind(account_id)
    .bind(participant_id)
    .bind(kind.key())
    .bind(occasion)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records what became of an email (inserting its row if no attempt was made).
#[allow(clippy::too_many_arguments)]
pub async fn record<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    participant_id: &str,
    kind: EmailKind,
    occasion: &str,
    status: EmailStatus,
    detail: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO participant_emails (id, account_id, participant_id, kind, occasion, status, detail, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
         ON CONFLICT (participant_id, kind, occasion) DO UPDATE SET status = $6, detail = $7, updated_at = $8 \
         WHERE participant_emails.account_id = $2",
    )
    .bind(super::new_id("eml"))
    .bind(account_id)
    .bind(participant_id)
    .bind(kind.key())
    .bind(occasion)
    .bind(status.key())
    .bind(detail)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// Leaves an attempt that failed for now to be sent again by the next one.
pub async fn retry_later<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    participant_id: &str,
    kind: EmailKind,
    occasion: &str,
    detail: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE participant_emails SET status = $1, detail = $2, updated_at = $3 \
         WHERE account_id = $4 AND participant_id = $5 AND kind = $6 AND occasion = $7",
    )
    .bind(RETRY)
    .bind(detail)
    .bind(now)
    .bind(account_id)
    .bind(participant_id)
    .bind(kind.key())
    .bind(occasion)
    .execute(ex)
    .await?;
    Ok(())
}

/// Where this email stands, if any attempt was made (`None` for one left to retry).
pub async fn status<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    participant_id: &str,
    kind: EmailKind,
    occasion: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT status FROM participant_emails \
         WHERE account_id = $1 AND participant_id = $2 AND kind = $3 AND occasion = $4",
    )
    .bind(account_id)
    .bind(participant_id)
    .bind(kind.key())
    .bind(occasion)
    .fetch_optional(ex)
    .await
}

/// A participant's emails, newest first.
pub async fn of_participant<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    participant_id: &str,
) -> Result<Vec<EmailRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT kind, occasion, status, detail, updated_at FROM participant_emails \
         WHERE account_id = $1 AND participant_id = $2 ORDER BY updated_at DESC, id DESC",
    )
    .bind(account_id)
    .bind(participant_id)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .filter_map(|r| {
            let kind = EmailKind::from_key(r.try_get::<String, _>("kind").ok()?.as_str())?;
            let status = r.try_get::<String, _>("status").ok()?;
            Some(Ok(EmailRow {
                kind,
                occasion: r.try_get("occasion").ok()?,
                // An attempt to be made again is, for the team, still being sent.
                status: EmailStatus::from_key(&status).unwrap_or(EmailStatus::Sending),
                detail: r.try_get("detail").ok()?,
                updated_at: r.try_get("updated_at").ok()?,
            }))
        })
        .collect()
}

/// Unsubscribes a participant from their campaign's emails; false if they already were.
pub async fn unsubscribe<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    participant_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO email_unsubscribes (participant_id, account_id, at) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(participant_id)
    .bind(account_id)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The account a participant belongs to (for a link that names only them).
pub async fn account_of<'c>(
    ex: impl Executor<'c, Database = Any>,
    participant_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT account_id FROM participants WHERE id = $1")
        .bind(participant_id)
        .fetch_optional(ex)
        .await
}

/// When the participant unsubscribed, if they did.
pub async fn unsubscribed_at<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    participant_id: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT at FROM email_unsubscribes WHERE account_id = $1 AND participant_id = $2",
    )
    .bind(account_id)
    .bind(participant_id)
    .fetch_optional(ex)
    .await
}

/// The campaigns with email settings of their own, for the reminder sweep: (account,
/// campaign, settings).
pub async fn all_settings<'c>(
    ex: impl Executor<'c, Database = Any>,
) -> Result<Vec<(String, String, EmailSettings)>, sqlx::Error> {
    let rows = sqlx::query("SELECT account_id, campaign_id, settings FROM email_settings")
        .fetch_all(ex)
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let settings = serde_json::from_str(&r.try_get::<String, _>("settings").ok()?).ok()?;
            Some((
                r.try_get("account_id").ok()?,
                r.try_get("campaign_id").ok()?,
                settings,
            ))
        })
        .collect())
}

/// The account's campaigns whose emails were saved, with them (the others send the defaults).
pub async fn settings_in_account<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
) -> Result<Vec<(String, EmailSettings)>, sqlx::Error> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT campaign_id, settings FROM email_settings WHERE account_id = $1")
            .bind(account_id)
            .fetch_all(ex)
            .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(campaign, text)| Some((campaign, serde_json::from_str(&text).ok()?)))
        .collect())
}

/// People referring in a campaign who joined before `joined_before`, have referred nobody and
/// were never reminded (most `limit`).
pub async fn due_reminders<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    campaign_id: &str,
    joined_before: i64,
    limit: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT p.id FROM participants p WHERE p.account_id = $1 AND p.campaign_id = $2 \
         AND p.referrer_id IS NULL AND p.referrals = 0 AND p.created_at < $3 \
         AND NOT EXISTS (SELECT 1 FROM participant_emails e WHERE e.participant_id = p.id AND e.kind = 'reminder') \
         ORDER BY p.created_at LIMIT $4",
    )
    .bind(account_id)
    .bind(campaign_id)
    .bind(joined_before)
    .bind(limit)
    .fetch_all(ex)
    .await
}

/// Takes the instance's next turn to send an email; every process on the database shares the
/// turns. They come `interval_ms` apart, and turns up to `ahead_ms` in the future may be taken
/// now (a burst). `None`: send now; `Some(ms)`: how long until a turn is free.
pub async fn take_send_turn(
    pool: &sqlx::AnyPool,
    now_ms: i64,
    interval_ms: i64,
    ahead_ms: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let taken = sqlx::query(
        "UPDATE email_pace \
         SET next_at_ms = CASE WHEN next_at_ms < $1 THEN $1 ELSE next_at_ms END + $2 \
         WHERE id = 1 AND next_at_ms <= $1 + $3",
    )
    .bind(now_ms)
    .bind(interval_ms)
    .bind(ahead_ms)
    .execute(pool)
    .await?;
    if taken.rows_affected() == 1 {
        return Ok(None);
    }
    let next: i64 = sqlx::query_scalar("SELECT next_at_ms FROM email_pace WHERE id = 1")
        .fetch_one(pool)
        .await?;
    Ok(Some((next - ahead_ms - now_ms).max(1)))
}

/// An email that failed: to whom, which, why and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedEmail {
    pub email: String,
    pub kind: EmailKind,
    pub detail: String,
    pub at: i64,
}

/// How many of the account's emails were sent and how many failed since `since`, and the
/// latest `limit` failures.
pub async fn outcomes_since(
    pool: &sqlx::AnyPool,
    account_id: &str,
    since: i64,
    limit: i64,
) -> Result<(i64, i64, Vec<FailedEmail>), sqlx::Error> {
    let counts: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status, COUNT(*) FROM participant_emails \
         WHERE account_id = $1 AND status IN ('sent', 'failed') AND updated_at >= $2 \
         GROUP BY status",
    )
    .bind(account_id)
    .bind(since)
    .fetch_all(pool)
    .await?;
    let count = |status: &str| {
        counts
            .iter()
            .find(|(s, _)| s == status)
            .map_or(0, |(_, n)| *n)
    };
    let (sent, failed) = (count("sent"), count("failed"));
    let rows = sqlx::query(
        "SELECT p.email, e.kind, e.detail, e.updated_at FROM participant_emails e \
         JOIN participants p ON p.id = e.participant_id AND p.account_id = e.account_id \
         WHERE e.account_id = $1 AND e.status = 'failed' AND e.updated_at >= $2 \
         ORDER BY e.updated_at DESC LIMIT $3",
    )
    .bind(account_id)
    .bind(since)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let failures = rows
        .iter()
        .map(|r| FailedEmail {
            email: r.get(0),
            kind: EmailKind::from_key(r.get(1)).unwrap_or(EmailKind::Welcome),
            detail: r.get(2),
            at: r.get(3),
        })
        .collect();
    Ok((sent, failed, failures))
}

/// Takes the right to send a teammate email: true when no attempt was made, or the last one
/// is to be tried again.
pub async fn claim_team(pool: &sqlx::AnyPool, id: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO team_emails (id, status, detail, updated_at) VALUES ($1, 'sending', '', $2) \
         ON CONFLICT (id) DO UPDATE SET status = 'sending', updated_at = $2 \
         WHERE team_emails.status = 'retry'",
    )
    .bind(id)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records what became of a teammate email: `sent`, `failed`, or `retry`.
pub async fn record_team(
    pool: &sqlx::AnyPool,
    id: &str,
    status: &str,
    detail: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE team_emails SET status = $2, detail = $3, updated_at = $4 WHERE id = $1")
        .bind(id)
        .bind(status)
        .bind(detail)
        .bind(now)
        .execute(pool)
        .await?;
    Ok(())
}
