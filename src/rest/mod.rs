//! The developer API at `/api/v1`: the merchant's own systems enrol, look up, change and
//! remove people, attribute Stripe customers to them, and follow and fulfil rewards, with an
//! API key (`Authorization: Bearer rfk_…`), in JSON, with Stripe's conventions — cursor
//! pagination (`limit`, `starting_after`), `Idempotency-Key` on POSTs, and errors with a type,
//! a message and the field.

pub mod auth;
pub mod error;
pub mod idempotency;
pub mod keys;
pub mod openapi;
pub mod paging;
pub mod participants;
pub mod rewards;
pub mod webhooks;
pub mod widget;

use axum::{
    routing::{get, post},
    Router,
};

use crate::state::AppState;

/// An answer's JSON.
pub fn json<T: serde::Serialize>(object: &T) -> serde_json::Value {
    serde_json::to_value(object).expect("plain data")
}

/// The API's routes, to nest at `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi::serve))
        .route(
            "/participants",
            get(participants::list).post(participants::enrol),
        )
        .route(
            "/participants/{id}",
            get(participants::retrieve)
                .post(participants::update)
                .delete(participants::remove),
        )
        .route(
            "/participants/{id}/customers",
            post(participants::attribute),
        )
        .route("/participants/{id}/widget_tokens", post(widget::mint))
        .route("/widget", get(widget::show).options(widget::preflight))
        .route("/rewards", get(rewards::list))
        .route("/rewards/{id}", get(rewards::retrieve))
        .route("/rewards/{id}/fulfil", post(rewards::fulfil))
        .fallback(error::no_such_route)
}
