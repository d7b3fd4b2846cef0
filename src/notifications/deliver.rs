//! The `email.send` job: decides whether the email goes (switched on, the reader still
//! subscribed, a mail server configured), takes its place in the ledger so that it goes once,
//! waits for the process's sending rate, sends it, and records what became of it on the
//! reader's timeline. And the hourly look for people to remind.

use serde::Deserialize;

use super::{
    compose::{compose, reward_text, unsubscribe_link, Values},
    notify, settings_of,
};
use crate::{
    db::{self, participants, unix_now},
    domain::{
        emails::{EmailKind, EmailStatus},
        participants::EventKind,
    },
    jobs::JobError,
    mail::{Mailer, SendError},
    workflows::Job,
};

#[derive(Deserialize)]
struct Payload {
    participant: String,
    kind: String,
    occasion: String,
}

/// People reminded per campaign in one look (the rest wait for the next hour).
const REMINDERS_AT_ONCE: i64 = 1_000;

pub(super) async fn run_send(ctx: Job, mailer: Mailer) -> Result<(), JobError> {
    let account = ctx.job.account_id.clone().unwrap_or_default();
    let Ok(Payload {
        participant,
        kind,
        occasion,
    }) = serde_json::from_value(ctx.job.payload.clone())
    else {
        return Err(JobError::Permanent("not an email job".into()));
    };
    let Some(kind) = EmailKind::from_key(&kind) else {
        return Err(JobError::Permanent(format!("no email of kind `{kind}`")));
    };
    let db = &ctx.db;
    let Some(p) = participants::get(db.pool(), &account, &participant).await? else {
        return finish(&ctx, None).await;
    };
    let mut conn = db.pool().acquire().await?;
    let Some(c) = db::campaigns::get(&mut *conn, &account, &p.campaign_id).await? else {
        return finish(&ctx, None).await;
    };
    let settings = settings_of(&mut conn, &c).await?;
    drop(conn);
    let now = unix_now();
    let outcome = |status: EmailStatus, detail: String| Some((status, detail));
    match db::emails::status(db.pool(), &account, &p.id, kind, &occasion)
        .await?
        .as_deref()
    {
        None | Some("retry") => {}
        // An attempt stopped between taking its place and recording the outcome: the email
        // may have gone, so it is not sent again.
        Some("sending") => {
            return finish(
                &ctx,
                outcome(
                    EmailStatus::Failed,
                    "The worker sending it stopped half-way; it is not sent again, so that it cannot arrive twice.".into(),
                ),
            )
            .await
        }
        Some(_) => return finish(&ctx, None).await,
    }
    let unsubscribed = if kind.is_marketing() {
        db::emails::unsubscribed_at(db.pool(), &account, &p.id).await?
    } else {
        None
    };
    let skipped = if kind != EmailKind::YourLink && !settings.enabled(kind) {
        Some("it is switched off in the campaign's Emails step".to_string())
    } else if unsubscribed.is_some() {
        Some("they unsubscribed from the campaign's emails".to_string())
    } else if !mailer.is_configured() {
        Some("no mail server is configured (REFLOOP_SMTP_URL)".to_string())
    } else {
        None
    };
    if let Some(why) = skipped {
        return finish(&ctx, outcome(EmailStatus::Skipped, why)).await;
    }
    // Stepping aside frees the worker while the instance's rate allows no more.
    mailer.take_turn(db).await?.map_err(JobError::Later)?;

    let mut values = Values::of(&ctx.app.public_url, &c.name, &p);
    values.friend_offer = crate::workflows::offers::offer_line(ctx.db.pool(), &c, &p).await?;
    if let Some(detail) = occasion_values(&ctx, &account, kind, &occasion, &mut values).await? {
        return finish(&ctx, outcome(EmailStatus::Skipped, detail)).await;
    }
    let unsubscribe = kind
        .is_marketing()
        .then(|| unsubscribe_link(&ctx.app.public_url, &ctx.app.sealer, &p.id));
    let email = match compose(&settings, kind, &values, &p.email, unsubscribe) {
        Ok(e) => e,
        Err(why) => {
            let detail = format!("its template cannot be used: {why}");
            return finish(&ctx, outcome(EmailStatus::Failed, detail)).await;
        }
    };
    let mut conn = db.pool().acquire().await?;
    if !db::emails::claim(&mut conn, &account, &p.id, kind, &occasion, now).await? {
        return finish(&ctx, None).await;
    }
    drop(conn);
    let result = mailer.send_email(&email).await;
    let now = unix_now();
    match result {
        Ok(()) => {
            let detail = format!("Sent to {}: “{}”", p.email, email.subject);
            finish(&ctx, outcome(EmailStatus::Sent, detail)).await
        }
        Err(SendError::Failed(why)) if ctx.job.attempts < ctx.job.max_attempts => {
            db::emails::retry_later(db.pool(), &account, &p.id, kind, &occasion, &why, now).await?;
            Err(JobError::Retry(why))
        }
        Err(e) => {
            let detail = match e {
                SendError::Failed(why) => {
                    format!(
                        "the mail server did not take it after {} attempts: {why}",
                        ctx.job.attempts
                    )
                }
                e => e.to_string(),
            };
            finish(&ctx, outcome(EmailStatus::Failed, detail)).await
        }
    }
}

/// The friend's first name and the reward, for the emails about them; a reason not to send
/// when what the email is about is gone.
async fn occasion_values(
    ctx: &Job,
    account: &str,
    kind: EmailKind,
    occasion: &str,
    values: &mut Values,
) -> Result<Option<String>, sqlx::Error> {
    let db = &ctx.db;
    let friend_id = match kind {
        EmailKind::FriendJoined | EmailKind::FriendQualified => Some(occasion.to_string()),
        EmailKind::RewardEarned | EmailKind::FriendReward => {
            let Some(r) = db::rewards::get(db.pool(), account, occasion).await? else {
                return Ok(Some("the reward no longer exists".into()));
            };
            values.reward = reward_text(&r);
            Some(r.referral_id)
        }
        _ => None,
    };
    if let Some(id) = friend_id {
        let Some(friend) = participants::get(db.pool(), account, &id).await? else {
            return Ok(Some("the friend is no longer in the campaign".into()));
        };
        values.friend_first_name = if friend.first_name.is_empty() {
            "Your friend".into()
        } else {
            friend.first_name
        };
    }
    Ok(None)
}

/// Records the outcome (if there is one) on the ledger and the reader's timeline, and completes
/// the job, in one transaction.
async fn finish(ctx: &Job, outcome: Option<(EmailStatus, String)>) -> Result<(), JobError> {
    let mut tx = ctx.db.begin().await?;
    if let Some((status, detail)) = outcome {
        let account = ctx.job.account_id.clone().unwrap_or_default();
        let payload = &ctx.job.payload;
        let text = |key: &str| payload[key].as_str().unwrap_or_default().to_string();
        let (participant, occasion) = (text("participant"), text("occasion"));
        let kind = EmailKind::from_key(&text("kind")).unwrap_or(EmailKind::Welcome);
        let now = unix_now();
        db::emails::record(
            &mut *tx,
            &account,
            &participant,
            kind,
            &occasion,
            status,
            &detail,
            now,
        )
        .await?;
        if let Some(p) = participants::get(&mut *tx, &account, &participant).await? {
            let line = match status {
                EmailStatus::Sent => format!("Email “{}”: {detail}", kind.label()),
                _ => format!("Email “{}” not sent: {detail}", kind.label()),
            };
            participants::add_event(&mut *tx, &p, EventKind::Emailed, &line, now).await?;
        }
    }
    ctx.complete_in(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Every hour: people referring who have referred nobody since the campaign's reminder days
/// get their one reminder.
pub(super) async fn run_reminders(ctx: Job) -> Result<(), JobError> {
    let now = unix_now();
    let mut tx = ctx.db.begin().await?;
    for (account, campaign, settings) in db::emails::all_settings(&mut *tx).await? {
        if !settings.enabled(EmailKind::Reminder) {
            continue;
        }
        let joined_before = now - i64::from(settings.reminder_days) * 86_400;
        let due = db::emails::due_reminders(
            &mut *tx,
            &account,
            &campaign,
            joined_before,
            REMINDERS_AT_ONCE,
        )
        .await?;
        for id in due {
            if let Some(p) = participants::get(&mut *tx, &account, &id).await? {
                notify(&mut tx, &settings, &p, EmailKind::Reminder, "reminder").await?;
            }
        }
    }
    ctx.complete_in(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}
