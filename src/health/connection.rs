//! The guide's connection problems: the viewer's permission, the key, the one account.

use super::{Depth, Scope};
use crate::{
    domain::{
        health::{CheckId, CheckState, HealthCheck, HealthFix},
        integrations::{explain_missing_optional, explain_missing_permissions, key_creation_link},
        permissions::{explain_missing, Permission},
        time::format_utc,
    },
    error::AppError,
    stripe::{probe::check_key, StripeError},
};

const INTEGRATIONS: &str = "/app/integrations";

/// Check 1: Whether the viewer may connect, repair and change the integration, and who can grant it.
pub(super) async fn permission(s: &Scope<'_>) -> Result<HealthCheck, AppError> {
    let id = CheckId::Permission;
    if s.ctx.can(Permission::ManageIntegrations) {
        return Ok(HealthCheck::pass(
            id,
            "You can connect, repair and change the Stripe integration.",
        ));
    }
    let helpers = crate::auth::helpers(s.db, &s.ctx.account_id).await?;
    Ok(HealthCheck::fail(
        id,
        format!(
            "You cannot change the Stripe integration (you are {}). {}",
            s.ctx.role.label(),
            explain_missing(Permission::ManageIntegrations, &helpers)
        ),
    )
    .with_evidence(helpers.iter().map(|h| {
        format!(
            "{} ({}, {}) can grant Manage integrations on the Team page",
            h.name,
            h.email,
            h.role.label()
        )
    })))
}

/// Check 2: Whether Stripe accepts the key and it holds every permission Refloop needs.
pub(super) async fn key(s: &Scope<'_>) -> Result<HealthCheck, AppError> {
    let id = CheckId::StripeKey;
    let Some(row) = &s.connection else {
        return Ok(HealthCheck::warn(
            id,
            "No Stripe account is connected, so there is no key to check.",
        )
        .with_fix(HealthFix::link("Connect Stripe", INTEGRATIONS)));
    };
    let hint = row.key_hint.clone().unwrap_or_else(|| "the key".into());
    let alert = row.alert.as_ref().map(|a| {
        format!(
            "Stripe refused a request on {}: {a}",
            format_utc(row.alert_at.unwrap_or(row.connected_at))
        )
    });
    let reconnect = HealthFix::link("Connect with a new key", INTEGRATIONS);
    if s.depth == Depth::Quick {
        return Ok(match alert {
            Some(a) => HealthCheck::fail(id, a).with_fix(reconnect),
            None => HealthCheck::pass(id, format!("Stripe has accepted {hint} so far.")),
        });
    }
    let stripe = match s.access.connect(s.db, &s.ctx.account_id).await {
        Ok(Some(stripe)) => stripe,
        Ok(None) => return Ok(HealthCheck::warn(id, "No Stripe account is connected.")),
        Err(why) => return Ok(HealthCheck::fail(id, why.for_people()).with_fix(reconnect)),
    };
    Ok(match check_key(&stripe.client).await {
        Err(StripeError::InvalidKey) => HealthCheck::fail(
            id,
            format!(
                "Stripe rejects {hint}: it was revoked, rolled or deleted. Connect again with a current key."
            ),
        )
        .with_evidence(alert)
        .with_fix(reconnect),
        Err(e) => HealthCheck::warn(id, format!("Stripe could not be asked about {hint}: {e}")),
        Ok(check) => {
            // A required permission missing fails; an optional one warns.
            let lacking = explain_missing_permissions(&check.missing)
                .map(|m| (CheckState::Fail, m, &check.missing))
                .or_else(|| {
                    explain_missing_optional(&check.missing_optional)
                        .map(|m| (CheckState::Warn, m, &check.missing_optional))
                });
            match (lacking, alert) {
                (Some((state, missing, permissions)), _) => HealthCheck {
                    state,
                    ..HealthCheck::pass(id, format!("{hint}: {missing}"))
                }
                .with_evidence(permissions.iter().map(|p| format!("Missing: {p}")))
                .with_fix(HealthFix::link(
                    "Create a key with every permission",
                    key_creation_link(),
                ))
                .with_fix(reconnect),
                (None, Some(a)) => HealthCheck::warn(
                    id,
                    format!("Stripe accepts {hint} now, with every permission Refloop needs."),
                )
                .with_evidence([a]),
                (None, None) => HealthCheck::pass(
                    id,
                    format!("Stripe accepts {hint}, with every permission Refloop needs."),
                ),
            }
        }
    })
}

/// Check 3: What is connected, in which mode: Refloop connects one Stripe account at a time.
pub(super) fn account(s: &Scope<'_>) -> HealthCheck {
    let id = CheckId::OneAccount;
    match &s.connection {
        None => HealthCheck::fail(
            id,
            "No Stripe account is connected: nothing is sent to Stripe, synced or qualified.",
        )
        .with_fix(HealthFix::link("Connect Stripe", INTEGRATIONS)),
        Some(row) => {
            let public = row.public();
            HealthCheck::pass(
                id,
                format!(
                    "Connected: {}. Refloop connects one Stripe account at a time; to use another, disconnect this one first.",
                    public.describe()
                ),
            )
            .with_evidence([format!(
                "Connected by {} on {}",
                row.connected_by,
                format_utc(row.connected_at)
            )])
        }
    }
}
