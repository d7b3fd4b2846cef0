//! The routes: pages and server functions (leptos_axum), health and metrics, Stripe's webhooks,
//! the CSV export, the built-in sandbox, the front end's files (`front_end`), under the middleware every response passes through.

use axum::{
    routing::{get, post},
    Router,
};
use leptos_axum::{generate_route_list, LeptosRoutes};

use super::{export, front_end, health, middleware, snippet, unsubscribe, webhooks};
use crate::app::{shell, App};
use crate::state::AppState;

/// Every route Refloop serves: the pages and server functions, health, the built-in Stripe
/// sandbox, and static files.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let pages = Router::new().route("/healthz", get(health::healthz));
    let pages = match state.config.metrics_token {
        Some(_) => pages.route("/metrics", get(health::metrics_with_token)),
        None => pages,
    };
    let pages = pages
        .route(
            "/export/campaigns/{id}/participants.csv",
            get(export::participants_csv),
        )
        .route(
            "/export/campaigns/{id}/syncs/{run}/skipped.csv",
            get(export::sync_skipped_csv),
        )
        .route(
            "/export/campaigns/{id}/payouts.csv",
            get(export::payouts_csv),
        )
        .route("/export/dashboard.csv", get(export::dashboard_csv))
        .route("/webhooks/stripe/{id}", post(webhooks::stripe))
        .nest("/api/v1", crate::rest::router())
        .route("/refloop.js", get(snippet::refloop_js))
        .route("/widget.js", get(snippet::widget_js))
        .route(
            "/unsubscribe/{participant}/{token}",
            get(unsubscribe::page).post(unsubscribe::unsubscribe),
        );
    let pages = match &state.sandbox {
        Some(sandbox) => pages.nest_service("/sandbox/stripe", sandbox.clone().router()),
        None => pages,
    };
    let pages = state
        .front_end
        .public_files()
        .into_iter()
        .fold(pages, |pages, file| {
            pages.route(&format!("/{file}"), get(front_end::serve))
        });
    let pages = pages
        .route("/pkg/{*file}", get(front_end::serve))
        .leptos_routes(&state, routes, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        // Any other address: the app's "Page not found", with status 404.
        .fallback(leptos_axum::render_app_to_stream_with_context(
            {
                let state = state.clone();
                move || leptos::prelude::provide_context(state.clone())
            },
            {
                let options = state.leptos_options.clone();
                move || shell(options.clone())
            },
        ));
    let trusted = state.config.trusted_proxies.clone();
    middleware::apply(pages)
        .layer(axum::middleware::from_fn_with_state(
            trusted,
            super::client_addr::resolve,
        ))
        .with_state(state)
}

/// What `--metrics-addr` serves: `/metrics` alone, without a token.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(health::metrics))
        .with_state(state)
}
