use axum::{extract::State, http::StatusCode, Json};
use serde_json::{json, Value};

use super::AppState;

/// `GET /metrics`: the job queue in Prometheus' text format (counts only; no account data).
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
