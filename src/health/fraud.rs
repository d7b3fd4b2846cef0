//! Referrals flagged as self-referrals that have waited too long for a decision: their rewards
//! wait with them.

use super::{Scope, EVIDENCE};
use crate::{
    db,
    domain::{
        health::{CheckId, HealthCheck},
        time::format_utc,
    },
    error::AppError,
};

/// How long a flagged referral may wait for review before the check warns.
pub const REVIEW_DAYS: i64 = 7;

/// Every flagged referral was decided within `REVIEW_DAYS`.
pub(super) async fn reviews(s: &Scope<'_>) -> Result<HealthCheck, AppError> {
    let id = CheckId::Reviews;
    let before = s.now - REVIEW_DAYS * 86_400;
    let late = db::fraud::waiting_before(s.db.pool(), &s.ctx.account_id, before, EVIDENCE).await?;
    if late.is_empty() {
        return Ok(HealthCheck::pass(
            id,
            format!("No referral flagged as a self-referral has waited more than {REVIEW_DAYS} days for review."),
        ));
    }
    let n = late.len();
    Ok(HealthCheck::warn(
        id,
        format!(
            "{}{n} referral{} flagged as a self-referral {} waited more than {REVIEW_DAYS} days for review, and {} rewards with {}: approve or reject them in the campaign's reward ledger (Manage rewards).",
            if n as i64 >= EVIDENCE { "At least " } else { "" },
            if n == 1 { "" } else { "s" },
            if n == 1 { "has" } else { "have" },
            if n == 1 { "its" } else { "their" },
            if n == 1 { "it" } else { "them" },
        ),
    )
    .with_evidence(
        late.into_iter()
            .map(|(email, campaign, at)| format!("{email} in {campaign}, flagged {}", format_utc(at))),
    ))
}
