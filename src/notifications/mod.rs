//! Campaign emails to participants. What happens to someone (they join, a friend joins through
//! their link, a friend qualifies, a reward is issued, days pass without a referral) enqueues
//! one `email.send` job per (participant, kind, occasion), in the transaction that records it;
//! the job writes the email from the campaign's template and sends it at the process's rate.
//! The ledger (`participant_emails`) keeps every email sent, failed or not sent, so a retry or
//! a second worker never sends one twice, and the person's timeline says what became of it.
//! Teammates' emails (`team`) go the same way.

pub mod compose;
mod deliver;
pub mod team;

use std::time::Duration;

use serde_json::json;
use sqlx::AnyConnection;

use crate::{
    db::{
        self, campaigns::CampaignRow, participants::ParticipantRow, rewards::RewardRow, throttles,
        Db,
    },
    domain::{
        emails::{EmailKind, EmailSettings},
        participants::EventKind,
        validate,
    },
    error::AppError,
    jobs::{queue, NewJob, Registry},
    mail::Mailer,
    secrets::Sealer,
    workflows::StripeAccess,
};

pub const SEND: &str = "email.send";
pub const REMINDERS: &str = "email.reminders";
const REMINDERS_EVERY: Duration = Duration::from_secs(3600);

/// Registers the sending jobs (participants' and teammates'), and the hourly look for people
/// to remind.
pub fn register(registry: Registry<StripeAccess>, mailer: Mailer) -> Registry<StripeAccess> {
    let for_team = mailer.clone();
    registry
        .register(SEND, move |ctx| deliver::run_send(ctx, mailer.clone()))
        .register(team::TEAM, move |ctx| team::run_team(ctx, for_team.clone()))
        .register(REMINDERS, deliver::run_reminders)
        .every(
            REMINDERS,
            REMINDERS_EVERY,
            NewJob::new(REMINDERS, json!({})).dedupe(REMINDERS),
        )
}

/// The job sending the email of `kind` to `participant` for `occasion` (the friend's or the
/// reward's id, or the moment asked for): at most one waiting at a time.
pub fn send_job(account_id: &str, participant_id: &str, kind: EmailKind, occasion: &str) -> NewJob {
    NewJob::new(
        SEND,
        json!({ "participant": participant_id, "kind": kind.key(), "occasion": occasion }),
    )
    .account(account_id)
    .dedupe(format!("{SEND}:{participant_id}:{}:{occasion}", kind.key()))
    .max_attempts(8)
}

/// The campaign's email settings, or what it sends before its team opens the Emails step.
pub async fn settings_of(
    conn: &mut AnyConnection,
    c: &CampaignRow,
) -> Result<EmailSettings, sqlx::Error> {
    Ok(db::emails::settings(&mut *conn, &c.account_id, &c.id)
        .await?
        .unwrap_or_else(|| EmailSettings::defaults(&c.name)))
}

/// Enqueues the email of `kind` to `to` when the campaign sends it. An email switched off is
/// not enqueued: "Why?" says so from the campaign's settings.
pub async fn notify(
    conn: &mut AnyConnection,
    settings: &EmailSettings,
    to: &ParticipantRow,
    kind: EmailKind,
    occasion: &str,
) -> Result<(), sqlx::Error> {
    if settings.enabled(kind) {
        queue::enqueue(conn, &send_job(&to.account_id, &to.id, kind, occasion)).await?;
    }
    Ok(())
}

/// Someone arrived: their welcome, and their referrer's "a friend joined".
pub async fn after_arrival(
    conn: &mut AnyConnection,
    settings: &EmailSettings,
    person: &ParticipantRow,
    referrer: Option<&ParticipantRow>,
) -> Result<(), sqlx::Error> {
    notify(conn, settings, person, EmailKind::Welcome, "joined").await?;
    if let Some(r) = referrer {
        notify(conn, settings, r, EmailKind::FriendJoined, &person.id).await?;
    }
    Ok(())
}

/// A friend qualified: their referrer hears of it.
pub async fn after_qualified(
    conn: &mut AnyConnection,
    friend: &ParticipantRow,
    referrer: &ParticipantRow,
) -> Result<(), sqlx::Error> {
    let Some(c) = db::campaigns::get(&mut *conn, &friend.account_id, &friend.campaign_id).await?
    else {
        return Ok(());
    };
    let settings = settings_of(conn, &c).await?;
    notify(
        conn,
        &settings,
        referrer,
        EmailKind::FriendQualified,
        &friend.id,
    )
    .await
}

/// A reward was issued: its recipient hears of it (the referrer's email, or the friend's own).
pub async fn after_reward(
    conn: &mut AnyConnection,
    recipient: &ParticipantRow,
    reward: &RewardRow,
) -> Result<(), sqlx::Error> {
    let Some(c) =
        db::campaigns::get(&mut *conn, &recipient.account_id, &recipient.campaign_id).await?
    else {
        return Ok(());
    };
    let settings = settings_of(conn, &c).await?;
    let kind = if reward.recipient_id == reward.referral_id {
        EmailKind::FriendReward
    } else {
        EmailKind::RewardEarned
    };
    notify(conn, &settings, recipient, kind, &reward.id).await
}

/// The person an unsubscribe link names, if its token is this instance's: them, their
/// campaign's name, and when they unsubscribed (if they did).
pub async fn unsubscribe_subject(
    db: &Db,
    sealer: &Sealer,
    participant_id: &str,
    token: &str,
) -> Result<Option<(ParticipantRow, String, Option<i64>)>, sqlx::Error> {
    if !compose::unsubscribe_token_matches(sealer, participant_id, token) {
        return Ok(None);
    }
    let Some(account) = db::emails::account_of(db.pool(), participant_id).await? else {
        return Ok(None);
    };
    let Some(p) = db::participants::get(db.pool(), &account, participant_id).await? else {
        return Ok(None);
    };
    let campaign = db::campaigns::get(db.pool(), &account, &p.campaign_id)
        .await?
        .map(|c| c.name)
        .unwrap_or_default();
    let at = db::emails::unsubscribed_at(db.pool(), &account, participant_id).await?;
    Ok(Some((p, campaign, at)))
}

/// Unsubscribes them from their campaign's emails (their timeline says so); false if they
/// already were.
pub async fn unsubscribe(db: &Db, p: &ParticipantRow) -> Result<bool, sqlx::Error> {
    let now = db::unix_now();
    let mut tx = db.begin().await?;
    let new = db::emails::unsubscribe(&mut *tx, &p.account_id, &p.id, now).await?;
    if new {
        db::participants::add_event(
            &mut *tx,
            p,
            EventKind::Emailed,
            "Unsubscribed from the campaign's emails",
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(new)
}

/// Requests for a link one network may make an hour, and requests for one address.
const LINK_REQUESTS_PER_IP: i64 = 10;
const LINK_REQUESTS_PER_EMAIL: i64 = 3;

/// "Email me my link" on the campaign's public pages: the personal page's link goes to `email`
/// if it is in the campaign. The answer is the same whether or not it is, so that the form
/// tells nobody who joined; requests are counted per network and per address first, whoever
/// the address belongs to.
pub async fn email_my_link(db: &Db, slug: &str, email: &str, ip: &str) -> Result<(), AppError> {
    let email = validate::email(email).map_err(|m| AppError::fields(vec![("email".into(), m)]))?;
    let c = db::campaigns::by_slug(db.pool(), slug)
        .await?
        .ok_or_else(|| AppError::NotFound("Campaign".into()))?;
    let now = db::unix_now();
    let per_ip = throttles::bump(db.pool(), &format!("link-ip:{ip}"), now, 3600).await?;
    let per_email = throttles::bump(
        db.pool(),
        &format!("link-email:{}:{email}", c.id),
        now,
        3600,
    )
    .await?;
    if per_ip > LINK_REQUESTS_PER_IP || per_email > LINK_REQUESTS_PER_EMAIL {
        return Err(AppError::TooManyRequests(
            "Too many links were asked for from your network or for this address in the last hour. Please try again later."
                .into(),
        ));
    }
    if let Some(p) = db::participants::by_email(db.pool(), &c.id, &email).await? {
        let mut conn = db.pool().acquire().await?;
        let settings = settings_of(&mut conn, &c).await?;
        let asked = db::new_id("ask");
        notify(&mut conn, &settings, &p, EmailKind::YourLink, &asked).await?;
    }
    Ok(())
}
