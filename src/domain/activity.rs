//! The kinds of change the activity log records.

keyed!(
    /// A kind of change the activity log records.
    ActivityKind {
        AccountCreated => "account.created", "Account created",
        MemberInvited => "team.invited", "Teammate invited",
        InvitationRevoked => "team.invitation_revoked", "Invitation revoked",
        MemberJoined => "team.joined", "Teammate joined",
        RoleChanged => "team.role_changed", "Role changed",
        PermissionChanged => "team.permission_changed", "Permission changed",
        MemberRemoved => "team.removed", "Teammate removed",
        OwnershipTransferred => "team.ownership_transferred", "Ownership transferred",
        StripeConnected => "stripe.connected", "Stripe connected",
        StripeDisconnected => "stripe.disconnected", "Stripe disconnected",
        CampaignCreated => "campaign.created", "Campaign created",
        CampaignEdited => "campaign.edited", "Campaign edited",
        CampaignStatusChanged => "campaign.status_changed", "Campaign status changed",
        PromoteToggled => "campaign.toggle", "Integration switch changed",
        ParticipantLimitChanged => "account.participant_limit", "Participant limit changed",
        ParticipantsImported => "participants.imported", "Participants imported",
        ParticipantsExported => "participants.exported", "Participants exported",
        RewardDecided => "rewards.decided", "Reward approved, rejected or fulfilled",
        StripeWebhookRepaired => "stripe.webhook_repaired", "Stripe webhook endpoint repaired",
        StripeSyncStarted => "stripe.sync_started", "Stripe customers sync started",
        PasswordChanged => "account.password_changed", "Password changed",
        SignedOutEverywhere => "account.signed_out_everywhere", "Signed out everywhere",
        ApiKeyCreated => "api.key_created", "API key created",
        ApiKeyRevoked => "api.key_revoked", "API key revoked",
        WebhookEndpointAdded => "webhooks.endpoint_added", "Webhook endpoint added",
        WebhookEndpointChanged => "webhooks.endpoint_changed", "Webhook endpoint enabled or removed",
    }
);

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
