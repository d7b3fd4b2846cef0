//! Qualification by spend. Stripe's events arrive at `POST /webhooks/stripe/{id}` (`receive`:
//! signature checked, the event id recorded in a permanent ledger, its processing enqueued in
//! the same transaction); the `stripe.event` job merges what the event says into the ledger of
//! charges and re-evaluates every friend the payment may count for, in one transaction.
//! `stripe.reconcile` replays what webhooks may have missed (the Events API since the last
//! event seen, and each pending friend's charges), every few minutes and on demand.
//! `evaluate` is the one place a friend's standing is decided, from the ledger, so the order
//! and number of deliveries never change the result.

use std::time::Duration;

use serde_json::json;

use super::StripeAccess;
use crate::jobs::{NewJob, Registry};

mod checkout;
mod evaluation;
mod intake;
mod reconcile;
mod settlement;

use evaluation::run_evaluate;
pub use evaluation::{evaluate, evaluate_campaign};
pub use intake::{receive, Delivery, Refusal};
use intake::{record, run_event};
use reconcile::run_reconcile;
pub use reconcile::{reconcile, Reconciled};

pub const EVENT: &str = "stripe.event";
pub const EVALUATE: &str = "referral.evaluate";
pub const RECONCILE: &str = "stripe.reconcile";

/// The events Refloop's endpoint subscribes to: what changes a charge, new customers
/// (someone Refloop waits for may have arrived), and paid Checkout Sessions (who referred the
/// payer), and a test clock's advance (holds of payments made on it end by its time). Not
/// `customer.updated`: Refloop's own writes would come back as work, and the watch
/// reads updates from the Events API.
pub const EVENTS: [&str; 9] = [
    "charge.succeeded",
    "charge.captured",
    "charge.updated",
    "charge.refunded",
    "charge.dispute.closed",
    "customer.created",
    checkout::EVENTS[0],
    checkout::EVENTS[1],
    CLOCK_READY,
];

/// A Stripe test clock finished advancing.
pub const CLOCK_READY: &str = "test_helpers.test_clock.ready";

/// How often every account is reconciled.
pub const RECONCILE_EVERY: Duration = Duration::from_secs(300);

/// Friends looked up one by one in a reconciliation (the most recent pending first).
const RECONCILE_FRIENDS: i64 = 200;

pub fn register(registry: Registry<StripeAccess>) -> Registry<StripeAccess> {
    registry
        .register(EVENT, run_event)
        .register(EVALUATE, run_evaluate)
        .register(RECONCILE, run_reconcile)
        .every(
            RECONCILE,
            RECONCILE_EVERY,
            NewJob::new(RECONCILE, json!({})).dedupe(format!("{RECONCILE}:all")),
        )
}

fn event_job(account_id: &str, event_id: &str) -> NewJob {
    NewJob::new(EVENT, json!({ "event": event_id })).account(account_id)
}

/// Re-evaluates one friend (after their customers change, or their campaign's settings do).
pub fn evaluate_job(account_id: &str, participant_id: &str) -> NewJob {
    NewJob::new(EVALUATE, json!({ "participant": participant_id }))
        .account(account_id)
        .dedupe(format!("{EVALUATE}:{participant_id}"))
}

/// Reconciles one account now.
pub fn reconcile_job(account_id: &str) -> NewJob {
    NewJob::new(RECONCILE, json!({}))
        .account(account_id)
        .dedupe(format!("{RECONCILE}:{account_id}"))
}

/// The address Stripe delivers an account's events to.
pub fn webhook_url(public_url: &str, webhook_id: &str) -> String {
    format!(
        "{}/webhooks/stripe/{webhook_id}",
        public_url.trim_end_matches('/')
    )
}
