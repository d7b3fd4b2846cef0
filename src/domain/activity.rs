//! The kinds of change the activity log records.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ActivityKind {
    AccountCreated,
    MemberInvited,
    InvitationRevoked,
    MemberJoined,
    RoleChanged,
    PermissionChanged,
    MemberRemoved,
    OwnershipTransferred,
    StripeConnected,
    StripeDisconnected,
    CampaignCreated,
    CampaignEdited,
    CampaignStatusChanged,
    PromoteToggled,
    ParticipantLimitChanged,
    ParticipantsImported,
    ParticipantsExported,
    RewardDecided,
    StripeWebhookRepaired,
    StripeSyncStarted,
    PasswordChanged,
    SignedOutEverywhere,
}

impl ActivityKind {
    pub const ALL: [ActivityKind; 22] = [
        ActivityKind::AccountCreated,
        ActivityKind::MemberInvited,
        ActivityKind::InvitationRevoked,
        ActivityKind::MemberJoined,
        ActivityKind::RoleChanged,
        ActivityKind::PermissionChanged,
        ActivityKind::MemberRemoved,
        ActivityKind::OwnershipTransferred,
        ActivityKind::StripeConnected,
        ActivityKind::StripeDisconnected,
        ActivityKind::CampaignCreated,
        ActivityKind::CampaignEdited,
        ActivityKind::CampaignStatusChanged,
        ActivityKind::PromoteToggled,
        ActivityKind::ParticipantLimitChanged,
        ActivityKind::ParticipantsImported,
        ActivityKind::ParticipantsExported,
        ActivityKind::RewardDecided,
        ActivityKind::StripeWebhookRepaired,
        ActivityKind::StripeSyncStarted,
        ActivityKind::PasswordChanged,
        ActivityKind::SignedOutEverywhere,
    ];

    pub fn key(self) -> &'static str {
        match self {
            ActivityKind::AccountCreated => "account.created",
            ActivityKind::MemberInvited => "team.invited",
            ActivityKind::InvitationRevoked => "team.invitation_revoked",
            ActivityKind::MemberJoined => "team.joined",
            ActivityKind::RoleChanged => "team.role_changed",
            ActivityKind::PermissionChanged => "team.permission_changed",
            ActivityKind::MemberRemoved => "team.removed",
            ActivityKind::OwnershipTransferred => "team.ownership_transferred",
            ActivityKind::StripeConnected => "stripe.connected",
            ActivityKind::StripeDisconnected => "stripe.disconnected",
            ActivityKind::CampaignCreated => "campaign.created",
            ActivityKind::CampaignEdited => "campaign.edited",
            ActivityKind::CampaignStatusChanged => "campaign.status_changed",
            ActivityKind::PromoteToggled => "campaign.toggle",
            ActivityKind::ParticipantLimitChanged => "account.participant_limit",
            ActivityKind::ParticipantsImported => "participants.imported",
            ActivityKind::ParticipantsExported => "participants.exported",
            ActivityKind::RewardDecided => "rewards.decided",
            ActivityKind::StripeWebhookRepaired => "stripe.webhook_repaired",
            ActivityKind::StripeSyncStarted => "stripe.sync_started",
            ActivityKind::PasswordChanged => "account.password_changed",
            ActivityKind::SignedOutEverywhere => "account.signed_out_everywhere",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ActivityKind::AccountCreated => "Account created",
            ActivityKind::MemberInvited => "Teammate invited",
            ActivityKind::InvitationRevoked => "Invitation revoked",
            ActivityKind::MemberJoined => "Teammate joined",
            ActivityKind::RoleChanged => "Role changed",
            ActivityKind::PermissionChanged => "Permission changed",
            ActivityKind::MemberRemoved => "Teammate removed",
            ActivityKind::OwnershipTransferred => "Ownership transferred",
            ActivityKind::StripeConnected => "Stripe connected",
            ActivityKind::StripeDisconnected => "Stripe disconnected",
            ActivityKind::CampaignCreated => "Campaign created",
            ActivityKind::CampaignEdited => "Campaign edited",
            ActivityKind::CampaignStatusChanged => "Campaign status changed",
            ActivityKind::PromoteToggled => "Integration switch changed",
            ActivityKind::ParticipantLimitChanged => "Participant limit changed",
            ActivityKind::ParticipantsImported => "Participants imported",
            ActivityKind::ParticipantsExported => "Participants exported",
            ActivityKind::RewardDecided => "Reward approved, rejected or fulfilled",
            ActivityKind::StripeWebhookRepaired => "Stripe webhook endpoint repaired",
            ActivityKind::StripeSyncStarted => "Stripe customers sync started",
            ActivityKind::PasswordChanged => "Password changed",
            ActivityKind::SignedOutEverywhere => "Signed out everywhere",
        }
    }

    pub fn from_key(key: &str) -> Option<ActivityKind> {
        ActivityKind::ALL.into_iter().find(|k| k.key() == key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_keys() {
        for k in ActivityKind::ALL {
            assert_eq!(ActivityKind::from_key(k.key()), Some(k));
        }
        assert_eq!(ActivityKind::from_key("nope"), None);
    }
}
