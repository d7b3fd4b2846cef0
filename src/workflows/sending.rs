//! Sending participants into Stripe as customers. Everything runs as jobs: `stripe.send` (one
//! participant: find customers with their email, then create, link, wait or skip as the
//! audience's policies say), `stripe.metadata` (keep a linked customer's referral metadata
//! current) and `stripe.watch` (per account: link people waiting for the merchant's own system
//! to create their customer, from Stripe's events and a periodic look-up by email). Every write
//! carries an idempotency key derived from what it does, and every outcome lands on the
//! participant's timeline in the same transaction that completes the job.

use std::collections::{BTreeMap, HashMap, HashSet};

use futures::{StreamExt, TryStreamExt};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::{Any, AnyConnection, Executor};

use super::{Connected, Job, StripeAccess, WorkflowError};
use crate::domain::webhooks::WebhookEvent;
use crate::{
    db::{
        campaigns::{self, CampaignRow},
        participants::{self, ParticipantRow},
        sending::{self, Outcome},
        unix_now, Db,
    },
    domain::{
        participants::{EventKind, ParticipantKind, StripeStatus},
        sending::{
            audience_label, customer_fields, plan, CustomerFields, Found, PersonValues, Plan,
            PreviewRow, SendSettings, WriteBack, KEY_PARTICIPANT,
        },
        time::format_utc,
    },
    jobs::{queue, JobError, NewJob, Registry},
    stripe::{
        types::{CustomerParams, ListFilter},
        StripeError,
    },
};

pub const SEND: &str = "stripe.send";
pub const METADATA: &str = "stripe.metadata";
pub const WATCH: &str = "stripe.watch";

/// How often the watch runs while people wait, and how often it looks each of them up by email
/// (the safety net for events it may have missed).
const WATCH_EVERY_MS: i64 = 2_000;
const LOOKUP_EVERY_SECS: i64 = 60;

pub fn register(registry: Registry<StripeAccess>) -> Registry<StripeAccess> {
    registry
        .register(SEND, run_send)
        .register(METADATA, run_metadata)
        .register(WATCH, run_watch)
}

/// The job that sends one participant (at most one waiting per participant).
pub fn send_job(p: &ParticipantRow) -> NewJob {
    NewJob::new(SEND, json!({ "participant": p.id }))
        .account(&p.account_id)
        .dedupe(format!("{SEND}:{}", p.id))
}

/// How long a refresh of a referrer's metadata waits before it runs: every change to their
/// counts within it is written once, and payments' own jobs, which a person waits for, go
/// first.
const METADATA_BATCH_MS: i64 = 1_000;

fn metadata_job(p: &ParticipantRow) -> NewJob {
    NewJob::new(METADATA, json!({ "participant": p.id }))
        .account(&p.account_id)
        .dedupe(format!("{METADATA}:{}", p.id))
        .at(queue::now_ms() + METADATA_BATCH_MS)
}

pub(crate) fn watch_job(account_id: &str) -> NewJob {
    NewJob::new(WATCH, json!({}))
        .account(account_id)
        .dedupe(format!("{WATCH}:{account_id}"))
}

pub fn sending_on(c: &CampaignRow, audience: ParticipantKind) -> bool {
    match audience {
        ParticipantKind::Referring => c.send_referrers_to_stripe,
        ParticipantKind::Invited => c.send_friends_to_stripe,
    }
}

/// A newcomer's Stripe status and note: queued when sending is on for their audience.
pub fn on_arrival(c: &CampaignRow, audience: ParticipantKind) -> (StripeStatus, String) {
    if sending_on(c, audience) {
        (StripeStatus::Queued, "Queued to be sent to Stripe".into())
    } else {
        (
            StripeStatus::NotSent,
            format!(
                "Not sent: sending {} to Stripe was off when they joined (use Send existing participants)",
                audience_label(audience).to_lowercase()
            ),
        )
    }
}

/// In the transaction that admitted `person`: their send job when they are queued, and a
/// refresh of their referrer's counts on the referrer's Stripe customers.
pub async fn after_arrival(
    conn: &mut AnyConnection,
    person: &ParticipantRow,
    referrer: Option<&ParticipantRow>,
) -> Result<(), sqlx::Error> {
    if person.stripe_status == StripeStatus::Queued {
        queue::enqueue(conn, &send_job(person)).await?;
    }
    if let Some(r) = referrer {
        refresh_metadata(conn, r).await?;
    }
    Ok(())
}

/// Rewrites a referrer's counts on their Stripe customers (when they are in Stripe, or on
/// their way: the job then waits for the customer).
pub async fn refresh_metadata(
    conn: &mut AnyConnection,
    referrer: &ParticipantRow,
) -> Result<(), sqlx::Error> {
    if matches!(
        referrer.stripe_status,
        StripeStatus::Sent | StripeStatus::Queued
    ) {
        queue::enqueue(conn, &metadata_job(referrer)).await?;
    }
    Ok(())
}

/// The audience's settings as saved, or the defaults for its form.
pub async fn settings_for<'c>(
    ex: impl Executor<'c, Database = Any>,
    c: &CampaignRow,
    audience: ParticipantKind,
) -> Result<SendSettings, sqlx::Error> {
    Ok(sending::settings(ex, &c.account_id, &c.id, audience)
        .await?
        .unwrap_or_else(|| SendSettings::default_for(form_of(c, audience))))
}

pub fn form_of(
    c: &CampaignRow,
    audience: ParticipantKind,
) -> &[crate::domain::campaigns::FormField] {
    match audience {
        ParticipantKind::Referring => &c.referrer_form,
        ParticipantKind::Invited => &c.friend_form,
    }
}

fn values(p: &ParticipantRow) -> PersonValues {
    PersonValues {
        email: p.email.clone(),
        first_name: p.first_name.clone(),
        last_name: p.last_name.clone(),
        fields: p.fields.iter().cloned().collect(),
    }
}

/// The customers with this email (deleted ones aside), marking one Refloop created for `p`.
async fn find_by_email(
    stripe: &Connected,
    email: &str,
    participant_id: &str,
) -> Result<Vec<Found>, StripeError> {
    stripe
        .client
        .list_customers(ListFilter {
            email: Some(email.to_string()),
            page_size: Some(100),
            ..Default::default()
        })
        .take(100)
        .try_filter(|c| futures::future::ready(!c.deleted))
        .map_ok(|c| Found {
            ours: c.metadata.get(KEY_PARTICIPANT).map(String::as_str) == Some(participant_id),
            id: c.id,
            created: c.created,
        })
        .try_collect()
        .await
}

/// What would happen to `p`: the customer fields and the plan, or why they cannot be sent.
async fn decide(
    stripe: &Connected,
    s: &SendSettings,
    p: &ParticipantRow,
) -> Result<Result<(CustomerFields, Plan), String>, StripeError> {
    let fields = match customer_fields(s, &values(p)) {
        Ok(f) => f,
        Err(reason) => return Ok(Err(reason)),
    };
    let found = find_by_email(stripe, &fields.email, &p.id).await?;
    let plan = plan(s, &found, p.stripe_status == StripeStatus::Waiting);
    Ok(Ok((fields, plan)))
}

/// The metadata Refloop writes on `p`'s customers.
async fn write_back(
    db: &Db,
    access: &StripeAccess,
    c: &CampaignRow,
    p: &ParticipantRow,
) -> Result<BTreeMap<String, String>, sqlx::Error> {
    let referred_by = match &p.referrer_id {
        Some(id) => Some(
            participants::get(db.pool(), &p.account_id, id)
                .await?
                .map(|r| r.email)
                .unwrap_or_default(),
        ),
        None => None,
    };
    let promotion_code = match &p.referrer_id {
        Some(_) => None,
        None => match crate::db::rewards::settings(db.pool(), &p.account_id, &c.id)
            .await?
            .and_then(|s| s.friend_offer)
        {
            Some(offer) => {
                crate::db::offers::code_for(
                    db.pool(),
                    &p.account_id,
                    &p.id,
                    &offer.coupon_id(&c.id),
                )
                .await?
            }
            None => None,
        },
    };
    Ok(WriteBack {
        promotion_code,
        participant_id: p.id.clone(),
        referral_link: access.referral_link(&p.code),
        code: p.code.clone(),
        campaign: c.name.clone(),
        referred_by,
        referrals: p.referrals,
        qualified_referrals: p.qualified_referrals,
    }
    .metadata())
}

/// An idempotency key for a write, derived from what it writes: a retry sends the same key,
/// a different write a different one.
fn idempotency_key(what: &str, params: &CustomerParams) -> String {
    let body = serde_json::to_string(params).expect("params serialize");
    let digest = Sha256::digest(body.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("refloop-{what}-{hex}")
}

/// Where a participant ends up, and what to record about it.
struct Settled {
    outcome: Outcome,
    customers: Vec<String>,
    how: &'static str,
    event: Option<(EventKind, String)>,
    alert: Option<String>,
    watch: bool,
}

impl Settled {
    fn skipped(reason: String) -> Settled {
        Settled {
            outcome: Outcome {
                status: StripeStatus::Skipped,
                customer: None,
                note: reason.clone(),
                since: None,
            },
            customers: Vec::new(),
            how: "",
            event: Some((EventKind::NotSentToStripe, reason)),
            alert: None,
            watch: false,
        }
    }

    /// A permanent failure: on the timeline, and as an alert on the Integrations page.
    fn failed(message: String) -> Settled {
        let note = format!("Not sent: {message}");
        Settled {
            outcome: Outcome {
                status: StripeStatus::Failed,
                customer: None,
                note: note.clone(),
                since: None,
            },
            customers: Vec::new(),
            how: "",
            event: Some((EventKind::NotSentToStripe, note)),
            alert: Some(message),
            watch: false,
        }
    }

    fn sent(customers: Vec<String>, how: &'static str, note: String) -> Settled {
        Settled {
            outcome: Outcome {
                status: StripeStatus::Sent,
                customer: customers.first().cloned(),
                note: note.clone(),
                since: None,
            },
            customers,
            how,
            event: Some((EventKind::SentToStripe, note)),
            alert: None,
            watch: false,
        }
    }
}

/// Carries out the plan in Stripe.
async fn execute(
    stripe: &Connected,
    s: &SendSettings,
    p: &ParticipantRow,
    fields: CustomerFields,
    plan: Plan,
    metadata: BTreeMap<String, String>,
    now: i64,
) -> Result<Option<Settled>, StripeError> {
    let mode = stripe.mode();
    let link_params = CustomerParams {
        metadata: fields
            .metadata
            .clone()
            .into_iter()
            .chain(metadata.clone())
            .collect(),
        ..Default::default()
    };
    Ok(Some(match plan {
        Plan::Create { note } => {
            let params = CustomerParams {
                email: Some(fields.email),
                name: fields.name,
                phone: fields.phone,
                description: fields.description,
                metadata: link_params.metadata,
            };
            // One key per participant: however often this is retried, one customer.
            let created = stripe
                .client
                .create_customer(&params, &format!("refloop-create-{}", p.id))
                .await?;
            let text = match note {
                None => format!("Created Stripe customer {} ({mode})", created.id),
                Some(n) => format!("Created Stripe customer {} ({mode}) — {n}", created.id),
            };
            Settled::sent(vec![created.id], "created", text)
        }
        Plan::Adopt { customer } => {
            stripe
                .client
                .update_customer(
                    &customer,
                    &link_params,
                    &idempotency_key(&format!("link-{}-{customer}", p.id), &link_params),
                )
                .await?;
            Settled::sent(
                vec![customer.clone()],
                "created",
                format!("Created Stripe customer {customer} ({mode})"),
            )
        }
        Plan::Link { customers, note } => {
            for customer in &customers {
                stripe
                    .client
                    .update_customer(
                        customer,
                        &link_params,
                        &idempotency_key(&format!("link-{}-{customer}", p.id), &link_params),
                    )
                    .await?;
            }
            let text = format!(
                "Linked to {} {} — {note}",
                if customers.len() == 1 {
                    "existing customer"
                } else {
                    "existing customers"
                },
                customers.join(", ")
            );
            Settled::sent(customers, "linked", text)
        }
        Plan::Wait if p.stripe_status == StripeStatus::Waiting => return Ok(None),
        Plan::Wait => {
            let text = format!(
                "Waiting for your system to create a customer with {} since {} (for up to {} hours)",
                p.email,
                format_utc(now),
                s.wait_hours
            );
            Settled {
                outcome: Outcome {
                    status: StripeStatus::Waiting,
                    customer: None,
                    note: text.clone(),
                    since: Some(now),
                },
                customers: Vec::new(),
                how: "",
                event: Some((EventKind::StripeWaiting, text)),
                alert: None,
                watch: true,
            }
        }
        Plan::Skip { reason } => Settled::skipped(format!("Not sent: {reason}")),
    }))
}

/// Records the outcome and completes the job, in one transaction.
async fn settle(ctx: &Job, p: &ParticipantRow, s: Option<Settled>) -> Result<(), JobError> {
    let now = unix_now();
    let mut tx = ctx.db.begin().await?;
    if let Some(s) = s {
        sending::set_outcome(&mut *tx, &p.account_id, &p.id, &s.outcome).await?;
        for customer in &s.customers {
            sending::link_customer(&mut tx, &p.account_id, &p.id, customer, s.how, now).await?;
        }
        if let Some((kind, text)) = &s.event {
            participants::add_event(&mut *tx, p, *kind, text, now).await?;
        }
        if let Some(alert) = &s.alert {
            sending::raise_alert(&mut *tx, &p.account_id, alert, now).await?;
        }
        if s.watch {
            queue::enqueue(&mut tx, &watch_job(&p.account_id)).await?;
        }
        if s.outcome.status == StripeStatus::Sent {
            let sent = ParticipantRow {
                stripe_status: StripeStatus::Sent,
                stripe_customer_id: s.outcome.customer.clone(),
                ..p.clone()
            };
            super::outbound::about_participant(
                &mut tx,
                WebhookEvent::ParticipantSentToStripe,
                &sent,
            )
            .await?;
        }
        if !s.customers.is_empty() {
            // Their payments may already be in the ledger, and rewards may wait for them.
            if p.referrer_id.is_some() {
                queue::enqueue(
                    &mut tx,
                    &super::qualification::evaluate_job(&p.account_id, &p.id),
                )
                .await?;
            }
            super::rewards::on_linked(&mut tx, &p.account_id, &p.id).await?;
        }
    }
    ctx.complete_in(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

/// A Stripe error: tried again later when it may pass (until the last attempt), otherwise
/// recorded as a failure the marketer sees.
fn on_stripe_error(ctx: &Job, e: StripeError) -> Result<Settled, JobError> {
    if e.is_retryable() && ctx.job.attempts < ctx.job.max_attempts {
        Err(JobError::Retry(e.to_string()))
    } else if e.is_retryable() {
        Ok(Settled::failed(format!(
            "Stripe could not be reached after {} tries ({e}). Use Send existing participants to try again.",
            ctx.job.attempts
        )))
    } else {
        Ok(Settled::failed(format!("Stripe refused: {e}")))
    }
}

/// The participant a job is about, with their campaign (`None` once deleted).
async fn subject(ctx: &Job) -> Result<Option<(ParticipantRow, CampaignRow)>, JobError> {
    let account = ctx.job.account_id.as_deref().unwrap_or_default();
    let id = ctx.job.payload["participant"].as_str().unwrap_or_default();
    let Some(p) = participants::get(ctx.db.pool(), account, id).await? else {
        return Ok(None);
    };
    Ok(campaigns::get(ctx.db.pool(), account, &p.campaign_id)
        .await?
        .map(|c| (p, c)))
}

async fn run_send(ctx: Job) -> Result<(), JobError> {
    let Some((p, c)) = subject(&ctx).await? else {
        return Ok(());
    };
    let (db, account) = (&ctx.db, p.account_id.clone());
    if p.stripe_status == StripeStatus::Sent {
        return Ok(());
    }
    let s = settings_for(db.pool(), &c, p.kind()).await?;
    let stripe = match ctx.app.connect(db, &account).await {
        Ok(Some(stripe)) => stripe,
        Ok(None) => {
            let why = "Not sent: Stripe is not connected to this account".to_string();
            return settle(&ctx, &p, Some(Settled::skipped(why))).await;
        }
        Err(e) => return settle(&ctx, &p, Some(Settled::failed(e.for_people()))).await,
    };
    let settled = match decide(&stripe, &s, &p).await {
        Ok(Err(reason)) => Some(Settled::skipped(reason)),
        Ok(Ok((fields, plan))) => {
            let metadata = write_back(db, &ctx.app, &c, &p).await?;
            match execute(&stripe, &s, &p, fields, plan, metadata, unix_now()).await {
                Ok(settled) => settled,
                Err(e) => Some(on_stripe_error(&ctx, e)?),
            }
        }
        Err(e) => Some(on_stripe_error(&ctx, e)?),
    };
    settle(&ctx, &p, settled).await
}

/// Rewrites the referral metadata of every customer linked to a participant (their counts
/// changed).
async fn run_metadata(ctx: Job) -> Result<(), JobError> {
    let Some((p, c)) = subject(&ctx).await? else {
        return Ok(());
    };
    if p.stripe_status == StripeStatus::Queued {
        // Their customer is being made (with what was true then): write once it exists.
        return Err(JobError::Retry(format!(
            "{} is still being sent to Stripe",
            p.email
        )));
    }
    let (db, account) = (&ctx.db, p.account_id.clone());
    let Ok(Some(stripe)) = ctx.app.connect(db, &account).await else {
        return Ok(());
    };
    let params = CustomerParams {
        metadata: write_back(db, &ctx.app, &c, &p).await?,
        ..Default::default()
    };
    for customer in sending::customers_of(db.pool(), &account, &p.id).await? {
        let key = idempotency_key(&format!("meta-{}-{customer}", p.id), &params);
        if let Err(e) = stripe
            .client
            .update_customer(&customer, &params, &key)
            .await
        {
            if e.is_retryable() {
                return Err(JobError::Retry(e.to_string()));
            }
            let message = format!("Stripe refused to update {customer}'s metadata: {e}");
            sending::raise_alert(db.pool(), &account, &message, unix_now()).await?;
            return Err(JobError::Permanent(message));
        }
    }
    // A refresh asked for while this one ran was not queued (one job per person): if their
    // counts moved meanwhile, this job goes back in the queue for the next batch, without
    // using an attempt (a long sync moves a referrer's counts for minutes).
    let now_p = participants::get(db.pool(), &account, &p.id).await?;
    if now_p.is_some_and(|n| {
        (n.referrals, n.qualified_referrals) != (p.referrals, p.qualified_referrals)
    }) {
        let batch = std::time::Duration::from_millis(METADATA_BATCH_MS as u64);
        return Err(JobError::Later(batch));
    }
    Ok(())
}

/// Links the people waiting for the merchant's own system: those whose email appears in new
/// `customer.created`/`customer.updated` events at once, everyone by a look-up by email every
/// minute, and marks those past the horizon as never linked. Runs every two seconds while
/// anyone waits.
async fn run_watch(ctx: Job) -> Result<(), JobError> {
    let account = ctx.job.account_id.clone().unwrap_or_default();
    let db = &ctx.db;
    let waiting = sending::waiting(db.pool(), &account, 1_000).await?;
    if waiting.is_empty() {
        return Ok(());
    }
    let now = unix_now();
    let first_since = waiting
        .iter()
        .filter_map(|p| p.stripe_since)
        .min()
        .unwrap_or(now);
    let (events_after, looked_up_at) = sending::watch_state(db.pool(), &account)
        .await?
        .unwrap_or((first_since - 5, 0));
    let stripe = ctx.app.connect(db, &account).await;
    let (mut emails, mut newest) = (HashSet::new(), events_after);
    if let Ok(Some(stripe)) = &stripe {
        let events: Vec<_> = stripe
            .client
            .list_events(ListFilter {
                types: vec!["customer.created".into(), "customer.updated".into()],
                created_gte: Some(events_after),
                ..Default::default()
            })
            .take(500)
            .try_collect()
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
        for e in events {
            newest = newest.max(e.created);
            if let Some(email) = e.data.object["email"].as_str() {
                emails.insert(email.trim().to_lowercase());
            }
        }
    }
    let look_up_all = now - looked_up_at >= LOOKUP_EVERY_SECS;
    let mut horizons: HashMap<(String, ParticipantKind), u32> = HashMap::new();
    let mut tx = db.begin().await?;
    let mut still_waiting = false;
    for p in &waiting {
        let key = (p.campaign_id.clone(), p.kind());
        if !horizons.contains_key(&key) {
            let hours = match campaigns::get(&mut *tx, &account, &p.campaign_id).await? {
                Some(c) => settings_for(&mut *tx, &c, p.kind()).await?.wait_hours,
                None => 0,
            };
            horizons.insert(key.clone(), hours);
        }
        let hours = horizons[&key];
        let disconnected = !matches!(stripe, Ok(Some(_)));
        if disconnected || p.stripe_since.unwrap_or(now) + i64::from(hours) * 3600 <= now {
            let reason = if disconnected {
                "Never linked: Stripe was disconnected while they waited".to_string()
            } else {
                format!(
                    "Never linked: no Stripe customer with {} appeared within {hours} hours",
                    p.email
                )
            };
            let s = Settled::skipped(reason);
            sending::set_outcome(&mut *tx, &account, &p.id, &s.outcome).await?;
            if let Some((kind, text)) = &s.event {
                participants::add_event(&mut *tx, p, *kind, text, now).await?;
            }
            continue;
        }
        still_waiting = true;
        if look_up_all || emails.contains(&p.email) {
            queue::enqueue(&mut tx, &send_job(p)).await?;
        }
    }
    sending::save_watch_state(
        &mut *tx,
        &account,
        newest,
        if look_up_all { now } else { looked_up_at },
    )
    .await?;
    ctx.complete_in(&mut tx).await?;
    if still_waiting {
        let next = watch_job(&account).at(queue::now_ms() + WATCH_EVERY_MS);
        queue::enqueue(&mut tx, &next).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The dry run of "Send existing participants": what would happen to the first `limit`
/// participants of the audience not in Stripe, asking Stripe about each.
pub async fn preview(
    db: &Db,
    access: &StripeAccess,
    c: &CampaignRow,
    audience: ParticipantKind,
    limit: i64,
) -> Result<Vec<PreviewRow>, WorkflowError> {
    let stripe = access.connected(db, &c.account_id).await?;
    let s = settings_for(db.pool(), c, audience).await?;
    let people = sending::unsent(db.pool(), &c.account_id, &c.id, audience, limit).await?;
    let mut rows = Vec::new();
    for p in people {
        let outcome = match decide(&stripe, &s, &p).await {
            Ok(Ok((_, plan))) => plan.preview(),
            Ok(Err(reason)) => format!("Would skip: {}", reason.trim_start_matches("Not sent: ")),
            Err(e) => format!("Could not ask Stripe: {e}"),
        };
        rows.push(PreviewRow {
            participant_id: p.id,
            email: p.email,
            outcome,
        });
    }
    Ok(rows)
}

/// Queues every participant of the audience not in Stripe, in one transaction; how many.
pub async fn send_existing(
    db: &Db,
    c: &CampaignRow,
    audience: ParticipantKind,
    by: &str,
) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin().await?;
    let people = sending::unsent(&mut *tx, &c.account_id, &c.id, audience, i64::MAX).await?;
    let note = format!("Queued by Send existing participants ({by})");
    for p in &people {
        let outcome = Outcome {
            status: StripeStatus::Queued,
            customer: None,
            note: note.clone(),
            since: None,
        };
        sending::set_outcome(&mut *tx, &c.account_id, &p.id, &outcome).await?;
        queue::enqueue(&mut tx, &send_job(p)).await?;
    }
    tx.commit().await?;
    Ok(people.len() as u64)
}
