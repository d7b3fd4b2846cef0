//! Checks a key against Stripe before Refloop keeps it: which account and mode it opens, and
//! which of the permissions Refloop needs it lacks. Every probe is harmless: a list of one, or
//! an update of an object that does not exist (Stripe checks the permission first and then
//! answers "not found").

use reqwest::Method;
use serde_json::json;

use super::{client::StripeClient, error::StripeError};
use crate::domain::integrations::{OPTIONAL_PERMISSIONS, REQUIRED_PERMISSIONS};

/// What a key opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyCheck {
    pub account_id: String,
    pub account_name: Option<String>,
    /// The required permissions the key lacks, in `REQUIRED_PERMISSIONS` order.
    pub missing: Vec<String>,
    /// The optional permissions it lacks (`OPTIONAL_PERMISSIONS`).
    pub missing_optional: Vec<String>,
}

/// The request that needs each permission.
fn probe(permission: &str) -> (Method, &'static str) {
    match permission {
        "rak_customer_write" => (Method::POST, "/v1/customers/cus_refloop_probe"),
        "rak_event_read" => (Method::GET, "/v1/events?limit=1"),
        "rak_charge_read" => (Method::GET, "/v1/charges?limit=1"),
        "rak_balance_read" => (Method::GET, "/v1/balance_transactions/txn_refloop_probe"),
        "rak_coupon_write" => (Method::POST, "/v1/coupons/refloop_probe"),
        "rak_promotion_code_write" => (Method::POST, "/v1/promotion_codes/promo_refloop_probe"),
        "rak_customer_balance_write" => (
            Method::POST,
            "/v1/customers/cus_refloop_probe/balance_transactions",
        ),
        _ => (Method::POST, "/v1/webhook_endpoints/we_refloop_probe"),
    }
}

/// Identifies the key's account and lists the permissions it lacks. Fails only when the key
/// is refused outright or Stripe cannot be reached.
pub async fn check_key(client: &StripeClient) -> Result<KeyCheck, StripeError> {
    let (account_id, account_name) = match client.account().await {
        Ok(a) => (a.id, a.business_profile.and_then(|b| b.name)),
        // A restricted key may not read the account; the probes below still tell the rest.
        Err(StripeError::MissingPermission { .. }) => ("unknown".to_string(), None),
        Err(e) => return Err(e),
    };
    let mut missing = Vec::new();
    for (permission, _, _) in REQUIRED_PERMISSIONS.iter().chain(&OPTIONAL_PERMISSIONS) {
        let (method, path) = probe(permission);
        match client.request(method, path, &json!({}), None).await {
            Err(StripeError::MissingPermission { .. }) => missing.push(permission.to_string()),
            Err(e @ (StripeError::InvalidKey | StripeError::Connection(_))) => return Err(e),
            Err(e) if e.is_retryable() => return Err(e),
            // Found nothing, refused the empty update, or listed: the permission is there.
            Ok(_) | Err(_) => {}
        }
    }
    let (missing_optional, missing) = missing
        .into_iter()
        .partition(|m| OPTIONAL_PERMISSIONS.iter().any(|(p, _, _)| p == m));
    Ok(KeyCheck {
        account_id,
        account_name,
        missing,
        missing_optional,
    })
}
