//! The guide's sending problems: name and email not mapped, "wait for my system", people who
//! joined before sending was on, existing Stripe customers and shared emails.

use super::{campaign_audience, people, Scope, EVIDENCE};
use crate::{
    db::{campaigns::CampaignRow, health, sending},
    domain::{
        health::{CheckId, HealthAction, HealthCheck, HealthFix},
        participants::{ParticipantKind, StripeStatus},
        sending::{check_settings, NewPeople},
        time::format_utc,
    },
    error::AppError,
    workflows::sending::{form_of, settings_for},
};

/// The audiences of a campaign whose sending switch is on.
fn sending(c: &CampaignRow) -> impl Iterator<Item = ParticipantKind> + '_ {
    [
        (ParticipantKind::Referring, c.send_referrers_to_stripe),
        (ParticipantKind::Invited, c.send_friends_to_stripe),
    ]
    .into_iter()
    .filter_map(|(a, on)| on.then_some(a))
}

fn stripe_page(c: &CampaignRow) -> HealthFix {
    HealthFix::link(
        format!("Open “{}” › Stripe", c.name),
        format!("/app/campaigns/{}/stripe", c.id),
    )
}

/// Check 4: Every audience sent to Stripe maps the customer's name and email from its form.
pub(super) async fn mapping(s: &Scope<'_>) -> Result<HealthCheck, AppError> {
    let id = CheckId::SendMapping;
    let mut evidence = Vec::new();
    let mut fixes = Vec::new();
    let mut on = 0;
    for c in &s.campaigns {
        for audience in sending(c) {
            on += 1;
            let settings = settings_for(s.db.pool(), c, audience).await?;
            let problems = check_settings(&settings, form_of(c, audience));
            let named: Vec<_> = problems
                .into_iter()
                .filter(|(field, _)| field == "name" || field == "email")
                .collect();
            if !named.is_empty() {
                evidence.extend(
                    named
                        .iter()
                        .map(|(_, m)| format!("{}: {m}", campaign_audience(c, audience))),
                );
                fixes.push(stripe_page(c));
            }
        }
    }
    Ok(if evidence.is_empty() {
        HealthCheck::pass(
            id,
            if on == 0 {
                "No campaign sends people to Stripe.".to_string()
            } else {
                "Every audience sent to Stripe has its name and email mapped.".to_string()
            },
        )
    } else {
        let mut check = HealthCheck::fail(
            id,
            "Sending to Stripe is on, but the customer's name or email is not mapped: nobody of that audience reaches Stripe.",
        )
        .with_evidence(evidence);
        fixes.dedup();
        check.fixes = fixes;
        check
    })
}

/// Check 5: People waiting for the merchant's own system to create their customer.
pub(super) async fn waiting(s: &Scope<'_>) -> Result<HealthCheck, AppError> {
    let id = CheckId::Waiting;
    let waiting = sending::waiting(s.db.pool(), &s.ctx.account_id, EVIDENCE + 1).await?;
    let mut waits_in = Vec::new();
    for c in &s.campaigns {
        for audience in sending(c) {
            if settings_for(s.db.pool(), c, audience).await?.new_people
                == NewPeople::WaitForMySystem
            {
                waits_in.push(campaign_audience(c, audience));
            }
        }
    }
    if waiting.is_empty() {
        return Ok(HealthCheck::pass(
            id,
            if waits_in.is_empty() {
                "No campaign waits for your system to create customers.".to_string()
            } else {
                format!(
                    "“Wait for my system” is on for {}; nobody is waiting.",
                    waits_in.join(", ")
                )
            },
        ));
    }
    let oldest = waiting.iter().filter_map(|p| p.stripe_since).min();
    let name_of = |campaign: &str| {
        s.campaigns
            .iter()
            .find(|c| c.id == campaign)
            .map(|c| c.name.clone())
            .unwrap_or_default()
    };
    let n = waiting.len() as i64;
    Ok(HealthCheck::warn(
        id,
        format!(
            "“Wait for my system” is on: {}{} waiting for your system to create their Stripe customer{}. They are linked by email as soon as it does.",
            people(n.min(EVIDENCE)),
            if n > EVIDENCE { " or more are" } else if n == 1 { " is" } else { " are" },
            oldest.map(|o| format!(", the first since {}", format_utc(o))).unwrap_or_default()
        ),
    )
    .with_evidence(waiting.iter().take(EVIDENCE as usize).map(|p| {
        format!(
            "{} (“{}”) waiting since {}",
            p.email,
            name_of(&p.campaign_id),
            p.stripe_since.map(format_utc).unwrap_or_default()
        )
    })))
}

/// Check 6: People who joined before sending was switched on (sending does not work backwards).
pub(super) async fn joined_before(s: &Scope<'_>) -> Result<HealthCheck, AppError> {
    let id = CheckId::JoinedBeforeSending;
    let mut evidence = Vec::new();
    let mut fixes = Vec::new();
    for c in &s.campaigns {
        let mut in_campaign = 0;
        for audience in sending(c) {
            let counts =
                sending::status_counts(s.db.pool(), &s.ctx.account_id, &c.id, audience).await?;
            let never = counts
                .iter()
                .find(|(st, _)| *st == StripeStatus::NotSent)
                .map_or(0, |(_, n)| *n);
            if never > 0 {
                in_campaign += never;
                evidence.push(format!(
                    "{}: {} not in Stripe, never sent",
                    campaign_audience(c, audience),
                    people(never)
                ));
            }
        }
        if in_campaign > 0 {
            fixes.push(HealthFix::action(
                format!("Send the {} of “{}” now", people(in_campaign), c.name),
                HealthAction::SendExisting {
                    campaign_id: c.id.clone(),
                },
            ));
        }
    }
    Ok(if evidence.is_empty() {
        HealthCheck::pass(
            id,
            "Everyone in an audience sent to Stripe has been sent (or is on the way).",
        )
    } else {
        let mut check = HealthCheck::warn(
            id,
            "Some people joined before sending to Stripe was switched on, and sending does not reach back: send them now.",
        )
        .with_evidence(evidence);
        check.fixes = fixes;
        check
    })
}

/// Check 7: People matched to customers already in Stripe, and people not sent because several
/// customers share their email: each with the policy that decided it.
pub(super) async fn existing_customers(s: &Scope<'_>) -> Result<HealthCheck, AppError> {
    let id = CheckId::ExistingCustomers;
    let account = &s.ctx.account_id;
    let skipped = health::skipped(s.db.pool(), account, EVIDENCE).await?;
    let matched = health::matched_existing(s.db.pool(), account, EVIDENCE).await?;
    let line = |f: &health::Flagged| format!("{} (“{}”): {}", f.email, f.campaign, f.note);
    let matched_lines = matched.iter().map(line);
    if skipped.is_empty() {
        let summary = if matched.is_empty() {
            "Nobody was matched to a customer already in Stripe.".to_string()
        } else {
            format!(
                "{} matched customers already in Stripe and were linked as your settings say.",
                people(matched.len() as i64)
            )
        };
        return Ok(HealthCheck::pass(id, summary).with_evidence(matched_lines));
    }
    let mut fixes: Vec<HealthFix> = s
        .campaigns
        .iter()
        .filter(|c| skipped.iter().any(|f| f.campaign == c.name))
        .map(stripe_page)
        .collect();
    fixes.dedup();
    let mut check = HealthCheck::warn(
        id,
        format!(
            "{} not sent to Stripe because of the customers already there (for example several with the same email, and the policy says link none). Change the policy, then send them again.",
            people(skipped.len() as i64)
        ),
    )
    .with_evidence(skipped.iter().map(line))
    .with_evidence(matched_lines);
    check.fixes = fixes;
    Ok(check)
}
