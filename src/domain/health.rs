//! Integration health: a check for every problem a Stripe integration can have, and for the
//! campaigns' emails, each passing, warning or failing with the evidence a marketer reads and
//! the fix, where one exists; and the "Why?" of a participant.

use serde::{Deserialize, Serialize};

keyed!(
    /// How a check came out.
    CheckState {
        Pass => "pass", "Passing",
        Warn => "warn", "Warning",
        Fail => "fail", "Failing",
    }
);

impl CheckState {
    fn rank(self) -> u8 {
        match self {
            CheckState::Pass => 0,
            CheckState::Warn => 1,
            CheckState::Fail => 2,
        }
    }

    /// The worse of the two.
    pub fn worse(self, other: CheckState) -> CheckState {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }
}

keyed!(
    /// The checks, in the order the page shows them (the troubleshooting guide's order).
    CheckId {
        Permission => "permission", "Your permission to manage Stripe",
        StripeKey => "stripe_key", "Stripe key and its permissions",
        OneAccount => "one_account", "Connected Stripe account",
        SendMapping => "send_mapping", "Name and email mapped for sending",
        Waiting => "waiting", "People waiting for your system",
        JoinedBeforeSending => "joined_before_sending", "People who joined before sending was on",
        ExistingCustomers => "existing_customers", "Existing Stripe customers and shared emails",
        Webhook => "webhook", "Qualification settings and webhook",
        NearMisses => "near_misses", "Friends who spent, but not enough or too late",
        SharedEmailSpend => "shared_email_spend", "Several Stripe customers with one email",
        CheckoutAttribution => "checkout_attribution", "Payments at checkout with a Refloop code",
        Reviews => "reviews", "Referrals waiting for review",
        Queue => "queue", "Work waiting in the queue",
        UserLimit => "user_limit", "User limit",
        SyncSkips => "sync_skips", "Stripe customers skipped by sync",
        WriteBack => "write_back", "Referral links written to Stripe",
        OngoingSync => "ongoing_sync", "Ongoing sync of new Stripe customers",
        Emails => "emails", "Emails to participants",
        OutboundWebhooks => "outbound_webhooks", "Your webhook endpoints",
    }
);

/// A fix one click away: carried out on the server, which checks the caller may.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HealthAction {
    /// Creates Refloop's webhook endpoint again, or enables it, or adds missing events.
    RepairWebhook,
    /// Sends a campaign's people who are not in Stripe (the backfill).
    SendExisting { campaign_id: String },
    /// Switches a campaign's ongoing sync on.
    StartOngoingSync { campaign_id: String },
}

impl HealthAction {
    /// The permission the same change needs elsewhere.
    pub fn permission(&self) -> super::permissions::Permission {
        use super::permissions::Permission;
        match self {
            HealthAction::RepairWebhook => Permission::ManageIntegrations,
            HealthAction::SendExisting { .. } | HealthAction::StartOngoingSync { .. } => {
                Permission::EditCampaigns
            }
        }
    }
}

/// Where a fix is: a button, or a page that has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HealthFix {
    Action { label: String, action: HealthAction },
    Link { label: String, href: String },
}

impl HealthFix {
    pub fn link(label: impl Into<String>, href: impl Into<String>) -> HealthFix {
        HealthFix::Link {
            label: label.into(),
            href: href.into(),
        }
    }

    pub fn action(label: impl Into<String>, action: HealthAction) -> HealthFix {
        HealthFix::Action {
            label: label.into(),
            action,
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheck {
    pub id: CheckId,
    pub state: CheckState,
    /// One sentence: what is wrong, or that nothing is.
    pub summary: String,
    /// The records behind it, a line each (people, campaigns, amounts, dates).
    pub evidence: Vec<String>,
    pub fixes: Vec<HealthFix>,
}

impl HealthCheck {
    pub fn pass(id: CheckId, summary: impl Into<String>) -> HealthCheck {
        HealthCheck {
            id,
            state: CheckState::Pass,
            summary: summary.into(),
            evidence: Vec::new(),
            fixes: Vec::new(),
        }
    }

    pub fn warn(id: CheckId, summary: impl Into<String>) -> HealthCheck {
        HealthCheck {
            state: CheckState::Warn,
            ..HealthCheck::pass(id, summary)
        }
    }

    pub fn fail(id: CheckId, summary: impl Into<String>) -> HealthCheck {
        HealthCheck {
            state: CheckState::Fail,
            ..HealthCheck::pass(id, summary)
        }
    }

    pub fn with_evidence(mut self, lines: impl IntoIterator<Item = String>) -> HealthCheck {
        self.evidence.extend(lines);
        self
    }

    pub fn with_fix(mut self, fix: HealthFix) -> HealthCheck {
        self.fixes.push(fix);
        self
    }
}

/// Every check, as of `checked_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationHealth {
    pub checks: Vec<HealthCheck>,
    pub checked_at: i64,
}

impl IntegrationHealth {
    pub fn check(&self, id: CheckId) -> Option<&HealthCheck> {
        self.checks.iter().find(|c| c.id == id)
    }

    pub fn count(&self, state: CheckState) -> usize {
        self.checks.iter().filter(|c| c.state == state).count()
    }
}

/// The banner over every page for people who can fix what fails: the failing checks' titles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthBanner {
    pub failing: Vec<(CheckId, String)>,
}

impl HealthBanner {
    /// "Integration health: 2 checks failing: Qualification settings and webhook; User limit."
    pub fn text(&self) -> String {
        let titles: Vec<&str> = self.failing.iter().map(|(id, _)| id.label()).collect();
        format!(
            "Integration health: {} check{} failing: {}.",
            titles.len(),
            if titles.len() == 1 { "" } else { "s" },
            titles.join("; ")
        )
    }
}

/// A step of a participant's "Why?": when, what happened, and what it decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhyStep {
    pub at: i64,
    pub text: String,
}

/// Why a participant stands where they do with Stripe, qualification and rewards: the steps
/// in order, then the conclusion for each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhyAnswer {
    pub participant: String,
    pub stripe: String,
    pub qualification: String,
    pub rewards: String,
    /// Each campaign email that concerns them: what became of it, or why it does not go.
    pub emails: String,
    pub steps: Vec<WhyStep>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_banner_names_each_failing_check() {
        let one = HealthBanner {
            failing: vec![(CheckId::Webhook, "deleted".into())],
        };
        assert_eq!(
            one.text(),
            "Integration health: 1 check failing: Qualification settings and webhook."
        );
        let two = HealthBanner {
            failing: vec![
                (CheckId::Webhook, "deleted".into()),
                (CheckId::UserLimit, "full".into()),
            ],
        };
        assert!(two
            .text()
            .starts_with("Integration health: 2 checks failing: "));
        assert!(two.text().ends_with("; User limit."));
    }

    #[test]
    fn every_check_has_its_own_key() {
        let mut keys: Vec<&str> = CheckId::ALL.iter().map(|c| c.key()).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), CheckId::ALL.len());
    }
}
