//! `/health` (the process and its database) and `/metrics` (the job queue, for Prometheus).

use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::{json, Value};

use crate::state::AppState;

/// `GET /metrics` on the public address: only with `Authorization: Bearer` and the configured
/// `--metrics-token` (the router has no such route without one).
pub async fn metrics_with_token(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let expected = state.config.metrics_token.as_ref().map(|t| t.0.as_bytes());
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().as_bytes());
    let allowed = match (expected, given) {
        (Some(e), Some(g)) => {
            e.len() == g.len() && e.iter().zip(g).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
        }
        _ => false,
    };
    if !allowed {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "Send the metrics token as Authorization: Bearer <token>.\n",
        )
            .into_response();
    }
    metrics(State(state)).await.into_response()
}

/// `GET /metrics`: the job queue in Prometheus' text format (counts only; no account data).
/// Served as is on `--metrics-addr`.
pub async fn metrics(
    State(state): State<AppState>,
) -> (
    StatusCode,
    [(axum::http::HeaderName, &'static str); 1],
    String,
) {
    let content_type = [(
        axum::http::header::CONTENT_TYPE,
        "text/plain; version=0.0.4",
    )];
    match crate::jobs::stats::prometheus(&state.db).await {
        Ok(text) => (StatusCode::OK, content_type, text),
        Err(err) => {
            tracing::error!(error = %err, "metrics: the database did not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                content_type,
                "# the database did not answer\n".into(),
            )
        }
    }
}

/// `GET /healthz`: 200 when the database answers, 503 when it does not.
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = state.db.backend().name();
    match state.db.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(
                json!({ "status": "ok", "database": database, "version": env!("CARGO_PKG_VERSION") }),
            ),
        ),
        Err(err) => {
            tracing::error!(error = %err, "health check: database did not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(
                    json!({ "status": "unavailable", "database": database, "problem": "the database did not answer" }),
                ),
            )
        }
    }
}
