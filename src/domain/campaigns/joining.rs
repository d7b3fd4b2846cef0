//! Who may join: the rules a join, an import and a sync all apply, the refusals in the words
//! people read, and the banner as the account fills up.

use serde::{Deserialize, Serialize};

use super::CampaignStatus;
use crate::domain::fraud::Signal;

/// What is known about a campaign and its people when someone tries to join.
#[derive(Debug, Clone)]
pub struct JoinContext<'a> {
    pub status: CampaignStatus,
    /// Emails already in the campaign (normalised).
    pub existing: &'a [String],
    /// The referrer's email and how many people they have referred, when joining through a link.
    pub referrer: Option<(&'a str, u32)>,
    /// The most people one person may refer, if capped.
    pub referral_cap: Option<u32>,
    /// Participants in the whole account, and its limit.
    pub account_participants: u64,
    pub participant_limit: u64,
}

/// Why someone cannot join, in the words the public page shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum JoinRefusal {
    NotOpen(CampaignStatus),
    AlreadyJoined,
    SelfReferral,
    ReferrerAtCap(u32),
    AccountFull,
    /// The form's hidden honeypot field was filled in: a bot, not a person.
    Automated,
    /// A sign of a self-referral the campaign refuses (the visitor is not told which).
    Suspected(Signal),
}

impl JoinRefusal {
    pub fn message(&self) -> String {
        match self {
            JoinRefusal::NotOpen(CampaignStatus::Paused) => "This referral program is paused. Please check back soon.".into(),
            JoinRefusal::NotOpen(CampaignStatus::Ended) => "This referral program has ended. Thank you for your interest.".into(),
            JoinRefusal::NotOpen(_) => "This referral program is not open yet.".into(),
            JoinRefusal::AlreadyJoined => "You have already joined with this email. Use “Email me my link” below to get your link again, or join with another email.".into(),
            JoinRefusal::SelfReferral => "You cannot use your own referral link. Share it with friends instead.".into(),
            JoinRefusal::ReferrerAtCap(cap) => format!("The person who invited you has reached this program's limit of {cap} referrals. You can still join on your own."),
            JoinRefusal::AccountFull => "This referral program is full right now. Please try again later.".into(),
            JoinRefusal::Suspected(_) => "We could not add you to this referral program. If you think this is a mistake, contact the company that invited you.".into(),
            JoinRefusal::Automated => "This form was filled in automatically, so it was not sent. If you are a person, leave the hidden “website” field empty and try again.".into(),
        }
    }

    /// How the refusal is stored.
    pub fn key(&self) -> &'static str {
        match self {
            JoinRefusal::NotOpen(_) => "not_open",
            JoinRefusal::AlreadyJoined => "already_joined",
            JoinRefusal::SelfReferral => "self_referral",
            JoinRefusal::ReferrerAtCap(_) => "referrer_at_cap",
            JoinRefusal::AccountFull => "account_full",
            JoinRefusal::Automated => "automated",
            JoinRefusal::Suspected(Signal::SameEmail) => "suspected_same_email",
            JoinRefusal::Suspected(Signal::SameDevice) => "suspected_same_device",
            JoinRefusal::Suspected(Signal::SameNetwork) => "suspected_same_network",
            JoinRefusal::Suspected(Signal::SameCard) => "suspected_same_card",
            JoinRefusal::Suspected(Signal::DisposableEmail) => "suspected_disposable_email",
            JoinRefusal::Suspected(Signal::Velocity) => "suspected_velocity",
        }
    }

    /// The reason as the team reads it on the dashboard, from its stored key.
    pub fn reason_label(key: &str) -> &'static str {
        match key {
            "not_open" => "Campaign not open",
            "already_joined" => "Already joined",
            "self_referral" => "Own referral link",
            "referrer_at_cap" => "Referrer at their cap",
            "account_full" => "Account participant limit reached",
            "automated" => "Automated submission (honeypot)",
            "suspected_same_email" => "Likely self-referral: same person by email",
            "suspected_same_device" => "Likely self-referral: same browser",
            "suspected_same_network" => "Likely self-referral: same network",
            "suspected_same_card" => "Likely self-referral: same card",
            "suspected_disposable_email" => "Likely self-referral: disposable email domain",
            "suspected_velocity" => "Likely self-referral: many joins in an hour",
            _ => "Other",
        }
    }
}

/// Decides whether `email` (already normalised) may join.
pub fn may_join(email: &str, ctx: &JoinContext<'_>) -> Result<(), JoinRefusal> {
    if ctx.status != CampaignStatus::Live {
        return Err(JoinRefusal::NotOpen(ctx.status));
    }
    if let Some((referrer_email, referred)) = ctx.referrer {
        if referrer_email == email {
            return Err(JoinRefusal::SelfReferral);
        }
        if ctx.referral_cap.is_some_and(|cap| referred >= cap) {
            return Err(JoinRefusal::ReferrerAtCap(
                ctx.referral_cap.unwrap_or_default(),
            ));
        }
    }
    if ctx.existing.iter().any(|e| e == email) {
        return Err(JoinRefusal::AlreadyJoined);
    }
    if ctx.account_participants >= ctx.participant_limit {
        return Err(JoinRefusal::AccountFull);
    }
    Ok(())
}

/// The banner the team sees as the account fills up: at 80% and at 100% of its limit.
pub fn limit_warning(participants: u64, limit: u64) -> Option<String> {
    if limit == 0 || participants * 100 < limit * 80 {
        return None;
    }
    Some(if participants >= limit {
        format!("Your account has reached its limit of {limit} participants: new people cannot join until the limit is raised.")
    } else {
        format!("Your account has {participants} of its {limit} participants ({}%). Raise the limit before new joins are refused.", participants * 100 / limit)
    })
}
