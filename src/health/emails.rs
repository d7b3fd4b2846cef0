//! Emails to participants: switched on but unsendable without a mail server, or failing at it.

use super::{Scope, EVIDENCE};
use crate::{
    db,
    domain::{
        emails::EmailKind,
        health::{CheckId, HealthCheck, HealthFix},
        time::format_utc,
    },
    error::AppError,
};

/// Failures this recent count.
const RECENT_SECS: i64 = 7 * 86_400;

/// Check 16: campaigns whose emails are switched on can send them, and the mail server takes
/// them.
pub(super) async fn delivery(s: &Scope<'_>) -> Result<HealthCheck, AppError> {
    let id = CheckId::Emails;
    let account = &s.ctx.account_id;
    // A campaign that never saved its emails sends none of them to its participants.
    let saved = db::emails::settings_in_account(s.db.pool(), account).await?;
    let mut sending = Vec::new();
    for c in &s.campaigns {
        let Some((_, settings)) = saved.iter().find(|(id, _)| *id == c.id) else {
            continue;
        };
        let on: Vec<&str> = EmailKind::ALL
            .into_iter()
            .filter(|k| k.is_marketing() && settings.enabled(*k))
            .map(|k| k.label())
            .collect();
        if !on.is_empty() {
            sending.push((c, on));
        }
    }
    let step = |c: &db::campaigns::CampaignRow| {
        HealthFix::link(
            format!("Open the Emails step of “{}”", c.name),
            format!("/app/campaigns/{}/edit?step=emails", c.id),
        )
    };
    if !s.smtp_configured {
        let Some((first, _)) = sending.first() else {
            return Ok(HealthCheck::pass(
                id,
                "No campaign sends emails to its participants, so none needs a mail server.",
            ));
        };
        let fix = step(first);
        return Ok(HealthCheck::fail(
            id,
            format!(
                "{} campaign{} switched emails on, but no mail server is configured (REFLOOP_SMTP_URL): none is sent, and each is marked “not sent” on the person's timeline.",
                sending.len(),
                if sending.len() == 1 { " has" } else { "s have" }
            ),
        )
        .with_evidence(
            sending
                .iter()
                .map(|(c, on)| format!("“{}”: {}", c.name, on.join(", "))),
        )
        .with_fix(fix));
    }
    let since = s.now - RECENT_SECS;
    let (sent, failed, failures) =
        db::emails::outcomes_since(s.db.pool(), account, since, EVIDENCE).await?;
    if failed > 0 {
        return Ok(HealthCheck::warn(
            id,
            format!(
                "{failed} email{} could not be sent in the last 7 days ({sent} sent): the mail server refused or did not take {}.",
                if failed == 1 { "" } else { "s" },
                if failed == 1 { "it" } else { "them" },
            ),
        )
        .with_evidence(failures.into_iter().map(|f| {
            format!(
                "{}, “{}”, {}: {}",
                f.email,
                f.kind.label(),
                format_utc(f.at),
                f.detail
            )
        })));
    }
    Ok(HealthCheck::pass(
        id,
        if sending.is_empty() {
            "No campaign sends emails to its participants; the mail server is ready when one does."
                .to_string()
        } else {
            format!(
                "{} campaign{} emails, and the mail server takes them: {sent} sent in the last 7 days.",
                sending.len(),
                if sending.len() == 1 { " sends" } else { "s send" },
            )
        },
    ))
}
