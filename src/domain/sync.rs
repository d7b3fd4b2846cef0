//! Syncing the merchant's Stripe customers into a campaign as people referring: how a
//! customer's fields become a participant's, and why a customer is not enrolled — decided the
//! same way for the preview, the run and the ongoing sync.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::campaigns::{FieldKind, FormField};

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
        UserLimit => "user_limit", "The account's user limit was reached",
    }
);

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
    let email = c.email.as_deref().unwrap_or_default().trim().to_lowercase();
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
