//! What Refloop does with Stripe, run by jobs and server functions: sending participants as
//! customers (`sending`), Refloop's webhook endpoint (`webhook`), qualifying referrals by spend
//! (`qualification`) and rewarding them (`rewards`), syncing Stripe's customers (`sync`), and the
//! access to each account's connected Stripe they share. Each job kind registers itself in
//! `registry`; its handler is given the `StripeAccess` the registry was made with.

pub mod admit;
pub mod offers;
pub mod outbound;
pub mod qualification;
pub mod rewards;
pub mod sending;
pub mod sync;
pub mod webhook;

use std::fmt;

use crate::{
    db::{
        stripe_connections::{self, ConnectionRow},
        Db,
    },
    domain::integrations::StripeMode,
    error::AppError,
    jobs::{probe, JobCtx, JobError, Registry},
    secrets::Sealer,
    stripe::{rate_limit::RateLimiters, StripeClient, StripeError},
};

/// Why a workflow a person asked for could not be done.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    /// What the person can act on (connect Stripe, connect it again, what Stripe answered):
    /// shown as it is.
    #[error("{0}")]
    Unavailable(String),
    /// The database failed: logged under a reference id, which is all a person is shown.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl WorkflowError {
    /// Stripe's answer, as a person reads it.
    pub fn stripe(e: StripeError) -> Self {
        WorkflowError::Unavailable(e.to_string())
    }

    /// What a person is shown where the failure is recorded for them (a participant's Stripe
    /// note, a sync run, a health check): as `AppError` shows it.
    pub fn for_people(self) -> String {
        AppError::from(self).to_string()
    }
}

impl From<String> for WorkflowError {
    fn from(message: String) -> Self {
        WorkflowError::Unavailable(message)
    }
}

impl From<&str> for WorkflowError {
    fn from(message: &str) -> Self {
        WorkflowError::Unavailable(message.to_string())
    }
}

/// The one place a workflow's failure becomes what a person sees.
impl From<WorkflowError> for AppError {
    fn from(err: WorkflowError) -> Self {
        match err {
            WorkflowError::Unavailable(message) => AppError::Unavailable(message),
            WorkflowError::Database(e) => AppError::from(e),
        }
    }
}

/// In a job, any failure of a workflow is worth another try.
impl From<WorkflowError> for JobError {
    fn from(err: WorkflowError) -> Self {
        JobError::Retry(err.to_string())
    }
}

/// How this process reaches the Stripe connected to an account: the sealer that opens the
/// stored key, where Stripe and the built-in sandbox answer, the per-account rate limiters, and
/// the public address referral links are written with. Cheap to clone.
#[derive(Clone)]
pub struct StripeAccess {
    pub sealer: Sealer,
    /// `https://api.stripe.com`, for pasted keys.
    pub api_url: String,
    /// The built-in sandbox (`…/sandbox/stripe`), for the sandbox connection.
    pub sandbox_url: String,
    pub limiters: RateLimiters,
    /// Where Refloop's public pages are, e.g. `https://refer.example.com`.
    pub public_url: String,
    /// The process's one HTTP client: every job's Stripe requests share its connections.
    pub http: reqwest::Client,
}

impl fmt::Debug for StripeAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeAccess")
            .field("api_url", &self.api_url)
            .field("sandbox_url", &self.sandbox_url)
            .finish()
    }
}

impl Default for StripeAccess {
    /// Reaches nothing: keys sealed by another process cannot be opened. For queues that run
    /// no Stripe work (tests of the queue itself).
    fn default() -> Self {
        StripeAccess {
            sealer: Sealer::random(),
            api_url: "https://api.stripe.com".into(),
            sandbox_url: "http://127.0.0.1:3000/sandbox/stripe".into(),
            limiters: RateLimiters::default(),
            public_url: "http://127.0.0.1:3000".into(),
            http: StripeClient::http_client(),
        }
    }
}

/// A job of the workflows: its handler reaches Stripe through `ctx.app`.
pub type Job = JobCtx<StripeAccess>;

/// Every job kind the workflows run (and the queue's probe), with its handler.
pub fn registry(stripe: StripeAccess) -> Registry<StripeAccess> {
    let registry = probe::register(Registry::new(stripe));
    offers::register(sync::register(rewards::register(qualification::register(
        sending::register(registry),
    ))))
}

/// An account's Stripe connection with a client ready to use it.
pub struct Connected {
    pub client: StripeClient,
    pub row: ConnectionRow,
}

impl Connected {
    /// "test mode" or "live mode".
    pub fn mode(&self) -> &'static str {
        if self.row.livemode {
            "live mode"
        } else {
            "test mode"
        }
    }
}

impl StripeAccess {
    /// The token with which this Refloop opens accounts in its built-in sandbox.
    pub fn sandbox_token(&self) -> String {
        self.sealer.derive("stripe sandbox provisioning")
    }

    pub fn base_url(&self, mode: StripeMode) -> &str {
        match mode {
            StripeMode::Sandbox => &self.sandbox_url,
            StripeMode::Key => &self.api_url,
        }
    }

    /// The account's Stripe, rate-limited per Stripe account; `Ok(None)` when none is
    /// connected, `Err` (to show a person) when its key cannot be used.
    pub async fn connect(
        &self,
        db: &Db,
        account_id: &str,
    ) -> Result<Option<Connected>, WorkflowError> {
        let Some(row) = stripe_connections::get(db.pool(), account_id).await? else {
            return Ok(None);
        };
        let Some(sealed) = &row.sealed_key else {
            return Err(WorkflowError::Unavailable(
                "This Stripe connection was made before sending was possible: disconnect it and connect again."
                    .into(),
            ));
        };
        let key = self.sealer.open(sealed).map_err(|_| {
            WorkflowError::Unavailable("The stored Stripe key cannot be opened with this server's secret key (REFLOOP_SECRET_KEY changed?): connect Stripe again.".into())
        })?;
        let limiter = self
            .limiters
            .for_key(row.stripe_account_id.as_deref().unwrap_or(account_id), &key);
        let client = self
            .client(self.base_url(row.mode), &key)
            .with_limiter(limiter);
        Ok(Some(Connected { client, row }))
    }

    /// The account's Stripe, for a person's request that cannot go on without it: as `connect`,
    /// with "Connect Stripe first." when none is connected.
    pub async fn connected(&self, db: &Db, account_id: &str) -> Result<Connected, WorkflowError> {
        Ok(self
            .connect(db, account_id)
            .await?
            .ok_or("Connect Stripe first.")?)
    }

    /// A client for `key` at `base_url`, sending through this process's shared connections.
    pub fn client(&self, base_url: &str, key: &str) -> StripeClient {
        StripeClient::over(self.http.clone(), base_url, key)
    }

    /// A participant's public referral link.
    pub fn referral_link(&self, code: &str) -> String {
        crate::domain::participants::referral_link(&self.public_url, code)
    }
}
