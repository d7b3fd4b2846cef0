//! Campaigns and the builder. Any member may look; changing needs Edit campaigns.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{
    domain::campaigns::{CampaignDetail, CampaignSetup, CampaignSummary, FormField, ToggleState},
    error::AppError,
};

#[cfg(feature = "ssr")]
use {
    super::{state, with_status},
    crate::{
        api::context::{require, require_member},
        campaigns,
        domain::{
            campaigns::{CampaignStatus, PromoteToggle},
            permissions::Permission,
        },
    },
};

#[server(endpoint = "campaigns")]
pub async fn list_campaigns() -> Result<Vec<CampaignSummary>, AppError> {
    with_status(
        async {
            let ctx = require_member().await?;
            campaigns::list(&state()?.db, &ctx).await
        }
        .await,
    )
}

/// Creates a draft campaign and opens it in the builder.
#[server(endpoint = "create_campaign")]
pub async fn create_campaign(name: String, slug: String) -> Result<(), AppError> {
    with_status(
        async {
            let ctx = require(Permission::EditCampaigns).await?;
            let id = campaigns::create(&state()?.db, &ctx, &name, &slug).await?;
            leptos_axum::redirect(&format!("/app/campaigns/{id}/edit"));
            Ok(())
        }
        .await,
    )
}

#[server(endpoint = "campaign")]
pub async fn get_campaign(id: String) -> Result<CampaignDetail, AppError> {
    with_status(
        async {
            let ctx = require_member().await?;
            let state = state()?;
            campaigns::detail(&state.db, &ctx, &state.config.public_url(), &id).await
        }
        .await,
    )
}

/// The builder's Setup step (form fields `setup[name]`, `setup[slug]`…). `confirm` accepts
/// what the change breaks on a live campaign.
#[server(endpoint = "save_campaign_setup")]
pub async fn save_campaign_setup(
    id: String,
    setup: CampaignSetup,
    confirm: Option<String>,
) -> Result<(), AppError> {
    with_status(
        async {
            let ctx = require(Permission::EditCampaigns).await?;
            campaigns::save_setup(&state()?.db, &ctx, &id, setup, confirm.is_some()).await
        }
        .await,
    )
}

/// The builder's Forms step: both join forms at once.
#[server(endpoint = "save_campaign_forms", input = Json)]
pub async fn save_campaign_forms(
    id: String,
    referrer_form: Vec<FormField>,
    friend_form: Vec<FormField>,
    confirm: bool,
) -> Result<(), AppError> {
    with_status(
        async {
            let ctx = require(Permission::EditCampaigns).await?;
            campaigns::save_forms(&state()?.db, &ctx, &id, referrer_form, friend_form, confirm)
                .await
        }
        .await,
    )
}

/// Launches (`live`), pauses, resumes or ends a campaign.
#[server(endpoint = "set_campaign_status")]
pub async fn set_campaign_status(id: String, status: String) -> Result<(), AppError> {
    with_status(
        async {
            let ctx = require(Permission::EditCampaigns).await?;
            let status = CampaignStatus::from_key(&status).ok_or_else(|| {
                AppError::invalid("status", format!("“{status}” is not a campaign status."))
            })?;
            campaigns::set_status(&state()?.db, &ctx, &id, status).await
        }
        .await,
    )
}

/// Switches one integration toggle of the Promote step.
#[server(endpoint = "set_promote_toggle")]
pub async fn set_promote_toggle(
    id: String,
    toggle: String,
    on: bool,
) -> Result<ToggleState, AppError> {
    with_status(
        async {
            let ctx = require(Permission::EditCampaigns).await?;
            let toggle = PromoteToggle::from_key(&toggle).ok_or_else(|| {
                AppError::invalid("toggle", format!("“{toggle}” is not a Promote toggle."))
            })?;
            let state = state()?;
            campaigns::set_toggle(&state.db, &state.stripe, &ctx, &id, toggle, on).await
        }
        .await,
    )
}
