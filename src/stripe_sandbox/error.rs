//! Stripe's error envelope: `{"error": {"type", "code", "message", "param", "doc_url"}}`.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub kind: &'static str,
    pub code: Option<&'static str>,
    pub message: String,
    pub param: Option<String>,
    pub decline_code: Option<&'static str>,
}

impl ApiError {
    fn new(status: u16, kind: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            kind,
            code: None,
            message: message.into(),
            param: None,
            decline_code: None,
        }
    }

    pub fn invalid(param: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            code: Some("parameter_invalid_string"),
            param: Some(param.to_string()),
            ..ApiError::new(400, "invalid_request_error", message)
        }
    }

    /// An amount Stripe does not charge in its currency.
    pub fn invalid_charge_amount(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            code: Some(code),
            param: Some("amount".into()),
            ..ApiError::new(400, "invalid_request_error", message)
        }
    }

    pub fn unknown_param(param: &str) -> ApiError {
        ApiError {
            code: Some("parameter_unknown"),
            param: Some(param.to_string()),
            ..ApiError::new(
                400,
                "invalid_request_error",
                format!("Received unknown parameter: {param}"),
            )
        }
    }

    pub fn missing_param(param: &str) -> ApiError {
        ApiError {
            code: Some("parameter_missing"),
            param: Some(param.to_string()),
            ..ApiError::new(
                400,
                "invalid_request_error",
                format!("Missing required param: {param}."),
            )
        }
    }

    pub fn missing(kind: &str, id: &str) -> ApiError {
        ApiError {
            code: Some("resource_missing"),
            param: Some("id".into()),
            ..ApiError::new(
                404,
                "invalid_request_error",
                format!("No such {kind}: '{id}'"),
            )
        }
    }

    pub fn invalid_key(key: &str) -> ApiError {
        let masked = mask(key);
        ApiError::new(
            401,
            "invalid_request_error",
            format!("Invalid API Key provided: {masked}"),
        )
    }

    pub fn no_key() -> ApiError {
        ApiError::new(
            401,
            "invalid_request_error",
            "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
        )
    }

    pub fn permission(key: &str, account: &str, permission: &str) -> ApiError {
        ApiError::new(
            403,
            "invalid_request_error",
            format!(
                "The provided key '{}' does not have the required permissions for this endpoint on account '{account}'. Having the '{permission}' permission would allow this request to continue.",
                mask(key)
            ),
        )
    }

    pub fn rate_limited() -> ApiError {
        ApiError {
            code: Some("rate_limit"),
            ..ApiError::new(429, "invalid_request_error", "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.")
        }
    }

    pub fn idempotency_mismatch(key: &str) -> ApiError {
        ApiError::new(
            400,
            "idempotency_error",
            format!("Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."),
        )
    }

    pub fn idempotency_in_flight() -> ApiError {
        ApiError {
            code: Some("idempotency_key_in_use"),
            ..ApiError::new(409, "invalid_request_error", "There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): please try again later.")
        }
    }

    pub fn internal() -> ApiError {
        ApiError::new(
            500,
            "api_error",
            "An unknown error occurred (injected by the sandbox).",
        )
    }

    pub fn card_declined(charge: &str) -> ApiError {
        ApiError {
            code: Some("card_declined"),
            decline_code: Some("generic_decline"),
            param: Some(charge.to_string()),
            ..ApiError::new(402, "card_error", "Your card was declined.")
        }
    }

    pub fn body(&self) -> Value {
        let mut error = json!({
            "type": self.kind,
            "message": self.message,
        });
        if let Some(code) = self.code {
            error["code"] = json!(code);
            error["doc_url"] = json!(format!(
                "https://stripe.com/docs/error-codes/{}",
                code.replace('_', "-")
            ));
        }
        if let Some(param) = &self.param {
            error["param"] = json!(param);
        }
        if let Some(d) = self.decline_code {
            error["decline_code"] = json!(d);
        }
        json!({ "error": error })
    }
}

/// `sk_test_****abcd`, as Stripe shows keys in messages. Counts characters, not bytes: a key
/// is whatever a caller sent, in any script.
fn mask(key: &str) -> String {
    let prefix: String = match key.match_indices('_').nth(1) {
        Some((i, _)) => key[..=i].chars().take(16).collect(),
        None => String::new(),
    };
    let chars: Vec<char> = key.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("{prefix}****{tail}")
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = (status, Json(self.body())).into_response();
        if self.status == 429 || self.status == 409 || self.status >= 500 {
            res.headers_mut()
                .insert("stripe-should-retry", "true".parse().unwrap());
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn keys_are_masked_whatever_their_characters() {
        assert_eq!(mask("sk_test_abcdefgh1234"), "sk_test_****1234");
        assert_eq!(mask("sk_test_ééééé"), "sk_test_****éééé");
        assert_eq!(mask("é"), "****é");
        assert_eq!(mask(""), "****");
        assert_eq!(mask("_é_"), "_é_****_é_");
    }
}
