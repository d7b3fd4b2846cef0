//! The background queue of the caller's account.

use leptos::prelude::*;

use crate::{domain::operations::QueueStats, error::AppError};

#[cfg(feature = "ssr")]
use {
    super::{state, with_status},
    crate::{api::context::require, domain::permissions::Permission},
};

#[server(endpoint = "operations")]
pub async fn get_operations() -> Result<QueueStats, AppError> {
    with_status(
        async {
            let ctx = require(Permission::ViewActivity).await?;
            Ok(crate::jobs::stats::account_stats(&state()?.db, &ctx.account_id).await?)
        }
        .await,
    )
}

/// Puts a dead job of the caller's account back in the queue.
#[server(endpoint = "retry_job")]
pub async fn retry_job(job_id: String) -> Result<(), AppError> {
    with_status(
        async {
            let ctx = require(Permission::ManageIntegrations).await?;
            let state = state()?;
            if crate::jobs::stats::retry_dead(&state.db, &ctx.account_id, &job_id).await? {
                state.queue.wake();
                Ok(())
            } else {
                Err(AppError::NotFound("Dead job".into()))
            }
        }
        .await,
    )
}
