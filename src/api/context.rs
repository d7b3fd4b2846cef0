//! The request a server function or a server-rendered page runs in: the state, the caller,
//! and the permission check every server function starts with:
//! `let ctx = require(Permission::ManageTeam).await?;`

use axum::http::request::Parts;
use leptos::prelude::use_context;

use crate::{
    auth::{self, Ctx},
    domain::permissions::Permission,
    error::AppError,
    state::AppState,
};

/// The server's state, inside a server function or a page rendered on the server.
pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| AppError::internal("auth", "no AppState in context"))
}

fn request() -> Result<(AppState, Parts), AppError> {
    let parts = use_context::<Parts>()
        .ok_or_else(|| AppError::internal("auth", "no request parts in context"))?;
    Ok((state()?, parts))
}

/// The address the current request came from.
pub fn client_ip() -> String {
    use_context::<Parts>()
        .map(|parts| auth::client_ip(&parts))
        .unwrap_or_else(|| "unknown".into())
}

/// The signed-in caller of the current server function or page, if any.
pub async fn caller() -> Result<Option<Ctx>, AppError> {
    let (state, parts) = request()?;
    auth::caller_from(&state.db, &parts.headers, auth::client_ip(&parts)).await
}

/// The signed-in caller, whatever they may do.
pub async fn require_member() -> Result<Ctx, AppError> {
    caller().await?.ok_or(AppError::Unauthenticated)
}

/// The signed-in caller if they hold `permission`; otherwise 401, or 403 naming the permission
/// and the teammates who can grant it.
pub async fn require(permission: Permission) -> Result<Ctx, AppError> {
    let (state, parts) = request()?;
    auth::require_from(
        &state.db,
        &parts.headers,
        auth::client_ip(&parts),
        permission,
    )
    .await
}
