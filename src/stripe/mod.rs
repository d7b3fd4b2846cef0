//! The Stripe client: the thin, typed reqwest client Refloop uses against the real API and
//! the built-in sandbox alike.

pub mod client;
pub mod error;
pub mod form;
pub mod probe;
pub mod rate_limit;
pub mod signature;
pub mod types;

pub use client::{RetryPolicy, StripeClient};
pub use error::StripeError;

/// The API version Refloop is written against; sent on every request and answered by the
/// sandbox.
pub const API_VERSION: &str = "2025-10-29.clover";
