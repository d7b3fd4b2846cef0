//! The ongoing sync: a new customer from its `customer.created` event, and the sweep for any
//! event that never arrived.

use super::{facts, place_all, sweep_job, PAGE_SIZE};
use crate::workflows::Job;
use crate::{
    db::{
        self,
        campaigns::{self},
        sync::{RunRow, Tally},
        unix_now, Db,
    },
    domain::sync::{CustomerFacts, RunStatus},
    jobs::{queue, JobError},
    stripe::types::{Customer, ListFilter},
};

/// Places customers in each of the account's ongoing syncs (`watching`), one transaction per
/// sync; a sync switched off meanwhile enrols nobody.
pub(super) async fn place_ongoing(
    db: &Db,
    account: &str,
    watching: &[RunRow],
    customers: &[CustomerFacts],
) -> Result<(), JobError> {
    for run in watching {
        let now = unix_now();
        let mut tx = db.begin().await?;
        db::sync::lock_run(&mut *tx, &run.id).await?;
        let on = campaigns::get(&mut *tx, account, &run.campaign_id).await?;
        let Some(c) = on.filter(|c| c.ongoing_stripe_sync) else {
            continue;
        };
        if db::sync::run(&mut *tx, account, &run.id)
            .await?
            .is_none_or(|r| r.status != RunStatus::Watching)
        {
            continue;
        }
        let tally = place_all(&mut tx, &c, run, customers, now)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
        db::sync::add_tally(&mut *tx, &run.id, &tally, None, 0).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// A new customer (from `customer.created`), read again from Stripe as it is now.
pub(super) async fn run_customer(ctx: Job) -> Result<(), JobError> {
    let account = ctx.job.account_id.clone().unwrap_or_default();
    let id = ctx.job.payload["customer"].as_str().unwrap_or_default();
    let db = &ctx.db;
    let watching = db::sync::watching(db.pool(), &account).await?;
    if !watching.is_empty() {
        if let Ok(Some(stripe)) = ctx.app.connect(db, &account).await {
            let customer = match stripe.client.retrieve_customer(id).await {
                Ok(c) => c,
                Err(e) if e.is_retryable() => return Err(JobError::Retry(e.to_string())),
                Err(e) => return Err(JobError::Permanent(e.to_string())),
            };
            place_ongoing(db, &account, &watching, &[facts(&customer)]).await?;
        }
    }
    let mut tx = db.begin().await?;
    ctx.complete_in(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Every minute: per account, the customers created since the oldest watermark of its ongoing
/// syncs (what a lost webhook delivery would otherwise leave out).
pub(super) async fn run_sweep(ctx: Job) -> Result<(), JobError> {
    let db = &ctx.db;
    let Some(account) = ctx.job.account_id.clone() else {
        let mut tx = db.begin().await?;
        for account in db::sync::accounts_watching(&mut *tx).await? {
            queue::enqueue(&mut tx, &sweep_job(&account)).await?;
        }
        ctx.complete_in(&mut tx).await?;
        tx.commit().await?;
        return Ok(());
    };
    let watching = db::sync::watching(db.pool(), &account).await?;
    if let (Some(since), Ok(Some(stripe))) = (
        watching.iter().map(|r| r.watermark).min(),
        ctx.app.connect(db, &account).await,
    ) {
        use futures::TryStreamExt;
        let customers: Vec<Customer> = stripe
            .client
            .list_customers(ListFilter {
                created_gte: Some(since),
                page_size: Some(PAGE_SIZE),
                ..Default::default()
            })
            .try_collect()
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
        let newest = customers.iter().map(|c| c.created).max().unwrap_or(since);
        // Oldest first, in the order they were created. Only the sweep moves the watermark:
        // it has read everything since it.
        let found: Vec<CustomerFacts> = customers.iter().rev().map(facts).collect();
        for chunk in found.chunks(PAGE_SIZE as usize) {
            place_ongoing(db, &account, &watching, chunk).await?;
        }
        let mut tx = db.begin().await?;
        for run in &watching {
            db::sync::add_tally(&mut *tx, &run.id, &Tally::default(), None, newest).await?;
        }
        tx.commit().await?;
    }
    let mut tx = db.begin().await?;
    ctx.complete_in(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}
