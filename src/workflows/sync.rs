//! Syncing the merchant's Stripe customers into a campaign as people referring.
//!
//! A one-time run is a chain of `stripe.sync` jobs of up to 20 pages of 100 customers each,
//! read one after the other while the pages read so far are placed: their enrolments, their
//! outcomes, the counts and the checkpoint (the last customer read) commit together, in a few
//! multi-row statements; the job's last commit enqueues the next job in the same transaction. A
//! crash or restart continues after the last committed page and nothing is enrolled twice.
//! Referral links go back to Stripe in a `stripe.sync_write` chain per run, under the account's
//! rate limit. While a campaign's ongoing sync is on, a new
//! customer is enrolled from its `customer.created` event (`stripe.sync_customer`), and
//! `stripe.sync_sweep` reads the customers created since the watermark every minute, for any
//! event that never arrived. Every customer's outcome is recorded once per run (its primary
//! key), which is what makes the webhook, the sweep and retries agree.

use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use serde_json::json;
use sqlx::AnyConnection;
use tokio::sync::mpsc::Sender;

use super::{
    admit::{admit_all, Newcomer, Source},
    Job, StripeAccess, WorkflowError,
};
use crate::{
    db::{
        campaigns::{self, CampaignRow},
        participants,
        stripe_send::{self, Outcome},
        sync::{self as runs, NewOutcome, RunRow, Tally},
        unix_now, Db,
    },
    domain::{
        participants::{EventKind, StripeStatus},
        stripe_send::KEY_PARTICIPANT,
        sync::{
            map_customer, CustomerFacts, MappedPerson, RunKind, RunStatus, SkipReason, SyncMapping,
            SyncPreviewRow, SyncSettings,
        },
        time::format_date,
    },
    error::AppError,
    jobs::{queue, JobError, NewJob, Registry},
    stripe::{
        types::{Customer, CustomerParams, List, ListFilter},
        StripeClient, StripeError,
    },
};

pub const PAGE: &str = "stripe.sync";
pub const WRITE: &str = "stripe.sync_write";
pub const CUSTOMER: &str = "stripe.sync_customer";
pub const SWEEP: &str = "stripe.sync_sweep";

/// Customers per page (Stripe's largest), pages one job reads before handing on to a job of
/// its own (so one long run does not hold a worker for good), and referral links written per
/// write-back job.
const PAGE_SIZE: u32 = 100;
const PAGES_PER_JOB: usize = 20;
/// Pages one transaction may place: those read while the transaction before it ran, so the
/// commits keep up with Stripe without waiting for it (one page a commit when Stripe is the
/// slower).
const PAGES_PER_COMMIT: usize = 5;
const WRITE_BATCH: i64 = 25;
/// How often the ongoing syncs look for customers whose event never arrived.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);

pub fn register(registry: Registry<StripeAccess>) -> Registry<StripeAccess> {
    registry
        .register(PAGE, run_page)
        .register(WRITE, run_write)
        .register(CUSTOMER, run_customer)
        .register(SWEEP, run_sweep)
        .every(
            SWEEP,
            SWEEP_EVERY,
            NewJob::new(SWEEP, json!({})).dedupe(format!("{SWEEP}:all")),
        )
}

pub fn page_job(account_id: &str, run_id: &str) -> NewJob {
    NewJob::new(PAGE, json!({ "run": run_id })).account(account_id)
}

fn write_job(account_id: &str, run_id: &str) -> NewJob {
    NewJob::new(WRITE, json!({ "run": run_id }))
        .account(account_id)
        .dedupe(format!("{WRITE}:{run_id}"))
}

/// Enrols a new customer in every campaign whose ongoing sync is on.
pub fn customer_job(account_id: &str, customer_id: &str) -> NewJob {
    NewJob::new(CUSTOMER, json!({ "customer": customer_id }))
        .account(account_id)
        .dedupe(format!("{CUSTOMER}:{account_id}:{customer_id}"))
}

/// Sweeps one account's ongoing syncs now.
pub fn sweep_job(account_id: &str) -> NewJob {
    NewJob::new(SWEEP, json!({}))
        .account(account_id)
        .dedupe(format!("{SWEEP}:{account_id}"))
}

pub fn facts(c: &Customer) -> CustomerFacts {
    CustomerFacts {
        id: c.id.clone(),
        email: c.email.clone(),
        name: c.name.clone(),
        phone: c.phone.clone(),
        metadata: c.metadata.clone(),
        deleted: c.deleted,
    }
}

/// What would happen to a customer, decided without changing anything.
pub enum Decision {
    Enrol(MappedPerson),
    /// Already in the campaign: link this customer to them (unless it is theirs already).
    Link {
        participant: Box<participants::ParticipantRow>,
        already_linked: bool,
    },
    Skip(SkipReason, String),
}

/// Decides what becomes of each customer in campaign `c` (`room`: how many more people the
/// account's user limit lets in), asking the database once for the lot.
pub async fn decide_all(
    conn: &mut AnyConnection,
    c: &CampaignRow,
    mapping: &SyncMapping,
    customers: &[CustomerFacts],
    mut room: i64,
) -> Result<Vec<Decision>, sqlx::Error> {
    let mapped: Vec<_> = customers
        .iter()
        .map(|customer| map_customer(mapping, &c.referrer_form, customer))
        .collect();
    let emails: Vec<&str> = mapped
        .iter()
        .filter_map(|m| m.as_ref().ok())
        .map(|p| p.email.as_str())
        .collect();
    let existing: HashMap<String, participants::ParticipantRow> =
        participants::by_emails(&mut *conn, &c.id, &emails)
            .await?
            .into_iter()
            .map(|p| (p.email.clone(), p))
            .collect();
    let mut decisions = Vec::with_capacity(customers.len());
    for (customer, mapped) in customers.iter().zip(mapped) {
        let person = match mapped {
            Ok(p) => p,
            Err((reason, detail)) => {
                decisions.push(Decision::Skip(reason, detail));
                continue;
            }
        };
        if let Some(p) = existing.get(&person.email).cloned() {
            let ours = customer.metadata.get(KEY_PARTICIPANT) == Some(&p.id);
            let already_linked = ours
                || p.stripe_customer_id.as_deref() == Some(customer.id.as_str())
                || stripe_send::customers_of(&mut *conn, &c.account_id, &p.id)
                    .await?
                    .contains(&customer.id);
            decisions.push(Decision::Link {
                participant: Box::new(p),
                already_linked,
            });
        } else if room <= 0 {
            decisions.push(Decision::Skip(
                SkipReason::UserLimit,
                "Not added: the account's user limit was reached".into(),
            ));
        } else {
            room -= 1;
            decisions.push(Decision::Enrol(person));
        }
    }
    Ok(decisions)
}

/// Where customers are being placed: a sync of a campaign, as of `now`.
struct Target<'a> {
    c: &'a CampaignRow,
    run: &'a RunRow,
    now: i64,
}

impl Target<'_> {
    fn how(&self) -> &'static str {
        match self.run.kind {
            RunKind::Once => "sync",
            RunKind::Ongoing => "ongoing sync",
        }
    }

    fn outcome<'a>(
        &'a self,
        customer: &'a CustomerFacts,
        outcome: &'a str,
        detail: String,
    ) -> NewOutcome<'a> {
        NewOutcome {
            run_id: &self.run.id,
            customer_id: &customer.id,
            email: customer.email.as_deref().unwrap_or_default().trim(),
            outcome,
            detail,
            participant_id: None,
            write_pending: false,
            at: self.now,
        }
    }
}

/// Why a customer who is someone already in the campaign was not enrolled.
fn already_there(p: &participants::ParticipantRow, already_linked: bool) -> String {
    format!(
        "Already in the campaign ({}, joined {}); {}",
        p.email,
        format_date(p.created_at),
        if already_linked {
            "already linked to this customer"
        } else {
            "linked to this customer instead"
        }
    )
}

/// Carries out the decisions for customers none of whom the run has recorded and no two of
/// whom share an email, within the run's transaction, in a few statements; counts them.
async fn place(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    to: &Target<'_>,
    customers: &[CustomerFacts],
    decisions: Vec<Decision>,
    tally: &mut Tally,
) -> Result<(), AppError> {
    let (c, run, now, how) = (to.c, to.run, to.now, to.how());
    let mut outcomes = Vec::new();
    let mut linked = Vec::new();
    let mut newcomers = Vec::new();
    let mut enrolling = Vec::new();
    for (customer, decision) in customers.iter().zip(decisions) {
        match decision {
            Decision::Skip(reason, detail) => {
                tally.skip(reason);
                outcomes.push(to.outcome(customer, reason.key(), detail));
            }
            Decision::Link {
                participant,
                already_linked,
            } => {
                if already_linked && run.kind == RunKind::Ongoing {
                    // Refloop's own customer for someone already here (sending to Stripe).
                    continue;
                }
                tally.skip(SkipReason::AlreadyParticipant);
                let detail = already_there(&participant, already_linked);
                outcomes.push(to.outcome(customer, SkipReason::AlreadyParticipant.key(), detail));
                if !already_linked {
                    linked.push((participant, customer.id.as_str()));
                }
            }
            Decision::Enrol(person) => {
                let note = format!(
                    "Enrolled from Stripe customer {} by {how} on {}; {}",
                    customer.id,
                    format_date(now),
                    run.settings.describe_write_back()
                );
                newcomers.push(Newcomer {
                    email: person.email,
                    first_name: person.first_name,
                    last_name: person.last_name,
                    fields: person.fields,
                    source: Source::Sync {
                        customer: customer.id.clone(),
                        note,
                    },
                });
                enrolling.push(customer);
            }
        }
    }
    let admitted = admit_all(tx, c, None, newcomers, now).await?;
    let write = run.settings.writes_back();
    let mut links = Vec::new();
    for (customer, person) in enrolling.into_iter().zip(&admitted) {
        match person {
            Some(p) => {
                tally.enrolled += 1;
                tally.to_write += i64::from(write);
                let mut o = to.outcome(customer, "enrolled", String::new());
                o.participant_id = Some(p.id.clone());
                o.write_pending = write;
                outcomes.push(o);
                links.push((p.id.as_str(), customer.id.as_str()));
            }
            None => {
                // They joined by themselves while the sync ran.
                tally.skip(SkipReason::AlreadyParticipant);
                let detail = "Already in the campaign (joined while the sync ran)".to_string();
                outcomes.push(to.outcome(customer, SkipReason::AlreadyParticipant.key(), detail));
            }
        }
    }
    stripe_send::link_customers(tx, &c.account_id, &links, how, now).await?;
    for (participant, customer) in linked {
        link_existing(tx, &participant, customer, how, now).await?;
    }
    tally.read += outcomes.len() as i64;
    runs::record_outcomes(tx, &outcomes).await?;
    Ok(())
}

/// Links a customer to someone already in the campaign (who is then in Stripe).
async fn link_existing(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    p: &participants::ParticipantRow,
    customer: &str,
    how: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    stripe_send::link_customer(tx, &p.account_id, &p.id, customer, how, now).await?;
    let text = format!("Linked to Stripe customer {customer} by {how}");
    if p.stripe_status != StripeStatus::Sent {
        let outcome = Outcome {
            status: StripeStatus::Sent,
            customer: Some(customer.to_string()),
            note: text.clone(),
            since: None,
        };
        stripe_send::set_outcome(&mut **tx, &p.account_id, &p.id, &outcome).await?;
    }
    participants::add_event(&mut **tx, p, EventKind::SentToStripe, &text, now).await?;
    Ok(())
}

/// How many more people the account may hold.
async fn room(conn: &mut AnyConnection, account_id: &str) -> Result<i64, sqlx::Error> {
    let limit = campaigns::participant_limit(&mut *conn, account_id).await?;
    let count = participants::count_in_account(&mut *conn, account_id).await?;
    Ok(limit - count)
}

/// Splits customers where an email comes again, so that each part can be decided at once: a
/// customer whose email an earlier customer of the same batch brought is then seen as
/// someone already in the campaign.
fn distinct_runs(customers: &[CustomerFacts]) -> Vec<&[CustomerFacts]> {
    let mut parts = Vec::new();
    let (mut start, mut seen) = (0, HashSet::new());
    for (i, customer) in customers.iter().enumerate() {
        let email = customer.normalised_email();
        if !email.is_empty() && !seen.insert(email.clone()) {
            parts.push(&customers[start..i]);
            start = i;
            seen = HashSet::from([email]);
        }
    }
    parts.push(&customers[start..]);
    parts
}

/// Places a batch of customers in one run, within `tx` (which holds the run's lock): the
/// counts, and the write-back's job when links are to be written. A customer the run has
/// recorded already (a retry, or the webhook and the sweep both seeing them) is left as is.
async fn place_all(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    c: &CampaignRow,
    run: &RunRow,
    customers: &[CustomerFacts],
    now: i64,
) -> Result<Tally, AppError> {
    let mut tally = Tally::default();
    let ids: Vec<&str> = customers.iter().map(|c| c.id.as_str()).collect();
    let recorded: HashSet<String> = runs::recorded(&mut **tx, &run.id, &ids)
        .await?
        .into_iter()
        .collect();
    let mut once = HashSet::new();
    let fresh: Vec<CustomerFacts> = customers
        .iter()
        .filter(|c| !recorded.contains(&c.id) && once.insert(c.id.as_str()))
        .cloned()
        .collect();
    if fresh.is_empty() {
        return Ok(tally);
    }
    crate::db::accounts::lock_admissions(&mut **tx, &c.account_id).await?;
    let mut left = room(tx, &c.account_id).await?;
    let to = Target { c, run, now };
    for part in distinct_runs(&fresh) {
        let decisions = decide_all(tx, c, &run.settings.mapping, part, left).await?;
        let before = tally.enrolled;
        place(tx, &to, part, decisions, &mut tally).await?;
        left -= tally.enrolled - before;
    }
    if tally.to_write > 0 {
        queue::enqueue(tx, &write_job(&run.account_id, &run.id)).await?;
    }
    Ok(tally)
}

fn job_run(ctx: &Job) -> (String, String) {
    (
        ctx.job.account_id.clone().unwrap_or_default(),
        ctx.job.payload["run"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

/// Ends a run that cannot go on, saying why.
async fn fail(ctx: &Job, run: &RunRow, why: String) -> Result<(), JobError> {
    let mut tx = ctx.db.begin().await?;
    runs::set_status(&mut *tx, &run.id, RunStatus::Failed, &why, Some(unix_now())).await?;
    ctx.complete_in(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

/// A Stripe error in a run: tried again while it may pass, otherwise the run stops with it.
async fn on_stripe_error(ctx: &Job, run: &RunRow, e: StripeError) -> Result<(), JobError> {
    if e.is_retryable() && ctx.job.attempts < ctx.job.max_attempts {
        return Err(JobError::Retry(e.to_string()));
    }
    fail(ctx, run, format!("Stripe answered: {e}")).await
}

/// What committing pages of a one-time run led to.
enum Committed {
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
async fn run_page(ctx: Job) -> Result<(), JobError> {
    let (account, run_id) = job_run(&ctx);
    let db = &ctx.db;
    let Some(run) = runs::run(db.pool(), &account, &run_id).await? else {
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
async fn read_pages(
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
async fn commit_pages(
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
    runs::lock_run(&mut *tx, &run.id).await?;
    // The checkpoint is read again under the lock: a second worker's copy of this job sees
    // it moved and stops.
    let counted = match runs::run(&mut *tx, &run.account_id, &run.id).await? {
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
    runs::add_tally(&mut *tx, &run.id, &tally, cursor, 0).await?;
    if go_on {
        tx.commit().await?;
        return Ok(Committed::GoOn);
    }
    if more {
        queue::enqueue(&mut tx, &page_job(&run.account_id, &run.id)).await?;
    } else {
        let pending = !runs::pending_writes(&mut *tx, &run.id, 1).await?.is_empty();
        let (status, finished) = if pending {
            (RunStatus::Writing, None)
        } else {
            (RunStatus::Done, Some(now))
        };
        let skipped_limit = counted.limit + tally.limit;
        let note = if skipped_limit > 0 {
            format!(
                "Stopped at the account's user limit: {skipped_limit} customers were not added (listed in the report)."
            )
        } else {
            String::new()
        };
        runs::set_status(&mut *tx, &run.id, status, &note, finished).await?;
    }
    ctx.complete_in(&mut tx).await?;
    tx.commit().await?;
    Ok(Committed::Complete)
}

/// Writes a batch of referral links back to the run's customers, then passes the baton.
async fn run_write(ctx: Job) -> Result<(), JobError> {
    let (account, run_id) = job_run(&ctx);
    let db = &ctx.db;
    let Some(run) = runs::run(db.pool(), &account, &run_id).await? else {
        return Ok(());
    };
    let batch = runs::pending_writes(db.pool(), &run.id, WRITE_BATCH).await?;
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
    runs::lock_run(&mut *tx, &run.id).await?;
    let (mut written, mut failed) = (0, 0);
    for (customer, participant, failure) in &results {
        if !runs::finish_write(&mut *tx, &run.id, customer, failure.as_deref()).await? {
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
    runs::add_written(&mut *tx, &run.id, written, failed).await?;
    let more = !runs::pending_writes(&mut *tx, &run.id, 1).await?.is_empty();
    let status = runs::run(&mut *tx, &account, &run.id)
        .await?
        .map(|r| r.status);
    if !more && status == Some(RunStatus::Writing) {
        runs::set_status(&mut *tx, &run.id, RunStatus::Done, &run.note, Some(now)).await?;
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

/// Places customers in each of the account's ongoing syncs (`watching`), one transaction per
/// sync; a sync switched off meanwhile enrols nobody.
async fn place_ongoing(
    db: &Db,
    account: &str,
    watching: &[RunRow],
    customers: &[CustomerFacts],
) -> Result<(), JobError> {
    for run in watching {
        let now = unix_now();
        let mut tx = db.begin().await?;
        runs::lock_run(&mut *tx, &run.id).await?;
        let on = campaigns::get(&mut *tx, account, &run.campaign_id).await?;
        let Some(c) = on.filter(|c| c.ongoing_stripe_sync) else {
            continue;
        };
        if runs::run(&mut *tx, account, &run.id)
            .await?
            .is_none_or(|r| r.status != RunStatus::Watching)
        {
            continue;
        }
        let tally = place_all(&mut tx, &c, run, customers, now)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
        runs::add_tally(&mut *tx, &run.id, &tally, None, 0).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// A new customer (from `customer.created`), read again from Stripe as it is now.
async fn run_customer(ctx: Job) -> Result<(), JobError> {
    let account = ctx.job.account_id.clone().unwrap_or_default();
    let id = ctx.job.payload["customer"].as_str().unwrap_or_default();
    let db = &ctx.db;
    let watching = runs::watching(db.pool(), &account).await?;
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
async fn run_sweep(ctx: Job) -> Result<(), JobError> {
    let db = &ctx.db;
    let Some(account) = ctx.job.account_id.clone() else {
        let mut tx = db.begin().await?;
        for account in runs::accounts_watching(&mut *tx).await? {
            queue::enqueue(&mut tx, &sweep_job(&account)).await?;
        }
        ctx.complete_in(&mut tx).await?;
        tx.commit().await?;
        return Ok(());
    };
    let watching = runs::watching(db.pool(), &account).await?;
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
            runs::add_tally(&mut *tx, &run.id, &Tally::default(), None, newest).await?;
        }
        tx.commit().await?;
    }
    let mut tx = db.begin().await?;
    ctx.complete_in(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Starts a sync of campaign `c` within the caller's transaction: a one-time run (its first
/// page's job), or an ongoing sync watching for customers created from `watermark` on.
pub async fn start(
    conn: &mut AnyConnection,
    c: &CampaignRow,
    settings: SyncSettings,
    kind: RunKind,
    by: &str,
    watermark: i64,
) -> Result<RunRow, sqlx::Error> {
    let run = RunRow {
        id: crate::db::new_id("syn"),
        account_id: c.account_id.clone(),
        campaign_id: c.id.clone(),
        kind,
        status: match kind {
            RunKind::Once => RunStatus::Reading,
            RunKind::Ongoing => RunStatus::Watching,
        },
        settings,
        started_by: by.to_string(),
        started_at: unix_now(),
        started_ms: queue::now_ms(),
        finished_at: None,
        cursor: None,
        watermark,
        tally: Tally::default(),
        written: 0,
        write_failed: 0,
        note: String::new(),
    };
    runs::insert_run(&mut *conn, &run).await?;
    if kind == RunKind::Once {
        queue::enqueue(conn, &page_job(&c.account_id, &run.id)).await?;
    }
    Ok(run)
}

/// What the first customers would become (the wizard's preview), without changing anything.
pub async fn preview(
    db: &Db,
    access: &StripeAccess,
    c: &CampaignRow,
    settings: SyncSettings,
    limit: u32,
) -> Result<Vec<SyncPreviewRow>, WorkflowError> {
    let stripe = access
        .connect(db, &c.account_id)
        .await?
        .ok_or("Connect Stripe first.")?;
    let filter = ListFilter {
        created_gte: settings.created_after,
        page_size: Some(limit),
        ..Default::default()
    };
    let page = stripe
        .client
        .customers_page(&filter, None)
        .await
        .map_err(|e| format!("Stripe answered: {e}"))?;
    let mut conn = db.pool().acquire().await?;
    let left = room(&mut conn, &c.account_id).await?;
    let customers: Vec<CustomerFacts> = page.data.iter().map(facts).collect();
    let decisions = decide_all(&mut conn, c, &settings.mapping, &customers, left).await?;
    let mut rows = Vec::new();
    for (customer, decision) in page.data.iter().zip(decisions) {
        let (outcome, enrols) = match decision {
            Decision::Enrol(p) => {
                let name = [p.first_name.as_str(), p.last_name.as_str()]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" ");
                (format!("Would enrol {name} <{}>", p.email), true)
            }
            Decision::Link {
                participant,
                already_linked: true,
            } => (
                format!(
                    "Would skip: {} is already in the campaign",
                    participant.email
                ),
                false,
            ),
            Decision::Link { participant, .. } => (
                format!(
                    "Would skip: {} is already in the campaign (linked to this customer instead)",
                    participant.email
                ),
                false,
            ),
            Decision::Skip(_, detail) => (format!("Would skip: {detail}"), false),
        };
        rows.push(SyncPreviewRow {
            customer_id: customer.id.clone(),
            email: customer.email.clone().unwrap_or_default(),
            name: customer.name.clone().unwrap_or_default(),
            outcome,
            enrols,
        });
    }
    Ok(rows)
}
