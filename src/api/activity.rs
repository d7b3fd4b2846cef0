//! Server functions of the activity log.

use leptos::prelude::*;

use crate::{domain::team::ActivityEntry, error::AppError};

/// The account's activity, newest first; `actor` and `kind` filter, `before` pages.
#[server(endpoint = "activity")]
pub async fn list_activity(
    actor: Option<String>,
    kind: Option<String>,
    before: Option<String>,
) -> Result<Vec<ActivityEntry>, AppError> {
    use crate::{api::context::require, domain::permissions::Permission};
    super::with_status(
        async {
            let ctx = require(Permission::ViewActivity).await?;
            crate::accounts::list_activity(
                &super::state()?.db,
                &ctx,
                actor.as_deref(),
                kind.as_deref(),
                before.as_deref(),
            )
            .await
        }
        .await,
    )
}
