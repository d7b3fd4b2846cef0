//! The merchant's webhook endpoints: one disabled after a message failed for days tells no one.

use super::Scope;
use crate::{
    db,
    domain::health::{CheckId, HealthCheck, HealthFix},
    error::AppError,
};

/// Check 17: every webhook endpoint of the account is enabled.
pub(super) async fn endpoints(s: &Scope<'_>) -> Result<HealthCheck, AppError> {
    let id = CheckId::OutboundWebhooks;
    let all = db::webhooks::endpoints(s.db.pool(), &s.ctx.account_id).await?;
    let disabled: Vec<_> = all.iter().filter(|e| !e.enabled).collect();
    if disabled.is_empty() {
        return Ok(HealthCheck::pass(
            id,
            match all.len() {
                0 => "No webhook endpoints: Refloop sends your systems nothing.".to_string(),
                n => format!(
                    "{n} webhook endpoint{} enabled.",
                    if n == 1 { "" } else { "s" }
                ),
            },
        ));
    }
    Ok(HealthCheck::fail(
        id,
        format!(
            "{} webhook endpoint{} disabled after failing for days: {} receive{} no events until enabled.",
            disabled.len(),
            if disabled.len() == 1 { " is" } else { "s are" },
            if disabled.len() == 1 { "it" } else { "they" },
            if disabled.len() == 1 { "s" } else { "" },
        ),
    )
    .with_evidence(disabled.iter().map(|e| {
        format!("{}: {}", e.url, e.disabled_reason.clone().unwrap_or_default())
    }))
    .with_fix(HealthFix::link(
        "Open Integrations → Webhooks: fix the endpoint, enable it, replay what failed",
        "/app/integrations",
    )))
}
