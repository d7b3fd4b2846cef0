use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use super::Config;
use crate::{
    db::Db, jobs::Queue, mail::Mailer, secrets::Sealer, stripe::rate_limit::RateLimiters,
    stripe_sandbox::Sandbox,
};

/// What every handler and server function can reach. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    /// Where work for the background is enqueued.
    pub queue: Queue,
    pub mailer: Mailer,
    pub sealer: Sealer,
    /// The built-in Stripe sandbox, served at /sandbox/stripe.
    pub sandbox: Sandbox,
    pub config: Arc<Config>,
}

impl AppState {
    /// Fails, naming the setting, when the mail or secret-key settings are unusable. Starts the
    /// sandbox's webhook deliverer, so it must run inside a Tokio runtime.
    pub fn new(config: Config, db: Db) -> Result<Self, String> {
        let limiters = RateLimiters::new(config.stripe_test_rate, config.stripe_live_rate);
        Ok(AppState {
            leptos_options: config.leptos_options(),
            mailer: Mailer::new(config.smtp_url.as_deref(), &config.smtp_from)?,
            sealer: Sealer::load(
                config.secret_key.as_ref().map(|k| k.0.as_str()),
                &config.secret_key_file,
            )?,
            sandbox: Sandbox::start(db.clone()),
            // One token bucket per Stripe account, shared by everything this process sends.
            queue: Queue::with_limiters(db.clone(), limiters),
            db,
            config: Arc::new(config),
        })
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
