//! The guide's qualification problems: settings not saved, the webhook endpoint missing,
//! disabled, silent or failing signatures; friends who spent too little or too late; friends
//! paying through another customer with their email.

use super::{people, Scope, EVIDENCE};
use crate::{
    db::{self, health},
    domain::{
        campaigns::CampaignStatus,
        health::{CheckId, CheckState, HealthAction, HealthCheck, HealthFix},
        qualification::{CustomerScope, EndpointHealth},
        time::{format_date, format_utc},
    },
    error::AppError,
    workflows::webhook,
};

/// An endpoint that has told Refloop nothing for this long is worth a look.
const SILENT_SECS: i64 = 7 * 86_400;
/// Signature failures this recent are shown.
const RECENT_FAILURE_SECS: i64 = 86_400;

/// Check 8: Qualification settings saved for every live campaign; Refloop's webhook endpoint present,
/// enabled, delivering, and its signatures checking out.
pub(super) async fn webhook(s: &Scope<'_>) -> Result<HealthCheck, AppError> {
    let id = CheckId::Webhook;
    let account = &s.ctx.account_id;
    let mut found: Vec<(CheckState, String)> = Vec::new();
    let mut fixes = Vec::new();
    let mut needs_endpoint = false;
    for c in &s.campaigns {
        let saved = db::qualification::settings(s.db.pool(), account, &c.id)
            .await?
            .is_some();
        needs_endpoint |= saved || c.ongoing_stripe_sync;
        if !saved && c.status == CampaignStatus::Live {
            found.push((
                CheckState::Fail,
                format!(
                    "“{}” is live, but its qualification settings are not saved: its referrals cannot qualify.",
                    c.name
                ),
            ));
            fixes.push(HealthFix::link(
                format!("Save the qualification settings of “{}”", c.name),
                format!("/app/campaigns/{}/edit?step=qualification", c.id),
            ));
        }
    }
    let repair = HealthFix::action("Repair", HealthAction::RepairWebhook);
    let row = db::qualification::webhook_for(s.db.pool(), account).await?;
    match &row {
        None if needs_endpoint && s.connection.is_some() => {
            found.push((
                CheckState::Fail,
                "There is no webhook endpoint in Stripe, so Refloop hears of payments only when it reconciles. Repair creates it.".into(),
            ));
            fixes.push(repair.clone());
        }
        None => {}
        Some(row) => {
            match webhook::status(s.db, s.access, account).await {
                Ok(Some(status)) => {
                    let state = match status.health {
                        EndpointHealth::Unchecked => CheckState::Warn,
                        EndpointHealth::Enabled if status.problem.is_none() => CheckState::Pass,
                        _ => CheckState::Fail,
                    };
                    if let Some(problem) = status.problem {
                        found.push((state, problem));
                        if state == CheckState::Fail {
                            fixes.push(repair.clone());
                        }
                    }
                }
                Ok(None) => {}
                Err(why) => found.push((CheckState::Warn, why.for_people())),
            }
            if row
                .last_failure_at
                .is_some_and(|at| at >= s.now - RECENT_FAILURE_SECS)
            {
                found.push((
                    CheckState::Warn,
                    format!(
                        "{} deliver{} failed the signature check, the last at {}: something other than Stripe, or an old signing secret, is sending to the endpoint.",
                        row.signature_failures,
                        if row.signature_failures == 1 { "y" } else { "ies" },
                        format_utc(row.last_failure_at.unwrap_or_default())
                    ),
                ));
            }
            let last = row.last_event_at.unwrap_or(row.created_at);
            if last < s.now - SILENT_SECS {
                found.push((
                    CheckState::Warn,
                    format!(
                        "Stripe has delivered nothing since {}: if payments were made since, the endpoint may be broken.",
                        format_utc(last)
                    ),
                ));
            }
        }
    }
    let worst = found
        .iter()
        .fold(CheckState::Pass, |w, (state, _)| w.worse(*state));
    let mut check = match found.iter().find(|(state, _)| *state == worst) {
        Some((_, summary)) => HealthCheck {
            state: worst,
            ..HealthCheck::pass(id, summary.clone())
        },
        None => HealthCheck::pass(
            id,
            match &row {
                Some(_) => "Qualification settings are saved for every live campaign and the webhook endpoint is enabled.",
                None => "Qualification settings are saved for every live campaign; no campaign needs the webhook endpoint yet.",
            },
        ),
    };
    check.evidence = found
        .iter()
        .map(|(_, line)| line.clone())
        .filter(|line| *line != check.summary)
        .collect();
    if let Some(row) = &row {
        check.evidence.push(format!(
            "Endpoint {} at {}: {} events received, the last at {}",
            row.endpoint_id,
            row.url,
            row.events_received,
            row.last_event_at
                .map(format_utc)
                .unwrap_or_else(|| "never".into())
        ));
    }
    fixes.dedup();
    check.fixes = fixes;
    Ok(check)
}

/// Check 9: Invited friends who paid but not enough, or outside their window.
pub(super) async fn near_misses(s: &Scope<'_>) -> Result<HealthCheck, AppError> {
    let id = CheckId::NearMisses;
    let found = health::near_misses(s.db.pool(), &s.ctx.account_id, EVIDENCE).await?;
    if found.is_empty() {
        return Ok(HealthCheck::pass(
            id,
            "No invited friend has paid without qualifying.",
        ));
    }
    Ok(HealthCheck::warn(
        id,
        format!(
            "{} paid, but not enough within the window to qualify (or paid outside it).",
            people(found.len() as i64)
        ),
    )
    .with_evidence(found.iter().map(|f| {
        format!(
            "{} (“{}”, joined {}): {}",
            f.email,
            f.campaign,
            format_date(f.at),
            f.note
        )
    })))
}

/// Check 10: Friends who paid through another Stripe customer with their email than the one Refloop
/// linked: in a campaign counting only linked customers, that payment does not count.
pub(super) async fn shared_email_spend(s: &Scope<'_>) -> Result<HealthCheck, AppError> {
    let id = CheckId::SharedEmailSpend;
    let account = &s.ctx.account_id;
    let mut missed = Vec::new();
    let mut fixes = Vec::new();
    for (campaign_id, f) in health::unlinked_payers(s.db.pool(), account, EVIDENCE).await? {
        let scope = db::qualification::settings(s.db.pool(), account, &campaign_id)
            .await?
            .map(|q| q.scope);
        if scope == Some(CustomerScope::SameEmail) {
            continue;
        }
        missed.push(format!(
            "{} (“{}”): paid through {} other customer{} with the same email, which do not count; {}",
            f.email,
            f.campaign,
            f.customers,
            if f.customers == 1 { "" } else { "s" },
            if f.note.is_empty() { "nothing counted yet".to_string() } else { f.note.clone() }
        ));
        fixes.push(HealthFix::link(
            format!("Count every customer with the email in “{}”", f.campaign),
            format!("/app/campaigns/{campaign_id}/edit?step=qualification"),
        ));
    }
    if missed.is_empty() {
        return Ok(HealthCheck::pass(
            id,
            "Every payment by an invited friend's email was made by a customer linked to them, or counts anyway.",
        ));
    }
    fixes.dedup();
    let mut check = HealthCheck::warn(
        id,
        format!(
            "{} paid through a Stripe customer with their email other than the one linked to them, so those payments do not count. Count every customer with their email, or link all customers that share it.",
            people(missed.len() as i64)
        ),
    )
    .with_evidence(missed);
    check.fixes = fixes;
    Ok(check)
}
