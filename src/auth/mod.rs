//! Who is calling, and whether they may. Every server function starts here:
//! `let ctx = require(Permission::ManageTeam).await?;`

pub mod csrf;
pub mod password;
pub mod session;

use std::{collections::BTreeSet, net::SocketAddr};

use axum::{
    extract::ConnectInfo,
    http::{request::Parts, HeaderMap},
};
use leptos::prelude::use_context;

use crate::{
    db::{accounts::UserRow, unix_now, Db},
    domain::permissions::{effective, explain_missing, Permission, Role},
    error::AppError,
    server::AppState,
};

/// The signed-in caller of one request. Every query a server function makes is scoped to
/// `account_id`.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub user_id: String,
    pub account_id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub permissions: BTreeSet<Permission>,
    /// Where the request came from, for the activity log and throttling.
    pub ip: String,
}

impl Ctx {
    pub fn from_user(user: UserRow, ip: String) -> Ctx {
        Ctx {
            permissions: effective(user.role, &user.overrides),
            user_id: user.id,
            account_id: user.account_id,
            name: user.name,
            email: user.email,
            role: user.role,
            ip,
        }
    }

    pub fn can(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }
}

/// The caller of the request with these headers, if signed in.
pub async fn caller_from(
    db: &Db,
    headers: &HeaderMap,
    ip: String,
) -> Result<Option<Ctx>, AppError> {
    let Some(token) = session::token_from(headers) else {
        return Ok(None);
    };
    let user = crate::db::sessions::user(db.pool(), &session::hash(&token), unix_now()).await?;
    Ok(user.map(|u| Ctx::from_user(u, ip)))
}

/// The client's address as the server worked it out (behind a trusted proxy, the address the
/// proxy forwarded for; see `server::client_addr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub std::net::IpAddr);

/// The address a request came from: the client's, else the connection's peer, or "unknown".
pub fn client_ip(parts: &Parts) -> String {
    if let Some(ClientAddr(ip)) = parts.extensions.get::<ClientAddr>() {
        return ip.to_string();
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_else(|| "unknown".to_string())
}

/// The server's state, inside a server function or a page rendered on the server.
pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| AppError::internal("auth", "no AppState in context"))
}

fn request() -> Result<(AppState, Parts), AppError> {
    let parts = use_context::<Parts>()
        .ok_or_else(|| AppError::internal("auth", "no request parts in context"))?;
    Ok((state()?, parts))
}

/// The signed-in caller of the current server function or page, if any.
pub async fn caller() -> Result<Option<Ctx>, AppError> {
    let (state, parts) = request()?;
    caller_from(&state.db, &parts.headers, client_ip(&parts)).await
}

/// The signed-in caller, whatever they may do.
pub async fn require_member() -> Result<Ctx, AppError> {
    caller().await?.ok_or(AppError::Unauthenticated)
}

/// The signed-in caller if they hold `permission`; otherwise 401, or 403 naming the permission
/// and the teammates who can grant it.
pub async fn require(permission: Permission) -> Result<Ctx, AppError> {
    let (state, parts) = request()?;
    require_from(&state.db, &parts.headers, client_ip(&parts), permission).await
}

/// `require` for a plain axum handler, from the request's headers and address.
pub async fn require_from(
    db: &Db,
    headers: &HeaderMap,
    ip: String,
    permission: Permission,
) -> Result<Ctx, AppError> {
    let ctx = caller_from(db, headers, ip)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if ctx.can(permission) {
        return Ok(ctx);
    }
    let helpers = crate::accounts::helpers(db, &ctx.account_id).await?;
    Err(AppError::Forbidden(explain_missing(permission, &helpers)))
}
