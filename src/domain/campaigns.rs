//! Campaigns and who may join them: the rules the public pages, the builder and imports share.
//! Pure Rust, so the browser can check a form as it is filled in and the server decides with
//! the very same code.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CampaignStatus {
    Draft,
    Live,
    Paused,
    Ended,
}

impl CampaignStatus {
    pub fn key(self) -> &'static str {
        match self {
            CampaignStatus::Draft => "draft",
            CampaignStatus::Live => "live",
            CampaignStatus::Paused => "paused",
            CampaignStatus::Ended => "ended",
        }
    }

    pub fn from_key(key: &str) -> Option<CampaignStatus> {
        [
            CampaignStatus::Draft,
            CampaignStatus::Live,
            CampaignStatus::Paused,
            CampaignStatus::Ended,
        ]
        .into_iter()
        .find(|s| s.key() == key)
    }
}

/// A public slug: 3–60 lowercase letters, digits and single dashes, not at either end.
pub fn check_slug(raw: &str) -> Result<String, String> {
    let slug = raw.trim().to_lowercase();
    if slug.len() < 3 || slug.len() > 60 {
        return Err("Use 3 to 60 characters for the link name.".into());
    }
    if !slug
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(
            "Use only letters, digits and dashes in the link name (e.g. spring-referrals).".into(),
        );
    }
    if slug.starts_with('-') || slug.ends_with('-') || slug.contains("--") {
        return Err("Dashes go between words in the link name, one at a time.".into());
    }
    Ok(slug)
}

/// The kind of a form field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FieldKind {
    FirstName,
    LastName,
    Email,
    Text,
    Number,
    Select(Vec<String>),
    Checkbox,
}

/// One field of a join form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormField {
    /// Stable key, e.g. `first_name`, `company_size`.
    pub key: String,
    pub label: String,
    pub kind: FieldKind,
    pub required: bool,
}

impl FormField {
    /// Checks one submitted value; returns it cleaned (trimmed, normalised) or what is wrong.
    pub fn check(&self, raw: Option<&str>) -> Result<String, String> {
        let value = raw.map(str::trim).unwrap_or_default();
        if value.is_empty() {
            return if self.required && self.kind != FieldKind::Checkbox {
                Err(format!("Fill in {}.", self.label))
            } else if self.required {
                Err(format!("Tick “{}” to continue.", self.label))
            } else {
                Ok(String::new())
            };
        }
        match &self.kind {
            FieldKind::Email => super::validate::email(value),
            FieldKind::FirstName | FieldKind::LastName | FieldKind::Text => {
                if value.chars().count() > 200 {
                    Err(format!(
                        "{} is too long (at most 200 characters).",
                        self.label
                    ))
                } else {
                    Ok(value.to_string())
                }
            }
            FieldKind::Number => value
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .map(|_| value.to_string())
                .ok_or_else(|| format!("{} must be a number.", self.label)),
            FieldKind::Select(options) => options
                .iter()
                .find(|o| o.as_str() == value)
                .cloned()
                .ok_or_else(|| format!("Choose one of the options for {}.", self.label)),
            FieldKind::Checkbox => Ok(if matches!(value, "on" | "true" | "yes" | "1") {
                "yes".into()
            } else {
                String::new()
            }),
        }
    }
}

/// The email field every join form must keep: it is how people are told apart.
pub fn check_form(fields: &[FormField]) -> Result<(), String> {
    match fields.iter().find(|f| f.kind == FieldKind::Email) {
        None => Err("A join form needs an email field: it is how Refloop tells people apart and finds them in Stripe.".into()),
        Some(f) if !f.required => Err("The email field must be required.".into()),
        Some(_) => {
            let mut keys: Vec<&str> = fields.iter().map(|f| f.key.as_str()).collect();
            keys.sort_unstable();
            match keys.windows(2).find(|w| w[0] == w[1]) {
                Some(dup) => Err(format!("Two fields share the key `{}`.", dup[0])),
                None => Ok(()),
            }
        }
    }
}

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
    pub account_limit: u64,
}

/// Why someone cannot join, in the words the public page shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum JoinRefusal {
    NotOpen(CampaignStatus),
    AlreadyJoined,
    SelfReferral,
    ReferrerAtCap(u32),
    AccountFull,
}

impl JoinRefusal {
    pub fn message(&self) -> String {
        match self {
            JoinRefusal::NotOpen(CampaignStatus::Paused) => "This referral program is paused. Please check back soon.".into(),
            JoinRefusal::NotOpen(CampaignStatus::Ended) => "This referral program has ended. Thank you for your interest.".into(),
            JoinRefusal::NotOpen(_) => "This referral program is not open yet.".into(),
            JoinRefusal::AlreadyJoined => "You have already joined with this email. Use the link you were given, or sign in with another email.".into(),
            JoinRefusal::SelfReferral => "You cannot use your own referral link. Share it with friends instead.".into(),
            JoinRefusal::ReferrerAtCap(cap) => format!("The person who invited you has reached this program's limit of {cap} referrals. You can still join on your own."),
            JoinRefusal::AccountFull => "This referral program is full right now. Please try again later.".into(),
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
    if ctx.account_participants >= ctx.account_limit {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn field(key: &str, kind: FieldKind, required: bool) -> FormField {
        FormField {
            key: key.into(),
            label: key.replace('_', " "),
            kind,
            required,
        }
    }

    fn live<'a>(existing: &'a [String]) -> JoinContext<'a> {
        JoinContext {
            status: CampaignStatus::Live,
            existing,
            referrer: None,
            referral_cap: None,
            account_participants: 10,
            account_limit: 5_000,
        }
    }

    #[test]
    fn slugs_are_checked_and_normalised() {
        assert_eq!(
            check_slug(" Spring-Referrals ").unwrap(),
            "spring-referrals"
        );
        assert!(check_slug("ab").is_err());
        assert!(check_slug("spring referrals")
            .unwrap_err()
            .contains("letters, digits and dashes"));
        assert!(check_slug("-spring").is_err());
        assert!(check_slug("spring--x").is_err());
        for s in ["draft", "live", "paused", "ended"] {
            assert_eq!(CampaignStatus::from_key(s).unwrap().key(), s);
        }
    }

    #[test]
    fn fields_check_their_values() {
        let email = field("email", FieldKind::Email, true);
        assert_eq!(
            email.check(Some(" Ann@Example.com ")).unwrap(),
            "ann@example.com"
        );
        assert_eq!(email.check(None).unwrap_err(), "Fill in email.");
        let size = field("company_size", FieldKind::Number, false);
        assert_eq!(size.check(Some("")).unwrap(), "");
        assert!(size
            .check(Some("many"))
            .unwrap_err()
            .contains("must be a number"));
        let plan = field(
            "plan",
            FieldKind::Select(vec!["basic".into(), "pro".into()]),
            true,
        );
        assert_eq!(plan.check(Some("pro")).unwrap(), "pro");
        assert!(plan.check(Some("gold")).is_err());
        let terms = field("terms", FieldKind::Checkbox, true);
        assert!(terms.check(None).unwrap_err().contains("Tick"));
        assert_eq!(terms.check(Some("on")).unwrap(), "yes");
    }

    #[test]
    fn a_form_keeps_a_required_email() {
        let first = field("first_name", FieldKind::FirstName, true);
        assert!(check_form(std::slice::from_ref(&first))
            .unwrap_err()
            .contains("needs an email field"));
        assert!(
            check_form(&[first.clone(), field("email", FieldKind::Email, false)])
                .unwrap_err()
                .contains("must be required")
        );
        assert!(check_form(&[first.clone(), field("email", FieldKind::Email, true)]).is_ok());
        assert!(
            check_form(&[first.clone(), first, field("email", FieldKind::Email, true)])
                .unwrap_err()
                .contains("share the key")
        );
    }

    #[test]
    fn the_join_rules() {
        let existing = vec!["ann@example.com".to_string()];
        assert_eq!(may_join("bob@example.com", &live(&existing)), Ok(()));
        assert_eq!(
            may_join("ann@example.com", &live(&existing)),
            Err(JoinRefusal::AlreadyJoined)
        );
        for status in [
            CampaignStatus::Draft,
            CampaignStatus::Paused,
            CampaignStatus::Ended,
        ] {
            let ctx = JoinContext {
                status,
                ..live(&existing)
            };
            assert_eq!(
                may_join("bob@example.com", &ctx),
                Err(JoinRefusal::NotOpen(status))
            );
        }
        let referred = JoinContext {
            referrer: Some(("ann@example.com", 2)),
            referral_cap: Some(3),
            ..live(&existing)
        };
        assert_eq!(may_join("bob@example.com", &referred), Ok(()));
        assert_eq!(
            may_join("ann@example.com", &referred),
            Err(JoinRefusal::SelfReferral)
        );
        let capped = JoinContext {
            referrer: Some(("ann@example.com", 3)),
            referral_cap: Some(3),
            ..live(&existing)
        };
        assert_eq!(
            may_join("bob@example.com", &capped),
            Err(JoinRefusal::ReferrerAtCap(3))
        );
        assert!(JoinRefusal::ReferrerAtCap(3)
            .message()
            .contains("limit of 3 referrals"));
        let full = JoinContext {
            account_participants: 5_000,
            ..live(&existing)
        };
        assert_eq!(
            may_join("bob@example.com", &full),
            Err(JoinRefusal::AccountFull)
        );
    }

    #[test]
    fn the_limit_banner_appears_at_80_and_100_percent() {
        assert_eq!(limit_warning(3_999, 5_000), None);
        assert!(limit_warning(4_000, 5_000)
            .unwrap()
            .contains("4000 of its 5000 participants (80%)"));
        assert!(limit_warning(5_000, 5_000)
            .unwrap()
            .contains("reached its limit of 5000"));
        assert_eq!(limit_warning(0, 0), None);
    }
}
