//! A campaign's Stripe page: how each audience is sent to Stripe as customers, and "Send
//! existing participants". Any member may look; changing needs Edit campaigns.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{
    domain::{
        participants::ParticipantKind,
        sending::{BackfillPreview, CampaignSending, CampaignSwitches, SendSettings},
    },
    error::AppError,
};

#[cfg(feature = "ssr")]
use {
    super::{state, with_status},
    crate::{
        api::context::{require, require_member},
        campaigns::sending,
        domain::permissions::Permission,
    },
};

#[server(endpoint = "campaign_sending")]
pub async fn get_campaign_sending(campaign_id: String) -> Result<CampaignSending, AppError> {
    with_status(
        async {
            let ctx = require_member().await?;
            sending::overview(&state()?.db, &ctx, &campaign_id).await
        }
        .await,
    )
}

/// Every campaign's sending switches (the Integrations page).
#[server(endpoint = "sending_switches")]
pub async fn list_sending_switches() -> Result<Vec<CampaignSwitches>, AppError> {
    with_status(
        async {
            let ctx = require_member().await?;
            sending::switches(&state()?.db, &ctx).await
        }
        .await,
    )
}

#[server(endpoint = "save_send_settings", input = Json)]
pub async fn save_send_settings(
    campaign_id: String,
    audience: ParticipantKind,
    settings: SendSettings,
) -> Result<(), AppError> {
    with_status(
        async {
            let ctx = require(Permission::EditCampaigns).await?;
            sending::save_settings(&state()?.db, &ctx, &campaign_id, audience, settings).await
        }
        .await,
    )
}

/// The dry run of Send existing participants.
#[server(endpoint = "preview_send_existing", input = Json)]
pub async fn preview_send_existing(
    campaign_id: String,
    audience: ParticipantKind,
) -> Result<BackfillPreview, AppError> {
    with_status(
        async {
            let ctx = require(Permission::EditCampaigns).await?;
            let state = state()?;
            sending::preview(&state.db, &state.stripe, &ctx, &campaign_id, audience).await
        }
        .await,
    )
}

/// Queues every participant of the audience not in Stripe; how many.
#[server(endpoint = "send_existing_participants", input = Json)]
pub async fn send_existing_participants(
    campaign_id: String,
    audience: ParticipantKind,
) -> Result<u64, AppError> {
    with_status(
        async {
            let ctx = require(Permission::EditCampaigns).await?;
            let state = state()?;
            let n = sending::send_existing(&state.db, &ctx, &campaign_id, audience).await?;
            state.queue.wake();
            Ok(n)
        }
        .await,
    )
}
