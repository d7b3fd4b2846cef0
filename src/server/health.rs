use axum::{extract::State, http::StatusCode, Json};
use serde_json::{json, Value};

use super::AppState;

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
