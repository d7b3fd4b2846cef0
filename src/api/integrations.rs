//! The Stripe connection. Any member may see whether Stripe is connected (never the key);
//! connecting and disconnecting need Manage integrations.

use leptos::prelude::*;

use crate::{domain::integrations::StripeConnection, error::AppError};

#[cfg(feature = "ssr")]
use {
    super::{state, with_status},
    crate::{
        api::context::{require, require_member},
        domain::{integrations::StripeMode, permissions::Permission},
        integrations,
    },
};

#[server(endpoint = "stripe_connection")]
pub async fn get_stripe_connection() -> Result<Option<StripeConnection>, AppError> {
    with_status(
        async {
            let ctx = require_member().await?;
            integrations::stripe_status(&state()?.db, &ctx).await
        }
        .await,
    )
}

/// `mode` is `sandbox` (the built-in Stripe sandbox) or `key` (with a pasted `key`).
#[server(endpoint = "connect_stripe")]
pub async fn connect_stripe(
    mode: String,
    key: Option<String>,
) -> Result<StripeConnection, AppError> {
    with_status(
        async {
            let ctx = require(Permission::ManageIntegrations).await?;
            let state = state()?;
            let mode = StripeMode::from_key(&mode).ok_or_else(|| {
                AppError::invalid(
                    "mode",
                    "Choose the built-in sandbox or your own Stripe account.",
                )
            })?;
            if mode == StripeMode::Sandbox && !state.config.sandbox_available() {
                return Err(AppError::invalid(
                    "mode",
                    "The built-in Stripe sandbox is switched off on this server (REFLOOP_SANDBOX=off). Connect your own Stripe account with a key.",
                ));
            }
            integrations::connect_stripe(
                &state.db,
                &state.stripe,
                &ctx,
                mode,
                key.as_deref().unwrap_or_default(),
            )
            .await
        }
        .await,
    )
}

#[server(endpoint = "disconnect_stripe")]
pub async fn disconnect_stripe() -> Result<(), AppError> {
    with_status(
        async {
            let ctx = require(Permission::ManageIntegrations).await?;
            integrations::disconnect_stripe(&state()?.db, &ctx).await
        }
        .await,
    )
}
