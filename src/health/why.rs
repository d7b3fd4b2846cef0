//! A participant's "Why?": what decided their Stripe status, their qualification and their
//! rewards, from the records their timeline shows, in order, then where each stands now.

use crate::{
    auth::Ctx,
    campaigns::load,
    db::{
        self, campaigns::CampaignRow, participants, participants::ParticipantRow, rewards, sending,
        Db,
    },
    domain::{
        emails::{EmailKind, EmailSettings},
        health::{WhyAnswer, WhyStep},
        money::format_amount,
        participants::{EventKind, ParticipantKind, Qualification, StripeStatus},
        qualification::{explain_spend, CustomerScope},
        sending::audience_label,
        time::format_utc,
    },
    error::AppError,
};

pub async fn why(
    db: &Db,
    ctx: &Ctx,
    campaign_id: &str,
    participant_id: &str,
) -> Result<WhyAnswer, AppError> {
    let c = load(db, ctx, campaign_id).await?;
    let account = &ctx.account_id;
    let p = participants::get(db.pool(), account, participant_id)
        .await?
        .filter(|p| p.campaign_id == c.id)
        .ok_or_else(|| AppError::NotFound("Participant".into()))?;
    let mut steps: Vec<WhyStep> = participants::timeline(db.pool(), account, &p.id)
        .await?
        .into_iter()
        // The timeline is newest first; the answer reads oldest first.
        .rev()
        .filter(|e| e.kind != EventKind::Clicked.key())
        .map(|e| {
            let (kind, rest) = e.phrased(": ");
            WhyStep {
                at: e.at,
                text: format!("{kind}{rest}"),
            }
        })
        .collect();
    steps.sort_by_key(|s| s.at);

    let audience = p.kind();
    let sending_on = match audience {
        ParticipantKind::Referring => c.send_referrers_to_stripe,
        ParticipantKind::Invited => c.send_friends_to_stripe,
    };
    let group = audience_label(audience).to_lowercase();
    let customers = sending::customers_of(db.pool(), account, &p.id).await?;
    let stripe = match p.stripe_status {
        StripeStatus::NotSent if !sending_on => format!(
            "Not in Stripe: sending {group} to Stripe is off in “{}”.",
            c.name
        ),
        StripeStatus::NotSent => format!(
            "Not in Stripe: they joined before sending {group} was switched on, and sending does not reach back. “Send existing participants” on the campaign's Stripe page sends them."
        ),
        StripeStatus::Sent => format!(
            "In Stripe as {}. {}",
            customers.join(", "),
            p.stripe_note
        ),
        status => format!("{}: {}", status.label(), p.stripe_note),
    };

    let settings = match audience {
        ParticipantKind::Referring => None,
        ParticipantKind::Invited => db::qualification::settings(db.pool(), account, &c.id).await?,
    };
    let attributed = match &settings {
        Some(s) => {
            let email = (s.scope == CustomerScope::SameEmail).then_some(p.email.as_str());
            let mut conn = db.pool().acquire().await?;
            Some(db::attribution::attributed(&mut conn, account, &p.id, email).await?)
        }
        None => None,
    };
    let mut qualification = match (audience, p.qualification, &settings, &attributed) {
        (ParticipantKind::Referring, ..) => format!(
            "People referring do not qualify themselves; their invited friends do: {} of their {} referrals qualified.",
            p.qualified_referrals, p.referrals
        ),
        (ParticipantKind::Invited, Qualification::Qualified, ..) => p.qualification_note.clone(),
        (ParticipantKind::Invited, _, Some(s), Some(a)) => {
            let spend = crate::domain::qualification::spend(s, p.created_at, &a.counted);
            let mut text = format!("Pending: {}", s.describe());
            text.push_str(&format!("; so far: {}", explain_spend(s, &spend)));
            if !spend.ignored.is_empty() {
                let ignored: Vec<String> = spend
                    .ignored
                    .iter()
                    .map(|(id, why)| format!("{id} ({why})"))
                    .collect();
                text.push_str(&format!("; not counted: {}", ignored.join(", ")));
            }
            if customers.is_empty() && a.counted.is_empty() {
                text.push_str(". They are linked to no Stripe customer, so no payment can be seen yet");
            }
            text.push('.');
            if s.scope != CustomerScope::SameEmail {
                text.push_str(&paid_by_other_customers(db, &p, a).await?);
            }
            text
        }
        (ParticipantKind::Invited, ..) => {
            "Pending: the campaign's qualification settings are not saved, so nobody qualifies yet.".into()
        }
    };
    if let Some(a) = attributed.filter(|a| !a.used.is_empty() || !a.set_aside.is_empty()) {
        if !a.used.is_empty() {
            qualification.push_str(&format!(" Payments counted: {}.", a.used.join("; ")));
        }
        if !a.set_aside.is_empty() {
            qualification.push_str(&format!(" Set aside: {}.", a.set_aside.join("; ")));
        }
    }

    let given = rewards::of_person(db.pool(), account, &p.id).await?;
    let rewards = if given.is_empty() {
        match audience {
            ParticipantKind::Referring => {
                "No reward yet: rewards come when their invited friends qualify.".to_string()
            }
            ParticipantKind::Invited => {
                "No reward yet: rewards come when they qualify.".to_string()
            }
        }
    } else {
        given
            .iter()
            .map(|r| {
                format!(
                    "{} for {}: {}{}",
                    r.description,
                    r.recipient_email,
                    r.status.label(),
                    if r.note.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", r.note)
                    }
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    // A flagged referral's rewards wait for its review.
    let rewards = match db::fraud::review_of(db.pool(), account, &p.id).await? {
        Some(review) => format!(
            "Their referral was flagged as a likely self-referral ({}); its review: {}{}. {rewards}",
            crate::domain::fraud::evidence_line(&review.findings),
            review.state.label().to_lowercase(),
            review
                .decided_by
                .map(|by| format!(" by {by}"))
                .unwrap_or_default(),
        ),
        None => rewards,
    };
    Ok(WhyAnswer {
        participant: p.email.clone(),
        emails: emails(db, &c, &p).await?,
        stripe,
        qualification,
        rewards,
        steps,
    })
}

/// " Not counted: ch_… (10.00 USD by cus_…), paid by another Stripe customer with their email; …"
/// for a friend of a campaign counting only linked customers (Check 10, for one person), or
/// empty. A charge that counts for them anyway (by a checkout's evidence) is not named.
async fn paid_by_other_customers(
    db: &Db,
    p: &ParticipantRow,
    attributed: &crate::domain::attribution::Attributed,
) -> Result<String, AppError> {
    let charges: Vec<String> =
        db::health::unlinked_charges_of(db.pool(), &p.account_id, &p.id, &p.email, 10)
            .await?
            .into_iter()
            .filter(|c| !attributed.counted.iter().any(|k| k.id == c.charge_id))
            .map(|c| {
                format!(
                    "{} ({} by {})",
                    c.charge_id,
                    format_amount(c.amount, &c.currency),
                    c.customer_id
                )
            })
            .collect();
    if charges.is_empty() {
        return Ok(String::new());
    }
    Ok(format!(
        " Not counted: {}, paid by another Stripe customer with their email; this campaign counts only the customers linked to them (its qualification settings can count every customer with the email).",
        charges.join(", ")
    ))
}

/// Each email of the campaign that concerns them: the last that went (or did not, and why),
/// or why none goes.
async fn emails(db: &Db, c: &CampaignRow, p: &ParticipantRow) -> Result<String, AppError> {
    let settings = db::emails::settings(db.pool(), &c.account_id, &c.id)
        .await?
        .unwrap_or_else(|| EmailSettings::defaults(&c.name));
    let ledger = db::emails::of_participant(db.pool(), &c.account_id, &p.id).await?;
    let kinds: &[EmailKind] = match p.kind() {
        ParticipantKind::Referring => &[
            EmailKind::Welcome,
            EmailKind::FriendJoined,
            EmailKind::FriendQualified,
            EmailKind::RewardEarned,
            EmailKind::Reminder,
            EmailKind::YourLink,
        ],
        ParticipantKind::Invited => &[
            EmailKind::Welcome,
            EmailKind::FriendReward,
            EmailKind::YourLink,
        ],
    };
    let mut lines = Vec::new();
    if let Some(at) = db::emails::unsubscribed_at(db.pool(), &c.account_id, &p.id).await? {
        lines.push(format!(
            "Unsubscribed on {}: only a link they ask for reaches them",
            format_utc(at)
        ));
    }
    for &kind in kinds {
        let of_kind: Vec<_> = ledger.iter().filter(|e| e.kind == kind).collect();
        lines.push(match of_kind.first() {
            Some(last) => format!(
                "{}: {} — {}{}",
                kind.label(),
                last.status.label(),
                last.detail,
                match of_kind.len() {
                    1 => String::new(),
                    n => format!(" ({n} in all)"),
                }
            ),
            None if !settings.enabled(kind) => format!(
                "{}: switched off in the campaign's Emails step",
                kind.label()
            ),
            None => format!("{}: none yet", kind.label()),
        });
    }
    Ok(lines.join("; ") + ".")
}
