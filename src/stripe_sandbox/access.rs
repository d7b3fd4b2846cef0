//! Who may use the sandbox beyond its API (which its keys guard), and where it may deliver
//! webhooks. Inside a Refloop on the internet, each sandbox account belongs to one Refloop
//! account: only that account's signed-in members see its dashboard and turn its controls, and
//! webhooks go only to this Refloop's own webhook route. With the test controls on (tests,
//! benchmarks, `refloop stripe-sandbox`), everything is open on loopback.

use std::sync::Arc;

use axum::http::{header, HeaderMap, StatusCode};
use futures::future::BoxFuture;
use sqlx::Row;

use super::Sandbox;

/// The signed-in Refloop member behind a request.
#[derive(Debug, Clone)]
pub struct Member {
    /// Their Refloop account: the owner of the sandbox accounts they may see.
    pub account: String,
    /// Whether they may play the merchant (pay, refund, dispute, mint keys): Manage
    /// integrations.
    pub may_act: bool,
}

/// Tells who is signed in, from a request's headers (the host application's sessions).
pub trait Members: Send + Sync {
    fn member<'a>(
        &'a self,
        headers: &'a HeaderMap,
    ) -> BoxFuture<'a, Result<Option<Member>, String>>;
}

/// What the sandbox needs from the Refloop that hosts it.
pub struct Gate {
    pub members: Arc<dyn Members>,
    /// The bearer token with which this Refloop opens sandbox accounts for its own accounts
    /// (derived from the secret key, so every process of one instance shares it).
    pub provision_token: String,
    /// Refloop's webhook route as endpoints name it (`{public url}/webhooks/stripe/`), and
    /// where the sandbox reaches it (`{local url}/webhooks/stripe/`).
    pub webhooks_public: String,
    pub webhooks_local: String,
    /// Where browsers reach the sandbox (`{public url}/sandbox/stripe`): the address of its
    /// Payment Links and checkout pages.
    pub public_base: String,
}

/// The sandbox's doors.
#[derive(Clone)]
pub enum Access {
    /// Test tool: the instance-wide controls exist, every account is open to anyone, and
    /// webhooks may go to any loopback address.
    Controls,
    /// Inside a Refloop: accounts belong to Refloop accounts (see [`Gate`]).
    Members(Arc<Gate>),
}

/// A refusal, as a status and a message a person can act on.
pub type Refused = (StatusCode, String);

pub fn unauthenticated() -> Refused {
    (
        StatusCode::UNAUTHORIZED,
        "Sign in to Refloop to use its Stripe sandbox.".into(),
    )
}

pub fn not_found(account: &str) -> Refused {
    (
        StatusCode::NOT_FOUND,
        format!("No sandbox account {account} belongs to your Refloop account."),
    )
}

pub fn forbidden() -> Refused {
    (
        StatusCode::FORBIDDEN,
        "You need Manage integrations to act in the Stripe sandbox. Ask an Owner or Admin of your account."
            .into(),
    )
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// Compares two secrets in time that does not depend on where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Who is asking, for the dashboard and the per-account controls.
pub enum Viewer {
    /// Test controls are on: everything is open.
    Anyone,
    Member(Member),
    /// This Refloop itself, opening an account for one of its accounts.
    Refloop,
}

impl Viewer {
    /// May this viewer see (and, with `act`, act in) the sandbox account `account`?
    pub async fn check(&self, sb: &Sandbox, account: &str, act: bool) -> Result<(), Refused> {
        let member = match self {
            Viewer::Anyone => return Ok(()),
            Viewer::Refloop => return Err(not_found(account)),
            Viewer::Member(m) => m,
        };
        if sb.owner_of(account).await.map_err(internal)?.as_deref() != Some(&member.account) {
            return Err(not_found(account));
        }
        if act && !member.may_act {
            return Err(forbidden());
        }
        Ok(())
    }

    /// The Refloop account whose sandbox accounts this viewer sees (`None`: all of them).
    pub fn owner(&self) -> Option<&str> {
        match self {
            Viewer::Member(m) => Some(&m.account),
            Viewer::Anyone | Viewer::Refloop => None,
        }
    }
}

fn internal(e: sqlx::Error) -> Refused {
    tracing::error!(error = %e, "stripe sandbox storage");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "The sandbox could not read its storage.".into(),
    )
}

impl Sandbox {
    /// Who is calling, or 401 when nobody is signed in (and the test controls are off).
    pub async fn viewer(&self, headers: &HeaderMap) -> Result<Viewer, Refused> {
        let gate = match &self.access {
            Access::Controls => return Ok(Viewer::Anyone),
            Access::Members(gate) => gate,
        };
        if bearer(headers).is_some_and(|t| same_secret(t, &gate.provision_token)) {
            return Ok(Viewer::Refloop);
        }
        match gate.members.member(headers).await {
            Ok(Some(m)) => Ok(Viewer::Member(m)),
            Ok(None) => Err(unauthenticated()),
            Err(e) => {
                tracing::error!(error = %e, "stripe sandbox: who is signed in");
                Err((
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Refloop could not check your session. Try again in a moment.".into(),
                ))
            }
        }
    }

    /// Whether the instance-wide controls (reset, settings, clock, accounts for anyone) exist.
    pub fn controls(&self) -> bool {
        matches!(self.access, Access::Controls)
    }

    /// The Refloop account a sandbox account belongs to, if any.
    pub async fn owner_of(&self, account: &str) -> Result<Option<String>, sqlx::Error> {
        let row = sqlx::query("SELECT owner FROM sandbox_accounts WHERE id = $1")
            .bind(account)
            .fetch_optional(self.db.pool())
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<Option<String>, _>("owner")?,
            None => None,
        })
    }

    /// Where a webhook endpoint's URL is delivered, or why it may not be. With the test
    /// controls, any loopback address; inside a Refloop, only its own webhook route (reached on
    /// this server's local address).
    pub fn delivery_target(&self, url: &str) -> Result<String, String> {
        match &self.access {
            Access::Members(gate) => url
                .strip_prefix(&gate.webhooks_public)
                .filter(|rest| !rest.is_empty() && !rest.contains(['/', '?', '#']))
                .map(|rest| format!("{}{rest}", gate.webhooks_local))
                .ok_or_else(|| {
                    format!(
                        "The built-in sandbox delivers webhooks only to this Refloop's own webhook route ({}…).",
                        gate.webhooks_public
                    )
                }),
            Access::Controls => {
                let parsed = reqwest::Url::parse(url).map_err(|e| format!("Invalid URL: {e}."))?;
                let host = parsed.host_str().unwrap_or_default();
                let host = host.trim_start_matches('[').trim_end_matches(']');
                let loopback = host == "localhost"
                    || host
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback());
                if !loopback || !matches!(parsed.scheme(), "http" | "https") {
                    return Err("The sandbox delivers webhooks only to loopback addresses (127.0.0.1, ::1, localhost).".into());
                }
                Ok(url.to_string())
            }
        }
    }
}
