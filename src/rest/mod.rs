//! The developer API at `/api/v1`: the merchant's own systems enrol, look up, change and
//! remove people, attribute Stripe customers to them, and follow and fulfil rewards, with an
//! API key (`Authorization: Bearer rfk_…`), in JSON, with Stripe's conventions — cursor
//! pagination (`limit`, `starting_after`), `Idempotency-Key` on POSTs, and errors with a type,
//! a message and the field.

pub mod auth;
pub mod error;
pub mod idempotency;
pub mod keys;
pub mod paging;
pub mod participants;
pub mod rewards;
pub mod webhooks;

use axum::{
    routing::{get, post},
    Router,
};

use crate::state::AppState;

/// The API's routes, to nest at `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
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
        .route("/rewards", get(rewards::list))
        .route("/rewards/{id}", get(rewards::retrieve))
        .route("/rewards/{id}/fulfil", post(rewards::fulfil))
        .fallback(error::no_such_route)
}
