//! `/refloop.js`, the snippet merchants put on their own site, and `/widget.js`, the referral
//! widget for their own app (see the files beside this one). Small, dependency-free, built into
//! the binary, cached by browsers for an hour.

use axum::{
    http::header,
    response::{IntoResponse, Response},
};

const SNIPPET: &str = include_str!("refloop.js");
/// `/widget.js`: the referral widget for the merchant's own app (see `widget.js`).
const WIDGET: &str = include_str!("widget.js");

pub async fn refloop_js() -> Response {
    script(SNIPPET)
}

pub async fn widget_js() -> Response {
    script(WIDGET)
}

fn script(source: &'static str) -> Response {
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
        source,
    )
        .into_response()
}
