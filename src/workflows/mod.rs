//! What Refloop does with Stripe, run by jobs and server functions: sending participants as
//! customers (`send`), Refloop's webhook endpoint (`webhook`), qualifying referrals by spend
//! (`qualify`) and rewarding them (`rewards`), and the access to each account's connected
//! Stripe they share.

pub mod qualify;
pub mod rewards;
pub mod send;
pub mod sync;
pub mod webhook;

use std::fmt;

use crate::{
    db::{
        stripe_connections::{self, ConnectionRow},
        Db,
    },
    domain::integrations::StripeMode,
    secrets::Sealer,
    stripe::{rate_limit::RateLimiters, StripeClient},
};

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
        }
    }
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
    pub async fn connect(&self, db: &Db, account_id: &str) -> Result<Option<Connected>, String> {
        let Some(row) = stripe_connections::get(db.pool(), account_id)
            .await
            .map_err(|e| format!("database: {e}"))?
        else {
            return Ok(None);
        };
        let Some(sealed) = &row.sealed_key else {
            return Err(
                "This Stripe connection was made before sending was possible: disconnect it and connect again."
                    .into(),
            );
        };
        let key = self.sealer.open(sealed).map_err(|_| {
            "The stored Stripe key cannot be opened with this server's secret key (REFLOOP_SECRET_KEY changed?): connect Stripe again.".to_string()
        })?;
        let limiter = self
            .limiters
            .for_key(row.stripe_account_id.as_deref().unwrap_or(account_id), &key);
        let client = StripeClient::new(self.base_url(row.mode), &key).with_limiter(limiter);
        Ok(Some(Connected { client, row }))
    }

    /// A participant's public referral link.
    pub fn referral_link(&self, code: &str) -> String {
        crate::domain::participants::referral_link(&self.public_url, code)
    }
}
