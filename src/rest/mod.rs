//! The developer API at `/api/v1`: the merchant's own systems enrol and look up people with an
//! API key (`Authorization: Bearer rfk_…`), in JSON, with Stripe's conventions — cursor
//! pagination (`limit`, `starting_after`), `Idempotency-Key` on POSTs, and errors with a type,
//! a message and the field.

pub mod auth;
pub mod error;
pub mod idempotency;
pub mod keys;
pub mod participants;

use axum::{routing::get, Router};

use crate::state::AppState;

/// The API's routes, to nest at `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/participants",
            get(participants::list).post(participants::enrol),
        )
        .route("/participants/{id}", get(participants::retrieve))
        .fallback(error::no_such_route)
}
