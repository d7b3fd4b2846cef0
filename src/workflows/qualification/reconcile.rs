//! Reconciliation: what webhooks may have missed, read back from Stripe.

use futures::TryStreamExt;

use super::{evaluate, reconcile_job, record, settlement, EVENTS, RECONCILE_FRIENDS};
use crate::workflows::{Job, StripeAccess};
use crate::{
    db::{self, qualification::ChargeUpdate, unix_now, Db},
    domain::fraud::Card,
    jobs::{queue, JobError},
    stripe::{types::Event, types::ListFilter, StripeError},
};

/// Replays what webhooks may have missed: every event since the last one seen (Events API),
/// then the charges of each pending friend's customers. The scheduled run (no account)
/// enqueues one per account with an endpoint.
pub(super) async fn run_reconcile(ctx: Job) -> Result<(), JobError> {
    let Some(account_id) = ctx.job.account_id.clone() else {
        let mut tx = ctx.db.begin().await?;
        for account in db::qualification::webhook_accounts(&mut *tx).await? {
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
    let Some(w) = db::qualification::webhook_for(db.pool(), account_id)
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
    let pending = db::qualification::pending_friends(db.pool(), account_id, 0, RECONCILE_FRIENDS)
        .await
        .map_err(db_err)?;
    let targets = db::qualification::target_currencies(db.pool(), account_id)
        .await
        .map_err(db_err)?;
    for id in pending {
        let customers = db::sending::customers_of(db.pool(), account_id, &id)
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
            let mut updates = Vec::with_capacity(charges.len());
            for c in charges {
                let card = c
                    .payment_method_details
                    .and_then(|d| d.card)
                    .and_then(|card| {
                        Some(Card {
                            fingerprint: card.fingerprint?,
                            last4: card.last4,
                            brand: card.brand,
                        })
                    });
                let mut update = ChargeUpdate {
                    card,
                    paid: c.status == "succeeded",
                    refunded: c.amount_refunded,
                    email: c.billing_details.and_then(|b| b.email),
                    charge_id: c.id,
                    customer_id: c.customer,
                    payment_intent: c.payment_intent,
                    amount: c.amount,
                    currency: Some(c.currency),
                    created: c.created,
                    disputed: 0,
                    balance_transaction: c.balance_transaction,
                    settled: None,
                    invoice: None,
                };
                if settlement::wanted(&targets, &update) {
                    settlement::settle(&stripe.client, db, account_id, &mut update).await?;
                }
                updates.push(update);
            }
            let mut tx = db.begin().await.map_err(db_err)?;
            for update in updates {
                db::qualification::merge_charge(
                    &mut *tx,
                    account_id,
                    &stripe_account,
                    &update,
                    started,
                )
                .await
                .map_err(db_err)?;
            }
            let granted = evaluate(&mut tx, account_id, &id, unix_now())
                .await
                .map_err(db_err)?;
            tx.commit().await.map_err(db_err)?;
            crate::workflows::rewards::issue_now(access, db, granted).await;
        }
        found.friends_checked += 1;
    }
    // Events created in the same second as the newest may still arrive: look again from it.
    db::qualification::save_reconciled(db.pool(), account_id, newest, started)
        .await
        .map_err(db_err)?;
    Ok(found)
}
