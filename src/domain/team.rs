//! The people of an account as the browser sees them.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::permissions::{explain_missing, Helper, Overrides, Permission, Role};

/// The signed-in person, with what they may do and who can help when they may not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub user_id: String,
    pub account_id: String,
    pub account_name: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub permissions: BTreeSet<Permission>,
    /// Teammates who can change permissions (owners first).
    pub helpers: Vec<Helper>,
}

impl CurrentUser {
    pub fn can(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }

    /// Why a control is disabled, or `None` when the person may use it.
    pub fn explain(&self, permission: Permission) -> Option<String> {
        (!self.can(permission)).then(|| explain_missing(permission, &self.helpers))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub overrides: Overrides,
    pub permissions: BTreeSet<Permission>,
    pub joined_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingInvitation {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub invited_by: String,
    pub expires_at: i64,
}

/// What the invitation link shows before the invitee joins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationPreview {
    pub account_name: String,
    pub email: String,
    pub role: Role,
    pub invited_by: String,
}

/// The result of inviting someone: the single-use link, and whether it is also being emailed
/// (a mail server is configured; the job queue delivers it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationSent {
    pub email: String,
    pub link: String,
    pub emailed: bool,
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityEntry {
    pub id: String,
    pub actor_id: Option<String>,
    pub actor_name: String,
    pub kind: String,
    pub kind_label: String,
    pub summary: String,
    pub ip: String,
    pub at: i64,
}

/// Who may create a new Refloop account on the sign-up page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(clap::ValueEnum))]
pub enum SignUpPolicy {
    /// Open until the first account exists, then closed (the default): whoever installs
    /// Refloop signs up first; everyone else joins a team by invitation.
    First,
    /// Anyone may create an account.
    Open,
    /// Nobody: the operator creates accounts with `refloop admin create-account`.
    Closed,
}

impl SignUpPolicy {
    /// Whether a new account may be created now, when `accounts` exist already.
    pub fn allows(self, accounts: i64) -> bool {
        match self {
            SignUpPolicy::Open => true,
            SignUpPolicy::Closed => false,
            SignUpPolicy::First => accounts == 0,
        }
    }
}

#[cfg(test)]
mod sign_up_tests {
    use super::SignUpPolicy;

    #[test]
    fn the_default_policy_opens_only_for_the_first_account() {
        assert!(SignUpPolicy::First.allows(0));
        assert!(!SignUpPolicy::First.allows(1));
        assert!(SignUpPolicy::Open.allows(7));
        assert!(!SignUpPolicy::Closed.allows(0));
    }
}
