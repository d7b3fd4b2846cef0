//! Qualification by spend. Stripe's events arrive at `POST /webhooks/stripe/{id}` (`receive`:
//! signature checked, the event id recorded in a permanent ledger, its processing enqueued in
//! the same transaction); the `stripe.event` job merges what the event says into the ledger of
//! charges and re-evaluates every friend the payment may count for, in one transaction.
//! `stripe.reconcile` replays what webhooks may have missed (the Events API since the last
//! event seen, and each pending friend's charges), every few minutes and on demand.
//! `evaluate` is the one place a friend's standing is decided, from the ledger, so the order
//! and number of deliveries never change the result.

use std::time::Duration;

use futures::TryStreamExt;
use serde_json::{json, Value};
use sqlx::AnyConnection;

use super::{rewards, send, Job, StripeAccess};
use crate::{
    db::{
        participants::{self, ParticipantRow},
        qualification::{self as ledger, ChargeUpdate},
        rewards as reward_ledger, stripe_connections, stripe_send, unix_now, Db,
    },
    domain::{
        participants::{EventKind, Qualification},
        qualification::{explain_spend, spend, standing, CustomerScope, Standing},
        time::format_date,
    },
    jobs::{queue, JobError, NewJob, Registry},
    secrets::Sealer,
    stripe::{signature, types::Event, types::ListFilter, StripeError},
};

pub const EVENT: &str = "stripe.event";
pub const EVALUATE: &str = "referral.evaluate";
pub const RECONCILE: &str = "stripe.reconcile";

/// The events Refloop's endpoint subscribes to: what changes a charge, and new customers
/// (someone Refloop waits for may have arrived). Not `customer.updated`: Refloop's own writes
/// would come back as work, and the watch reads updates from the Events API.
pub const EVENTS: [&str; 6] = [
    "charge.succeeded",
    "charge.captured",
    "charge.updated",
    "charge.refunded",
    "charge.dispute.closed",
    "customer.created",
];

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
    let Some(w) = ledger::webhook_by_id(db.pool(), webhook_id).await? else {
        return Ok(Err(Refusal::UnknownEndpoint));
    };
    let now = unix_now();
    let checked = match sealer.open(&w.sealed_secret) {
        Err(_) => Err("the stored signing secret cannot be opened with this server's secret key: repair the endpoint".to_string()),
        Ok(secret) => signature::verify(signature_header.unwrap_or_default(), body, &secret, now)
            .map_err(|e| e.to_string()),
    };
    if let Err(why) = checked {
        ledger::note_signature_failure(db.pool(), &w.id, now).await?;
        return Ok(Err(Refusal::BadSignature(why)));
    }
    let current = stripe_connections::current_stripe_account(db.pool(), &w.account_id).await?;
    if current.as_deref() != Some(w.stripe_account.as_str()) {
        ledger::note_foreign_event(db.pool(), &w.id).await?;
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
    ledger::note_delivery(&mut *tx, &w.id, now).await?;
    tx.commit().await?;
    Ok(Ok(if new {
        Delivery::Accepted
    } else {
        Delivery::Duplicate
    }))
}

/// Adds an event to the ledger and, when it is new, enqueues its processing.
async fn record(
    conn: &mut AnyConnection,
    account_id: &str,
    stripe_account: &str,
    event: &Event,
    raw: &[u8],
    source: &str,
) -> Result<bool, sqlx::Error> {
    let new = ledger::record_event(
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
fn charge_update(event: &Event) -> Option<ChargeUpdate> {
    let o = &event.data.object;
    let text = |v: &Value| v.as_str().map(str::to_string);
    match event.kind.as_str() {
        "charge.succeeded" | "charge.captured" | "charge.updated" | "charge.refunded"
        | "charge.failed" => Some(ChargeUpdate {
            charge_id: text(&o["id"])?,
            customer_id: text(&o["customer"]),
            email: text(&o["billing_details"]["email"]),
            amount: o["amount"].as_i64().unwrap_or_default(),
            currency: text(&o["currency"]),
            created: o["created"].as_i64().unwrap_or_default(),
            paid: o["status"] == "succeeded" && o["captured"] != json!(false),
            refunded: o["amount_refunded"].as_i64().unwrap_or_default(),
            disputed: 0,
        }),
        "charge.dispute.closed" if o["status"] == "lost" => Some(ChargeUpdate {
            charge_id: text(&o["charge"])?,
            disputed: o["amount"].as_i64().unwrap_or_default(),
            ..Default::default()
        }),
        _ => None,
    }
}

/// Merges what the event says into the ledger; the friends it may count for.
async fn apply(
    conn: &mut AnyConnection,
    account_id: &str,
    stripe_account: &str,
    event: &Event,
) -> Result<Vec<String>, sqlx::Error> {
    if let ("customer.created", Some(id)) = (event.kind.as_str(), event.data.object["id"].as_str())
    {
        // A new customer for the campaigns whose ongoing sync is on.
        if !crate::db::sync::watching(&mut *conn, account_id)
            .await?
            .is_empty()
        {
            queue::enqueue(conn, &super::sync::customer_job(account_id, id)).await?;
        }
    }
    if event.kind.starts_with("customer.") {
        // The merchant's system may have created someone Refloop waits for.
        if !stripe_send::waiting(&mut *conn, account_id, 1)
            .await?
            .is_empty()
        {
            queue::enqueue(conn, &send::watch_job(account_id)).await?;
        }
        return Ok(Vec::new());
    }
    let Some(update) = charge_update(event) else {
        return Ok(Vec::new());
    };
    ledger::merge_charge(&mut *conn, account_id, stripe_account, &update, unix_now()).await?;
    let Some((customer, email)) =
        ledger::charge_payer(&mut *conn, account_id, &update.charge_id).await?
    else {
        return Ok(Vec::new());
    };
    let mut friends: Vec<String> = ledger::friends_paying(
        &mut *conn,
        account_id,
        customer.as_deref(),
        email.as_deref(),
    )
    .await?
    .into_iter()
    .map(|(id, _)| id)
    .collect();
    friends.sort();
    friends.dedup();
    Ok(friends)
}

async fn run_event(ctx: Job) -> Result<(), JobError> {
    let account_id = ctx.job.account_id.clone().unwrap_or_default();
    let event_id = ctx.job.payload["event"].as_str().unwrap_or_default();
    let mut tx = ctx.db.begin().await?;
    // An event from a Stripe account switched away from since is left as it is.
    if let Some((raw, stripe_account)) =
        ledger::event_payload(&mut *tx, &account_id, event_id).await?
    {
        match serde_json::from_str::<Event>(&raw) {
            Ok(event) => {
                let friends = apply(&mut tx, &account_id, &stripe_account, &event).await?;
                for id in friends {
                    evaluate(&mut tx, &account_id, &id, unix_now()).await?;
                }
            }
            Err(e) => {
                tracing::warn!(event = event_id, error = %e, "stored Stripe event unreadable")
            }
        }
    }
    ctx.complete_in(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

async fn run_evaluate(ctx: Job) -> Result<(), JobError> {
    let account_id = ctx.job.account_id.clone().unwrap_or_default();
    let id = ctx.job.payload["participant"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut tx = ctx.db.begin().await?;
    evaluate(&mut tx, &account_id, &id, unix_now()).await?;
    ctx.complete_in(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Adds an entry to the friend's timeline and its echo to the referrer's.
async fn tell_both(
    conn: &mut AnyConnection,
    friend: &ParticipantRow,
    referrer: Option<&ParticipantRow>,
    kind: EventKind,
    text: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    participants::add_event(&mut *conn, friend, kind, text, now).await?;
    if let Some(r) = referrer {
        let echo = format!("{}: {text}", friend.email);
        participants::add_event(&mut *conn, r, EventKind::FriendUpdate, &echo, now).await?;
    }
    Ok(())
}

/// Decides where an invited friend stands from the ledger, and records any change: their
/// standing and note, both timelines, the referrer's count, and rewards earned or undone.
/// Runs in the caller's transaction, holding the friend's and then the referrer's row lock.
pub async fn evaluate(
    conn: &mut AnyConnection,
    account_id: &str,
    participant_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    ledger::lock_participant(&mut *conn, participant_id).await?;
    let Some(p) = participants::get(&mut *conn, account_id, participant_id).await? else {
        return Ok(());
    };
    let Some(referrer_id) = p.referrer_id.clone() else {
        return Ok(());
    };
    let Some(s) = ledger::settings(&mut *conn, account_id, &p.campaign_id).await? else {
        return Ok(());
    };
    // The referrer's row is locked too (after the friend's, always in that order): their count
    // of qualified friends decides milestone rewards, so two friends qualifying at once must
    // count one after the other.
    ledger::lock_participant(&mut *conn, &referrer_id).await?;
    let referrer = participants::get(&mut *conn, account_id, &referrer_id).await?;
    let email = (s.scope == CustomerScope::SameEmail).then_some(p.email.as_str());
    let charges = ledger::charges_of(&mut *conn, account_id, &p.id, email).await?;
    let total = spend(&s, p.created_at, &charges);
    let spent_text = explain_spend(&s, &total);
    let spent_changed = total.counted != p.spent;
    let given = reward_ledger::for_referral(&mut *conn, account_id, &p.id).await?;
    let rules = reward_ledger::settings(&mut *conn, account_id, &p.campaign_id)
        .await?
        .unwrap_or_default();
    let irreversible = given
        .iter()
        .any(|r| r.status.given() && !rewards::reversible(r, &rules));
    let was_qualified = p.qualification == Qualification::Qualified;
    if spent_changed {
        tell_both(
            conn,
            &p,
            referrer.as_ref(),
            EventKind::Spent,
            &spent_text,
            now,
        )
        .await?;
    }
    // Where they stand now, in one place; then what changing to it sets off.
    let (qualification, qualified_at, note, change) =
        match standing(&s, p.created_at, now, &total, was_qualified, irreversible) {
            Standing::Qualified { at, by } if !was_qualified => {
                let text = format!("Qualified on {} (target reached by {by})", format_date(at));
                let note = format!("{text}; {spent_text}");
                (
                    Qualification::Qualified,
                    Some(at),
                    note,
                    Change::Qualified(text),
                )
            }
            Standing::Qualified { .. } => {
                let note = if spent_changed {
                    format!(
                        "Qualified on {}; {spent_text}",
                        format_date(p.qualified_at.unwrap_or(now))
                    )
                } else {
                    p.qualification_note.clone()
                };
                (Qualification::Qualified, p.qualified_at, note, Change::None)
            }
            Standing::Pending { open } => {
                let note = if open {
                    spent_text.clone()
                } else {
                    format!(
                        "Not qualified: {spent_text}; the window closed on {}",
                        format_date(p.created_at + i64::from(s.window_days) * 86_400)
                    )
                };
                let change = if was_qualified {
                    Change::BackToPending
                } else {
                    Change::None
                };
                (Qualification::Pending, None, note, change)
            }
            Standing::KeptDespiteRefund => {
                let why = if s.back_to_pending {
                    "kept qualified because a reward was already given"
                } else {
                    "kept qualified, as the settings say"
                };
                let note = format!(
                    "Qualified; {spent_text}: under the target after a refund or dispute, {why}"
                );
                let change = if s.back_to_pending && note != p.qualification_note {
                    Change::FlagRewards
                } else {
                    Change::None
                };
                (Qualification::Qualified, p.qualified_at, note, change)
            }
        };
    if (qualification, qualified_at, total.counted, note.as_str())
        != (
            p.qualification,
            p.qualified_at,
            p.spent,
            p.qualification_note.as_str(),
        )
    {
        ledger::set_standing(
            &mut *conn,
            account_id,
            &p.id,
            qualification,
            total.counted,
            qualified_at,
            &note,
        )
        .await?;
    }
    match change {
        Change::None => {}
        Change::Qualified(text) => {
            tell_both(
                conn,
                &p,
                referrer.as_ref(),
                EventKind::Qualified,
                &text,
                now,
            )
            .await?;
            if let Some(r) = &referrer {
                ledger::add_qualified(&mut *conn, &r.id, 1).await?;
                rewards::grant(conn, &rules, &p, r, r.qualified_referrals + 1, now).await?;
                send::refresh_metadata(conn, r).await?;
            }
        }
        Change::BackToPending => {
            let text = format!("Back to pending: {spent_text} after a refund or dispute");
            tell_both(
                conn,
                &p,
                referrer.as_ref(),
                EventKind::Unqualified,
                &text,
                now,
            )
            .await?;
            if let Some(r) = &referrer {
                ledger::add_qualified(&mut *conn, &r.id, -1).await?;
                send::refresh_metadata(conn, r).await?;
            }
            rewards::undo(conn, &rules, &given, now).await?;
        }
        Change::FlagRewards => rewards::flag(conn, &given, &spent_text, now).await?,
    }
    Ok(())
}

/// What a change of standing sets off.
enum Change {
    None,
    /// Newly qualified, with the timeline's words.
    Qualified(String),
    BackToPending,
    /// Kept qualified under the target with rewards given: they are flagged.
    FlagRewards,
}

/// Everyone in a campaign whose standing may change with new settings.
pub async fn evaluate_campaign(
    db: &Db,
    account_id: &str,
    campaign_id: &str,
) -> Result<u64, sqlx::Error> {
    let ids = ledger::friends_in_campaign(db.pool(), account_id, campaign_id).await?;
    let mut tx = db.begin().await?;
    for id in &ids {
        queue::enqueue(&mut tx, &evaluate_job(account_id, id)).await?;
    }
    tx.commit().await?;
    Ok(ids.len() as u64)
}

/// Replays what webhooks may have missed: every event since the last one seen (Events API),
/// then the charges of each pending friend's customers. The scheduled run (no account)
/// enqueues one per account with an endpoint.
async fn run_reconcile(ctx: Job) -> Result<(), JobError> {
    let Some(account_id) = ctx.job.account_id.clone() else {
        let mut tx = ctx.db.begin().await?;
        for account in ledger::webhook_accounts(&mut *tx).await? {
            queue::enqueue(&mut tx, &reconcile_job(&account)).await?;
        }
        ctx.complete_in(&mut tx).await?;
        tx.commit().await?;
        return Ok(());
    };
    match reconcile(&ctx.db, &ctx.app, &account_id).await {
        Ok(_) => {}
        Err(e) if e.is_retryable() && ctx.job.attempts < ctx.job.max_attempts => {
            return Err(JobError::Retry(e.to_string()))
        }
        Err(e) => tracing::warn!(account = account_id, error = %e, "reconciliation"),
    }
    let mut tx = ctx.db.begin().await?;
    ctx.complete_in(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

/// What a reconciliation found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Events not received through the webhook.
    pub missed_events: u64,
    pub friends_checked: u64,
}

/// One account's reconciliation (see `run_reconcile`).
pub async fn reconcile(
    db: &Db,
    access: &StripeAccess,
    account_id: &str,
) -> Result<Reconciled, StripeError> {
    let db_err = |e: sqlx::Error| StripeError::Connection(format!("database: {e}"));
    let Some(w) = ledger::webhook_for(db.pool(), account_id)
        .await
        .map_err(db_err)?
    else {
        return Ok(Reconciled::default());
    };
    let stripe = match access.connect(db, account_id).await {
        Ok(Some(s)) => s,
        Ok(None) | Err(_) => return Ok(Reconciled::default()),
    };
    let started = unix_now();
    let stripe_account = stripe.row.stripe_account_id.clone().unwrap_or_default();
    if stripe_account != w.stripe_account {
        // The endpoint is the former account's: nothing to reconcile until it is made again.
        return Ok(Reconciled::default());
    }
    let mut found = Reconciled::default();
    let mut newest = w.reconciled_after;
    let events: Vec<Event> = stripe
        .client
        .list_events(ListFilter {
            created_gte: Some(w.reconciled_after),
            types: EVENTS.iter().map(|t| t.to_string()).collect(),
            page_size: Some(100),
            ..Default::default()
        })
        .try_collect()
        .await?;
    for event in events.iter().rev() {
        let raw = serde_json::to_vec(event).expect("event serializes");
        let mut tx = db.begin().await.map_err(db_err)?;
        if record(
            &mut tx,
            account_id,
            &stripe_account,
            event,
            &raw,
            "reconcile",
        )
        .await
        .map_err(db_err)?
        {
            found.missed_events += 1;
        }
        tx.commit().await.map_err(db_err)?;
        newest = newest.max(event.created);
    }
    let pending = ledger::pending_friends(db.pool(), account_id, 0, RECONCILE_FRIENDS)
        .await
        .map_err(db_err)?;
    for id in pending {
        let customers = stripe_send::customers_of(db.pool(), account_id, &id)
            .await
            .map_err(db_err)?;
        for customer in customers {
            let charges: Vec<crate::stripe::types::Charge> = stripe
                .client
                .list_charges(
                    &customer,
                    ListFilter {
                        page_size: Some(100),
                        ..Default::default()
                    },
                )
                .try_collect()
                .await?;
            let mut tx = db.begin().await.map_err(db_err)?;
            for c in charges {
                let update = ChargeUpdate {
                    paid: c.status == "succeeded",
                    refunded: c.amount_refunded,
                    email: c.billing_details.and_then(|b| b.email),
                    charge_id: c.id,
                    customer_id: c.customer,
                    amount: c.amount,
                    currency: Some(c.currency),
                    created: c.created,
                    disputed: 0,
                };
                ledger::merge_charge(&mut *tx, account_id, &stripe_account, &update, started)
                    .await
                    .map_err(db_err)?;
            }
            evaluate(&mut tx, account_id, &id, unix_now())
                .await
                .map_err(db_err)?;
            tx.commit().await.map_err(db_err)?;
        }
        found.friends_checked += 1;
    }
    // Events created in the same second as the newest may still arrive: look again from it.
    ledger::save_reconciled(db.pool(), account_id, newest, started)
        .await
        .map_err(db_err)?;
    Ok(found)
}
