//! The account's keys for the developer API: listing, making and revoking them need Manage
//! integrations.

use leptos::prelude::*;

use crate::{
    domain::{
        api_keys::{ApiKey, NewApiKey},
        api_reference::ApiReference,
    },
    error::AppError,
};

#[cfg(feature = "ssr")]
use {
    super::{state, with_status},
    crate::{
        api::context::{require, require_member},
        domain::permissions::Permission,
        rest::{keys, openapi},
    },
};

/// The API's reference (Integrations → API reference), from its OpenAPI document: any
/// teammate may read it.
#[server(endpoint = "api_reference")]
pub async fn get_api_reference() -> Result<ApiReference, AppError> {
    with_status(
        async {
            require_member().await?;
            Ok(openapi::reference(&state()?.config.public_url()))
        }
        .await,
    )
}

#[server(endpoint = "api_keys")]
pub async fn list_api_keys() -> Result<Vec<ApiKey>, AppError> {
    with_status(
        async {
            let ctx = require(Permission::ManageIntegrations).await?;
            keys::list(&state()?.db, &ctx).await
        }
        .await,
    )
}

/// Makes a key; `campaign` limits it to one campaign (empty: every campaign). The answer holds
/// the key, shown this once.
#[server(endpoint = "create_api_key")]
pub async fn create_api_key(
    name: String,
    scope: String,
    campaign: Option<String>,
) -> Result<NewApiKey, AppError> {
    with_status(
        async {
            let ctx = require(Permission::ManageIntegrations).await?;
            keys::create(
                &state()?.db,
                &ctx,
                &name,
                &scope,
                campaign.into_iter().collect(),
            )
            .await
        }
        .await,
    )
}

#[server(endpoint = "revoke_api_key")]
pub async fn revoke_api_key(id: String) -> Result<(), AppError> {
    with_status(
        async {
            let ctx = require(Permission::ManageIntegrations).await?;
            keys::revoke(&state()?.db, &ctx, &id).await
        }
        .await,
    )
}
