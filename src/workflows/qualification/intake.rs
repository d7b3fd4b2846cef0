//! Stripe's deliveries: checked, recorded once, and merged into the ledger of charges.

use serde_json::{json, Value};
use sqlx::AnyConnection;

use super::{evaluate, event_job, settlement};
use crate::workflows::{rewards, sending, Job};
use crate::{
    db::{self, qualification::ChargeUpdate, stripe_connections, unix_now, Db},
    domain::fraud::Card,
    jobs::{queue, JobError},
    secrets::Sealer,
    stripe::{signature, types::Event},
};

/// What became of a delivery.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Recorded, and its processing queued.
    Accepted,
    /// Its id was in the ledger already: acknowledged, nothing done.
    Duplicate,
}

/// Why a delivery was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No endpoint with this address (404).
    UnknownEndpoint,
    /// The signature does not match this endpoint's secret (400, counted).
    BadSignature(String),
    /// Signed, but not an event (400).
    NotAnEvent(String),
    /// Signed by an endpoint of a Stripe account that is no longer connected (410, counted):
    /// the account it names.
    FormerAccount(String),
}

/// Handles one delivery to `/webhooks/stripe/{webhook_id}`: checks the signature on the raw
/// body, then records the event and enqueues its processing in one transaction. The caller
/// wakes the workers after an `Accepted`.
pub async fn receive(
    db: &Db,
    sealer: &Sealer,
    webhook_id: &str,
    signature_header: Option<&str>,
    body: &[u8],
) -> Result<Result<Delivery, Refusal>, sqlx::Error> {
    let Some(w) = db::qualification::webhook_by_id(db.pool(), webhook_id).await? else {
        return Ok(Err(Refusal::UnknownEndpoint));
    };
    let now = unix_now();
    let checked = match sealer.open(&w.sealed_secret) {
        Err(_) => Err("the stored signing secret cannot be opened with this server's secret key: repair the endpoint".to_string()),
        Ok(secret) => signature::verify(signature_header.unwrap_or_default(), body, &secret, now)
            .map_err(|e| e.to_string()),
    };
    if let Err(why) = checked {
        db::qualification::note_signature_failure(db.pool(), &w.id, now).await?;
        return Ok(Err(Refusal::BadSignature(why)));
    }
    let current = stripe_connections::current_stripe_account(db.pool(), &w.account_id).await?;
    if current.as_deref() != Some(w.stripe_account.as_str()) {
        db::qualification::note_foreign_event(db.pool(), &w.id).await?;
        return Ok(Err(Refusal::FormerAccount(w.stripe_account)));
    }
    let event: Event = match serde_json::from_slice(body) {
        Ok(e) => e,
        Err(e) => return Ok(Err(Refusal::NotAnEvent(e.to_string()))),
    };
    let mut tx = db.begin().await?;
    let new = record(
        &mut tx,
        &w.account_id,
        &w.stripe_account,
        &event,
        body,
        "webhook",
    )
    .await?;
    db::qualification::note_delivery(&mut *tx, &w.id, now).await?;
    tx.commit().await?;
    Ok(Ok(if new {
        Delivery::Accepted
    } else {
        Delivery::Duplicate
    }))
}

/// Adds an event to the ledger and, when it is new, enqueues its processing.
pub(super) async fn record(
    conn: &mut AnyConnection,
    account_id: &str,
    stripe_account: &str,
    event: &Event,
    raw: &[u8],
    source: &str,
) -> Result<bool, sqlx::Error> {
    let new = db::qualification::record_event(
        &mut *conn,
        account_id,
        stripe_account,
        &event.id,
        &event.kind,
        event.created,
        &String::from_utf8_lossy(raw),
        source,
        unix_now(),
    )
    .await?;
    if new {
        queue::enqueue(conn, &event_job(account_id, &event.id)).await?;
    }
    Ok(new)
}

/// What a charge or dispute event says about a charge.
pub(super) fn charge_update(event: &Event) -> Option<ChargeUpdate> {
    let o = &event.data.object;
    let text = |v: &Value| v.as_str().map(str::to_string);
    match event.kind.as_str() {
        "charge.succeeded" | "charge.captured" | "charge.updated" | "charge.refunded"
        | "charge.failed" => Some(ChargeUpdate {
            charge_id: text(&o["id"])?,
            customer_id: text(&o["customer"]),
            email: text(&o["billing_details"]["email"]),
            payment_intent: text(&o["payment_intent"]),
            amount: o["amount"].as_i64().unwrap_or_default(),
            currency: text(&o["currency"]),
            created: o["created"].as_i64().unwrap_or_default(),
            paid: o["status"] == "succeeded" && o["captured"] != json!(false),
            refunded: o["amount_refunded"].as_i64().unwrap_or_default(),
            disputed: 0,
            balance_transaction: text(&o["balance_transaction"]),
            settled: None,
            invoice: text(&o["invoice"]),
            card: card_of(&o["payment_method_details"]["card"]),
        }),
        "charge.dispute.closed" if o["status"] == "lost" => Some(ChargeUpdate {
            charge_id: text(&o["charge"])?,
            disputed: o["amount"].as_i64().unwrap_or_default(),
            ..Default::default()
        }),
        _ => None,
    }
}

/// The card a charge names, when it names its fingerprint.
fn card_of(card: &Value) -> Option<Card> {
    Some(Card {
        fingerprint: card["fingerprint"].as_str()?.to_string(),
        last4: card["last4"].as_str().unwrap_or_default().to_string(),
        brand: card["brand"].as_str().unwrap_or_default().to_string(),
    })
}

/// Merges what the event says into the ledger (with `update`, its charge as `charge_update`
/// read it and `settlement::settle` completed it); the friends it may count for.
pub(super) async fn apply(
    conn: &mut AnyConnection,
    account_id: &str,
    stripe_account: &str,
    event: &Event,
    update: Option<ChargeUpdate>,
) -> Result<Vec<String>, sqlx::Error> {
    if let ("customer.created", Some(id)) = (event.kind.as_str(), event.data.object["id"].as_str())
    {
        // A new customer for the campaigns whose ongoing sync is on.
        if !crate::db::sync::watching(&mut *conn, account_id)
            .await?
            .is_empty()
        {
            queue::enqueue(conn, &crate::workflows::sync::customer_job(account_id, id)).await?;
        }
    }
    if event.kind.starts_with("customer.") {
        // The merchant's system may have created someone Refloop waits for.
        if !db::sending::waiting(&mut *conn, account_id, 1)
            .await?
            .is_empty()
        {
            queue::enqueue(conn, &sending::watch_job(account_id)).await?;
        }
        return Ok(Vec::new());
    }
    let Some(update) = update else {
        return Ok(Vec::new());
    };
    // After its Checkout Session's processing, if that runs now (see `checkout`): the turn is
    // the invoice's when the charge paid one, as a subscription's session names only that.
    if let Some(turn) = update.invoice.as_ref().or(update.payment_intent.as_ref()) {
        db::attribution::take_payment_turn(&mut *conn, account_id, turn, unix_now()).await?;
    }
    db::qualification::merge_charge(&mut *conn, account_id, stripe_account, &update, unix_now())
        .await?;
    let Some(payer) =
        db::qualification::charge_payer(&mut *conn, account_id, &update.charge_id).await?
    else {
        return Ok(Vec::new());
    };
    let mut friends: Vec<String> =
        db::qualification::friends_paying(&mut *conn, account_id, &payer)
            .await?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
    friends.sort();
    friends.dedup();
    Ok(friends)
}

pub(super) async fn run_event(ctx: Job) -> Result<(), JobError> {
    let account_id = ctx.job.account_id.clone().unwrap_or_default();
    let event_id = ctx.job.payload["event"].as_str().unwrap_or_default();
    // An event from a Stripe account switched away from since is left as it is.
    let stored = db::qualification::event_payload(ctx.db.pool(), &account_id, event_id).await?;
    let event =
        stored.and_then(
            |(raw, stripe_account)| match serde_json::from_str::<Event>(&raw) {
                Ok(event) => Some((event, stripe_account)),
                Err(e) => {
                    tracing::warn!(event = event_id, error = %e, "stored Stripe event unreadable");
                    None
                }
            },
        );
    // What a payment in another currency settled as is read before the transaction, which
    // holds no lock while Stripe answers.
    let update = match &event {
        Some((event, _)) => settled_update(&ctx, &account_id, event).await?,
        None => None,
    };
    // So are the payments a test clock's advance ends the holds of.
    let releases = match &event {
        Some((event, _)) if event.kind == super::CLOCK_READY => {
            rewards::ended_on_clock(&ctx, &account_id, &event.data.object).await?
        }
        _ => Vec::new(),
    };
    let mut tx = ctx.db.begin().await?;
    for job in &releases {
        queue::enqueue(&mut tx, job).await?;
    }
    let mut granted = Vec::new();
    if let Some((event, stripe_account)) = &event {
        let mut friends = super::checkout::attribute(&mut tx, &account_id, stripe_account, event)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
        friends.extend(apply(&mut tx, &account_id, stripe_account, event, update).await?);
        for id in friends {
            granted.extend(evaluate(&mut tx, &account_id, &id, unix_now()).await?);
        }
    }
    ctx.complete_in(&mut tx).await?;
    tx.commit().await?;
    rewards::issue_now(&ctx.app, &ctx.db, granted).await;
    Ok(())
}

/// What the event says about a charge, with what it settled as when a target needs it.
async fn settled_update(
    ctx: &Job,
    account_id: &str,
    event: &Event,
) -> Result<Option<ChargeUpdate>, JobError> {
    let Some(mut update) = charge_update(event) else {
        return Ok(None);
    };
    if !settlement::settleable(&update) {
        return Ok(Some(update));
    }
    let targets = db::qualification::target_currencies(ctx.db.pool(), account_id).await?;
    if settlement::wanted(&targets, &update) {
        if let Ok(Some(stripe)) = ctx.app.connect(&ctx.db, account_id).await {
            let read = settlement::settle(&stripe.client, &ctx.db, account_id, &mut update).await;
            // The last attempt counts the payment unsettled rather than not at all.
            if let Err(e) = read {
                if ctx.job.attempts < ctx.job.max_attempts {
                    return Err(JobError::Retry(e.to_string()));
                }
            }
        }
    }
    Ok(Some(update))
}
