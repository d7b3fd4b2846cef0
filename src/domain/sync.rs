//! Syncing the merchant's Stripe customers into a campaign as people referring: how a
//! customer's fields become a participant's, and why a customer is not enrolled — decided the
//! same way for the preview, the run and the ongoing sync.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    campaigns::{FieldKind, FormField},
    sending::{metadata_key_problem, KEY_PARTICIPANT},
};

keyed!(
    /// How a participant's first name is taken from the customer's name.
    FirstNameFrom {
        FirstWord => "first_word", "The first word of the name",
        AllButLast => "all_but_last", "All but the last word of the name",
        Whole => "whole", "The whole name",
    }
);

keyed!(
    /// Why a customer was not enrolled.
    SkipReason {
        BlankField => "blank_field", "A mapped field is blank in Stripe",
        AlreadyParticipant => "already_participant", "Already a participant (linked instead)",
        Deleted => "deleted", "Deleted in Stripe",
        UserLimit => "user_limit", "The account's participant limit was reached",
    }
);

keyed!(
    /// A one-time run through the customer list, or a campaign's ongoing sync.
    RunKind {
        Once => "once", "One-time sync",
        Ongoing => "ongoing", "Ongoing sync",
    }
);

keyed!(
    /// Where a sync is.
    RunStatus {
        Reading => "reading", "Reading customers",
        Writing => "writing", "Writing referral links back",
        Done => "done", "Finished",
        Failed => "failed", "Stopped by an error",
        Watching => "watching", "On: enrolling new customers",
        Off => "off", "Switched off",
    }
);

impl RunStatus {
    /// Still doing something (the page keeps refreshing).
    pub fn active(self) -> bool {
        matches!(
            self,
            RunStatus::Reading | RunStatus::Writing | RunStatus::Watching
        )
    }
}

/// Where a participant field's value comes from on the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CustomerSource {
    Name,
    Phone,
    Metadata(String),
}

impl CustomerSource {
    /// "the customer's name", "metadata.plan"
    pub fn describe(&self) -> String {
        match self {
            CustomerSource::Name => "the customer's name".into(),
            CustomerSource::Phone => "the customer's phone".into(),
            CustomerSource::Metadata(key) => format!("metadata.{key}"),
        }
    }
}

/// How customers become participants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncMapping {
    pub first_name: FirstNameFrom,
    /// Other participant fields (by key) and where each comes from.
    pub fields: Vec<(String, CustomerSource)>,
}

impl Default for SyncMapping {
    fn default() -> Self {
        SyncMapping {
            first_name: FirstNameFrom::FirstWord,
            fields: Vec::new(),
        }
    }
}

/// Which customers a sync reads, how they become people referring, and what is written back
/// to each customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncSettings {
    /// Only customers created on or after this moment (Unix seconds); `None`: all of them.
    pub created_after: Option<i64>,
    pub mapping: SyncMapping,
    /// The metadata keys the referral link and the referral code are written under; empty:
    /// not written.
    pub link_key: String,
    pub code_key: String,
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            created_after: None,
            mapping: SyncMapping::default(),
            link_key: "referral_link".into(),
            code_key: "referral_code".into(),
        }
    }
}

impl SyncSettings {
    pub fn writes_back(&self) -> bool {
        !self.link_key.is_empty() || !self.code_key.is_empty()
    }

    /// The metadata written on an enrolled customer.
    pub fn write_back(&self, link: &str, code: &str) -> BTreeMap<String, String> {
        [(&self.link_key, link), (&self.code_key, code)]
            .into_iter()
            .filter(|(k, _)| !k.is_empty())
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect()
    }

    /// "referral link written to metadata.referral_link, code to metadata.referral_code"
    pub fn describe_write_back(&self) -> String {
        match (self.link_key.as_str(), self.code_key.as_str()) {
            ("", "") => "nothing written back".into(),
            (link, "") => format!("referral link written to metadata.{link}"),
            ("", code) => format!("referral code written to metadata.{code}"),
            (link, code) => {
                format!("referral link written to metadata.{link}, code to metadata.{code}")
            }
        }
    }
}

/// Checks sync settings against the referrer form; each problem with the field it is about
/// (`link_key`, `code_key`, `fields`).
pub fn check_settings(s: &SyncSettings, form: &[FormField]) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    let mut err = |field: &str, message: String| errors.push((field.to_string(), message));
    for (field, key) in [("link_key", &s.link_key), ("code_key", &s.code_key)] {
        if let Some(problem) = metadata_key_problem(key) {
            err(field, problem);
        } else if key == KEY_PARTICIPANT {
            err(
                field,
                format!("“{key}” is written by Refloop itself; choose another key."),
            );
        }
    }
    if !s.link_key.is_empty() && s.link_key == s.code_key {
        err(
            "code_key",
            "The link and the code cannot share one metadata key.".into(),
        );
    }
    let mut seen = Vec::new();
    for (key, source) in &s.mapping.fields {
        let Some(f) = form.iter().find(|f| &f.key == key) else {
            err(
                "fields",
                format!("“{key}” is not a field of the form people referring fill in."),
            );
            continue;
        };
        if f.kind.is_identity() {
            err(
                "fields",
                format!(
                    "“{}” comes from the customer's email and name; it cannot be mapped again.",
                    f.label
                ),
            );
        } else if seen.contains(&key) {
            err("fields", format!("“{}” is mapped twice.", f.label));
        }
        seen.push(key);
        if let CustomerSource::Metadata(k) = source {
            if k.trim().is_empty() {
                err(
                    "fields",
                    format!("Name the metadata key “{}” is read from.", f.label),
                );
            } else if let Some(problem) = metadata_key_problem(k) {
                err("fields", problem);
            }
        }
    }
    errors
}

/// A sync as the Promote step and the Users tab show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncProgress {
    pub run_id: String,
    pub kind: RunKind,
    pub status: RunStatus,
    pub started_by: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub read: i64,
    pub enrolled: i64,
    /// Skipped customers by reason (only reasons that happened).
    pub skipped: Vec<(SkipReason, i64)>,
    pub to_write: i64,
    pub written: i64,
    pub write_failed: i64,
    /// Customers read per second, and metadata written per second, over the run so far.
    pub read_rate: f64,
    pub write_rate: f64,
    /// Seconds until the run is done, when that can be told.
    pub eta_secs: Option<i64>,
    /// What stopped it or what it is waiting for, in words.
    pub note: String,
    pub write_back: String,
}

impl SyncProgress {
    pub fn skipped_total(&self) -> i64 {
        self.skipped.iter().map(|(_, n)| n).sum()
    }

    /// How far along, 0–100, for the bar: the share of links written once reading is done
    /// (reading has no known end: Stripe does not say how many customers there are).
    pub fn percent(&self) -> Option<u32> {
        match self.status {
            RunStatus::Done | RunStatus::Failed | RunStatus::Off => Some(100),
            RunStatus::Writing if self.to_write > 0 => Some(
                (((self.written + self.write_failed) * 100) / self.to_write).clamp(0, 100) as u32,
            ),
            _ => None,
        }
    }
}

/// Rates over `elapsed_ms`, and the seconds left: the writes still to do at the write rate,
/// once reading is done.
pub fn pace(
    status: RunStatus,
    read: i64,
    left_to_write: i64,
    written: i64,
    elapsed_ms: i64,
) -> (f64, f64, Option<i64>) {
    let secs = (elapsed_ms.max(1) as f64) / 1000.0;
    let (read_rate, write_rate) = (read as f64 / secs, written as f64 / secs);
    let eta = match status {
        RunStatus::Writing if write_rate > 0.0 => {
            Some((left_to_write as f64 / write_rate).ceil() as i64)
        }
        _ => None,
    };
    (read_rate, write_rate, eta)
}

/// A skipped customer, for the report and its CSV.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedCustomer {
    pub customer_id: String,
    pub email: String,
    pub reason: SkipReason,
    pub detail: String,
    pub at: i64,
}

/// What the wizard's preview says would happen to one customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncPreviewRow {
    pub customer_id: String,
    pub email: String,
    pub name: String,
    pub outcome: String,
    pub enrols: bool,
}

/// The sync page: settings, the latest runs, the ongoing switch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignSync {
    pub campaign_id: String,
    pub campaign_name: String,
    pub stripe_connected: bool,
    pub settings: SyncSettings,
    pub saved: bool,
    /// The referrer form's fields other than email and names: (key, label).
    pub fields: Vec<(String, String)>,
    pub ongoing: bool,
    pub runs: Vec<SyncProgress>,
    /// Why the caller cannot start or change syncs, if they cannot.
    pub read_only: Option<String>,
}

/// What Refloop reads of a Stripe customer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerFacts {
    pub id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub deleted: bool,
}

impl CustomerFacts {
    /// The email as a participant would have it: trimmed, lower case (empty when none).
    pub fn normalised_email(&self) -> String {
        self.email
            .as_deref()
            .unwrap_or_default()
            .trim()
            .to_lowercase()
    }
}

/// A customer as a participant-to-be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedPerson {
    /// Trimmed, lower case.
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// Other fields, by key.
    pub fields: Vec<(String, String)>,
}

fn words(name: &str) -> Vec<&str> {
    name.split_whitespace().collect()
}

/// The first and last names a customer's name gives under `rule`.
pub fn split_name(rule: FirstNameFrom, name: &str) -> (String, String) {
    let w = words(name);
    match (rule, w.len()) {
        (_, 0) => (String::new(), String::new()),
        (FirstNameFrom::Whole, _) => (w.join(" "), String::new()),
        (FirstNameFrom::FirstWord, _) => (w[0].to_string(), w[1..].join(" ")),
        (FirstNameFrom::AllButLast, 1) => (w[0].to_string(), String::new()),
        (FirstNameFrom::AllButLast, n) => (w[..n - 1].join(" "), w[n - 1].to_string()),
    }
}

fn value_of(c: &CustomerFacts, source: &CustomerSource) -> String {
    let text = match source {
        CustomerSource::Name => c.name.as_deref(),
        CustomerSource::Phone => c.phone.as_deref(),
        CustomerSource::Metadata(key) => c.metadata.get(key).map(String::as_str),
    };
    text.unwrap_or_default().trim().to_string()
}

/// The participant a customer becomes, or why they cannot be enrolled and, for a blank field,
/// which one ("First name (from the customer's name)").
pub fn map_customer(
    m: &SyncMapping,
    form: &[FormField],
    c: &CustomerFacts,
) -> Result<MappedPerson, (SkipReason, String)> {
    if c.deleted {
        return Err((SkipReason::Deleted, "deleted in Stripe".into()));
    }
    let blank = |what: String| Err((SkipReason::BlankField, format!("{what} is blank in Stripe")));
    let email = c.normalised_email();
    if email.is_empty() {
        return blank("Email".into());
    }
    let (first_name, last_name) = split_name(m.first_name, c.name.as_deref().unwrap_or_default());
    let first_required = form
        .iter()
        .any(|f| f.kind == FieldKind::FirstName && f.required);
    if first_name.is_empty() && first_required {
        return blank("First name (from the customer's name)".into());
    }
    let mut fields = Vec::new();
    for (key, source) in &m.fields {
        let value = value_of(c, source);
        let field = form.iter().find(|f| &f.key == key);
        if value.is_empty() && field.is_some_and(|f| f.required) {
            let label = field.map(|f| f.label.as_str()).unwrap_or(key);
            return blank(format!("{label} (from {})", source.describe()));
        }
        if !value.is_empty() {
            fields.push((key.clone(), value));
        }
    }
    Ok(MappedPerson {
        email,
        first_name,
        last_name,
        fields,
    })
}

/// The CSV of skipped customers.
pub fn skipped_csv(rows: &[SkippedCustomer]) -> String {
    use super::participants::csv_field as cell;
    let mut out = String::from("customer,email,reason,detail,at\n");
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{}\n",
            cell(&r.customer_id),
            cell(&r.email),
            cell(r.reason.label()),
            cell(&r.detail),
            super::time::format_utc(r.at)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::campaigns::default_form;

    fn customer(email: &str, name: &str) -> CustomerFacts {
        CustomerFacts {
            id: "cus_1".into(),
            email: Some(email.into()),
            name: Some(name.into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_name_splits_as_the_rule_says() {
        let name = "Ann Marie  de Vries";
        assert_eq!(
            split_name(FirstNameFrom::FirstWord, name),
            ("Ann".into(), "Marie de Vries".into())
        );
        assert_eq!(
            split_name(FirstNameFrom::AllButLast, name),
            ("Ann Marie de".into(), "Vries".into())
        );
        assert_eq!(
            split_name(FirstNameFrom::Whole, name),
            ("Ann Marie de Vries".into(), String::new())
        );
        assert_eq!(
            split_name(FirstNameFrom::AllButLast, "Cher"),
            ("Cher".into(), String::new())
        );
        assert_eq!(
            split_name(FirstNameFrom::FirstWord, "  "),
            (String::new(), String::new())
        );
    }

    #[test]
    fn a_customer_maps_to_a_person_or_says_which_field_is_blank() {
        let form = default_form();
        let m = SyncMapping::default();
        let ann = map_customer(&m, &form, &customer(" Ann@X.test ", "Ann Lee")).unwrap();
        assert_eq!(
            (
                ann.email.as_str(),
                ann.first_name.as_str(),
                ann.last_name.as_str()
            ),
            ("ann@x.test", "Ann", "Lee")
        );
        assert_eq!(
            map_customer(&m, &form, &customer("", "Ann")),
            Err((SkipReason::BlankField, "Email is blank in Stripe".into()))
        );
        assert_eq!(
            map_customer(&m, &form, &customer("a@x.test", " ")),
            Err((
                SkipReason::BlankField,
                "First name (from the customer's name) is blank in Stripe".into()
            ))
        );
        let mut gone = customer("a@x.test", "A");
        gone.deleted = true;
        assert_eq!(
            map_customer(&m, &form, &gone).unwrap_err().0,
            SkipReason::Deleted
        );
    }

    #[test]
    fn other_fields_come_from_phone_or_metadata_and_required_ones_must_be_there() {
        let mut form = default_form();
        form.push(FormField {
            key: "plan".into(),
            label: "Plan".into(),
            kind: FieldKind::Text,
            required: true,
        });
        let m = SyncMapping {
            first_name: FirstNameFrom::Whole,
            fields: vec![
                ("plan".into(), CustomerSource::Metadata("plan".into())),
                ("phone".into(), CustomerSource::Phone),
            ],
        };
        let mut c = customer("b@x.test", "Bo");
        assert_eq!(
            map_customer(&m, &form, &c),
            Err((
                SkipReason::BlankField,
                "Plan (from metadata.plan) is blank in Stripe".into()
            ))
        );
        c.metadata.insert("plan".into(), "pro".into());
        let bo = map_customer(&m, &form, &c).unwrap();
        // The phone is not required: left out when blank.
        assert_eq!(bo.fields, [("plan".to_string(), "pro".to_string())]);
    }
}
