//! Syncing Stripe customers into a campaign: the wizard (settings, preview, start), progress
//! and the report of skipped customers. Any member may look; changing and starting need Edit
//! campaigns.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{
    domain::sync::{CampaignSync, SkippedCustomer, SyncPreviewRow, SyncProgress, SyncSettings},
    error::AppError,
};

#[cfg(feature = "ssr")]
use {
    super::{state, with_status},
    crate::{
        api::context::{require, require_member},
        campaigns::sync,
        domain::permissions::Permission,
    },
};

#[server(endpoint = "campaign_sync")]
pub async fn get_campaign_sync(campaign_id: String) -> Result<CampaignSync, AppError> {
    with_status(
        async {
            let ctx = require_member().await?;
            sync::overview(&state()?.db, &ctx, &campaign_id).await
        }
        .await,
    )
}

#[server(endpoint = "preview_sync", input = Json)]
pub async fn preview_sync(
    campaign_id: String,
    settings: SyncSettings,
) -> Result<Vec<SyncPreviewRow>, AppError> {
    with_status(
        async {
            let ctx = require(Permission::EditCampaigns).await?;
            let state = state()?;
            sync::preview(&state.db, &state.stripe, &ctx, &campaign_id, settings).await
        }
        .await,
    )
}

#[server(endpoint = "save_sync_settings", input = Json)]
pub async fn save_sync_settings(
    campaign_id: String,
    settings: SyncSettings,
) -> Result<(), AppError> {
    with_status(
        async {
            let ctx = require(Permission::EditCampaigns).await?;
            sync::save_settings(&state()?.db, &ctx, &campaign_id, settings).await
        }
        .await,
    )
}

#[server(endpoint = "start_sync", input = Json)]
pub async fn start_sync(
    campaign_id: String,
    settings: SyncSettings,
) -> Result<SyncProgress, AppError> {
    with_status(
        async {
            let ctx = require(Permission::EditCampaigns).await?;
            let s = state()?;
            sync::start(&s.db, &s.queue, &ctx, &campaign_id, settings).await
        }
        .await,
    )
}

#[server(endpoint = "sync_skipped")]
pub async fn get_sync_skipped(
    campaign_id: String,
    run_id: String,
) -> Result<Vec<SkippedCustomer>, AppError> {
    with_status(
        async {
            // The report names the customers skipped.
            let ctx = require(Permission::ViewParticipants).await?;
            sync::skipped(&state()?.db, &ctx, &campaign_id, &run_id).await
        }
        .await,
    )
}

/// Saves the settings and switches the campaign's ongoing sync on.
#[server(endpoint = "start_ongoing_sync", input = Json)]
pub async fn start_ongoing_sync(
    campaign_id: String,
    settings: SyncSettings,
) -> Result<(), AppError> {
    with_status(
        async {
            let ctx = require(Permission::EditCampaigns).await?;
            let state = state()?;
            sync::start_ongoing(&state.db, &state.stripe, &ctx, &campaign_id, settings).await
        }
        .await,
    )
}
