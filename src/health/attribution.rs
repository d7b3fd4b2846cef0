//! Payments at checkout that carried a Refloop code (a client_reference_id) which no rule could
//! attribute: a code of nobody, a payer referring themself, someone who had joined already.

use super::{Scope, EVIDENCE};
use crate::{
    db,
    domain::{
        health::{CheckId, HealthCheck},
        time::format_utc,
    },
    error::AppError,
};

/// What this recent counts.
const RECENT_SECS: i64 = 30 * 86_400;

/// Check 17: every payment at checkout that named a Refloop code counted for a friend.
pub(super) async fn checkout(s: &Scope<'_>) -> Result<HealthCheck, AppError> {
    let id = CheckId::CheckoutAttribution;
    let since = s.now - RECENT_SECS;
    let missed =
        db::attribution::unattributed_since(s.db.pool(), &s.ctx.account_id, since, EVIDENCE)
            .await?;
    if missed.is_empty() {
        return Ok(HealthCheck::pass(
            id,
            "Every payment at checkout that named a Refloop code in the last 30 days counted for a friend.",
        ));
    }
    let n = missed.len();
    Ok(HealthCheck::warn(
        id,
        format!(
            "{}{n} payment{} at checkout in the last 30 days named a Refloop code that no rule could attribute; {} counted for nobody.",
            if n as i64 >= EVIDENCE { "At least " } else { "" },
            if n == 1 { "" } else { "s" },
            if n == 1 { "it" } else { "they" },
        ),
    )
    .with_evidence(missed.into_iter().map(|m| {
        format!(
            "{}, {}: {}",
            format_utc(m.created_at),
            m.email.as_deref().unwrap_or("no email"),
            m.outcome
        )
    })))
}
