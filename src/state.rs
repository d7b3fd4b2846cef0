//! What every handler and server function can reach (`AppState`), built once from the
//! configuration: the database, the queue, mail, Stripe access and the sandbox; and the checks
//! that the secret key fits the database.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::{
    config::{Config, SandboxMode},
    db::Db,
    jobs::Queue,
    mail::Mailer,
    secrets::Sealer,
    server::front_end::FrontEnd,
    stripe::{rate_limit::RateLimiters, StripeClient},
    stripe_sandbox::{Access, Gate, Member, Members, Sandbox},
    workflows::StripeAccess,
};

/// What every handler and server function can reach. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    /// Where work for the background is enqueued.
    pub queue: Queue,
    /// How this process reaches each account's Stripe.
    pub stripe: StripeAccess,
    pub mailer: Mailer,
    /// The built-in Stripe sandbox, served at /sandbox/stripe (none with `--sandbox off`).
    pub sandbox: Option<Sandbox>,
    /// The front end's files (carried in the binary, or `--site-root`).
    pub front_end: FrontEnd,
    pub config: Arc<Config>,
}

impl AppState {
    /// Fails, naming the setting, when the mail or secret-key settings are unusable. Starts the
    /// sandbox's webhook deliverer, so it must run inside a Tokio runtime.
    pub fn new(config: Config, db: Db) -> Result<Self, String> {
        let stripe = stripe_access(&config)?;
        Ok(AppState {
            leptos_options: config.leptos_options(),
            mailer: mailer(&config)?,
            sandbox: (config.sandbox == SandboxMode::On)
                .then(|| Sandbox::start(db.clone(), sandbox_access(&config, &db, &stripe))),
            queue: Queue::new(db.clone()),
            front_end: FrontEnd::new(config.site_root.clone()),
            stripe,
            db,
            config: Arc::new(config),
        })
    }
}

/// The sandbox's doors: the test controls when the operator asks for them; otherwise each
/// sandbox account belongs to a Refloop account, and webhooks go only to Refloop's own route.
fn sandbox_access(config: &Config, db: &Db, stripe: &StripeAccess) -> Access {
    if config.sandbox_controls {
        return Access::Controls;
    }
    Access::Members(Arc::new(Gate {
        members: Arc::new(SignedIn { db: db.clone() }),
        provision_token: stripe.sandbox_token(),
        webhooks_public: format!("{}/webhooks/stripe/", config.public_url()),
        webhooks_local: format!("{}/webhooks/stripe/", config.local_url()),
        public_base: format!("{}/sandbox/stripe", config.public_url()),
    }))
}

/// Refloop's sessions, as the sandbox asks about them.
struct SignedIn {
    db: Db,
}

impl Members for SignedIn {
    fn member<'a>(
        &'a self,
        headers: &'a axum::http::HeaderMap,
    ) -> futures::future::BoxFuture<'a, Result<Option<Member>, String>> {
        Box::pin(async move {
            let ctx = crate::auth::caller_from(&self.db, headers, String::new())
                .await
                .map_err(|e| e.to_string())?;
            Ok(ctx.map(|c| Member {
                may_act: c.can(crate::domain::permissions::Permission::ManageIntegrations),
                account: c.account_id,
            }))
        })
    }
}

/// The database remembers which secret key sealed its secrets (by a fingerprint that reveals
/// nothing of it): a process started with another key stops here, naming the setting, instead
/// of failing every Stripe call later.
pub async fn check_secret_key(db: &Db, sealer: &Sealer) -> Result<(), String> {
    let mine = sealer.fingerprint();
    let stored = crate::db::settings::get_or_insert(db, "secret_key_fingerprint", &mine)
        .await
        .map_err(|e| {
            format!("could not read the secret key's fingerprint from the database: {e}")
        })?;
    if stored != mine {
        return Err(format!(
            "the secret key (REFLOOP_SECRET_KEY, or the file REFLOOP_SECRET_KEY_FILE) is not the one this database's secrets were sealed with \
             (its fingerprint is {mine}; the database expects {stored}). Start every process with the key the first one used."
        ));
    }
    Ok(())
}

/// The mail server, if one is configured, at this process's sending rate.
pub fn mailer(config: &Config) -> Result<Mailer, String> {
    Ok(Mailer::new(config.smtp_url.as_deref(), &config.smtp_from)?.with_rate(config.smtp_rate))
}

/// How this process reaches Stripe: the secret key that seals Stripe keys, Stripe's and the
/// sandbox's addresses, and one token bucket per Stripe account shared by everything it sends.
pub fn stripe_access(config: &Config) -> Result<StripeAccess, String> {
    Ok(StripeAccess {
        sealer: Sealer::load(
            config.secret_key.as_ref().map(|k| k.0.as_str()),
            &config.secret_key_file,
        )?,
        api_url: config.stripe_api_url.clone(),
        sandbox_url: config.sandbox_url(config.addr.port()),
        limiters: RateLimiters::new(config.stripe_test_rate, config.stripe_live_rate),
        public_url: config.public_url(),
        http: StripeClient::http_client(),
    })
}

impl FromRef<AppState> for FrontEnd {
    fn from_ref(state: &AppState) -> Self {
        state.front_end.clone()
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// Stripe's webhook deliveries: the database to record them in, the sealer that opens their
/// signing secrets, and the queue that processes them.
#[derive(Clone, Debug)]
pub struct Webhooks {
    pub db: Db,
    pub sealer: Sealer,
    pub queue: Queue,
}

impl FromRef<AppState> for Webhooks {
    fn from_ref(state: &AppState) -> Self {
        Webhooks {
            db: state.db.clone(),
            sealer: state.stripe.sealer.clone(),
            queue: state.queue.clone(),
        }
    }
}
