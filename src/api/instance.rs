//! Server functions about this installation.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Public facts about this Refloop installation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceInfo {
    pub version: String,
    /// "SQLite" or "PostgreSQL".
    pub database: String,
}

/// What this installation runs on. Public: it names no account and no secret.
#[server(endpoint = "instance_info")]
pub async fn get_instance_info() -> Result<InstanceInfo, AppError> {
    super::with_status(
        async {
            let state = super::state()?;
            state.db.ping().await?;
            Ok(InstanceInfo {
                version: env!("CARGO_PKG_VERSION").to_string(),
                database: state.db.backend().name().to_string(),
            })
        }
        .await,
    )
}
