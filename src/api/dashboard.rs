//! The dashboard of the account or of one campaign, over a period.

use leptos::prelude::*;

use crate::error::AppError;

#[cfg(feature = "ssr")]
use {
    super::{state, with_status},
    crate::{
        api::context::require,
        campaigns::dashboard,
        db::unix_now,
        domain::{dashboard::Period, permissions::Permission},
        ui::components::dashboard_html,
    },
};

/// The dashboard's figures as HTML (`ui::components::dashboard_html`). `campaign` empty for the
/// whole account; `period`, `from` and `to` as the address has them (`Period::parse`).
#[server(endpoint = "dashboard")]
pub async fn get_dashboard(
    campaign: String,
    period: String,
    from: String,
    to: String,
) -> Result<String, AppError> {
    with_status(
        async {
            let ctx = require(Permission::ViewParticipants).await?;
            let period = Period::parse(&period, &from, &to, unix_now())
                .map_err(|message| AppError::invalid("period", message))?;
            let d = dashboard::dashboard(&state()?.db, &ctx, &campaign, period).await?;
            Ok(dashboard_html::render(d, &campaign))
        }
        .await,
    )
}
