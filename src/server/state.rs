use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use super::Config;
use crate::db::Db;

/// What every handler and server function can reach. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub config: Arc<Config>,
}

impl AppState {
    pub fn new(config: Config, db: Db) -> Self {
        AppState {
            leptos_options: config.leptos_options(),
            db,
            config: Arc::new(config),
        }
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
