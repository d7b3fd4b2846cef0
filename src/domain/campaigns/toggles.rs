//! The Promote step's switches (sending to Stripe, ongoing sync) and what stops one.

use serde::{Deserialize, Serialize};

use crate::domain::participants::ParticipantKind;

keyed!(
    /// The integration switches on a campaign's Promote step.
    PromoteToggle {
        SendReferrers => "send_referrers", "Send people referring to Stripe",
        SendFriends => "send_friends", "Send people invited to Stripe",
        OngoingSync => "ongoing_sync", "Keep syncing new Stripe customers into this campaign (ongoing)",
    }
);

impl PromoteToggle {
    /// Whom a sending toggle sends (`None`: not a sending toggle).
    pub fn audience(self) -> Option<ParticipantKind> {
        match self {
            PromoteToggle::SendReferrers => Some(ParticipantKind::Referring),
            PromoteToggle::SendFriends => Some(ParticipantKind::Invited),
            PromoteToggle::OngoingSync => None,
        }
    }
}

/// Why a toggle cannot be used yet, and where to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocker {
    pub reason: String,
    pub fix_label: String,
    pub fix_href: String,
}

/// A toggle as the Promote step shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToggleState {
    pub toggle: PromoteToggle,
    pub on: bool,
    pub blocker: Option<Blocker>,
}

/// Why `toggle` cannot be switched on (switching off is always allowed to whoever may edit).
/// `permission` is the caller's missing-permission explanation, if any; `mapping_problem` what
/// is wrong with how the toggle's audience is mapped to Stripe customers (from
/// `sending::check_settings`).
pub fn toggle_blocker(
    toggle: PromoteToggle,
    campaign_id: &str,
    stripe_connected: bool,
    mapping_problem: Option<String>,
    permission: Option<String>,
) -> Option<Blocker> {
    if let Some(reason) = permission {
        return Some(Blocker {
            reason,
            fix_label: "See your team".into(),
            fix_href: "/app/team".into(),
        });
    }
    if !stripe_connected {
        return Some(Blocker {
            reason: "Stripe is not connected to this account yet.".into(),
            fix_label: "Connect Stripe".into(),
            fix_href: "/app/integrations".into(),
        });
    }
    let (fix_label, fix_href) = match toggle.audience() {
        Some(_) => (
            "Map the fields",
            format!("/app/campaigns/{campaign_id}/stripe"),
        ),
        None => (
            "Set up the sync",
            format!("/app/campaigns/{campaign_id}/sync"),
        ),
    };
    mapping_problem.map(|reason| Blocker {
        reason,
        fix_label: fix_label.into(),
        fix_href,
    })
}
