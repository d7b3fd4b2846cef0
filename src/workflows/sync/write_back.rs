//! The write-back: referral links and codes go back to the run's customers in Stripe, a batch
//! at a time, under the account's rate limit.

use super::{job_run, write_job, WRITE_BATCH};
use crate::workflows::Job;
use crate::{
    db::{self, participants, unix_now},
    domain::{participants::EventKind, sync::RunStatus},
    jobs::{queue, JobError},
    stripe::types::CustomerParams,
};

/// Writes a batch of referral links back to the run's customers, then passes the baton.
pub(super) async fn run_write(ctx: Job) -> Result<(), JobError> {
    let (account, run_id) = job_run(&ctx);
    let db = &ctx.db;
    let Some(run) = db::sync::run(db.pool(), &account, &run_id).await? else {
        return Ok(());
    };
    let batch = db::sync::pending_writes(db.pool(), &run.id, WRITE_BATCH).await?;
    let stripe = match ctx.app.connect(db, &account).await {
        Ok(Some(s)) => Some(s),
        Ok(None) => None,
        Err(why) => return Err(why.into()),
    };
    let mut results: Vec<(String, String, Option<String>)> = Vec::new();
    let mut retry = None;
    for (customer, participant) in batch {
        let Some(p) = participants::get(db.pool(), &account, &participant).await? else {
            results.push((
                customer,
                participant,
                Some("the participant was deleted".into()),
            ));
            continue;
        };
        let Some(stripe) = &stripe else {
            let why = "Not written: Stripe was disconnected".to_string();
            results.push((customer, participant, Some(why)));
            continue;
        };
        let params = CustomerParams {
            metadata: run
                .settings
                .write_back(&ctx.app.referral_link(&p.code), &p.code),
            ..Default::default()
        };
        let key = format!("refloop-sync-{}-{customer}", run.id);
        match stripe
            .client
            .update_customer(&customer, &params, &key)
            .await
        {
            Ok(_) => results.push((customer, participant, None)),
            Err(e) if e.is_retryable() => {
                retry = Some(e.to_string());
                break;
            }
            Err(e) => {
                let why = format!("Not written: Stripe refused ({e})");
                results.push((customer, participant, Some(why)));
            }
        }
    }
    let now = unix_now();
    let mut tx = db.begin().await?;
    db::sync::lock_run(&mut *tx, &run.id).await?;
    let (mut written, mut failed) = (0, 0);
    for (customer, participant, failure) in &results {
        if !db::sync::finish_write(&mut *tx, &run.id, customer, failure.as_deref()).await? {
            continue;
        }
        let Some(p) = participants::get(&mut *tx, &account, participant).await? else {
            failed += 1;
            continue;
        };
        let text = match failure {
            None => {
                written += 1;
                format!(
                    "On Stripe customer {customer}: {}",
                    run.settings.describe_write_back()
                )
            }
            Some(why) => {
                failed += 1;
                format!("Referral link not written to {customer}: {why}")
            }
        };
        participants::add_event(&mut *tx, &p, EventKind::SyncWritten, &text, now).await?;
    }
    db::sync::add_written(&mut *tx, &run.id, written, failed).await?;
    let more = !db::sync::pending_writes(&mut *tx, &run.id, 1)
        .await?
        .is_empty();
    let status = db::sync::run(&mut *tx, &account, &run.id)
        .await?
        .map(|r| r.status);
    if !more && status == Some(RunStatus::Writing) {
        db::sync::set_status(&mut *tx, &run.id, RunStatus::Done, &run.note, Some(now)).await?;
        if let Some(done) = db::sync::run(&mut *tx, &account, &run.id).await? {
            crate::workflows::outbound::sync_finished(&mut tx, &done).await?;
        }
    }
    if let Some(why) = retry {
        // What was written stays written; the rest is tried again after the backoff.
        tx.commit().await?;
        return Err(JobError::Retry(why));
    }
    ctx.complete_in(&mut tx).await?;
    if more {
        queue::enqueue(&mut tx, &write_job(&account, &run.id)).await?;
    }
    tx.commit().await?;
    Ok(())
}
