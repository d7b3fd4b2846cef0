//! Integration health: the checks (View participants, as their evidence names people), the
//! banner (only for those who can fix what fails), the one-click fixes (each with the
//! permission the same change needs elsewhere) and a participant's "Why?".

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{
    domain::health::{HealthAction, HealthBanner, IntegrationHealth, WhyAnswer},
    error::AppError,
};

#[cfg(feature = "ssr")]
use {
    super::{state, with_status},
    crate::{
        api::context::require,
        domain::permissions::Permission,
        health::{self, why::why, Depth},
    },
};

#[server(endpoint = "integration_health")]
pub async fn get_integration_health() -> Result<IntegrationHealth, AppError> {
    with_status(
        async {
            let ctx = require(Permission::ViewParticipants).await?;
            let state = state()?;
            health::run(&state.db, &state.stripe, &state.mailer, &ctx, Depth::Full).await
        }
        .await,
    )
}

/// The failing checks for the banner; `None` for anyone who cannot fix them.
#[server(endpoint = "health_banner")]
pub async fn get_health_banner() -> Result<Option<HealthBanner>, AppError> {
    with_status(
        async {
            // Nobody signed in (a public page): no banner, and no error status for the page.
            let Some(ctx) = crate::api::context::caller().await? else {
                return Ok(None);
            };
            let state = state()?;
            health::banner(&state.db, &state.stripe, &state.mailer, &ctx).await
        }
        .await,
    )
}

#[server(endpoint = "fix_health", input = Json)]
pub async fn fix_health(action: HealthAction) -> Result<String, AppError> {
    with_status(
        async {
            let ctx = require(action.permission()).await?;
            let s = state()?;
            health::fix(&s.db, &s.stripe, &s.queue, &ctx, &action).await
        }
        .await,
    )
}

#[server(endpoint = "why_participant")]
pub async fn why_participant(
    campaign_id: String,
    participant_id: String,
) -> Result<WhyAnswer, AppError> {
    with_status(
        async {
            let ctx = require(Permission::ViewParticipants).await?;
            why(&state()?.db, &ctx, &campaign_id, &participant_id).await
        }
        .await,
    )
}
