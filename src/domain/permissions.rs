//! Roles, permissions, and per-teammate overrides.
//!
//! The server decides with these rules on every request; the browser uses the same rules only
//! to disable controls and explain why.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

keyed!(
    /// What a teammate is, with the permissions that come with it.
    #[derive(PartialOrd, Ord)]
    Role {
        Owner => "owner", "Owner",
        Admin => "admin", "Admin",
        Manager => "manager", "Manager",
        Viewer => "viewer", "Viewer",
    }
);

keyed!(
    /// What a teammate may do. Manage account (the account itself: its owners and Admins,
    /// ownership, single permissions, the participant limit) is for owners only, never
    /// granted on top of a role.
    #[derive(PartialOrd, Ord)]
    Permission {
        ManageAccount => "manage_account", "Manage account",
        ManageTeam => "manage_team", "Manage team",
        ManageIntegrations => "manage_integrations", "Manage integrations",
        EditCampaigns => "edit_campaigns", "Edit campaigns",
        ViewParticipants => "view_participants", "View participants",
        ExportParticipants => "export_participants", "Export participants",
        ManageRewards => "manage_rewards", "Manage rewards",
        ViewActivity => "view_activity", "View activity",
    }
);

impl Role {
    /// What the role may do before any per-teammate override.
    pub fn defaults(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::Owner => &Permission::ALL,
            Role::Admin => &Permission::GRANTABLE,
            Role::Manager => &[
                EditCampaigns,
                ViewParticipants,
                ExportParticipants,
                ManageRewards,
                ViewActivity,
            ],
            Role::Viewer => &[ViewParticipants],
        }
    }
}

impl Permission {
    /// What an owner may grant or revoke on top of a teammate's role: all but Manage account.
    pub const GRANTABLE: [Permission; 7] = [
        Permission::ManageTeam,
        Permission::ManageIntegrations,
        Permission::EditCampaigns,
        Permission::ViewParticipants,
        Permission::ExportParticipants,
        Permission::ManageRewards,
        Permission::ViewActivity,
    ];

    pub fn grantable(self) -> bool {
        self != Permission::ManageAccount
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Single permissions given or taken away on top of a teammate's role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overrides {
    pub granted: BTreeSet<Permission>,
    pub revoked: BTreeSet<Permission>,
}

impl Overrides {
    /// Stored as `+key,-key,…`; unknown keys are ignored.
    pub fn encode(&self) -> String {
        self.granted
            .iter()
            .map(|p| format!("+{}", p.key()))
            .chain(self.revoked.iter().map(|p| format!("-{}", p.key())))
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn decode(text: &str) -> Overrides {
        let mut o = Overrides::default();
        for item in text.split(',').map(str::trim) {
            if let Some(p) = item.strip_prefix('+').and_then(Permission::from_key) {
                o.granted.insert(p);
            } else if let Some(p) = item.strip_prefix('-').and_then(Permission::from_key) {
                o.revoked.insert(p);
            }
        }
        o
    }

    /// Sets whether `role` plus these overrides allows `permission`, keeping overrides minimal:
    /// an override that agrees with the role's default is dropped.
    pub fn set(&mut self, role: Role, permission: Permission, allowed: bool) {
        self.granted.remove(&permission);
        self.revoked.remove(&permission);
        let by_default = role.defaults().contains(&permission);
        match (by_default, allowed) {
            (false, true) => {
                self.granted.insert(permission);
            }
            (true, false) => {
                self.revoked.insert(permission);
            }
            _ => {}
        }
    }
}

/// What one teammate may do: their role's defaults, plus grants, minus revocations. An Owner
/// may always do everything.
pub fn effective(role: Role, overrides: &Overrides) -> BTreeSet<Permission> {
    if role == Role::Owner {
        return Permission::ALL.into_iter().collect();
    }
    role.defaults()
        .iter()
        .copied()
        .chain(overrides.granted.iter().copied().filter(|p| p.grantable()))
        .filter(|p| !overrides.revoked.contains(p))
        .collect()
}

/// Whether someone holding `actor` (with role `actor_role`) may give a teammate the role `to`:
/// from `from`, or by invitation (`None`); `own` when the teammate is themselves. Owners and
/// Admins are made and unmade only with Manage account (so an Admin cannot do by promotion
/// what they cannot do by invitation), nobody gives a role above their own, and nobody raises
/// their own role.
pub fn may_give_role(
    actor_role: Role,
    actor: &BTreeSet<Permission>,
    own: bool,
    from: Option<Role>,
    to: Role,
) -> Result<(), String> {
    // Roles sort from the most to the least: Owner, Admin, Manager, Viewer.
    if own && from.is_some_and(|from| to < from) {
        return Err("Nobody can raise their own role. Ask an account owner.".into());
    }
    let senior = |r: Role| matches!(r, Role::Owner | Role::Admin);
    if (senior(to) || from.is_some_and(senior)) && !actor.contains(&Permission::ManageAccount) {
        return Err(
            "Only an account owner can make, change or remove an Owner or an Admin.".into(),
        );
    }
    if to < actor_role {
        return Err(format!(
            "You cannot give a role above your own ({actor_role}). Ask an account owner."
        ));
    }
    Ok(())
}

/// A teammate who can help someone who lacks a permission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Helper {
    pub name: String,
    pub email: String,
    pub role: Role,
}

/// "You need Manage integrations. Ask Alice Example (alice@example.com), the account owner."
/// What someone who may look at a page but not act on it is told: the act, and the
/// permission it needs.
pub fn look_only(permission: Permission, act: &str) -> String {
    format!(
        "You can look but not {act}: it needs the “{}” permission.",
        permission.label()
    )
}

pub fn explain_missing(permission: Permission, helpers: &[Helper]) -> String {
    if permission == Permission::ManageAccount {
        let owners: Vec<&Helper> = helpers.iter().filter(|h| h.role == Role::Owner).collect();
        return match owners.as_slice() {
            [] => "Only an account owner can do this.".into(),
            [one] => format!("Only an account owner can do this. Ask {}.", describe(one)),
            many => format!(
                "Only an account owner can do this. Ask {}.",
                many.iter()
                    .map(|h| describe(h))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        };
    }
    let ask = match helpers {
        [] => "Ask the account owner.".to_string(),
        [one] => format!("Ask {}.", describe(one)),
        many => {
            let (last, rest) = many.split_last().expect("non-empty");
            let rest: Vec<String> = rest.iter().map(describe).collect();
            format!("Ask {} or {}.", rest.join(", "), describe(last))
        }
    };
    format!("You need {}. {ask}", permission.label())
}

fn describe(h: &Helper) -> String {
    let role = match h.role {
        Role::Owner => "the account owner",
        Role::Admin => "an admin",
        Role::Manager => "a manager",
        Role::Viewer => "a viewer",
    };
    format!("{} ({}), {role}", h.name, h.email)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Permission::*;

    #[test]
    fn the_default_matrix() {
        let none = Overrides::default();
        assert_eq!(effective(Role::Owner, &none).len(), Permission::ALL.len());
        let admin = effective(Role::Admin, &none);
        assert_eq!(admin.len(), Permission::ALL.len() - 1);
        assert!(!admin.contains(&ManageAccount));
        let manager = effective(Role::Manager, &none);
        assert!(manager.contains(&EditCampaigns) && manager.contains(&ManageRewards));
        assert!(!manager.contains(&ManageTeam) && !manager.contains(&ManageIntegrations));
        let viewer = effective(Role::Viewer, &none);
        assert_eq!(
            viewer.into_iter().collect::<Vec<_>>(),
            vec![ViewParticipants]
        );
    }

    #[test]
    fn grants_and_revocations_adjust_the_role() {
        let mut o = Overrides::default();
        o.set(Role::Viewer, ManageIntegrations, true);
        o.set(Role::Viewer, ViewParticipants, false);
        let viewer = effective(Role::Viewer, &o);
        assert!(viewer.contains(&ManageIntegrations));
        assert!(!viewer.contains(&ViewParticipants));
        // Setting a permission back to the role's default leaves no override behind.
        o.set(Role::Viewer, ViewParticipants, true);
        o.set(Role::Viewer, ManageIntegrations, false);
        assert_eq!(o, Overrides::default());
    }

    #[test]
    fn manage_account_is_never_granted() {
        let mut o = Overrides::default();
        o.granted.insert(ManageAccount);
        assert!(!effective(Role::Admin, &o).contains(&ManageAccount));
        assert!(!ManageAccount.grantable());
        assert_eq!(Permission::GRANTABLE.len() + 1, Permission::ALL.len());
    }

    #[test]
    fn roles_are_given_within_ones_own_reach() {
        let none = Overrides::default();
        let owner = effective(Role::Owner, &none);
        let admin = effective(Role::Admin, &none);
        let mut o = Overrides::default();
        o.set(Role::Manager, ManageTeam, true);
        let manager = effective(Role::Manager, &o);
        // Owners may do anything but raise themselves (they are as high as it goes).
        for to in Role::ALL {
            assert!(may_give_role(Role::Owner, &owner, false, Some(Role::Viewer), to).is_ok());
        }
        // An Admin cannot promote to Admin, which they cannot invite either.
        assert!(
            may_give_role(Role::Admin, &admin, false, Some(Role::Viewer), Role::Admin).is_err()
        );
        assert!(may_give_role(Role::Admin, &admin, false, None, Role::Admin).is_err());
        assert!(
            may_give_role(Role::Admin, &admin, false, Some(Role::Admin), Role::Viewer).is_err()
        );
        assert!(may_give_role(
            Role::Admin,
            &admin,
            false,
            Some(Role::Viewer),
            Role::Manager
        )
        .is_ok());
        // A Manager with Manage team: not above Manager, and never themselves upwards.
        assert!(may_give_role(Role::Manager, &manager, false, None, Role::Manager).is_ok());
        assert!(may_give_role(
            Role::Manager,
            &manager,
            false,
            Some(Role::Viewer),
            Role::Admin
        )
        .is_err());
        let err = may_give_role(
            Role::Viewer,
            &manager,
            true,
            Some(Role::Viewer),
            Role::Manager,
        )
        .unwrap_err();
        assert!(err.contains("raise their own role"), "{err}");
        // Stepping down is always one's own choice.
        assert!(may_give_role(
            Role::Manager,
            &manager,
            true,
            Some(Role::Manager),
            Role::Viewer
        )
        .is_ok());
    }

    #[test]
    fn an_owner_cannot_lose_a_permission() {
        let mut o = Overrides::default();
        o.revoked.insert(ManageTeam);
        assert!(effective(Role::Owner, &o).contains(&ManageTeam));
    }

    #[test]
    fn overrides_survive_storage() {
        let mut o = Overrides::default();
        o.set(Role::Manager, ManageIntegrations, true);
        o.set(Role::Manager, ExportParticipants, false);
        let text = o.encode();
        assert_eq!(text, "+manage_integrations,-export_participants");
        assert_eq!(Overrides::decode(&text), o);
        assert_eq!(
            Overrides::decode("+nonsense,,-view_activity").revoked.len(),
            1
        );
    }

    #[test]
    fn keys_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::from_key(r.key()), Some(r));
        }
        for p in Permission::ALL {
            assert_eq!(Permission::from_key(p.key()), Some(p));
        }
    }

    #[test]
    fn the_explanation_names_who_can_help() {
        let alice = Helper {
            name: "Alice Example".into(),
            email: "alice@example.com".into(),
            role: Role::Owner,
        };
        assert_eq!(
            explain_missing(ManageIntegrations, std::slice::from_ref(&alice)),
            "You need Manage integrations. Ask Alice Example (alice@example.com), the account owner."
        );
        let bob = Helper {
            name: "Bob".into(),
            email: "bob@example.com".into(),
            role: Role::Admin,
        };
        assert_eq!(
            explain_missing(ManageTeam, &[alice, bob]),
            "You need Manage team. Ask Alice Example (alice@example.com), the account owner or \
             Bob (bob@example.com), an admin."
        );
    }
}
