//! A one-time run: pages of customers read from Stripe while the pages read so far commit with
//! the checkpoint.

use tokio::sync::mpsc::Sender;

use super::{facts, page_job, place_all, PAGES_PER_COMMIT, PAGES_PER_JOB, PAGE_SIZE};
use crate::workflows::Job;
use crate::{
    db::{
        self,
        campaigns::{self, CampaignRow},
        sync::RunRow,
        unix_now,
    },
    domain::sync::{CustomerFacts, RunStatus},
    jobs::{queue, JobError},
    stripe::{
        types::{Customer, List, ListFilter},
        StripeClient, StripeError,
    },
};

pub(super) fn job_run(ctx: &Job) -> (String, String) {
    (
        ctx.job.account_id.clone().unwrap_or_default(),
        ctx.job.payload["run"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

/// Ends a run that cannot go on, saying why.
pub(super) async fn fail(ctx: &Job, run: &RunRow, why: String) -> Result<(), JobError> {
    let mut tx = ctx.db.begin().await?;
    db::sync::set_status(&mut *tx, &run.id, RunStatus::Failed, &why, Some(unix_now())).await?;
    if let Some(failed) = db::sync::run(&mut *tx, &run.account_id, &run.id).await? {
        crate::workflows::outbound::sync_finished(&mut tx, &failed).await?;
    }
    ctx.complete_in(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

/// A Stripe error in a run: tried again while it may pass, otherwise the run stops with it.
pub(super) async fn on_stripe_error(
    ctx: &Job,
    run: &RunRow,
    e: StripeError,
) -> Result<(), JobError> {
    if e.is_retryable() && ctx.job.attempts < ctx.job.max_attempts {
        return Err(JobError::Retry(e.to_string()));
    }
    fail(ctx, run, format!("Stripe answered: {e}")).await
}

/// What committing pages of a one-time run led to.
pub(super) enum Committed {
    /// The pages are in; the job goes on with the next.
    GoOn,
    /// The job is complete: the run ended, the next page has a job of its own, or another
    /// copy of this job had placed the pages already.
    Complete,
}

/// A one-time run's job: up to `PAGES_PER_JOB` pages, read from Stripe one after the other
/// while the pages read so far commit (up to `PAGES_PER_COMMIT` at once) in a transaction of
/// their own together with the checkpoint. Whatever stops it, the job (or its retry) continues
/// after the last committed page.
pub(super) async fn run_page(ctx: Job) -> Result<(), JobError> {
    let (account, run_id) = job_run(&ctx);
    let db = &ctx.db;
    let Some(run) = db::sync::run(db.pool(), &account, &run_id).await? else {
        return Ok(());
    };
    if run.status != RunStatus::Reading {
        return Ok(());
    }
    let Some(c) = campaigns::get(db.pool(), &account, &run.campaign_id).await? else {
        return fail(&ctx, &run, "The campaign was deleted".into()).await;
    };
    let stripe = match ctx.app.connect(db, &account).await {
        Ok(Some(s)) => s,
        Ok(None) => return fail(&ctx, &run, "Stripe was disconnected".into()).await,
        Err(why) => return fail(&ctx, &run, why.for_people()).await,
    };
    let filter = ListFilter {
        created_gte: run.settings.created_after,
        page_size: Some(PAGE_SIZE),
        ..Default::default()
    };
    let (read, mut pages) = tokio::sync::mpsc::channel(PAGES_PER_COMMIT);
    let reader = read_pages(&stripe.client, &filter, run.cursor.clone(), read);
    let (ctx, c) = (&ctx, &c);
    let committer = async move {
        let mut run = run;
        let mut taken = 0;
        while let Some(first) = pages.recv().await {
            let mut batch = vec![first];
            while batch.len() < PAGES_PER_COMMIT {
                match pages.try_recv() {
                    Ok(page) => batch.push(page),
                    Err(_) => break,
                }
            }
            taken += batch.len();
            let (mut customers, mut more) = (Vec::new(), false);
            for page in batch {
                match page {
                    Ok(p) => {
                        customers.extend(p.data.iter().map(facts));
                        more = p.has_more && !p.data.is_empty();
                    }
                    Err(e) => return on_stripe_error(ctx, &run, e).await,
                }
            }
            let last = customers.last().map(|c| c.id.clone());
            let go_on = more && taken < PAGES_PER_JOB;
            if let Committed::Complete = commit_pages(ctx, c, &run, &customers, more, go_on).await?
            {
                return Ok(());
            }
            run.cursor = last;
        }
        // The reader stops after the page that ends the job, which completed it above.
        Ok(())
    };
    let ((), done) = tokio::join!(reader, committer);
    done
}

/// Reads a job's pages, from the customer after `after` on, until Stripe has no more, the job
/// has its `PAGES_PER_JOB`, or the pages are no longer wanted (the job stopped).
pub(super) async fn read_pages(
    client: &StripeClient,
    filter: &ListFilter,
    mut after: Option<String>,
    pages: Sender<Result<List<Customer>, StripeError>>,
) {
    for _ in 0..PAGES_PER_JOB {
        let page = client.customers_page(filter, after.as_deref()).await;
        after = match &page {
            Ok(p) if p.has_more => p.data.last().map(|c| c.id.clone()),
            _ => None,
        };
        if pages.send(page).await.is_err() || after.is_none() {
            return;
        }
    }
}

/// Places pages of a one-time run and moves its checkpoint, in one transaction under the
/// run's lock. `more`: pages follow; `go_on`: this job reads them (otherwise a job of their
/// own is enqueued and this one completes).
pub(super) async fn commit_pages(
    ctx: &Job,
    c: &CampaignRow,
    run: &RunRow,
    customers: &[CustomerFacts],
    more: bool,
    go_on: bool,
) -> Result<Committed, JobError> {
    let db = &ctx.db;
    let now = unix_now();
    let mut tx = db.begin().await?;
    db::sync::lock_run(&mut *tx, &run.id).await?;
    // The checkpoint is read again under the lock: a second worker's copy of this job sees
    // it moved and stops.
    let counted = match db::sync::run(&mut *tx, &run.account_id, &run.id).await? {
        Some(r) if r.status == RunStatus::Reading && r.cursor == run.cursor => r.tally,
        _ => {
            ctx.complete_in(&mut tx).await?;
            tx.commit().await?;
            return Ok(Committed::Complete);
        }
    };
    let tally = place_all(&mut tx, c, run, customers, now)
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    let cursor = customers.last().map(|c| c.id.as_str());
    db::sync::add_tally(&mut *tx, &run.id, &tally, cursor, 0).await?;
    if go_on {
        tx.commit().await?;
        return Ok(Committed::GoOn);
    }
    if more {
        queue::enqueue(&mut tx, &page_job(&run.account_id, &run.id)).await?;
    } else {
        let pending = !db::sync::pending_writes(&mut *tx, &run.id, 1)
            .await?
            .is_empty();
        let (status, finished) = if pending {
            (RunStatus::Writing, None)
        } else {
            (RunStatus::Done, Some(now))
        };
        let skipped_limit = counted.limit + tally.limit;
        let note = if skipped_limit > 0 {
            format!(
                "Stopped at the account's participant limit: {skipped_limit} customers were not added (listed in the report)."
            )
        } else {
            String::new()
        };
        db::sync::set_status(&mut *tx, &run.id, status, &note, finished).await?;
        if status == RunStatus::Done {
            if let Some(done) = db::sync::run(&mut *tx, &run.account_id, &run.id).await? {
                crate::workflows::outbound::sync_finished(&mut tx, &done).await?;
            }
        }
    }
    ctx.complete_in(&mut tx).await?;
    tx.commit().await?;
    Ok(Committed::Complete)
}
