//! A campaign's Qualification and Rewards steps, and the reward ledger. Any member may look;
//! changing the rules needs Edit campaigns, repairing the webhook endpoint Manage integrations,
//! and deciding on rewards Manage rewards.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{
    domain::{
        qualification::{CampaignQualification, QualificationForm, WebhookStatus},
        rewards::{CampaignRewards, RewardDecision, RewardForm, RewardSettings},
    },
    error::AppError,
};

#[cfg(feature = "ssr")]
use {
    super::{state, with_status},
    crate::{
        api::context::{require, require_member},
        campaigns::{qualification, rewards},
        domain::permissions::Permission,
    },
};

#[server(endpoint = "campaign_qualification")]
pub async fn get_campaign_qualification(
    campaign_id: String,
) -> Result<CampaignQualification, AppError> {
    with_status(
        async {
            let ctx = require_member().await?;
            let state = state()?;
            qualification::overview(&state.db, &state.stripe, &ctx, &campaign_id).await
        }
        .await,
    )
}

/// Saves the rule and makes sure the webhook endpoint exists; its status.
#[server(endpoint = "save_qualification", input = Json)]
pub async fn save_qualification(
    campaign_id: String,
    form: QualificationForm,
) -> Result<WebhookStatus, AppError> {
    with_status(
        async {
            let ctx = require(Permission::EditCampaigns).await?;
            let s = state()?;
            qualification::save(&s.db, &s.stripe, &s.queue, &ctx, &campaign_id, form).await
        }
        .await,
    )
}

#[server(endpoint = "repair_webhook")]
pub async fn repair_webhook() -> Result<WebhookStatus, AppError> {
    with_status(
        async {
            let ctx = require(Permission::ManageIntegrations).await?;
            let s = state()?;
            qualification::repair(&s.db, &s.stripe, &s.queue, &ctx).await
        }
        .await,
    )
}

/// Reads back from Stripe what webhooks may have missed, now.
#[server(endpoint = "reconcile_now")]
pub async fn reconcile_now() -> Result<(), AppError> {
    with_status(
        async {
            let ctx = require(Permission::EditCampaigns).await?;
            let s = state()?;
            qualification::reconcile_now(&s.db, &s.queue, &ctx).await
        }
        .await,
    )
}

#[server(endpoint = "campaign_rewards")]
pub async fn get_campaign_rewards(campaign_id: String) -> Result<CampaignRewards, AppError> {
    with_status(
        async {
            // The ledger names the people rewarded.
            let ctx = require(Permission::ViewParticipants).await?;
            rewards::overview(&state()?.db, &ctx, &campaign_id).await
        }
        .await,
    )
}

#[server(endpoint = "save_rewards", input = Json)]
pub async fn save_rewards(
    campaign_id: String,
    form: RewardForm,
) -> Result<RewardSettings, AppError> {
    with_status(
        async {
            let ctx = require(Permission::EditCampaigns).await?;
            rewards::save(&state()?.db, &ctx, &campaign_id, form).await
        }
        .await,
    )
}

/// `reference`: a manual reward's payout reference, when marking it fulfilled.
#[server(endpoint = "decide_reward", input = Json)]
pub async fn decide_reward(
    reward_id: String,
    decision: RewardDecision,
    reference: Option<String>,
) -> Result<(), AppError> {
    with_status(
        async {
            let ctx = require(Permission::ManageRewards).await?;
            let s = state()?;
            let reference = reference.unwrap_or_default();
            rewards::decide(&s.db, &s.queue, &ctx, &reward_id, decision, &reference).await
        }
        .await,
    )
}
