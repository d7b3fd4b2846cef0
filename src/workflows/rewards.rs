//! Rewards: granted in the transaction that qualifies a referral (one ledger row per
//! referral, rule and recipient) or, for a commission, that counts a payment (a row per
//! payment too), issued in Stripe (customer credit as a balance transaction,
//! or a promotion code restricted to the customer) with an idempotency key per reward — by the
//! work that granted them as soon as its transaction commits (`issue_now`), else by
//! `reward.issue` — reversed by `reward.reverse` when a refund undoes the referral, and
//! approved, rejected or marked fulfilled by teammates with "Manage rewards".

use std::collections::BTreeMap;

use serde_json::json;
use sqlx::AnyConnection;

use crate::{
    db::{
        self,
        fraud::Review,
        participants::{self, ParticipantRow, Timeline},
        rewards::{self, RewardRow},
        sending, unix_now, Db,
    },
    domain::{
        commissions::{self, Earned},
        fraud::{self, ReviewState},
        money::format_amount,
        participants::EventKind,
        qualification::ChargeEntry,
        rewards::{
            Recipient, RewardDecision, RewardKind, RewardRule, RewardSettings, RewardStatus,
        },
        time::month_of,
    },
    error::AppError,
    jobs::{queue, JobError, NewJob, Registry},
    stripe::StripeError,
};

use super::{outbound, Job, StripeAccess};
use crate::domain::webhooks::WebhookEvent;

pub const ISSUE: &str = "reward.issue";
pub const REVERSE: &str = "reward.reverse";
pub const RELEASE: &str = "reward.release";

pub fn register(registry: Registry<StripeAccess>) -> Registry<StripeAccess> {
    registry
        .register(ISSUE, run_issue)
        .register(REVERSE, run_reverse)
        .register(RELEASE, run_release)
}

/// How long the job of a reward granted by an evaluation waits before issuing it: the
/// evaluation's own work issues it as soon as its transaction commits, and the job is there
/// for when that did not happen (the process stopped, Stripe asked to retry).
const ISSUE_FALLBACK_MS: i64 = 15_000;

fn issue_key(reward_id: &str) -> String {
    format!("{ISSUE}:{reward_id}")
}

fn issue_job(account_id: &str, reward_id: &str) -> NewJob {
    NewJob::new(ISSUE, json!({ "reward": reward_id }))
        .account(account_id)
        .dedupe(issue_key(reward_id))
}

/// Ends a reward's hold when it is due (a scheduled job: it survives restarts).
fn release_job(r: &RewardRow) -> NewJob {
    NewJob::new(RELEASE, json!({ "reward": r.id }))
        .account(&r.account_id)
        .dedupe(format!("{RELEASE}:{}", r.id))
        .at(r.held_until.unwrap_or_default() * 1000)
}

fn reverse_job(r: &RewardRow) -> NewJob {
    NewJob::new(REVERSE, json!({ "reward": r.id }))
        .account(&r.account_id)
        .dedupe(format!("{REVERSE}:{}", r.id))
}

/// Whether an issued reward is undone (rather than flagged) when its referral falls back under
/// the target: Stripe credit whose rule says so.
pub fn reversible(r: &RewardRow, settings: &RewardSettings) -> bool {
    r.status == RewardStatus::Issued
        && r.kind == RewardKind::Credit
        && settings
            .rules
            .iter()
            .any(|rule| rule.id == r.rule_id && rule.reverse_on_refund)
}

/// A referral and the people it concerns: the friend and, while they have one, the person who
/// referred them.
#[derive(Clone, Copy)]
pub struct Referral<'a> {
    pub friend: &'a ParticipantRow,
    pub referrer: Option<&'a ParticipantRow>,
}

impl<'a> Referral<'a> {
    /// A reward's recipient, and the other person of its referral.
    fn parties(self, r: &RewardRow) -> (Option<&'a ParticipantRow>, Option<&'a ParticipantRow>) {
        if r.recipient_id == self.friend.id {
            (Some(self.friend), self.referrer)
        } else {
            (
                self.referrer.filter(|p| p.id == r.recipient_id),
                Some(self.friend),
            )
        }
    }

    /// Adds an entry to the reward's recipient's timeline, and its echo to the other person's.
    fn note(self, timeline: &mut Timeline, r: &RewardRow, kind: EventKind, text: &str) {
        if let (Some(recipient), other) = self.parties(r) {
            timeline.echoed(recipient, kind, text, other, EventKind::RewardUpdate);
        }
    }
}

/// The friend of a reward's referral and who referred them, read.
async fn people_of(
    conn: &mut AnyConnection,
    r: &RewardRow,
) -> Result<Option<(ParticipantRow, Option<ParticipantRow>)>, sqlx::Error> {
    let Some(friend) = participants::get(&mut *conn, &r.account_id, &r.referral_id).await? else {
        return Ok(None);
    };
    let referrer = match &friend.referrer_id {
        Some(id) => participants::get(&mut *conn, &r.account_id, id).await?,
        None => None,
    };
    Ok(Some((friend, referrer)))
}

/// As `Referral::note`, reading the people first, and writing it.
async fn tell(
    conn: &mut AnyConnection,
    r: &RewardRow,
    kind: EventKind,
    text: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    if let Some((friend, referrer)) = people_of(conn, r).await? {
        let mut timeline = Timeline::default();
        Referral {
            friend: &friend,
            referrer: referrer.as_ref(),
        }
        .note(&mut timeline, r, kind, text);
        timeline.write(conn, now).await?;
    }
    Ok(())
}

/// Grants what a newly qualified referral earns: for each rule that applies (the referrer's
/// milestones counted with `qualified_count`), a ledger row — held after `earned_by` (the
/// payment that reached the target, and its time), awaiting approval, to fulfil, or queued to
/// be issued — once per (referral, rule, recipient). Returns the rewards queued for Stripe,
/// for the caller to `issue_now` once its transaction commits.
pub async fn grant(
    conn: &mut AnyConnection,
    timeline: &mut Timeline,
    settings: &RewardSettings,
    referral: Referral<'_>,
    qualified_count: i64,
    earned_by: (&str, i64),
    now: i64,
) -> Result<Vec<RewardRow>, sqlx::Error> {
    let (friend, mut queued) = (referral.friend, Vec::new());
    let Some(referrer) = referral.referrer else {
        return Ok(queued);
    };
    let review = db::fraud::review_of(&mut *conn, &friend.account_id, &friend.id).await?;
    // Commissions are earned per payment (`earn_commissions`), not by qualifying.
    for rule in settings.rules.iter().filter(|r| r.commission.is_none()) {
        let recipient = match rule.recipient {
            Recipient::Referrer if !rule.earned_at(qualified_count) => continue,
            Recipient::Referrer => referrer,
            Recipient::Friend => friend,
        };
        let Start {
            status,
            note,
            held_until,
            held_for,
        } = start(settings, rule, earned_by, review.as_ref());
        let mut row = RewardRow {
            id: crate::db::new_id("rwd"),
            account_id: friend.account_id.clone(),
            campaign_id: friend.campaign_id.clone(),
            rule_id: rule.id.clone(),
            referral_id: friend.id.clone(),
            recipient_id: recipient.id.clone(),
            kind: rule.kind,
            amount: rule.amount,
            currency: rule.currency.clone(),
            description: rule.describe(),
            status,
            note: note.clone(),
            customer_id: None,
            stripe_ref: None,
            code: None,
            reversal_ref: None,
            decided_by: None,
            created_at: now,
            updated_at: now,
            charge_id: String::new(),
            base: 0,
            paid_at: 0,
            held_until,
            held_for: held_for.clone(),
            payout_ref: None,
        };
        if !rewards::insert(&mut *conn, &row).await? {
            // Granted before: only a reward cancelled when the referral went back to pending
            // is granted again.
            let existing = rewards::for_referral(&mut *conn, &friend.account_id, &friend.id)
                .await?
                .into_iter()
                .find(|r| {
                    r.rule_id == rule.id
                        && r.recipient_id == recipient.id
                        && r.status == RewardStatus::Cancelled
                });
            let Some(existing) = existing else { continue };
            row = RewardRow {
                status,
                note: note.clone(),
                updated_at: now,
                held_until,
                held_for,
                ..existing
            };
            if !rewards::update(&mut *conn, &row, RewardStatus::Cancelled).await? {
                continue;
            }
        }
        queued.extend(granted(conn, timeline, referral, row).await?);
    }
    Ok(queued)
}

/// Where a new reward starts.
struct Start {
    status: RewardStatus,
    note: String,
    held_until: Option<i64>,
    held_for: Option<String>,
}

/// A new reward of `rule`, earned by `payment` (its id and time): held after it when the rule
/// holds rewards, else as `given_status` says.
fn start(
    settings: &RewardSettings,
    rule: &RewardRule,
    payment: (&str, i64),
    review: Option<&Review>,
) -> Start {
    if rule.hold_days > 0 {
        let until = payment.1 + i64::from(rule.hold_days) * 86_400;
        return Start {
            status: RewardStatus::Held,
            note: rule.hold_note(until, payment.0),
            held_until: Some(until),
            held_for: Some(payment.0.to_string()),
        };
    }
    let (status, note) = given_status(settings, rule.kind, review);
    Start {
        status,
        note,
        held_until: None,
        held_for: None,
    }
}

/// Where a reward of `kind` given now goes: while its referral waits for review, to that
/// review; cancelled if the review rejected it; else as `first_status` says.
fn given_status(
    settings: &RewardSettings,
    kind: RewardKind,
    review: Option<&Review>,
) -> (RewardStatus, String) {
    match review.map(|r| (r.state, r)) {
        Some((ReviewState::Waiting, r)) => (
            RewardStatus::AwaitingApproval,
            format!(
                "Waiting for review, as its referral was flagged: {}",
                fraud::evidence_line(&r.findings)
            ),
        ),
        Some((ReviewState::Rejected, r)) => (
            RewardStatus::Cancelled,
            format!(
                "Cancelled: its referral was rejected in review by {}",
                r.decided_by.as_deref().unwrap_or("a teammate")
            ),
        ),
        _ => first_status(settings, kind),
    }
}

/// Where a reward of `kind` given now starts: awaiting approval, to fulfil, or queued for
/// Stripe.
fn first_status(settings: &RewardSettings, kind: RewardKind) -> (RewardStatus, String) {
    match (settings.auto_issue, kind) {
        (false, _) => (
            RewardStatus::AwaitingApproval,
            "Awaiting approval by someone with “Manage rewards”".to_string(),
        ),
        (true, RewardKind::Manual) => (
            RewardStatus::ToFulfil,
            "To fulfil: a teammate marks it fulfilled once given".to_string(),
        ),
        (true, _) => (RewardStatus::Queued, "Being issued in Stripe".to_string()),
    }
}

/// A reward just written to the ledger: said on both timelines; when held, its release
/// scheduled; when queued for Stripe, its waiting job enqueued and the row returned for
/// `issue_now`.
async fn granted(
    conn: &mut AnyConnection,
    timeline: &mut Timeline,
    referral: Referral<'_>,
    row: RewardRow,
) -> Result<Option<RewardRow>, sqlx::Error> {
    let text = format!("Reward: {} — {}", row.description, row.note);
    referral.note(timeline, &row, EventKind::RewardUpdate, &text);
    if row.status == RewardStatus::Held {
        queue::enqueue(conn, &release_job(&row)).await?;
    }
    if row.status != RewardStatus::Queued {
        return Ok(None);
    }
    let fallback = issue_job(&row.account_id, &row.id).at(queue::now_ms() + ISSUE_FALLBACK_MS);
    queue::enqueue(conn, &fallback).await?;
    Ok(Some(row))
}

/// Commission rules: each payment of the friend makes its own entry (`domain::commissions`
/// decides which, and how much), and a payment refunded or disputed under the net its entry
/// was computed on undoes that entry — cancelled if not given yet, reversed once if its rule
/// says so, else flagged. `entries`: the referral's commission entries so far. Returns the
/// entries queued for Stripe, for `issue_now`.
pub async fn earn_commissions(
    conn: &mut AnyConnection,
    timeline: &mut Timeline,
    settings: &RewardSettings,
    referral: Referral<'_>,
    charges: &[ChargeEntry],
    entries: &[RewardRow],
    now: i64,
) -> Result<Vec<RewardRow>, sqlx::Error> {
    let (friend, mut queued) = (referral.friend, Vec::new());
    let Some(referrer) = referral.referrer else {
        return Ok(queued);
    };
    // Read for the first new entry only: most evaluations make none.
    let mut review: Option<Option<Review>> = None;
    for rule in &settings.rules {
        let Some(terms) = &rule.commission else {
            continue;
        };
        let recipient = match rule.recipient {
            Recipient::Referrer => referrer,
            Recipient::Friend => friend,
        };
        let mine: Vec<&RewardRow> = entries.iter().filter(|r| r.rule_id == rule.id).collect();
        let earned: Vec<Earned> = mine
            .iter()
            .map(|r| Earned {
                charge_id: r.charge_id.clone(),
                amount: r.amount,
                base: r.base,
                paid_at: r.paid_at,
                standing: r.status.standing(),
            })
            .collect();
        let mut elsewhere = BTreeMap::new();
        if terms.cap_per_month > 0 {
            // The months of this friend's payments, from the first (a month is 31 days at most).
            let since = charges.iter().map(|c| c.created).min().unwrap_or(now) - 31 * 86_400;
            for (paid_at, amount) in rewards::commissions_elsewhere(
                &mut *conn,
                &friend.account_id,
                &recipient.id,
                &rule.id,
                &friend.id,
                since,
            )
            .await?
            {
                *elsewhere.entry(month_of(paid_at)).or_insert(0) += amount;
            }
        }
        let plan = commissions::plan(
            terms,
            &rule.currency,
            friend.created_at,
            charges,
            &earned,
            &elsewhere,
        );
        for e in plan.new {
            if review.is_none() {
                review =
                    Some(db::fraud::review_of(&mut *conn, &friend.account_id, &friend.id).await?);
            }
            let Start {
                status,
                note,
                held_until,
                held_for,
            } = start(
                settings,
                rule,
                (&e.charge_id, e.paid_at),
                review.as_ref().and_then(Option::as_ref),
            );
            let row = RewardRow {
                id: crate::db::new_id("rwd"),
                account_id: friend.account_id.clone(),
                campaign_id: friend.campaign_id.clone(),
                rule_id: rule.id.clone(),
                referral_id: friend.id.clone(),
                recipient_id: recipient.id.clone(),
                kind: rule.kind,
                amount: e.amount,
                currency: rule.currency.clone(),
                description: e.description,
                status,
                note,
                customer_id: None,
                stripe_ref: None,
                code: None,
                reversal_ref: None,
                decided_by: None,
                created_at: now,
                updated_at: now,
                charge_id: e.charge_id,
                base: e.base,
                paid_at: e.paid_at,
                held_until,
                held_for,
                payout_ref: None,
            };
            if rewards::insert(&mut *conn, &row).await? {
                queued.extend(granted(conn, timeline, referral, row).await?);
            }
        }
        for charge in plan.undo {
            let Some(r) = mine.iter().find(|r| r.charge_id == charge) else {
                continue;
            };
            let why = format!("its payment {charge} was refunded or lost in a dispute");
            if r.status.outstanding() {
                cancel(conn, timeline, referral, r, &why, now).await?;
            } else if reversible(r, settings) {
                queue::enqueue(conn, &reverse_job(r)).await?;
            } else if r.status == RewardStatus::Issued || r.status == RewardStatus::Fulfilled {
                flag_one(conn, timeline, referral, r, &why, now).await?;
            }
        }
    }
    Ok(queued)
}

/// Cancels a reward not given yet, saying why on both timelines.
async fn cancel(
    conn: &mut AnyConnection,
    timeline: &mut Timeline,
    referral: Referral<'_>,
    r: &RewardRow,
    why: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let note = format!("Cancelled: {why} before it was given");
    let text = format!("Reward cancelled: {} ({why})", r.description);
    moved(
        conn,
        timeline,
        referral,
        r,
        RewardStatus::Cancelled,
        note,
        text,
        now,
    )
    .await
}

/// Flags a given reward that cannot be taken back automatically, saying why.
async fn flag_one(
    conn: &mut AnyConnection,
    timeline: &mut Timeline,
    referral: Referral<'_>,
    r: &RewardRow,
    why: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let note = format!("Flagged: given, but {why}; this reward cannot be reversed automatically");
    let text = format!("Reward flagged: {} — {note}", r.description);
    moved(
        conn,
        timeline,
        referral,
        r,
        RewardStatus::Flagged,
        note,
        text,
        now,
    )
    .await
}

/// Moves a reward from the status it was read in to `status` with `note`, and tells both
/// timelines `text` if it moved.
#[allow(clippy::too_many_arguments)]
async fn moved(
    conn: &mut AnyConnection,
    timeline: &mut Timeline,
    referral: Referral<'_>,
    r: &RewardRow,
    status: RewardStatus,
    note: String,
    text: String,
    now: i64,
) -> Result<(), sqlx::Error> {
    let row = RewardRow {
        status,
        note,
        updated_at: now,
        ..r.clone()
    };
    if rewards::update(&mut *conn, &row, r.status).await? {
        referral.note(timeline, &row, EventKind::RewardUpdate, &text);
    }
    Ok(())
}

/// A referral went back to pending: what was not given yet is cancelled, what can be
/// reversed is.
pub async fn undo(
    conn: &mut AnyConnection,
    timeline: &mut Timeline,
    referral: Referral<'_>,
    settings: &RewardSettings,
    given: &[RewardRow],
    now: i64,
) -> Result<(), sqlx::Error> {
    for r in given {
        if r.status.outstanding() {
            cancel(
                conn,
                timeline,
                referral,
                r,
                "the referral went back to pending",
                now,
            )
            .await?;
        } else if reversible(r, settings) {
            queue::enqueue(conn, &reverse_job(r)).await?;
        }
    }
    Ok(())
}

/// A referral kept qualified after a refund, with rewards already given: flagged for the team.
pub async fn flag(
    conn: &mut AnyConnection,
    timeline: &mut Timeline,
    referral: Referral<'_>,
    given: &[RewardRow],
    spent_text: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let why = format!("the friend's spend fell under the target ({spent_text})");
    for r in given
        .iter()
        .filter(|r| r.status == RewardStatus::Issued || r.status == RewardStatus::Fulfilled)
    {
        flag_one(conn, timeline, referral, r, &why, now).await?;
    }
    Ok(())
}

/// Once a person is linked to a Stripe customer: their rewards that waited for one are issued.
pub async fn on_linked(
    conn: &mut AnyConnection,
    account_id: &str,
    participant_id: &str,
) -> Result<(), sqlx::Error> {
    for id in rewards::waiting_for(&mut *conn, account_id, participant_id).await? {
        queue::enqueue(conn, &issue_job(account_id, &id)).await?;
    }
    Ok(())
}

/// Who finishes an issue or a reversal: the job that ran it, or the work that granted the
/// reward (`issue_now`), whose waiting job is then done too.
enum Finish<'a> {
    Job(&'a Job),
    Inline,
}

/// Moves a reward from the status it was read in, with a timeline entry, finishing the job in
/// the same transaction.
async fn settle(
    db: &Db,
    finish: Finish<'_>,
    from: RewardStatus,
    row: RewardRow,
    event: Option<(EventKind, String)>,
) -> Result<(), JobError> {
    let mut tx = db.begin().await?;
    if rewards::update(&mut *tx, &row, from).await? {
        if let Some((friend, referrer)) = people_of(&mut tx, &row).await? {
            let referral = Referral {
                friend: &friend,
                referrer: referrer.as_ref(),
            };
            if let Some((kind, text)) = event {
                let mut timeline = Timeline::default();
                referral.note(&mut timeline, &row, kind, &text);
                timeline.write(&mut tx, row.updated_at).await?;
            }
            if let (RewardStatus::Issued, (Some(recipient), _)) =
                (row.status, referral.parties(&row))
            {
                crate::notifications::after_reward(&mut tx, recipient, &row).await?;
            }
            match row.status {
                RewardStatus::Issued => {
                    outbound::about_reward(&mut tx, WebhookEvent::RewardIssued, &row).await?
                }
                RewardStatus::Reversed => {
                    outbound::about_reward(&mut tx, WebhookEvent::RewardReversed, &row).await?
                }
                _ => {}
            }
        }
    }
    match finish {
        Finish::Job(ctx) => ctx.complete_in(&mut tx).await?,
        Finish::Inline => {
            queue::complete_waiting(&mut tx, &issue_key(&row.id)).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

async fn load(ctx: &Job) -> Result<Option<RewardRow>, JobError> {
    let account_id = ctx.job.account_id.clone().unwrap_or_default();
    let id = ctx.job.payload["reward"].as_str().unwrap_or_default();
    Ok(rewards::get(ctx.db.pool(), &account_id, id).await?)
}

async fn done(ctx: &Job) -> Result<(), JobError> {
    let mut tx = ctx.db.begin().await?;
    ctx.complete_in(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

/// A Stripe error: retried while it may pass and `may_retry`, else the reward is marked failed
/// with Stripe's words.
fn failed(may_retry: bool, r: &RewardRow, e: StripeError) -> Result<RewardRow, JobError> {
    if e.is_retryable() && may_retry {
        return Err(JobError::Retry(e.to_string()));
    }
    Ok(RewardRow {
        status: RewardStatus::Failed,
        note: format!("Not issued: {e}"),
        updated_at: unix_now(),
        ..r.clone()
    })
}

/// Issues in Stripe the rewards an evaluation granted, once its transaction has committed: a
/// job fewer for each, and the credit in Stripe as soon as the referral qualifies. What does
/// not go through now (Stripe asks to retry, the database is busy) is left to the reward's
/// waiting job.
pub async fn issue_now(app: &StripeAccess, db: &Db, granted: Vec<RewardRow>) {
    for r in granted {
        let issued = match attempt(app, db, &r, true).await {
            Ok(Some((row, event))) => settle(db, Finish::Inline, r.status, row, event).await,
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        if let Err(e) = issued {
            tracing::info!(reward = %r.id, error = %e.message(), "reward left to its job");
        }
    }
}

async fn run_issue(ctx: Job) -> Result<(), JobError> {
    let Some(r) = load(&ctx).await? else {
        return done(&ctx).await;
    };
    let may_retry = ctx.job.attempts < ctx.job.max_attempts;
    match attempt(&ctx.app, &ctx.db, &r, may_retry).await? {
        Some((row, event)) => settle(&ctx.db, Finish::Job(&ctx), r.status, row, event).await,
        None => done(&ctx).await,
    }
}

/// Issues a queued or waiting reward in Stripe: what it becomes (issued, waiting for a
/// customer or a connection, failed) with its timeline entry, or `None` when there is nothing
/// to issue.
async fn attempt(
    app: &StripeAccess,
    db: &Db,
    r: &RewardRow,
    may_retry: bool,
) -> Result<Option<(RewardRow, Option<(EventKind, String)>)>, JobError> {
    if !matches!(r.status, RewardStatus::Queued | RewardStatus::Waiting) || !r.kind.in_stripe() {
        return Ok(None);
    }
    let now = unix_now();
    let customers = sending::customers_of(db.pool(), &r.account_id, &r.recipient_id).await?;
    let wait = |why: String| RewardRow {
        status: RewardStatus::Waiting,
        note: why,
        updated_at: now,
        ..r.clone()
    };
    let Some(customer) = customers.first().cloned() else {
        let recipient = participants::get(db.pool(), &r.account_id, &r.recipient_id).await?;
        let email = recipient.map(|p| p.email).unwrap_or_default();
        let row = wait(format!(
            "Waiting: {email} is not linked to a Stripe customer yet; it is issued as soon as they are"
        ));
        let event = (r.status != RewardStatus::Waiting).then(|| {
            (
                EventKind::RewardUpdate,
                format!("Reward: {} — {}", r.description, row.note),
            )
        });
        return Ok(Some((row, event)));
    };
    let stripe = match app.connect(db, &r.account_id).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            let row = wait("Waiting: Stripe is not connected; it is issued once it is".into());
            return Ok(Some((row, None)));
        }
        Err(message) => {
            let row = RewardRow {
                status: RewardStatus::Failed,
                note: format!("Not issued: {message}"),
                updated_at: now,
                ..r.clone()
            };
            return Ok(Some((row, None)));
        }
    };
    let key = format!("refloop-reward-{}", r.id);
    let issued = match r.kind {
        RewardKind::Credit => stripe
            .client
            .create_balance_transaction(
                &customer,
                -r.amount,
                &r.currency,
                &format!("Referral reward: {}", r.description),
                &key,
            )
            .await
            .map(|t| (t.id, None)),
        _ => match coupon_for(&stripe, r).await {
            Ok(coupon) => stripe
                .client
                .create_promotion_code(&coupon, None, Some(&customer), &key)
                .await
                .map(|p| (p.id, Some(p.code))),
            Err(e) => Err(e),
        },
    };
    let row = match issued {
        Ok((stripe_ref, code)) => RewardRow {
            status: RewardStatus::Issued,
            note: format!("Issued to {customer} ({stripe_ref})"),
            customer_id: Some(customer.clone()),
            stripe_ref: Some(stripe_ref),
            code,
            updated_at: now,
            ..r.clone()
        },
        Err(e) => failed(may_retry, r, e)?,
    };
    let event = match row.status {
        RewardStatus::Issued => (
            EventKind::Rewarded,
            format!(
                "Reward: {} issued to {customer} ({}){}",
                r.description,
                row.stripe_ref.clone().unwrap_or_default(),
                row.code
                    .as_ref()
                    .map(|c| format!(", code {c}"))
                    .unwrap_or_default()
            ),
        ),
        _ => (
            EventKind::RewardUpdate,
            format!("Reward: {} — {}", r.description, row.note),
        ),
    };
    Ok(Some((row, Some(event))))
}

/// The campaign coupon a promotion-code rule issues codes from, created once (its id is
/// derived from the rule and amount, so it is found again rather than made twice).
async fn coupon_for(stripe: &super::Connected, r: &RewardRow) -> Result<String, StripeError> {
    let id = format!("refloop_{}_{}{}", r.rule_id, r.amount, r.currency);
    let params = json!({
        "id": id, "amount_off": r.amount.to_string(), "currency": r.currency, "duration": "once",
        // Stripe allows 40 characters here.
        "name": format!("Referral reward {}", format_amount(r.amount, &r.currency)),
    });
    match stripe
        .client
        .create_coupon(&params, &format!("refloop-coupon-{id}"))
        .await
    {
        Ok(c) => Ok(c.id),
        Err(StripeError::InvalidRequest { param: Some(p), .. }) if p == "id" => Ok(id),
        Err(e) => Err(e),
    }
}

/// The most held rewards one clock's advance looks at.
const CLOCK_HOLDS: i64 = 500;

/// A Stripe test clock was advanced to `frozen_time`: the holds of payments made on it that end
/// by then end now, as they would by the calendar (a month of billing simulated in a second
/// must not wait a real month for its holds). Which payments are on the clock is asked of
/// Stripe here, before any transaction; the releases to enqueue.
pub async fn ended_on_clock(
    ctx: &Job,
    account_id: &str,
    clock: &serde_json::Value,
) -> Result<Vec<NewJob>, JobError> {
    let (Some(clock_id), Some(time)) = (clock["id"].as_str(), clock["frozen_time"].as_i64()) else {
        return Ok(Vec::new());
    };
    let held = rewards::held_by(ctx.db.pool(), account_id, time, CLOCK_HOLDS).await?;
    if held.is_empty() {
        return Ok(Vec::new());
    }
    let Some(stripe) = ctx.app.connect(&ctx.db, account_id).await.ok().flatten() else {
        return Ok(Vec::new());
    };
    let mut on_clock = std::collections::BTreeMap::new();
    let mut jobs = Vec::new();
    for (reward_id, customer) in held {
        if !on_clock.contains_key(&customer) {
            let c = stripe
                .client
                .retrieve_customer(&customer)
                .await
                .map_err(|e| JobError::Retry(e.to_string()))?;
            on_clock.insert(customer.clone(), c.test_clock.as_deref() == Some(clock_id));
        }
        if on_clock[&customer] {
            jobs.push(
                NewJob::new(RELEASE, json!({ "reward": reward_id }))
                    .account(account_id)
                    .dedupe(format!("{RELEASE}:{reward_id}:{clock_id}:{time}")),
            );
        }
    }
    Ok(jobs)
}

/// A hold ended: the reward is given as its rule says (queued for Stripe and issued now,
/// awaiting approval, or to fulfil), or cancelled if the payment that earned it was refunded
/// or disputed meanwhile.
async fn run_release(ctx: Job) -> Result<(), JobError> {
    let Some(r) = load(&ctx).await? else {
        return done(&ctx).await;
    };
    if r.status != RewardStatus::Held {
        return done(&ctx).await;
    }
    let now = unix_now();
    let payment = r.held_for.clone().unwrap_or_default();
    let lost = db::qualification::charge_losses(ctx.db.pool(), &r.account_id, &payment).await?;
    let (row, text) = if lost > 0 {
        let why = format!("its payment {payment} was refunded or disputed");
        let row = RewardRow {
            status: RewardStatus::Cancelled,
            note: format!("Cancelled when its hold ended: {why}"),
            updated_at: now,
            ..r.clone()
        };
        let text = format!(
            "Reward cancelled: {} ({why} during the hold)",
            r.description
        );
        (row, text)
    } else {
        let settings = rewards::settings(ctx.db.pool(), &r.account_id, &r.campaign_id)
            .await?
            .unwrap_or_default();
        let review = db::fraud::review_of(ctx.db.pool(), &r.account_id, &r.referral_id).await?;
        let (status, note) = given_status(&settings, r.kind, review.as_ref());
        let text = format!("Reward: {} — hold ended; {note}", r.description);
        let row = RewardRow {
            status,
            note,
            updated_at: now,
            ..r.clone()
        };
        (row, text)
    };
    let mut tx = ctx.db.begin().await?;
    let moved = rewards::update(&mut *tx, &row, RewardStatus::Held).await?;
    if moved {
        tell(&mut tx, &row, EventKind::RewardUpdate, &text, now).await?;
        if row.status == RewardStatus::Queued {
            let fallback =
                issue_job(&row.account_id, &row.id).at(queue::now_ms() + ISSUE_FALLBACK_MS);
            queue::enqueue(&mut tx, &fallback).await?;
        }
    }
    ctx.complete_in(&mut tx).await?;
    tx.commit().await?;
    if moved && row.status == RewardStatus::Queued {
        issue_now(&ctx.app, &ctx.db, vec![row]).await;
    }
    Ok(())
}

async fn run_reverse(ctx: Job) -> Result<(), JobError> {
    let Some(r) = load(&ctx).await? else {
        return done(&ctx).await;
    };
    let (RewardStatus::Issued, Some(customer)) = (r.status, r.customer_id.clone()) else {
        return done(&ctx).await;
    };
    let now = unix_now();
    let stripe = match ctx.app.connect(&ctx.db, &r.account_id).await {
        Ok(Some(s)) => s,
        _ => return Err(JobError::Retry("Stripe is not connected".into())),
    };
    let reversed = stripe
        .client
        .create_balance_transaction(
            &customer,
            r.amount,
            &r.currency,
            &format!("Referral reward reversed: {}", r.description),
            &format!("refloop-reversal-{}", r.id),
        )
        .await;
    let row = match reversed {
        Ok(t) => RewardRow {
            status: RewardStatus::Reversed,
            note: format!(
                "Reversed on {customer} ({}) after {}",
                t.id,
                if r.is_commission() {
                    format!(
                        "its payment {} was refunded or lost in a dispute",
                        r.charge_id
                    )
                } else {
                    "the referral went back to pending".to_string()
                }
            ),
            reversal_ref: Some(t.id),
            updated_at: now,
            ..r.clone()
        },
        Err(e) if e.is_retryable() && ctx.job.attempts < ctx.job.max_attempts => {
            return Err(JobError::Retry(e.to_string()))
        }
        Err(e) => RewardRow {
            status: RewardStatus::Flagged,
            note: format!("Flagged: could not be reversed ({e})"),
            updated_at: now,
            ..r.clone()
        },
    };
    let text = format!("Reward: {} — {}", r.description, row.note);
    let event = Some((EventKind::RewardUpdate, text));
    settle(&ctx.db, Finish::Job(&ctx), r.status, row, event).await
}

/// The most a payout reference holds.
const PAYOUT_REF_MAX: usize = 100;

/// A teammate's decision on a reward of `account_id` (the caller checked "Manage rewards");
/// `reference`: a manual reward's payout reference when marking it fulfilled (may be empty).
pub async fn decide(
    db: &Db,
    account_id: &str,
    reward_id: &str,
    decision: RewardDecision,
    by: &str,
    reference: &str,
) -> Result<RewardRow, AppError> {
    let reference = reference.trim();
    if reference.chars().count() > PAYOUT_REF_MAX || reference.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "reference",
            format!("A payout reference is one line of at most {PAYOUT_REF_MAX} characters, such as the bank transfer's id."),
        ));
    }
    let Some(r) = rewards::get(db.pool(), account_id, reward_id).await? else {
        return Err(AppError::NotFound("Reward".into()));
    };
    let now = unix_now();
    let (status, note, kind) = match (decision, r.status) {
        (RewardDecision::Approve, RewardStatus::AwaitingApproval) if r.kind.in_stripe() => (
            RewardStatus::Queued,
            format!("Approved by {by}; being issued in Stripe"),
            EventKind::RewardUpdate,
        ),
        (RewardDecision::Approve, RewardStatus::AwaitingApproval) => (
            RewardStatus::ToFulfil,
            format!("Approved by {by}; to fulfil"),
            EventKind::RewardUpdate,
        ),
        (RewardDecision::Reject, RewardStatus::AwaitingApproval) => (
            RewardStatus::Rejected,
            format!("Rejected by {by}"),
            EventKind::RewardUpdate,
        ),
        (RewardDecision::MarkFulfilled, RewardStatus::ToFulfil) => (
            RewardStatus::Fulfilled,
            match reference {
                "" => format!(
                    "Fulfilled by {by} on {}",
                    crate::domain::time::format_date(now)
                ),
                reference => format!(
                    "Paid by {by} on {}, reference {reference}",
                    crate::domain::time::format_date(now)
                ),
            },
            EventKind::Rewarded,
        ),
        (_, current) => {
            return Err(AppError::Conflict(format!(
                "This reward is “{}”: it cannot be {} now.",
                current.label(),
                match decision {
                    RewardDecision::Approve => "approved",
                    RewardDecision::Reject => "rejected",
                    RewardDecision::MarkFulfilled => "marked fulfilled",
                }
            )))
        }
    };
    let row = RewardRow {
        status,
        note: note.clone(),
        decided_by: Some(by.to_string()),
        payout_ref: (status == RewardStatus::Fulfilled && !reference.is_empty())
            .then(|| reference.to_string()),
        updated_at: now,
        ..r.clone()
    };
    let mut tx = db.begin().await?;
    if !rewards::update(&mut *tx, &row, r.status).await? {
        return Err(AppError::Conflict(
            "This reward changed meanwhile: reload to see where it stands.".into(),
        ));
    }
    let text = format!("Reward: {} — {}", r.description, note);
    tell(&mut tx, &row, kind, &text, now).await?;
    // Deciding a reward of a flagged referral decides its review: later rewards follow it.
    let reviewed = match decision {
        RewardDecision::Approve => Some(ReviewState::Approved),
        RewardDecision::Reject => Some(ReviewState::Rejected),
        RewardDecision::MarkFulfilled => None,
    };
    if let Some(state) = reviewed {
        if db::fraud::decide(&mut *tx, account_id, &r.referral_id, state, by, now).await? {
            let text = format!("Referral review: {} by {by}", state.label().to_lowercase());
            tell(&mut tx, &row, EventKind::Flagged, &text, now).await?;
        }
    }
    if status == RewardStatus::Queued {
        queue::enqueue(&mut tx, &issue_job(&row.account_id, &row.id)).await?;
    }
    if status == RewardStatus::Fulfilled {
        outbound::about_reward(&mut tx, WebhookEvent::RewardIssued, &row).await?;
    }
    tx.commit().await?;
    Ok(row)
}
