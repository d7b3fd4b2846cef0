//! Who is calling, and whether they may: sessions, passwords, CSRF, the caller of a request
//! (`Ctx`) and the refusal that names who can grant a missing permission. Server functions
//! reach it through `api::context::require`; plain axum handlers through `require_from`.

pub mod csrf;
pub mod password;
pub mod session;

use std::{collections::BTreeSet, net::SocketAddr};

use crate::{
    db::{
        accounts::{self, UserRow},
        unix_now, Db,
    },
    domain::permissions::{effective, explain_missing, look_only, Helper, Permission, Role},
    error::AppError,
};
use axum::{
    extract::ConnectInfo,
    http::{request::Parts, HeaderMap},
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

    /// `None` when the caller may `act` (which needs `permission`); otherwise what the page
    /// tells them, that they may only look.
    pub fn read_only(&self, permission: Permission, act: &str) -> Option<String> {
        (!self.can(permission)).then(|| look_only(permission, act))
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
    permit(db, &ctx, permission).await?;
    Ok(ctx)
}

/// Nothing if the caller holds `permission`; otherwise 403 naming the permission and the
/// teammates who can grant it.
pub async fn permit(db: &Db, ctx: &Ctx, permission: Permission) -> Result<(), AppError> {
    if ctx.can(permission) {
        return Ok(());
    }
    let helpers = helpers(db, &ctx.account_id).await?;
    Err(AppError::Forbidden(explain_missing(permission, &helpers)))
}

/// Teammates who can grant permissions: those who may manage the team, owners first.
pub async fn helpers(db: &Db, account_id: &str) -> Result<Vec<Helper>, AppError> {
    Ok(accounts::users_in_account(db.pool(), account_id)
        .await?
        .into_iter()
        .filter(|u| effective(u.role, &u.overrides).contains(&Permission::ManageTeam))
        .map(|u| Helper {
            name: u.name,
            email: u.email,
            role: u.role,
        })
        .collect())
}
