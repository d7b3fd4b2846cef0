//! What went wrong talking to Stripe, in words a marketer can act on.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StripeError {
    #[error("Stripe rejected the API key: it is invalid or was revoked. Create a new restricted key in your Stripe dashboard and connect again.")]
    InvalidKey,
    #[error("Stripe says this key lacks the permission `{permission}`. Create a restricted key with {label} ticked, and connect again.")]
    MissingPermission { permission: String, label: String },
    #[error(
        "Stripe is limiting how fast Refloop may send requests; it will keep retrying more slowly."
    )]
    RateLimited,
    #[error("Stripe could not find it: {message}")]
    NotFound { message: String },
    #[error("Stripe refused the request: {message}")]
    InvalidRequest {
        param: Option<String>,
        message: String,
    },
    #[error("The card was declined: {message}")]
    Card {
        code: Option<String>,
        message: String,
    },
    #[error("Stripe refused a repeated request: {message}")]
    Idempotency { message: String },
    #[error("Stripe answered with an error ({status}): {message}")]
    Api { status: u16, message: String },
    #[error("Stripe could not be reached: {0}")]
    Connection(String),
}

impl StripeError {
    /// Reads Stripe's error envelope.
    pub fn from_response(status: u16, body: &Value) -> StripeError {
        let error = &body["error"];
        let message = error["message"]
            .as_str()
            .unwrap_or("no message")
            .to_string();
        let kind = error["type"].as_str().unwrap_or_default();
        let code = error["code"].as_str().map(str::to_string);
        match (status, kind) {
            (401, _) => StripeError::InvalidKey,
            (403, _) => match permission_in(&message) {
                Some(permission) => StripeError::MissingPermission {
                    label: permission_label(&permission),
                    permission,
                },
                None => StripeError::Api { status, message },
            },
            (429, _) => StripeError::RateLimited,
            (404, _) => StripeError::NotFound { message },
            (_, "card_error") => StripeError::Card { code, message },
            (_, "idempotency_error") => StripeError::Idempotency { message },
            (400, _) => StripeError::InvalidRequest {
                param: error["param"].as_str().map(str::to_string),
                message,
            },
            _ => StripeError::Api { status, message },
        }
    }

    /// Whether trying again later can help (and a job should retry rather than fail).
    pub fn is_retryable(&self) -> bool {
        matches!(self, StripeError::RateLimited | StripeError::Connection(_))
            || matches!(self, StripeError::Api { status, .. } if *status >= 500 || *status == 409)
    }
}

/// The permission named in Stripe's 403 message ("Having the 'rak_customer_write' permission…").
fn permission_in(message: &str) -> Option<String> {
    let start = message.find("'rak_")? + 1;
    let end = message[start..].find('\'')? + start;
    Some(message[start..end].to_string())
}

/// `rak_customer_write` → "Customers: Write", as the dashboard labels it.
pub fn permission_label(permission: &str) -> String {
    let body = permission.trim_start_matches("rak_");
    let (resource, access) = body.rsplit_once('_').unwrap_or((body, "read"));
    let resource = match resource {
        "customer" => "Customers".to_string(),
        "charge" => "Charges".to_string(),
        "event" => "Events".to_string(),
        "webhook" => "Webhook Endpoints".to_string(),
        "coupon" => "Coupons".to_string(),
        "promotion_code" => "Promotion Codes".to_string(),
        "customer_balance_transaction" | "customer_balance" => "Customer Balance".to_string(),
        other => {
            let mut words: Vec<String> = other
                .split('_')
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                        .unwrap_or_default()
                })
                .collect();
            if let Some(last) = words.last_mut() {
                last.push('s');
            }
            words.join(" ")
        }
    };
    let access = if access == "write" { "Write" } else { "Read" };
    format!("{resource}: {access}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_missing_permission_names_what_to_tick() {
        let body = json!({"error": {"type": "invalid_request_error", "message": "The provided key 'rk_test_****abcd' does not have the required permissions for this endpoint on account 'acct_1'. Having the 'rak_customer_write' permission would allow this request to continue."}});
        let err = StripeError::from_response(403, &body);
        assert_eq!(
            err,
            StripeError::MissingPermission {
                permission: "rak_customer_write".into(),
                label: "Customers: Write".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "Stripe says this key lacks the permission `rak_customer_write`. Create a restricted key with Customers: Write ticked, and connect again."
        );
        assert_eq!(
            permission_label("rak_payment_intent_read"),
            "Payment Intents: Read"
        );
    }

    #[test]
    fn statuses_map_to_kinds_and_retryability() {
        let e = |status, kind: &str| {
            StripeError::from_response(
                status,
                &json!({"error": {"type": kind, "message": "m", "param": "email"}}),
            )
        };
        assert_eq!(e(401, "invalid_request_error"), StripeError::InvalidKey);
        assert_eq!(
            e(400, "invalid_request_error"),
            StripeError::InvalidRequest {
                param: Some("email".into()),
                message: "m".into()
            }
        );
        assert!(matches!(e(402, "card_error"), StripeError::Card { .. }));
        assert!(matches!(
            e(400, "idempotency_error"),
            StripeError::Idempotency { .. }
        ));
        assert!(e(429, "invalid_request_error").is_retryable());
        assert!(e(503, "api_error").is_retryable());
        assert!(e(409, "invalid_request_error").is_retryable());
        assert!(!e(400, "invalid_request_error").is_retryable());
    }
}
