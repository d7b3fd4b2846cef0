//! Who calls the API: the account's live key in `Authorization: Bearer`, within its rate limit
//! (per key, per minute), its scope and its campaigns.

use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts, HeaderValue, StatusCode},
};

use super::error::ApiError;
use crate::{
    auth::session,
    db::{api_keys, api_keys::ApiKeyRow, throttles, unix_now},
    domain::api_keys::ApiScope,
    state::AppState,
};

/// Requests one key may make in a minute.
pub const REQUESTS_PER_MINUTE: i64 = 300;

/// A request's key, checked.
#[derive(Debug, Clone)]
pub struct ApiCaller {
    pub key: ApiKeyRow,
}

impl ApiCaller {
    pub fn account_id(&self) -> &str {
        &self.key.account_id
    }

    /// Nothing if the key may change things; otherwise 403.
    pub fn may_write(&self) -> Result<(), ApiError> {
        if self.key.scope == ApiScope::ReadWrite {
            return Ok(());
        }
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "permission_error",
            format!(
                "The API key “{}” may only read. Make a read-and-write key on Integrations → API keys.",
                self.key.name
            ),
        ))
    }

    /// Who made a change through the API, as timelines say it.
    pub fn actor(&self) -> String {
        format!("the API key “{}”", self.key.name)
    }

    /// Whether the key reaches the campaign `id`.
    pub fn reaches(&self, campaign_id: &str) -> bool {
        self.key.campaigns.is_empty() || self.key.campaigns.iter().any(|c| c == campaign_id)
    }
}

fn unauthenticated(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "authentication_error", message)
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(unauthenticated(
                "No API key: send it as `Authorization: Bearer rfk_…` (Integrations → API keys).",
            ));
        };
        let token = bearer(value)
            .filter(|t| t.starts_with(super::keys::KEY_PREFIX) && t.len() < 200)
            .ok_or_else(|| {
                unauthenticated(
                    "The Authorization header must be `Bearer rfk_…`, with a key from Integrations → API keys.",
                )
            })?;
        let now = unix_now();
        let key = api_keys::use_key(state.db.pool(), &session::hash(token), now)
            .await?
            .ok_or_else(|| unauthenticated("This API key is wrong or has been revoked."))?;
        within_rate(
            state,
            &format!("api:{}", key.id),
            now,
            REQUESTS_PER_MINUTE,
            &format!("This key made more than {REQUESTS_PER_MINUTE} requests in a minute."),
        )
        .await?;
        Ok(ApiCaller { key })
    }
}

/// The token of `Authorization: Bearer …`.
pub fn bearer(value: &HeaderValue) -> Option<&str> {
    value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// Counts a request against `bucket`'s minute: past `limit`, 429 with `Retry-After` and
/// `too_many` said.
pub async fn within_rate(
    state: &AppState,
    bucket: &str,
    now: i64,
    limit: i64,
    too_many: &str,
) -> Result<(), ApiError> {
    let used = throttles::bump(state.db.pool(), bucket, now, 60).await?;
    if used <= limit {
        return Ok(());
    }
    Err(ApiError {
        // The minute began at the first of its requests: at most 60 seconds ago.
        retry_after: Some(60),
        ..ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            format!("{too_many} Wait and try again."),
        )
    })
}
