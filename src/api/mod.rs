//! Server functions: the only way the browser reaches the server's data. Each one is thin:
//! check the caller's permission, call a plain-Rust service, return a shared type.

pub mod instance;

#[cfg(feature = "ssr")]
use crate::error::AppError;

/// Sets the HTTP status of a failed server function from its error (server functions are
/// otherwise answered with 500 whatever went wrong).
#[cfg(feature = "ssr")]
pub(crate) fn with_status<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(err) = &result {
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            let status = axum::http::StatusCode::from_u16(err.status())
                .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
            response.set_status(status);
        }
    }
    result
}
