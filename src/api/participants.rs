//! The Users tab, participant pages, CSV import, the participant limit and campaign numbers.
//! The CSV export is a download route (`server::export`).

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{
    domain::participants::{
        CampaignStats, ImportReport, ParticipantDetail, ParticipantPage, ParticipantQuery,
    },
    error::AppError,
};

#[cfg(feature = "ssr")]
use {
    super::{state, with_status},
    crate::{
        api::context::{require, require_member},
        campaigns::people,
        domain::permissions::Permission,
    },
};

#[server(endpoint = "participants", input = Json)]
pub async fn list_participants(
    campaign_id: String,
    query: ParticipantQuery,
) -> Result<ParticipantPage, AppError> {
    with_status(
        async {
            let ctx = require(Permission::ViewParticipants).await?;
            people::list(&state()?.db, &ctx, &campaign_id, &query).await
        }
        .await,
    )
}

#[server(endpoint = "participant")]
pub async fn get_participant(
    campaign_id: String,
    id: String,
) -> Result<ParticipantDetail, AppError> {
    with_status(
        async {
            let ctx = require(Permission::ViewParticipants).await?;
            let state = state()?;
            people::detail(
                &state.db,
                &ctx,
                &state.config.public_url(),
                &campaign_id,
                &id,
            )
            .await
        }
        .await,
    )
}

#[server(endpoint = "import_participants")]
pub async fn import_participants(
    campaign_id: String,
    csv: String,
) -> Result<ImportReport, AppError> {
    with_status(
        async {
            let ctx = require(Permission::EditCampaigns).await?;
            let state = state()?;
            let report = people::import_csv(&state.db, &ctx, &campaign_id, &csv).await?;
            state.queue.wake();
            Ok(report)
        }
        .await,
    )
}

#[server(endpoint = "campaign_stats")]
pub async fn get_campaign_stats(campaign_id: String) -> Result<CampaignStats, AppError> {
    with_status(
        async {
            let ctx = require(Permission::ViewParticipants).await?;
            people::stats(&state()?.db, &ctx, &campaign_id).await
        }
        .await,
    )
}

/// The banner shown to the team as the account nears its participant limit, if any.
#[server(endpoint = "limit_banner")]
pub async fn get_limit_banner() -> Result<Option<String>, AppError> {
    with_status(
        async {
            match crate::api::context::caller().await? {
                Some(ctx) => people::limit_banner(&state()?.db, &ctx.account_id).await,
                None => Ok(None),
            }
        }
        .await,
    )
}

/// The account's participants and limit.
#[server(endpoint = "participant_usage")]
pub async fn get_participant_usage() -> Result<(i64, i64), AppError> {
    with_status(
        async {
            let ctx = require_member().await?;
            people::usage(&state()?.db, &ctx.account_id).await
        }
        .await,
    )
}

/// Sets the account's participant limit (the Owner only).
#[server(endpoint = "set_participant_limit")]
pub async fn set_participant_limit(limit: String) -> Result<(), AppError> {
    with_status(
        async {
            let ctx = require(Permission::ManageAccount).await?;
            people::set_limit(&state()?.db, &ctx, &limit).await
        }
        .await,
    )
}
