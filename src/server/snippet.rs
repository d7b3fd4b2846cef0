//! `/refloop.js`: the snippet merchants put on their own site (see `refloop.js` beside this
//! file). Small, dependency-free, built into the binary, cached by browsers for an hour.

use axum::{
    http::header,
    response::{IntoResponse, Response},
};

const SNIPPET: &str = include_str!("refloop.js");

pub async fn refloop_js() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "application/javascript; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            // Loaded by the merchant's pages, from another origin.
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        SNIPPET,
    )
        .into_response()
}
