//! Campaigns and who may join them: the rules the public pages, the builder and imports share.
//! Pure Rust, so the browser can check a form as it is filled in and the server decides with
//! the very same code.

use serde::{Deserialize, Serialize};

use super::participants::ParticipantKind;

keyed!(
    /// Where a campaign is in its life.
    CampaignStatus {
        Draft => "draft", "Draft",
        Live => "live", "Live",
        Paused => "paused", "Paused",
        Ended => "ended", "Ended",
    }
);

/// The status people meet: a live campaign is not open before its start date and has ended
/// after its end date.
pub fn open_status(
    status: CampaignStatus,
    starts_at: Option<i64>,
    ends_at: Option<i64>,
    now: i64,
) -> CampaignStatus {
    match status {
        CampaignStatus::Live if starts_at.is_some_and(|s| now < s) => CampaignStatus::Draft,
        CampaignStatus::Live if ends_at.is_some_and(|e| now >= e) => CampaignStatus::Ended,
        other => other,
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

/// The longest number a public form takes ("0000…1" parses, but is no number anyone types).
pub const MAX_NUMBER_CHARS: usize = 30;

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
            FieldKind::Number if value.chars().count() > MAX_NUMBER_CHARS => Err(format!(
                "{} is too long for a number (at most {MAX_NUMBER_CHARS} characters).",
                self.label
            )),
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

/// The key of a custom field, from its label: `Company size` → `company_size`.
pub fn field_key(label: &str) -> String {
    let mut key = String::new();
    for c in label.trim().to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            key.push(c);
        } else if !key.ends_with('_') && !key.is_empty() {
            key.push('_');
        }
    }
    key.trim_end_matches('_').to_string()
}

/// The standard fields a new campaign's forms start with.
pub fn default_form() -> Vec<FormField> {
    vec![
        FormField {
            key: "first_name".into(),
            label: "First name".into(),
            kind: FieldKind::FirstName,
            required: true,
        },
        FormField {
            key: "last_name".into(),
            label: "Last name".into(),
            kind: FieldKind::LastName,
            required: false,
        },
        FormField {
            key: "email".into(),
            label: "Email".into(),
            kind: FieldKind::Email,
            required: true,
        },
    ]
}

impl FieldKind {
    /// Email and the names: kept in the participant's own columns, not among their fields.
    pub fn is_identity(&self) -> bool {
        matches!(
            self,
            FieldKind::Email | FieldKind::FirstName | FieldKind::LastName
        )
    }

    pub fn key(&self) -> &'static str {
        match self {
            FieldKind::FirstName => "first_name",
            FieldKind::LastName => "last_name",
            FieldKind::Email => "email",
            FieldKind::Text => "text",
            FieldKind::Number => "number",
            FieldKind::Select(_) => "select",
            FieldKind::Checkbox => "checkbox",
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            FieldKind::FirstName => "First name",
            FieldKind::LastName => "Last name",
            FieldKind::Email => "Email",
            FieldKind::Text => "Text",
            FieldKind::Number => "Number",
            FieldKind::Select(_) => "Choice",
            FieldKind::Checkbox => "Checkbox",
        }
    }

    /// The kinds offered in the builder (a choice starts without options).
    pub fn all() -> [FieldKind; 7] {
        [
            FieldKind::FirstName,
            FieldKind::LastName,
            FieldKind::Email,
            FieldKind::Text,
            FieldKind::Number,
            FieldKind::Select(Vec::new()),
            FieldKind::Checkbox,
        ]
    }

    pub fn from_key(key: &str) -> Option<FieldKind> {
        FieldKind::all().into_iter().find(|k| k.key() == key)
    }
}

/// Gives new custom fields a key from their label, and standard fields their fixed key.
pub fn normalise_form(fields: Vec<FormField>) -> Vec<FormField> {
    fields
        .into_iter()
        .map(|mut f| {
            f.label = f.label.trim().to_string();
            f.key = match &f.kind {
                FieldKind::FirstName | FieldKind::LastName | FieldKind::Email => {
                    f.kind.key().to_string()
                }
                _ if f.key.trim().is_empty() => field_key(&f.label),
                _ => f.key.trim().to_string(),
            };
            if let FieldKind::Select(options) = &mut f.kind {
                options.retain(|o| !o.trim().is_empty());
                options.iter_mut().for_each(|o| *o = o.trim().to_string());
            }
            f
        })
        .collect()
}

/// Checks every field of a form as the builder edits it. Errors are keyed
/// `{index}.label` / `{index}.options`, plus `form` for the form as a whole.
pub fn check_form_fields(fields: &[FormField]) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        if f.label.trim().is_empty() {
            errors.push((format!("{i}.label"), "Give this field a label.".to_string()));
        } else if f.label.chars().count() > 80 {
            errors.push((
                format!("{i}.label"),
                "Keep the label under 80 characters.".to_string(),
            ));
        } else if f.key.is_empty() {
            errors.push((
                format!("{i}.label"),
                "Use at least one letter or digit in the label.".to_string(),
            ));
        }
        if let FieldKind::Select(options) = &f.kind {
            if options.iter().all(|o| o.trim().is_empty()) {
                errors.push((
                    format!("{i}.options"),
                    "List at least one option, separated by commas.".to_string(),
                ));
            }
        }
    }
    if let Err(message) = check_form(fields) {
        errors.push(("form".to_string(), message));
    }
    errors
}

/// What saving a change to a live campaign would break, said before it is saved.
pub fn live_change_warnings(
    old_slug: &str,
    new_slug: &str,
    old_fields: &[FormField],
    new_fields: &[FormField],
) -> Vec<String> {
    let mut warnings = Vec::new();
    if old_slug != new_slug {
        warnings.push(format!(
            "The join link changes from /j/{old_slug} to /j/{new_slug}: links already shared stop working."
        ));
    }
    for old in old_fields {
        match new_fields.iter().find(|f| f.key == old.key) {
            None => warnings.push(format!(
                "Removing “{}” hides what participants already entered in it.",
                old.label
            )),
            Some(new) if new.kind.key() != old.kind.key() => warnings.push(format!(
                "“{}” changes from {} to {}: answers already given may no longer fit.",
                old.label,
                old.kind.label(),
                new.kind.label()
            )),
            Some(new) if new.required && !old.required => warnings.push(format!(
                "“{}” becomes required: people who joined without it keep an empty answer.",
                new.label
            )),
            Some(_) => {}
        }
    }
    warnings
}

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
/// `stripe_send::check_settings`).
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

/// The builder's Setup step, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignSetup {
    pub name: String,
    pub slug: String,
    /// "YYYY-MM-DD" or empty.
    pub starts_on: String,
    pub ends_on: String,
    /// A number, or empty for no cap.
    pub referral_cap: String,
    pub share_text: String,
}

/// A campaign in the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignSummary {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub status: CampaignStatus,
    pub participants: i64,
    pub created_at: i64,
}

/// A campaign as the builder edits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignDetail {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub status: CampaignStatus,
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    pub referral_cap: Option<i64>,
    pub share_text: String,
    pub referrer_form: Vec<FormField>,
    pub friend_form: Vec<FormField>,
    pub toggles: Vec<ToggleState>,
    /// `https://refloop.example.com/j/{slug}`.
    pub join_link: String,
    /// The referral link with `{code}` where each person's code goes.
    pub referral_link_format: String,
    pub participants: i64,
}

/// A campaign's public join page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicCampaign {
    pub name: String,
    pub slug: String,
    pub form: Vec<FormField>,
    /// Why nobody can join now (paused, ended, not open, full), if so.
    pub closed: Option<String>,
    /// The person who invited the visitor, when they came through a referral link.
    pub referrer_name: Option<String>,
    pub referral_code: Option<String>,
}

/// The personal page of someone who joined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalPage {
    pub campaign_name: String,
    pub first_name: String,
    pub code: String,
    pub referral_link: String,
    pub share_text: String,
    pub friends_joined: i64,
    pub friends_qualified: i64,
    /// What they have earned so far, one line each (with promotion codes).
    pub rewards: Vec<String>,
    pub invited_by: Option<String>,
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
    /// The form's hidden honeypot field was filled in: a bot, not a person.
    Automated,
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
        assert_eq!(size.check(Some("1e3")).unwrap(), "1e3");
        let huge = format!("1{}", "0".repeat(100_000));
        assert!(size.check(Some(&huge)).unwrap_err().contains("too long"));
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
    fn dates_open_and_close_a_live_campaign() {
        let live = CampaignStatus::Live;
        assert_eq!(
            open_status(live, Some(100), Some(200), 50),
            CampaignStatus::Draft
        );
        assert_eq!(open_status(live, Some(100), Some(200), 150), live);
        assert_eq!(
            open_status(live, Some(100), Some(200), 200),
            CampaignStatus::Ended
        );
        assert_eq!(
            open_status(CampaignStatus::Paused, None, None, 150),
            CampaignStatus::Paused
        );
    }

    #[test]
    fn builder_checks_and_live_warnings() {
        assert_eq!(field_key(" Company size (approx.) "), "company_size_approx");
        let mut fields = default_form();
        assert!(check_form_fields(&fields).is_empty());
        fields.push(FormField {
            key: String::new(),
            label: "  ".into(),
            kind: FieldKind::Select(vec![" ".into()]),
            required: false,
        });
        let errors = check_form_fields(&fields);
        assert_eq!(
            errors.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            vec!["3.label", "3.options"]
        );
        let without_email: Vec<FormField> = default_form()
            .into_iter()
            .filter(|f| f.kind != FieldKind::Email)
            .collect();
        assert_eq!(check_form_fields(&without_email)[0].0, "form");

        let old = default_form();
        let mut new = default_form();
        new.retain(|f| f.key != "last_name");
        new[0].kind = FieldKind::Text;
        let warnings = live_change_warnings("spring", "summer", &old, &new);
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings[0].contains("/j/spring to /j/summer"));
        assert!(warnings[1].contains("First name"));
        assert!(warnings[2].contains("Removing “Last name”"));
        assert!(live_change_warnings("spring", "spring", &old, &old).is_empty());
    }

    #[test]
    fn toggles_explain_what_blocks_them() {
        let blocker = |t, connected, problem: Option<&str>, permission: Option<&str>| {
            toggle_blocker(
                t,
                "cmp_1",
                connected,
                problem.map(String::from),
                permission.map(String::from),
            )
        };
        assert_eq!(
            blocker(PromoteToggle::SendReferrers, false, None, None)
                .unwrap()
                .fix_href,
            "/app/integrations"
        );
        assert_eq!(
            blocker(PromoteToggle::SendReferrers, true, None, None),
            None
        );
        let missing =
            blocker(PromoteToggle::SendFriends, true, Some("Map the Name"), None).unwrap();
        assert_eq!(missing.reason, "Map the Name");
        assert_eq!(missing.fix_href, "/app/campaigns/cmp_1/stripe");
        let unset = blocker(
            PromoteToggle::OngoingSync,
            true,
            Some("Set up the sync"),
            None,
        )
        .unwrap();
        assert_eq!(unset.fix_href, "/app/campaigns/cmp_1/sync");
        assert_eq!(blocker(PromoteToggle::OngoingSync, true, None, None), None);
        assert_eq!(
            blocker(PromoteToggle::OngoingSync, true, None, Some("Ask Alice"))
                .unwrap()
                .reason,
            "Ask Alice"
        );
        for t in PromoteToggle::ALL {
            assert_eq!(PromoteToggle::from_key(t.key()), Some(t));
        }
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
