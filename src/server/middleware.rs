//! Layers every response passes through: request logs, security headers, no caching unless a
//! response says otherwise, compression.

use std::time::Duration;

use axum::{
    body::Body,
    http::{header, HeaderName, HeaderValue, Request, Response},
    Router,
};
use tower_http::{
    compression::CompressionLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    set_header::SetResponseHeaderLayer,
    trace::TraceLayer,
};
use tracing::Span;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Headers that hold for every response. The page's Content-Security-Policy, which needs the
/// per-request script nonce, is written by the HTML shell itself.
const SECURITY_HEADERS: [(HeaderName, &str); 5] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "strict-origin-when-cross-origin"),
    (
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), payment=()",
    ),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    ),
];

/// Paths whose last part is a secret (a personal page, an invitation, a password reset): the
/// secret never reaches the logs.
const SECRET_PATHS: [&str; 4] = ["/p/", "/invite/", "/reset-password/", "/unsubscribe/"];

/// The path as request logs show it, secrets replaced by `…`.
pub fn loggable(path: &str) -> std::borrow::Cow<'_, str> {
    match SECRET_PATHS.iter().find(|p| path.starts_with(*p)) {
        Some(prefix) if path.len() > prefix.len() => format!("{prefix}…").into(),
        _ => path.into(),
    }
}

pub fn apply<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    let mut router = router
        .layer(axum::middleware::from_fn(
            crate::auth::csrf::same_origin_only,
        ))
        .layer(CompressionLayer::new())
        .layer(PropagateRequestIdLayer::new(REQUEST_ID));
    // Pages, server functions and exports are per person and never cached; the front end's
    // files and the snippet say otherwise themselves.
    router = router.layer(SetResponseHeaderLayer::if_not_present(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    ));
    for (name, value) in SECURITY_HEADERS {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ));
    }
    router
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<Body>| {
                    let id = req
                        .headers()
                        .get(&REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!("request", method = %req.method(), path = %loggable(req.uri().path()), request_id = %id)
                })
                .on_request(())
                .on_response(|res: &Response<Body>, latency: Duration, _span: &Span| {
                    tracing::info!(status = res.status().as_u16(), latency_ms = latency.as_millis() as u64, "served");
                }),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

#[cfg(test)]
mod tests {
    use super::loggable;

    #[test]
    fn secrets_in_paths_are_not_logged() {
        assert_eq!(loggable("/p/AbCdEf123"), "/p/…");
        assert_eq!(loggable("/invite/tok_secret"), "/invite/…");
        assert_eq!(loggable("/reset-password/tok"), "/reset-password/…");
        assert_eq!(loggable("/app/campaigns"), "/app/campaigns");
        assert_eq!(loggable("/p/"), "/p/");
        assert_eq!(loggable("/pricing"), "/pricing");
    }
}
