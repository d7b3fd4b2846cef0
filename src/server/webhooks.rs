//! `POST /webhooks/stripe/{id}`: Stripe's deliveries. The signature is checked on the raw body;
//! the event is recorded and its processing enqueued in one transaction, and Stripe is answered
//! at once (the work happens in the job).

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

use crate::{
    state::Webhooks,
    workflows::qualification::{self, Delivery, Refusal},
};

pub async fn stripe(
    State(webhooks): State<Webhooks>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    match qualification::receive(&webhooks.db, &webhooks.sealer, &id, signature, &body).await {
        Ok(Ok(Delivery::Accepted)) => {
            webhooks.queue.wake();
            (StatusCode::OK, Json(json!({ "received": true }))).into_response()
        }
        Ok(Ok(Delivery::Duplicate)) => (
            StatusCode::OK,
            Json(json!({ "received": true, "duplicate": true })),
        )
            .into_response(),
        Ok(Err(Refusal::UnknownEndpoint)) => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "No Refloop webhook endpoint has this address." })),
        )
            .into_response(),
        Ok(Err(Refusal::BadSignature(why))) => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": format!("Signature check failed: {why}") })),
        )
            .into_response(),
        Ok(Err(Refusal::FormerAccount(stripe_account))) => (
            StatusCode::GONE,
            Json(json!({ "error": format!(
                "This endpoint belongs to the Stripe account {stripe_account}, which is no longer connected to Refloop. Delete it in that account's dashboard."
            ) })),
        )
            .into_response(),
        Ok(Err(Refusal::NotAnEvent(why))) => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": format!("Not a Stripe event: {why}") })),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "webhook: the database did not answer");
            // Stripe retries a 5xx: nothing is lost.
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "error": "Try again later." })),
            )
                .into_response()
        }
    }
}
