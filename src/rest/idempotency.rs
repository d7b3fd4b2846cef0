//! `Idempotency-Key` on POSTs, as Stripe does it: the first answer to a key is kept for a day
//! and given again to a retry of the same request, without doing it twice; the same key with
//! other parameters, or while the first is still being answered, is refused.

use std::future::Future;

use axum::{
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{auth::ApiCaller, error::ApiError};
use crate::{
    db::{api_keys, unix_now, Db},
    error::AppError,
};

/// The longest Idempotency-Key taken.
const KEY_MAX: usize = 255;

/// The header, as the API's document describes it.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKey {
    /// Any unique value (a UUID): a retry with the same key and body gets the first answer
    /// (`Idempotent-Replayed: true`) instead of doing it twice, for a day.
    #[param(rename = "Idempotency-Key", max_length = 255)]
    pub idempotency_key: Option<String>,
}

/// Answers `body` sent to `path` with `answer`, once per Idempotency-Key (if the request has
/// one).
pub async fn once<F>(
    db: &Db,
    caller: &ApiCaller,
    headers: &HeaderMap,
    path: &str,
    body: &[u8],
    answer: F,
) -> Response
where
    F: Future<Output = Result<(StatusCode, Value), ApiError>>,
{
    let Some(key) = headers.get("idempotency-key") else {
        return respond(answer.await);
    };
    let key = match key
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= KEY_MAX)
    {
        Some(k) => k.to_string(),
        None => {
            return ApiError::invalid(
                "Idempotency-Key",
                format!("An Idempotency-Key is 1 to {KEY_MAX} visible characters."),
            )
            .into_response()
        }
    };
    let mut hasher = Sha256::new();
    hasher.update(path.as_bytes());
    hasher.update(b"\n");
    hasher.update(body);
    let request_hash: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let claimed = async {
        let mut conn = db.pool().acquire().await?;
        api_keys::claim(&mut conn, &caller.key.id, &key, &request_hash, unix_now()).await
    }
    .await;
    match claimed {
        Err(e) => return ApiError::from(AppError::from(e)).into_response(),
        Ok(Some((hash, _, _))) if hash != request_hash => {
            return ApiError {
                field: Some("Idempotency-Key".into()),
                ..ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "idempotency_error",
                    "This Idempotency-Key was used with another request; use a new key for a new request.",
                )
            }
            .into_response()
        }
        Ok(Some((_, 0, _))) => {
            return ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_error",
                "A request with this Idempotency-Key is still being answered; retry in a moment.",
            )
            .into_response()
        }
        Ok(Some((_, status, body))) => {
            let status = StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK);
            let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let mut response = (status, Json(body)).into_response();
            response
                .headers_mut()
                .insert("idempotent-replayed", "true".parse().expect("header"));
            return response;
        }
        Ok(None) => {}
    }
    let result = answer.await;
    let kept = match &result {
        Ok((status, body)) => Some((status.as_u16() as i64, body.to_string())),
        // Refloop's own failures are not kept: a retry tries afresh.
        Err(e) if e.status.is_server_error() => None,
        Err(e) => Some((e.status.as_u16() as i64, super::json(&e.body()).to_string())),
    };
    let settled = api_keys::settle(
        db.pool(),
        &caller.key.id,
        &key,
        kept.as_ref().map(|(s, b)| (*s, b.as_str())),
    )
    .await;
    if let Err(e) = settled {
        tracing::error!(error = %e, "could not keep an idempotent answer");
    }
    respond(result)
}

fn respond(result: Result<(StatusCode, Value), ApiError>) -> Response {
    match result {
        Ok((status, body)) => (status, Json(body)).into_response(),
        Err(e) => e.into_response(),
    }
}
