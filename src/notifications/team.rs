//! Emails to teammates (an invitation, a password reset link) go the way the campaigns' emails
//! go: an `email.team` job enqueued with what it records, the instance's sending rate, retries
//! with backoff, and a ledger so that a retry or a second worker never sends one twice. The
//! message carries a one-time link, so the job keeps it sealed with the instance's key.

use serde::Deserialize;
use serde_json::json;

use super::compose::plain;
use crate::{
    db::{self, unix_now},
    jobs::{JobError, NewJob},
    mail::{Mailer, SendError},
    secrets::Sealer,
    workflows::Job,
};

pub const TEAM: &str = "email.team";

#[derive(Deserialize)]
struct Payload {
    id: String,
    to: String,
    subject: String,
    /// The message, sealed.
    text: String,
}

/// The job emailing `text` to `to`.
pub fn team_email(sealer: &Sealer, to: &str, subject: &str, text: &str) -> NewJob {
    let id = db::new_id("tml");
    NewJob::new(
        TEAM,
        json!({ "id": id, "to": to, "subject": subject, "text": sealer.seal(text) }),
    )
    .dedupe(format!("{TEAM}:{id}"))
    .max_attempts(8)
}

pub(super) async fn run_team(ctx: Job, mailer: Mailer) -> Result<(), JobError> {
    let Ok(p) = serde_json::from_value::<Payload>(ctx.job.payload.clone()) else {
        return Err(JobError::Permanent("not a teammate email".into()));
    };
    let db = &ctx.db;
    let text = ctx
        .app
        .sealer
        .open(&p.text)
        .map_err(|e| JobError::Permanent(format!("the email cannot be opened: {e}")))?;
    mailer.take_turn(db).await?.map_err(JobError::Later)?;
    // Sent, refused, or an attempt stopped half-way (it may have gone): never again.
    if !db::emails::claim_team(db.pool(), &p.id, unix_now()).await? {
        return Ok(());
    }
    let result = mailer.send_email(&plain(&p.to, &p.subject, &text)).await;
    let (status, detail) = match result {
        Ok(()) => ("sent", String::new()),
        Err(SendError::Failed(why)) if ctx.job.attempts < ctx.job.max_attempts => {
            db::emails::record_team(db.pool(), &p.id, "retry", &why, unix_now()).await?;
            return Err(JobError::Retry(why));
        }
        Err(e) => {
            tracing::warn!(error = %e, subject = %p.subject, "teammate email not sent");
            ("failed", e.to_string())
        }
    };
    db::emails::record_team(db.pool(), &p.id, status, &detail, unix_now()).await?;
    Ok(())
}
