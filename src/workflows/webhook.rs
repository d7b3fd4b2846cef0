//! Refloop's webhook endpoint in the connected Stripe: made sure of when qualification
//! settings are saved (created through the API with the events qualification needs, or the
//! existing one reused), its signing secret sealed at rest, and its health as Stripe reports
//! it, with a repair for an endpoint deleted or disabled in Stripe.

use super::{
    qualification::{webhook_url, EVENTS},
    StripeAccess, WorkflowError,
};
use crate::{
    db::{self, new_id, qualification::WebhookRow, unix_now, Db},
    domain::qualification::{EndpointHealth, WebhookStatus},
    stripe::{types::WebhookEndpoint, StripeError},
};

/// The events Refloop needs that the endpoint does not send.
fn missing_events(e: &WebhookEndpoint) -> Vec<&'static str> {
    if e.enabled_events.iter().any(|t| t == "*") {
        return Vec::new();
    }
    EVENTS
        .iter()
        .copied()
        .filter(|t| !e.enabled_events.iter().any(|have| have == t))
        .collect()
}

fn status_of(row: &WebhookRow, health: EndpointHealth, problem: Option<String>) -> WebhookStatus {
    WebhookStatus {
        url: row.url.clone(),
        endpoint_id: row.endpoint_id.clone(),
        health,
        problem,
        last_event_at: row.last_event_at,
        events_received: row.events_received,
        signature_failures: row.signature_failures,
        last_failure_at: row.last_failure_at,
        reconciled_at: row.reconciled_at,
    }
}

/// What Stripe says about the endpoint, in the terms of the Qualification step.
fn judge(
    row: &WebhookRow,
    found: Result<WebhookEndpoint, StripeError>,
    expected_url: &str,
) -> WebhookStatus {
    let (health, problem) = match found {
        Ok(e) if e.deleted => (
            EndpointHealth::Deleted,
            Some("The endpoint was deleted in Stripe, so payments no longer reach Refloop. Repair creates it again.".to_string()),
        ),
        Err(StripeError::NotFound { .. }) => (
            EndpointHealth::Deleted,
            Some("The endpoint was deleted in Stripe, so payments no longer reach Refloop. Repair creates it again.".to_string()),
        ),
        Ok(e) if e.status == "disabled" => (
            EndpointHealth::Disabled,
            Some("The endpoint is disabled in Stripe, so payments no longer reach Refloop. Repair enables it.".to_string()),
        ),
        Ok(e) if e.url != expected_url => (
            EndpointHealth::Enabled,
            Some(format!(
                "The endpoint sends to {}, not to this server's address {expected_url}. Repair creates one for this address.",
                e.url
            )),
        ),
        Ok(e) if !missing_events(&e).is_empty() => (
            EndpointHealth::Enabled,
            Some(format!(
                "The endpoint does not send {}. Repair adds them.",
                missing_events(&e).join(", ")
            )),
        ),
        Ok(_) => (EndpointHealth::Enabled, None),
        Err(e) => (EndpointHealth::Unchecked, Some(e.to_string())),
    };
    status_of(row, health, problem)
}

/// The endpoint's health, when there is one (asks Stripe).
pub async fn status(
    db: &Db,
    access: &StripeAccess,
    account_id: &str,
) -> Result<Option<WebhookStatus>, WorkflowError> {
    let Some(row) = db::qualification::webhook_for(db.pool(), account_id).await? else {
        return Ok(None);
    };
    let stripe = match access.connect(db, account_id).await? {
        Some(s) => s,
        None => {
            return Ok(Some(status_of(
                &row,
                EndpointHealth::Unchecked,
                Some("Stripe is not connected: connect it on the Integrations page.".into()),
            )))
        }
    };
    if stripe.row.stripe_account_id.as_deref() != Some(row.stripe_account.as_str()) {
        return Ok(Some(status_of(
            &row,
            EndpointHealth::Deleted,
            Some(format!(
                "The endpoint is in the Stripe account connected before ({}), so payments in this one do not reach Refloop. Repair creates one here.",
                row.stripe_account
            )),
        )));
    }
    let found = stripe
        .client
        .retrieve_webhook_endpoint(&row.endpoint_id)
        .await;
    Ok(Some(judge(
        &row,
        found,
        &webhook_url(&access.public_url, &row.id),
    )))
}

/// Makes sure the endpoint exists, is enabled and sends what qualification needs: reuses the
/// one Refloop made (enabling it, adding events), or creates one and seals its secret.
pub async fn ensure(
    db: &Db,
    access: &StripeAccess,
    account_id: &str,
) -> Result<WebhookStatus, WorkflowError> {
    let stripe = access.connect(db, account_id).await?.ok_or_else(|| {
        "Connect Stripe on the Integrations page first: qualification reads payments from it."
            .to_string()
    })?;
    let stripe_account = stripe.row.stripe_account_id.clone().unwrap_or_default();
    // An endpoint made in another Stripe account (one connected before) is not reused: a new
    // one is made here, at a new address.
    let existing = db::qualification::webhook_for(db.pool(), account_id)
        .await?
        .filter(|row| row.stripe_account == stripe_account);
    if let Some(row) = &existing {
        let url = webhook_url(&access.public_url, &row.id);
        match stripe
            .client
            .retrieve_webhook_endpoint(&row.endpoint_id)
            .await
        {
            Ok(e) if !e.deleted && e.url == url => {
                if e.status == "disabled" || !missing_events(&e).is_empty() {
                    let key = format!("refloop-webhook-repair-{}", new_id("k"));
                    let events = if missing_events(&e).is_empty() {
                        None
                    } else {
                        Some(&EVENTS[..])
                    };
                    stripe
                        .client
                        .update_webhook_endpoint(&row.endpoint_id, events, Some(false), &key)
                        .await
                        .map_err(WorkflowError::stripe)?;
                }
                return Ok(status_of(row, EndpointHealth::Enabled, None));
            }
            Ok(_) | Err(StripeError::NotFound { .. }) => {}
            Err(e) => return Err(WorkflowError::stripe(e)),
        }
    }
    let id = existing
        .as_ref()
        .map(|r| r.id.clone())
        .unwrap_or_else(|| new_id("wh"));
    let url = webhook_url(&access.public_url, &id);
    let created = stripe
        .client
        .create_webhook_endpoint(
            &url,
            &EVENTS,
            &[("refloop_account", account_id)],
            &format!("refloop-webhook-{}", new_id("k")),
        )
        .await
        .map_err(WorkflowError::stripe)?;
    let secret = created
        .secret
        .ok_or("Stripe created the endpoint without showing its signing secret.")?;
    let row = new_webhook(
        account_id,
        &stripe_account,
        &id,
        &url,
        &created.id,
        access.sealer.seal(&secret),
    );
    db::qualification::save_webhook(db.pool(), &row).await?;
    Ok(status_of(&row, EndpointHealth::Enabled, None))
}

/// A new endpoint's row (its id is the public part of the address).
fn new_webhook(
    account_id: &str,
    stripe_account: &str,
    id: &str,
    url: &str,
    endpoint_id: &str,
    sealed: String,
) -> WebhookRow {
    WebhookRow {
        id: id.to_string(),
        account_id: account_id.to_string(),
        endpoint_id: endpoint_id.to_string(),
        sealed_secret: sealed,
        url: url.to_string(),
        created_at: unix_now(),
        last_event_at: None,
        events_received: 0,
        signature_failures: 0,
        last_failure_at: None,
        reconciled_after: unix_now(),
        reconciled_at: None,
        stripe_account: stripe_account.to_string(),
        foreign_events: 0,
    }
}
