//! Keys for the developer API (`/api/v1`): what a key may do, and the form that makes one.

use serde::{Deserialize, Serialize};

keyed!(
    /// What a key may do.
    ApiScope {
        Read => "read", "Read only",
        ReadWrite => "read_write", "Read and write",
    }
);

/// A key as the Integrations page lists it (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    /// Its first characters, to tell keys apart ("rfk_Ab3d…").
    pub prefix: String,
    pub scope: ApiScope,
    /// The names of the campaigns it is limited to; empty: every campaign.
    pub campaigns: Vec<String>,
    pub created_by: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// A key just made: the key itself, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApiKey {
    pub key: ApiKey,
    pub secret: String,
}

/// The longest name a key may have.
pub const NAME_MAX: usize = 60;

/// The key's name and scope as typed, checked: the name trimmed, or what is wrong by field.
pub fn check_key_form(
    name: &str,
    scope: &str,
) -> Result<(String, ApiScope), Vec<(String, String)>> {
    let mut errors = Vec::new();
    let name = name.trim().to_string();
    if name.is_empty() {
        errors.push((
            "name".into(),
            "Name the key after what uses it, such as “Signup backend”.".into(),
        ));
    } else if name.chars().count() > NAME_MAX {
        errors.push((
            "name".into(),
            format!("A key's name is at most {NAME_MAX} characters."),
        ));
    }
    let scope = ApiScope::from_key(scope);
    if scope.is_none() {
        errors.push((
            "scope".into(),
            "Choose whether the key may only read, or read and write.".into(),
        ));
    }
    match scope {
        Some(scope) if errors.is_empty() => Ok((name, scope)),
        _ => Err(errors),
    }
}

/// The first characters of a key, as lists show it.
pub fn prefix_of(secret: &str) -> String {
    format!("{}…", secret.chars().take(12).collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_needs_a_short_name_and_a_known_scope() {
        assert_eq!(
            check_key_form("  Signup backend ", "read_write"),
            Ok(("Signup backend".into(), ApiScope::ReadWrite))
        );
        let fields = |r: Result<(String, ApiScope), Vec<(String, String)>>| {
            r.unwrap_err()
                .into_iter()
                .map(|(f, _)| f)
                .collect::<Vec<_>>()
        };
        assert_eq!(fields(check_key_form(" ", "read")), ["name"]);
        assert_eq!(
            fields(check_key_form(&"x".repeat(61), "admin")),
            ["name", "scope"]
        );
        assert_eq!(prefix_of("rfk_abcdefghijklmnop"), "rfk_abcdefgh…");
    }
}
