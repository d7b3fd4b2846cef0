//! A campaign's join forms: their fields, how each answer is checked, and what a change to a
//! live campaign's form would break.

use serde::{Deserialize, Serialize};

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
            FieldKind::Email => crate::domain::validate::email(value),
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
