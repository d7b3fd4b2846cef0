//! Evaluating a friend's standing from the ledger, and what a change of standing sets off.

use sqlx::AnyConnection;

use super::evaluate_job;
use crate::domain::webhooks::WebhookEvent;
use crate::workflows::{
    outbound,
    rewards::{self, Referral},
    sending, Job,
};
use crate::{
    db::{
        self,
        participants::{ParticipantRow, Timeline},
        rewards::RewardRow,
        unix_now, Db,
    },
    domain::{
        fraud::{self, Response},
        participants::{EventKind, Qualification},
        qualification::{
            explain_spend, new_standing, spend, standing, CustomerScope, NewStanding, Recorded,
            StandingChange,
        },
        rewards::RewardSettings,
    },
    jobs::{queue, JobError},
};

pub(super) async fn run_evaluate(ctx: Job) -> Result<(), JobError> {
    let account_id = ctx.job.account_id.clone().unwrap_or_default();
    let id = ctx.job.payload["participant"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut tx = ctx.db.begin().await?;
    let granted = evaluate(&mut tx, &account_id, &id, unix_now()).await?;
    ctx.complete_in(&mut tx).await?;
    tx.commit().await?;
    rewards::issue_now(&ctx.app, &ctx.db, granted).await;
    Ok(())
}

/// Decides where an invited friend stands from the ledger, and records any change: their
/// standing and note, both timelines, the referrer's count, and rewards earned or undone.
/// Runs in the caller's transaction, holding the friend's and then the referrer's row lock.
/// Returns the rewards granted for Stripe, for the caller to `rewards::issue_now` once the
/// transaction has committed (their jobs issue them a little later if it does not).
pub async fn evaluate(
    conn: &mut AnyConnection,
    account_id: &str,
    participant_id: &str,
    now: i64,
) -> Result<Vec<RewardRow>, sqlx::Error> {
    let Some(p) =
        db::qualification::lock_participant(&mut *conn, account_id, participant_id).await?
    else {
        return Ok(Vec::new());
    };
    let Some(referrer_id) = p.referrer_id.clone() else {
        return Ok(Vec::new());
    };
    let Some(s) = db::qualification::settings(&mut *conn, account_id, &p.campaign_id).await? else {
        return Ok(Vec::new());
    };
    // The referrer's row is locked too (after the friend's, always in that order): their count
    // of qualified friends decides milestone rewards, so two friends qualifying at once must
    // count one after the other.
    let referrer =
        db::qualification::lock_participant(&mut *conn, account_id, &referrer_id).await?;
    let referral = Referral {
        friend: &p,
        referrer: referrer.as_ref(),
    };
    let email = (s.scope == CustomerScope::SameEmail).then_some(p.email.as_str());
    let charges = db::attribution::attributed(&mut *conn, account_id, &p.id, email).await?;
    db::dashboard::record_payments(&mut *conn, &p, &referrer_id, &charges.counted).await?;
    let total = spend(&s, p.created_at, &charges.counted);
    let spent_text = explain_spend(&s, &total);
    let spent_changed = total.counted != p.spent;
    // Rewards earned by qualifying, and commissions earned per payment.
    let (commission_entries, given): (Vec<_>, Vec<_>) =
        db::rewards::for_referral(&mut *conn, account_id, &p.id)
            .await?
            .into_iter()
            .partition(|r| r.is_commission());
    let rules = db::rewards::settings(&mut *conn, account_id, &p.campaign_id)
        .await?
        .unwrap_or_default();
    // Every timeline entry of this evaluation, written in one statement at the end; the
    // friend's entries echo on the referrer's timeline.
    let mut timeline = Timeline::default();
    if let Some(r) = &referrer {
        check_cards(conn, &mut timeline, &rules, &p, r, email, now).await?;
    }
    let irreversible = given
        .iter()
        .any(|r| r.status.given() && !rewards::reversible(r, &rules));
    let was_qualified = p.qualification == Qualification::Qualified;
    let tell_both = |timeline: &mut Timeline, kind: EventKind, text: &str| {
        timeline.echoed(&p, kind, text, referrer.as_ref(), EventKind::FriendUpdate)
    };
    if spent_changed {
        tell_both(&mut timeline, EventKind::Spent, &spent_text);
    }
    // Where they stand now, in one place; then what changing to it sets off.
    let before = Recorded {
        qualification: p.qualification,
        qualified_at: p.qualified_at,
        note: &p.qualification_note,
        joined_at: p.created_at,
    };
    let NewStanding {
        qualification,
        qualified_at,
        note,
        change,
    } = new_standing(
        &s,
        standing(&s, p.created_at, now, &total, was_qualified, irreversible),
        &before,
        &spent_text,
        spent_changed,
        now,
    );
    if (qualification, qualified_at, total.counted, note.as_str())
        != (
            p.qualification,
            p.qualified_at,
            p.spent,
            p.qualification_note.as_str(),
        )
    {
        db::qualification::set_standing(
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
    let mut granted = Vec::new();
    match change {
        StandingChange::None => {}
        StandingChange::Qualified(text) => {
            tell_both(&mut timeline, EventKind::Qualified, &text);
            if let Some(r) = &referrer {
                db::qualification::add_qualified(&mut *conn, &r.id, 1).await?;
                let count = r.qualified_referrals + 1;
                // The charge that reached the target earned the rewards (and holds them).
                let by = total.reached.clone().unwrap_or_default();
                let earned_by = (by.0.as_str(), by.1);
                granted =
                    rewards::grant(conn, &mut timeline, &rules, referral, count, earned_by, now)
                        .await?;
                sending::refresh_metadata(conn, r).await?;
                crate::notifications::after_qualified(conn, &p, r).await?;
                outbound::about_referral(conn, WebhookEvent::ReferralQualified, &p, r).await?;
            }
        }
        StandingChange::BackToPending => {
            let text = format!("Back to pending: {spent_text} after a refund or dispute");
            tell_both(&mut timeline, EventKind::Unqualified, &text);
            if let Some(r) = &referrer {
                db::qualification::add_qualified(&mut *conn, &r.id, -1).await?;
                sending::refresh_metadata(conn, r).await?;
                outbound::about_referral(conn, WebhookEvent::ReferralUnqualified, &p, r).await?;
            }
            rewards::undo(conn, &mut timeline, referral, &rules, &given, now).await?;
        }
        StandingChange::FlagRewards => {
            rewards::flag(conn, &mut timeline, referral, &given, &spent_text, now).await?
        }
    }
    granted.extend(
        rewards::earn_commissions(
            conn,
            &mut timeline,
            &rules,
            referral,
            &charges.counted,
            &commission_entries,
            now,
        )
        .await?,
    );
    timeline.write(conn, now).await?;
    Ok(granted)
}

/// A friend who paid with a card the referrer paid with is flagged for review (once), with
/// the evidence on both timelines, before any reward of the referral is given.
async fn check_cards(
    conn: &mut AnyConnection,
    timeline: &mut Timeline,
    rules: &RewardSettings,
    p: &ParticipantRow,
    referrer: &ParticipantRow,
    email: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    if rules.fraud.same_card == Response::Off {
        return Ok(());
    }
    let mine = db::fraud::cards_of(&mut *conn, &p.account_id, &p.id, email).await?;
    if mine.is_empty() {
        return Ok(());
    }
    let theirs = db::fraud::cards_of(
        &mut *conn,
        &p.account_id,
        &referrer.id,
        Some(&referrer.email),
    )
    .await?;
    let Some((theirs, mine)) = fraud::shared_card(&mine, &theirs) else {
        return Ok(());
    };
    let finding = fraud::same_card(&p.email, referrer.first_name_or_email(), theirs, mine);
    if db::fraud::add_finding(conn, p, &finding, now).await? {
        let (friend_line, referrer_line) =
            fraud::flagged_lines(&p.email, std::slice::from_ref(&finding));
        timeline.add(p, EventKind::Flagged, friend_line);
        timeline.add(referrer, EventKind::Flagged, referrer_line);
    }
    Ok(())
}

/// Everyone in a campaign whose standing may change with new settings.
pub async fn evaluate_campaign(
    db: &Db,
    account_id: &str,
    campaign_id: &str,
) -> Result<u64, sqlx::Error> {
    let ids = db::qualification::friends_in_campaign(db.pool(), account_id, campaign_id).await?;
    let mut tx = db.begin().await?;
    for id in &ids {
        queue::enqueue(&mut tx, &evaluate_job(account_id, id)).await?;
    }
    tx.commit().await?;
    Ok(ids.len() as u64)
}
