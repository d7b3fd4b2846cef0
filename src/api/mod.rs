//! Server functions: the only way the browser reaches the server's data. Each one is thin:
//! check the caller's permission, call a plain-Rust service, return a shared type.

pub mod activity;
pub mod api_keys;
pub mod auth;
pub mod campaigns;
#[cfg(feature = "ssr")]
pub mod context;
pub mod dashboard;
pub mod emails;
pub mod health;
pub mod instance;
pub mod integrations;
pub mod operations;
pub mod participants;
pub mod public;
pub mod qualification;
pub mod sending;
pub mod sync;
pub mod team;
pub mod webhooks;

#[cfg(feature = "ssr")]
use crate::error::AppError;

/// Sets the HTTP status of a failed server function from its error (server functions are
/// otherwise answered with 500 whatever went wrong). A plain form post (no JavaScript) keeps
/// the redirect back to its page, which carries the error in its query string.
#[cfg(feature = "ssr")]
pub(crate) fn with_status<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    use leptos::prelude::use_context;
    let form_post = use_context::<axum::http::request::Parts>().is_some_and(|parts| {
        parts
            .headers
            .get(axum::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
    });
    if let (Err(err), false) = (&result, form_post) {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            let status = axum::http::StatusCode::from_u16(err.status())
                .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
            response.set_status(status);
        }
    }
    result
}

#[cfg(feature = "ssr")]
pub(crate) use context::{client_ip, state};

/// Gives the browser its new session cookie and sends it to the dashboard.
#[cfg(feature = "ssr")]
pub(crate) fn enter_app(state: &crate::state::AppState, token: &str) {
    set_cookie(crate::auth::session::set_cookie(
        token,
        state.config.secure_cookies(),
    ));
    leptos_axum::redirect("/app");
}

/// Adds a `Set-Cookie` header to the current response.
#[cfg(feature = "ssr")]
pub(crate) fn set_cookie(value: axum::http::HeaderValue) {
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        response.append_header(axum::http::header::SET_COOKIE, value);
    }
}

/// Reads a role from a form value.
#[cfg(feature = "ssr")]
pub(crate) fn parse_role(value: &str) -> Result<crate::domain::permissions::Role, AppError> {
    crate::domain::permissions::Role::from_key(value).ok_or_else(|| {
        AppError::invalid(
            "role",
            format!("“{value}” is not a role: choose Admin, Manager or Viewer."),
        )
    })
}
