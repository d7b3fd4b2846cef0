//! The account's outbound webhook endpoints: listing, adding, enabling, removing them and
//! replaying a message need Manage integrations.

use std::collections::HashMap;

use leptos::prelude::*;

use crate::{
    domain::webhooks::{NewWebhookEndpoint, WebhookEndpoint},
    error::AppError,
};

#[cfg(feature = "ssr")]
use {
    super::{state, with_status},
    crate::{api::context::require, domain::permissions::Permission, rest::webhooks},
};

#[server(endpoint = "webhook_endpoints")]
pub async fn list_webhook_endpoints() -> Result<Vec<WebhookEndpoint>, AppError> {
    with_status(
        async {
            let ctx = require(Permission::ManageIntegrations).await?;
            webhooks::list(&state()?.db, &ctx).await
        }
        .await,
    )
}

/// Adds an endpoint for `url`; `events` holds each chosen event's key (a checkbox each). The
/// answer holds the signing secret, shown this once.
#[server(endpoint = "create_webhook_endpoint")]
pub async fn create_webhook_endpoint(
    url: String,
    #[server(default)] events: HashMap<String, String>,
) -> Result<NewWebhookEndpoint, AppError> {
    with_status(
        async {
            let ctx = require(Permission::ManageIntegrations).await?;
            let state = state()?;
            let mut chosen: Vec<String> = events.into_keys().collect();
            chosen.sort();
            webhooks::create(
                &state.db,
                &state.stripe.sealer,
                state.config.webhooks_allow_private,
                &ctx,
                &url,
                &chosen,
            )
            .await
        }
        .await,
    )
}

#[server(endpoint = "enable_webhook_endpoint")]
pub async fn enable_webhook_endpoint(id: String) -> Result<(), AppError> {
    with_status(
        async {
            let ctx = require(Permission::ManageIntegrations).await?;
            webhooks::enable(&state()?.db, &ctx, &id).await
        }
        .await,
    )
}

#[server(endpoint = "delete_webhook_endpoint")]
pub async fn delete_webhook_endpoint(id: String) -> Result<(), AppError> {
    with_status(
        async {
            let ctx = require(Permission::ManageIntegrations).await?;
            webhooks::delete(&state()?.db, &ctx, &id).await
        }
        .await,
    )
}

/// Sends a message again now.
#[server(endpoint = "replay_webhook")]
pub async fn replay_webhook(id: String) -> Result<(), AppError> {
    with_status(
        async {
            let ctx = require(Permission::ManageIntegrations).await?;
            let state = state()?;
            webhooks::replay(&state.db, &ctx, &id).await?;
            state.queue.wake();
            Ok(())
        }
        .await,
    )
}
