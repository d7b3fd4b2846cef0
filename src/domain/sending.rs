//! Sending participants into Stripe as customers: the settings a campaign keeps for each
//! audience (people referring, people invited), the checks on them, which customer fields a
//! participant becomes, and the plan for each participant with the reason a marketer reads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    campaigns::{FieldKind, FormField, ToggleState},
    participants::ParticipantKind,
};

/// The name is built from the First name and Last name fields.
pub const FIRST_AND_LAST: &str = "first_last";

/// Metadata keys Refloop writes on every customer it sends or links. A mapping may not use them.
pub const KEY_PARTICIPANT: &str = "refloop_participant";
pub const KEY_LINK: &str = "referral_link";
pub const KEY_CODE: &str = "referral_code";
pub const KEY_CAMPAIGN: &str = "campaign";
pub const KEY_REFERRED_BY: &str = "referred_by";
pub const KEY_REFERRALS: &str = "referrals";
pub const KEY_QUALIFIED: &str = "qualified_referrals";
pub const KEY_PROMOTION_CODE: &str = "referral_promotion_code";
pub const RESERVED_KEYS: [&str; 8] = [
    KEY_PARTICIPANT,
    KEY_LINK,
    KEY_CODE,
    KEY_CAMPAIGN,
    KEY_REFERRED_BY,
    KEY_REFERRALS,
    KEY_QUALIFIED,
    KEY_PROMOTION_CODE,
];

keyed!(
    /// What happens to someone new to Stripe.
    NewPeople {
        CreateOnJoin => "create", "Create the Stripe customer as soon as they join",
        WaitForMySystem => "wait", "Wait for my own system to create the customer, then link it by email",
    }
);

keyed!(
    /// What happens when a customer with the same email is already in Stripe.
    ExistingPolicy {
        Link => "link", "Link to the existing customer and update its metadata",
        CreateNew => "create_new", "Create a new customer anyway",
    }
);

keyed!(
    /// Which customers to link when several share the email.
    DuplicatePolicy {
        MostRecent => "most_recent", "most recent",
        Oldest => "oldest", "oldest",
        All => "all", "all of them",
        NoneFlag => "none", "none (flag it)",
    }
);

/// One metadata key filled from a participant field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataMapping {
    pub key: String,
    pub field: String,
}

/// How one audience of a campaign is sent to Stripe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendSettings {
    /// A participant field key, or `FIRST_AND_LAST`; empty when not mapped.
    pub name: String,
    /// A participant field key (normally `email`); empty when not mapped.
    pub email: String,
    /// Optional field keys; empty for none.
    pub phone: String,
    pub description: String,
    pub metadata: Vec<MetadataMapping>,
    pub new_people: NewPeople,
    /// How long "wait for my system" waits before marking someone never linked.
    pub wait_hours: u32,
    pub existing: ExistingPolicy,
    pub duplicates: DuplicatePolicy,
}

impl SendSettings {
    /// What a new campaign starts with: name from first and last name, email from email.
    pub fn default_for(form: &[FormField]) -> SendSettings {
        let has = |k: FieldKind| form.iter().any(|f| f.kind == k);
        SendSettings {
            name: if has(FieldKind::FirstName) || has(FieldKind::LastName) {
                FIRST_AND_LAST.into()
            } else {
                String::new()
            },
            email: if has(FieldKind::Email) {
                "email".into()
            } else {
                String::new()
            },
            phone: String::new(),
            description: String::new(),
            metadata: Vec::new(),
            new_people: NewPeople::CreateOnJoin,
            wait_hours: 48,
            existing: ExistingPolicy::Link,
            duplicates: DuplicatePolicy::MostRecent,
        }
    }
}

/// Both audiences of a campaign, as its Stripe page shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignSending {
    pub campaign_id: String,
    pub campaign_name: String,
    pub stripe_connected: bool,
    /// Why the viewer may not change anything here, if they may not.
    pub read_only: Option<String>,
    pub audiences: Vec<AudienceSending>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudienceSending {
    pub audience: ParticipantKind,
    /// The sending switch, with what blocks it.
    pub toggle: ToggleState,
    pub settings: SendSettings,
    /// The fields of this audience's form, to map from: (key, label).
    pub fields: Vec<(String, String)>,
    /// How many of them are in each Stripe status: (label, count).
    pub counts: Vec<(String, i64)>,
    /// Participants not in Stripe who could be sent now (Send existing participants).
    pub unsent: i64,
}

/// A campaign's sending switches, as the Integrations page lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignSwitches {
    pub campaign_id: String,
    pub name: String,
    pub toggles: Vec<ToggleState>,
}

/// Which audience a toggle or a participant belongs to, in words.
pub fn audience_label(a: ParticipantKind) -> &'static str {
    match a {
        ParticipantKind::Referring => "People referring",
        ParticipantKind::Invited => "People invited",
    }
}

/// The fields an audience's customers can be mapped from: (key, label).
pub fn mappable_fields(form: &[FormField]) -> Vec<(String, String)> {
    form.iter()
        .map(|f| (f.key.clone(), f.label.clone()))
        .collect()
}

/// What is wrong with a metadata key by Stripe's rule, if anything.
pub fn metadata_key_problem(key: &str) -> Option<String> {
    (key.len() > 40 || key.contains(['[', ']'])).then(|| {
        format!("The metadata key “{key}” must be at most 40 characters, without square brackets (Stripe's rule).")
    })
}

/// Checks settings against the audience's form; every problem with the settings field it is
/// about (`name`, `email`, `phone`, `description`, `metadata`, `wait_hours`).
pub fn check_settings(s: &SendSettings, form: &[FormField]) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    let on_form = |key: &str| form.iter().any(|f| f.key == key);
    let label_of = |key: &str| {
        form.iter()
            .find(|f| f.key == key)
            .map(|f| f.label.clone())
            .unwrap_or_else(|| key.to_string())
    };
    let mut err = |field: &str, message: String| errors.push((field.to_string(), message));
    if s.name.is_empty() {
        err("name", "Map the Stripe customer's Name: Stripe customers need one. Choose a field, or First name + Last name.".into());
    } else if s.name == FIRST_AND_LAST {
        if !form
            .iter()
            .any(|f| matches!(f.kind, FieldKind::FirstName | FieldKind::LastName))
        {
            err("name", "The form asks for no first or last name: choose another field for the Name, or add a First name field.".into());
        }
    } else if !on_form(&s.name) {
        err(
            "name",
            format!(
                "The Name is mapped from “{}”, which is no longer on the form.",
                s.name
            ),
        );
    }
    if s.email.is_empty() {
        err(
            "email",
            "Map the Stripe customer's Email: Refloop finds and links customers by it.".into(),
        );
    } else if !on_form(&s.email) {
        err(
            "email",
            format!(
                "The Email is mapped from “{}”, which is no longer on the form.",
                s.email
            ),
        );
    }
    for (field, key) in [("phone", &s.phone), ("description", &s.description)] {
        if !key.is_empty() && !on_form(key) {
            err(
                field,
                format!("“{key}” is no longer on the form; choose another field or none."),
            );
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for m in &s.metadata {
        let key = m.key.trim();
        if key.is_empty() {
            err(
                "metadata",
                format!(
                    "Give the metadata filled from “{}” a key.",
                    label_of(&m.field)
                ),
            );
        } else if let Some(problem) = metadata_key_problem(key) {
            err("metadata", problem);
        } else if RESERVED_KEYS.contains(&key) {
            err(
                "metadata",
                format!("“{key}” is written by Refloop itself; choose another key."),
            );
        } else if seen.contains(&key) {
            err(
                "metadata",
                format!("The metadata key “{key}” is used twice."),
            );
        } else if !on_form(&m.field) {
            err(
                "metadata",
                format!(
                    "The metadata key “{key}” is filled from “{}”, which is not on the form.",
                    m.field
                ),
            );
        }
        seen.push(key);
    }
    if s.metadata.len() + RESERVED_KEYS.len() > 50 {
        err(
            "metadata",
            "Stripe keeps at most 50 metadata keys; map fewer.".into(),
        );
    }
    if s.new_people == NewPeople::WaitForMySystem && !(1..=720).contains(&s.wait_hours) {
        err(
            "wait_hours",
            "Wait between 1 and 720 hours (30 days) for your system to create the customer.".into(),
        );
    }
    errors
}

/// A participant's values, as the mapping reads them.
#[derive(Debug, Clone, Default)]
pub struct PersonValues {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub fields: BTreeMap<String, String>,
}

impl PersonValues {
    fn get(&self, key: &str) -> String {
        match key {
            "email" => self.email.clone(),
            "first_name" => self.first_name.clone(),
            "last_name" => self.last_name.clone(),
            other => self.fields.get(other).cloned().unwrap_or_default(),
        }
    }
}

/// The customer fields a participant becomes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerFields {
    pub email: String,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub description: Option<String>,
    pub metadata: BTreeMap<String, String>,
}

/// Maps a participant to customer fields, or says why they cannot be sent.
pub fn customer_fields(s: &SendSettings, p: &PersonValues) -> Result<CustomerFields, String> {
    let email = p.get(&s.email).trim().to_lowercase();
    if email.is_empty() {
        return Err(format!(
            "Not sent: {} is empty",
            if s.email == "email" {
                "email".to_string()
            } else {
                format!("the field “{}” mapped to Email", s.email)
            }
        ));
    }
    let name = if s.name == FIRST_AND_LAST {
        format!("{} {}", p.first_name.trim(), p.last_name.trim())
            .trim()
            .to_string()
    } else {
        p.get(&s.name).trim().to_string()
    };
    let optional = |key: &str| {
        (!key.is_empty())
            .then(|| p.get(key).trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let metadata = s
        .metadata
        .iter()
        .map(|m| {
            let value: String = p.get(&m.field).trim().chars().take(500).collect();
            (m.key.trim().to_string(), value)
        })
        .filter(|(_, v)| !v.is_empty())
        .collect();
    Ok(CustomerFields {
        email,
        name: (!name.is_empty()).then_some(name),
        phone: optional(&s.phone),
        description: optional(&s.description),
        metadata,
    })
}

/// What Refloop writes back as customer metadata: the participant's link and code, the
/// campaign, who referred them (people invited) or their referral counts (people referring).
#[derive(Debug, Clone)]
pub struct WriteBack {
    pub participant_id: String,
    pub referral_link: String,
    pub code: String,
    pub campaign: String,
    pub referred_by: Option<String>,
    pub referrals: i64,
    pub qualified_referrals: i64,
    /// Their promotion code for the campaign's friend's offer (people referring).
    pub promotion_code: Option<String>,
}

impl WriteBack {
    pub fn metadata(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::from([
            (KEY_PARTICIPANT.to_string(), self.participant_id.clone()),
            (KEY_LINK.to_string(), self.referral_link.clone()),
            (KEY_CODE.to_string(), self.code.clone()),
            (
                KEY_CAMPAIGN.to_string(),
                self.campaign.chars().take(500).collect(),
            ),
        ]);
        match &self.referred_by {
            Some(by) => {
                m.insert(KEY_REFERRED_BY.to_string(), by.clone());
            }
            None => {
                m.insert(KEY_REFERRALS.to_string(), self.referrals.to_string());
                m.insert(
                    KEY_QUALIFIED.to_string(),
                    self.qualified_referrals.to_string(),
                );
                if let Some(code) = &self.promotion_code {
                    m.insert(KEY_PROMOTION_CODE.to_string(), code.clone());
                }
            }
        }
        m
    }
}

/// A Stripe customer with the participant's email, as the plan sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub id: String,
    pub created: i64,
    /// Refloop created it for this very participant (an earlier try that was cut short).
    pub ours: bool,
}

/// What to do with one participant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Create a customer; `note` says why when customers with the email existed.
    Create {
        note: Option<String>,
    },
    /// The customer an earlier, interrupted try created: adopt it.
    Adopt {
        customer: String,
    },
    /// Link to these customers (and write metadata on them).
    Link {
        customers: Vec<String>,
        note: String,
    },
    /// Wait for the merchant's system to create the customer.
    Wait,
    Skip {
        reason: String,
    },
}

impl Plan {
    /// The dry run's words for it.
    pub fn preview(&self) -> String {
        match self {
            Plan::Create { note: None } => "Would create a new customer".into(),
            Plan::Create { note: Some(n) } => format!("Would create a new customer — {n}"),
            Plan::Adopt { customer } => {
                format!("Would link to {customer}, created by Refloop earlier")
            }
            Plan::Link { customers, note } => {
                format!("Would link to {} — {note}", customers.join(", "))
            }
            Plan::Wait => "Would wait for your system to create a customer with this email".into(),
            Plan::Skip { reason } => format!("Would skip: {reason}"),
        }
    }
}

/// Decides what happens to a participant given the customers that share their email.
/// `waited`: they were waiting for the merchant's system, which has now created one, so the
/// customer is theirs to link whatever the policy for people already in Stripe says.
pub fn plan(s: &SendSettings, found: &[Found], waited: bool) -> Plan {
    if let Some(ours) = found.iter().find(|f| f.ours) {
        return Plan::Adopt {
            customer: ours.id.clone(),
        };
    }
    if found.is_empty() {
        return match s.new_people {
            NewPeople::CreateOnJoin => Plan::Create { note: None },
            NewPeople::WaitForMySystem => Plan::Wait,
        };
    }
    if s.existing == ExistingPolicy::CreateNew && !waited {
        return Plan::Create {
            note: Some(format!(
                "{} already in Stripe with this email ({}); policy: create a new customer anyway",
                count_customers(found.len()),
                found
                    .iter()
                    .map(|f| f.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        };
    }
    if let [only] = found {
        return Plan::Link {
            customers: vec![only.id.clone()],
            note: if waited {
                "created by your system".into()
            } else {
                "already in Stripe with this email; policy: link to the existing customer".into()
            },
        };
    }
    let shared = format!("{} customers share this email", found.len());
    let mut by_age = found.to_vec();
    by_age.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
    let policy = s.duplicates;
    let customers: Vec<String> = match policy {
        DuplicatePolicy::MostRecent => vec![by_age.last().expect("several").id.clone()],
        DuplicatePolicy::Oldest => vec![by_age[0].id.clone()],
        DuplicatePolicy::All => by_age.iter().map(|f| f.id.clone()).collect(),
        DuplicatePolicy::NoneFlag => {
            return Plan::Skip {
                reason: format!(
                    "{shared} ({}); policy: link none and flag it",
                    by_age
                        .iter()
                        .map(|f| f.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }
    };
    Plan::Link {
        customers,
        note: format!("{shared}; policy: {}", policy.label()),
    }
}

fn count_customers(n: usize) -> String {
    if n == 1 {
        "a customer is".into()
    } else {
        format!("{n} customers are")
    }
}

/// One row of the "Send existing participants" dry run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewRow {
    pub participant_id: String,
    pub email: String,
    pub outcome: String,
}

/// The dry run: what would happen to the first participants, and how many there are in all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackfillPreview {
    pub audience: ParticipantKind,
    pub total: i64,
    pub rows: Vec<PreviewRow>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::campaigns::default_form;

    fn settings() -> SendSettings {
        SendSettings::default_for(&default_form())
    }

    fn found(id: &str, created: i64) -> Found {
        Found {
            id: id.into(),
            created,
            ours: false,
        }
    }

    #[test]
    fn name_and_email_are_required_and_named() {
        let form = default_form();
        assert!(check_settings(&settings(), &form).is_empty());
        let mut s = settings();
        s.name.clear();
        s.email.clear();
        let errors = check_settings(&s, &form);
        assert_eq!(errors[0].0, "name");
        assert!(errors[0].1.contains("Name"), "{errors:?}");
        assert_eq!(errors[1].0, "email");
        assert!(errors[1].1.contains("Email"), "{errors:?}");
    }

    #[test]
    fn metadata_keys_are_checked() {
        let form = default_form();
        let mut s = settings();
        s.metadata = vec![
            MetadataMapping {
                key: "referral_code".into(),
                field: "email".into(),
            },
            MetadataMapping {
                key: "source".into(),
                field: "email".into(),
            },
            MetadataMapping {
                key: "source".into(),
                field: "first_name".into(),
            },
            MetadataMapping {
                key: "x".into(),
                field: "nope".into(),
            },
        ];
        let errors: Vec<String> = check_settings(&s, &form).into_iter().map(|e| e.1).collect();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].contains("written by Refloop"));
        assert!(errors[1].contains("used twice"));
        assert!(errors[2].contains("not on the form"));
        s.metadata.clear();
        s.new_people = NewPeople::WaitForMySystem;
        s.wait_hours = 0;
        assert_eq!(check_settings(&s, &form)[0].0, "wait_hours");
    }

    #[test]
    fn a_person_becomes_customer_fields() {
        let mut s = settings();
        s.metadata = vec![MetadataMapping {
            key: "plan".into(),
            field: "plan".into(),
        }];
        let p = PersonValues {
            email: "Ann@Example.com ".into(),
            first_name: "Ann".into(),
            last_name: " Lee".into(),
            fields: BTreeMap::from([("plan".to_string(), "pro".to_string())]),
        };
        let c = customer_fields(&s, &p).unwrap();
        assert_eq!(c.email, "ann@example.com");
        assert_eq!(c.name.as_deref(), Some("Ann Lee"));
        assert_eq!(c.metadata.get("plan").map(String::as_str), Some("pro"));
        let empty = PersonValues::default();
        assert_eq!(
            customer_fields(&s, &empty).unwrap_err(),
            "Not sent: email is empty"
        );
    }

    #[test]
    fn every_policy_branch_plans_what_it_says() {
        let mut s = settings();
        assert_eq!(plan(&s, &[], false), Plan::Create { note: None });
        s.new_people = NewPeople::WaitForMySystem;
        assert_eq!(plan(&s, &[], false), Plan::Wait);
        let one = [found("cus_a", 10)];
        assert!(
            matches!(plan(&s, &one, false), Plan::Link { ref customers, .. } if customers == &["cus_a"])
        );
        let several = [
            found("cus_old", 10),
            found("cus_new", 30),
            found("cus_mid", 20),
        ];
        let Plan::Link { customers, note } = plan(&s, &several, false) else {
            panic!()
        };
        assert_eq!(customers, ["cus_new"]);
        assert_eq!(note, "3 customers share this email; policy: most recent");
        s.duplicates = DuplicatePolicy::Oldest;
        assert!(
            matches!(plan(&s, &several, false), Plan::Link { ref customers, .. } if customers == &["cus_old"])
        );
        s.duplicates = DuplicatePolicy::All;
        assert!(
            matches!(plan(&s, &several, false), Plan::Link { ref customers, .. } if customers.len() == 3)
        );
        s.duplicates = DuplicatePolicy::NoneFlag;
        assert!(
            matches!(plan(&s, &several, false), Plan::Skip { ref reason } if reason.contains("link none"))
        );
        s.existing = ExistingPolicy::CreateNew;
        assert!(
            matches!(plan(&s, &one, false), Plan::Create { note: Some(ref n) } if n.contains("create a new customer anyway"))
        );
        // Waiting people link to what their system created, whatever the policy.
        assert!(matches!(plan(&s, &one, true), Plan::Link { .. }));
        let mine = [
            found("cus_a", 10),
            Found {
                id: "cus_mine".into(),
                created: 5,
                ours: true,
            },
        ];
        assert_eq!(
            plan(&s, &mine, false),
            Plan::Adopt {
                customer: "cus_mine".into()
            }
        );
    }

    #[test]
    fn written_back_metadata_depends_on_the_audience() {
        let mut w = WriteBack {
            participant_id: "par_1".into(),
            referral_link: "https://x/r/abc".into(),
            code: "abc".into(),
            campaign: "Spring".into(),
            referred_by: None,
            referrals: 3,
            qualified_referrals: 1,
            promotion_code: Some("ANN-7K2Q".into()),
        };
        let m = w.metadata();
        assert_eq!(m["referrals"], "3");
        assert_eq!(m["referral_promotion_code"], "ANN-7K2Q");
        assert!(!m.contains_key("referred_by"));
        w.referred_by = Some("xyz".into());
        let m = w.metadata();
        assert_eq!(m["referred_by"], "xyz");
        assert!(!m.contains_key("referrals"));
    }
}
