//! The address a request really came from. Refloop serves plain HTTP, so in production it sits
//! behind a reverse proxy and every connection comes from the proxy: the visitor's address is
//! then taken from `X-Forwarded-For` (or `Forwarded`) — but only when the connection comes from
//! an address the operator trusts (`--trusted-proxies`); anyone else could write those headers.

use axum::{
    extract::{ConnectInfo, Request, State},
    middleware::Next,
    response::Response,
};

use crate::{auth::ClientAddr, config::TrustedProxies};

/// Records each request's client address for everything after it (limits, the activity log).
pub async fn resolve(
    State(trusted): State<TrustedProxies>,
    mut req: Request,
    next: Next,
) -> Response {
    if let Some(ConnectInfo(peer)) = req
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .copied()
    {
        let client = trusted.client(peer.ip(), req.headers());
        req.extensions_mut().insert(ClientAddr(client));
    }
    next.run(req).await
}
