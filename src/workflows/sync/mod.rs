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

use std::time::Duration;

use serde_json::json;
use sqlx::AnyConnection;

use super::{StripeAccess, WorkflowError};
use crate::{
    db::{
        self,
        campaigns::CampaignRow,
        sync::{RunRow, Tally},
        unix_now, Db,
    },
    domain::sync::{CustomerFacts, RunKind, RunStatus, SyncPreviewRow, SyncSettings},
    jobs::{queue, NewJob, Registry},
    stripe::types::ListFilter,
};

mod once;
mod ongoing;
mod placing;
mod write_back;

use once::{job_run, run_page};
use ongoing::{run_customer, run_sweep};
pub(crate) use placing::link_existing;
pub use placing::{decide_all, facts, Decision};
use placing::{place_all, room};
use write_back::run_write;

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
    db::sync::insert_run(&mut *conn, &run).await?;
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
    let stripe = access.connected(db, &c.account_id).await?;
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
