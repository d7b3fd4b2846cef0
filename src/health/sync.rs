//! The guide's "wait up to 12 hours" and syncing problems: the queue's backlog and when it will
//! be done, the participant limit, customers skipped by sync, referral links not yet written back,
//! ongoing sync switched off.

use super::{people, Scope};
use crate::{
    campaigns::{people::usage, sync::progress},
    db::{self, campaigns::CampaignRow, health},
    domain::{
        campaigns::JoinRefusal,
        health::{CheckId, CheckState, HealthAction, HealthCheck, HealthFix},
        sync::{RunKind, RunStatus},
        time::{format_duration, format_utc},
    },
    error::AppError,
    jobs::stats::account_stats,
};

/// A due job waiting longer than this is a warning; five times as long, a failure.
const SLOW_QUEUE_MS: i64 = 60_000;
/// Join refusals this recent count.
const RECENT_REFUSALS_SECS: i64 = 7 * 86_400;

/// The latest runs of a campaign's syncs: the newest one-time run, and the ongoing sync's
/// current row (its counts grow while it is on).
async fn latest_runs(s: &Scope<'_>, c: &CampaignRow) -> Result<Vec<db::sync::RunRow>, AppError> {
    let recent = db::sync::runs_of(s.db.pool(), &s.ctx.account_id, &c.id, 20).await?;
    let once = recent.iter().find(|r| r.kind == RunKind::Once).cloned();
    let ongoing = recent
        .into_iter()
        .find(|r| r.kind == RunKind::Ongoing && r.status == RunStatus::Watching);
    Ok(once.into_iter().chain(ongoing).collect())
}

fn report(c: &CampaignRow, run: &db::sync::RunRow) -> HealthFix {
    HealthFix::link(
        format!("See the sync of “{}”", c.name),
        format!("/app/campaigns/{}/sync?run={}", c.id, run.id),
    )
}

fn which(run: &db::sync::RunRow) -> String {
    match run.kind {
        RunKind::Once => format!("the sync started {}", format_utc(run.started_at)),
        RunKind::Ongoing => "the ongoing sync".into(),
    }
}

/// Check 11: How much work waits in the queue and when it will be done at the current rate.
pub(super) async fn queue(s: &Scope<'_>) -> Result<HealthCheck, AppError> {
    let id = CheckId::Queue;
    let stats = account_stats(s.db, &s.ctx.account_id).await?;
    let outlook = stats.outlook();
    let waited = stats.oldest_waiting_ms.unwrap_or(0);
    let operations = HealthFix::link("Open Operations", "/app/operations");
    if !stats.dead.is_empty() {
        return Ok(HealthCheck::fail(
            id,
            format!(
                "{} job{} failed for good and wait for you on the Operations page. {outlook}",
                stats.dead.len(),
                if stats.dead.len() == 1 { "" } else { "s" }
            ),
        )
        .with_evidence(
            stats
                .dead
                .iter()
                .map(|j| format!("{} after {} attempts: {}", j.kind, j.attempts, j.error)),
        )
        .with_fix(operations));
    }
    let state = match waited {
        w if w > 5 * SLOW_QUEUE_MS => CheckState::Fail,
        w if w > SLOW_QUEUE_MS => CheckState::Warn,
        _ => CheckState::Pass,
    };
    let mut check = HealthCheck::pass(id, outlook);
    if state != CheckState::Pass {
        check = HealthCheck {
            state,
            summary: format!(
                "Work has waited {} to start (Refloop's workers are busy or stopped). {}",
                format_duration(waited / 1000),
                check.summary
            ),
            ..check
        }
        .with_fix(operations);
    }
    Ok(
        check.with_evidence(stats.by_kind.iter().filter(|k| k.queued > 0).map(|k| {
            format!(
                "{}: {} waiting, {} done in the last minute",
                k.kind, k.queued, k.done_last_minute
            )
        })),
    )
}

/// Check 12: Whether the account's participant limit refused joins or stopped a sync.
pub(super) async fn participant_limit(s: &Scope<'_>) -> Result<HealthCheck, AppError> {
    let id = CheckId::UserLimit;
    let (count, limit) = usage(s.db, &s.ctx.account_id).await?;
    let (refused, last_refused) = health::refusals_since(
        s.db.pool(),
        &s.ctx.account_id,
        JoinRefusal::AccountFull.key(),
        s.now - RECENT_REFUSALS_SECS,
    )
    .await?;
    let mut evidence = vec![format!("{count} of {limit} people in the account")];
    let mut fixes = Vec::new();
    let mut not_synced = 0;
    for c in &s.campaigns {
        for run in latest_runs(s, c).await? {
            if run.tally.limit > 0 {
                not_synced += run.tally.limit;
                evidence.push(format!(
                    "“{}”: {} Stripe customers not added by {}",
                    c.name,
                    run.tally.limit,
                    which(&run)
                ));
                fixes.push(report(c, &run));
            }
        }
    }
    if refused > 0 {
        evidence.push(format!(
            "{refused} joins refused in the last 7 days because the account was full, the last at {}",
            format_utc(last_refused.unwrap_or_default())
        ));
    }
    let full = count >= limit;
    let raise = HealthFix::link("Raise the limit (the owner, on the Team page)", "/app/team");
    let stopped = not_synced > 0 || refused > 0;
    let check = match (full, stopped) {
        (true, true) => HealthCheck::fail(
            id,
            format!(
                "The account is at its limit of {limit} people: joins are refused and syncs stop ({} not added).",
                people(not_synced + refused)
            ),
        )
        .with_fix(raise),
        (true, false) => HealthCheck::warn(
            id,
            format!("The account is at its limit of {limit} people: the next person to join will be refused."),
        )
        .with_fix(raise),
        (false, true) => HealthCheck::warn(
            id,
            "The participant limit stopped people before; there is room now. Run the sync again to add the customers it could not.",
        ),
        (false, false) => HealthCheck::pass(
            id,
            format!("The account holds {count} of {limit} people; nobody was refused."),
        ),
    };
    let mut check = check.with_evidence(evidence);
    check.fixes.extend(fixes);
    Ok(check)
}

/// Check 13: Customers a sync skipped because a mapped field is blank in Stripe (and those already in
/// the campaign, linked instead).
pub(super) async fn skips(s: &Scope<'_>) -> Result<HealthCheck, AppError> {
    let id = CheckId::SyncSkips;
    let (mut blank, mut existing) = (0, 0);
    let mut evidence = Vec::new();
    let mut fixes = Vec::new();
    for c in &s.campaigns {
        for run in latest_runs(s, c).await? {
            if run.tally.blank > 0 {
                blank += run.tally.blank;
                evidence.push(format!(
                    "“{}”: {} customers skipped by {} because a mapped field is blank in Stripe",
                    c.name,
                    run.tally.blank,
                    which(&run)
                ));
                fixes.push(report(c, &run));
            }
            if run.tally.existing > 0 {
                existing += run.tally.existing;
                evidence.push(format!(
                    "“{}”: {} customers were already in the campaign and were linked to them by {}",
                    c.name,
                    run.tally.existing,
                    which(&run)
                ));
            }
        }
    }
    let mut check = if blank > 0 {
        HealthCheck::warn(
            id,
            format!("{blank} Stripe customers were not synced because a field the sync maps is blank in Stripe: fill it in Stripe, then run the sync again."),
        )
    } else if existing > 0 {
        HealthCheck::pass(
            id,
            format!("No customer was skipped for a blank field; {existing} were already in the campaign and were linked instead."),
        )
    } else {
        HealthCheck::pass(id, "No synced customer was skipped.")
    }
    .with_evidence(evidence);
    check.fixes = fixes;
    Ok(check)
}

/// Check 14: Referral links a sync has still to write to its customers' metadata, with when they will
/// be done, and those it could not write.
pub(super) async fn write_back(s: &Scope<'_>) -> Result<HealthCheck, AppError> {
    let id = CheckId::WriteBack;
    let now_ms = s.now * 1000;
    let (mut pending, mut failed) = (0, 0);
    let mut evidence = Vec::new();
    let mut fixes = Vec::new();
    for c in &s.campaigns {
        for run in db::sync::runs_of(s.db.pool(), &s.ctx.account_id, &c.id, 20).await? {
            let left = run.tally.to_write - run.written - run.write_failed;
            if left <= 0 && run.write_failed == 0 {
                continue;
            }
            pending += left.max(0);
            failed += run.write_failed;
            let p = progress(&run, now_ms);
            evidence.push(format!(
                "“{}”, {}: {} of {} written{}{}",
                c.name,
                which(&run),
                run.written,
                run.tally.to_write,
                if run.write_failed > 0 {
                    format!(", {} could not be written", run.write_failed)
                } else {
                    String::new()
                },
                match p.eta_secs {
                    Some(eta) if left > 0 => format!(", about {} left", format_duration(eta)),
                    _ => String::new(),
                }
            ));
            fixes.push(report(c, &run));
        }
    }
    let mut check = match (pending, failed) {
        (0, 0) => HealthCheck::pass(
            id,
            "Every referral link a sync enrolled is written to its Stripe customer's metadata.",
        ),
        (0, f) => HealthCheck::warn(
            id,
            format!("{f} referral links could not be written to Stripe (the customer was deleted, or Stripe refused): the sync's report says why."),
        ),
        (p, _) => HealthCheck::warn(
            id,
            format!("{p} referral links are still to be written to Stripe metadata, at the pace Stripe's rate limit allows."),
        ),
    }
    .with_evidence(evidence);
    check.fixes = fixes;
    Ok(check)
}

/// Check 15: Campaigns with a sync set up whose ongoing sync is off: new customers are not enrolled.
pub(super) async fn ongoing(s: &Scope<'_>) -> Result<HealthCheck, AppError> {
    let id = CheckId::OngoingSync;
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for c in &s.campaigns {
        if c.ongoing_stripe_sync {
            on.push(format!("“{}”: ongoing sync is on", c.name));
        } else if db::sync::settings(s.db.pool(), &s.ctx.account_id, &c.id)
            .await?
            .is_some()
        {
            off.push(c);
        }
    }
    if off.is_empty() {
        return Ok(HealthCheck::pass(
            id,
            if on.is_empty() {
                "No campaign syncs Stripe customers."
            } else {
                "Every campaign with a sync set up enrols new Stripe customers as they arrive."
            },
        )
        .with_evidence(on));
    }
    let mut check = HealthCheck::warn(
        id,
        format!(
            "Ongoing sync is off for {}: new Stripe customers are not enrolled there.",
            off.iter()
                .map(|c| format!("“{}”", c.name))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
    .with_evidence(on);
    for c in off {
        check = check.with_fix(HealthFix::action(
            format!("Switch ongoing sync on for “{}”", c.name),
            HealthAction::StartOngoingSync {
                campaign_id: c.id.clone(),
            },
        ));
    }
    Ok(check)
}
