//! Input rules for people's names, emails and passwords, with the messages shown for them.

/// Trims and lower-cases an email, or says what is wrong with it.
pub fn email(raw: &str) -> Result<String, String> {
    let email = raw.trim().to_lowercase();
    if email.is_empty() {
        return Err("Enter an email address.".into());
    }
    if email.len() > 254 {
        return Err("That email address is too long (at most 254 characters).".into());
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err(format!("“{email}” is not an email address: it has no @."));
    };
    let valid_domain = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..");
    if local.is_empty()
        || !valid_domain
        || domain.contains('@')
        || email.chars().any(char::is_whitespace)
    {
        return Err(format!(
            "“{email}” is not an email address: use the form name@example.com."
        ));
    }
    Ok(email)
}

/// A person's or company's name: trimmed, 1 to `max` characters.
pub fn name(raw: &str, what: &str, max: usize) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(format!("Enter {what}."));
    }
    if name.chars().count() > max {
        return Err(format!(
            "That is too long for {what} (at most {max} characters)."
        ));
    }
    Ok(name.to_string())
}

pub const MIN_PASSWORD: usize = 10;

/// The password rules: long enough, not too long, not the email, not a well-known password.
pub fn password(password: &str, email: &str) -> Result<(), String> {
    let len = password.chars().count();
    if len < MIN_PASSWORD {
        return Err(format!(
            "Use at least {MIN_PASSWORD} characters for the password (this one has {len})."
        ));
    }
    if len > 128 {
        return Err("Use at most 128 characters for the password.".into());
    }
    let lower = password.to_lowercase();
    let local = email.split('@').next().unwrap_or_default();
    if !local.is_empty() && lower.contains(&local.to_lowercase()) {
        return Err("The password must not contain your email address.".into());
    }
    const COMMON: [&str; 8] = [
        "password",
        "1234567890",
        "qwertyuiop",
        "0123456789",
        "iloveyou",
        "letmein",
        "welcome",
        "referral",
    ];
    if COMMON.iter().any(|c| lower.contains(c))
        || password
            .chars()
            .all(|c| c == password.chars().next().unwrap_or(c))
    {
        return Err(
            "That password is too easy to guess. Use a longer phrase of unrelated words.".into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_or_refused_with_the_reason() {
        assert_eq!(email("  Alice@Example.COM ").unwrap(), "alice@example.com");
        assert_eq!(email("").unwrap_err(), "Enter an email address.");
        assert!(email("alice.example.com").unwrap_err().contains("has no @"));
        for bad in [
            "@example.com",
            "a@b",
            "a@.com",
            "a@b..com",
            "a b@c.com",
            "a@b@c.com",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(name("  Acme  ", "a company name", 80).unwrap(), "Acme");
        assert_eq!(name(" ", "your name", 80).unwrap_err(), "Enter your name.");
        assert!(name(&"x".repeat(81), "your name", 80).is_err());
    }

    #[test]
    fn password_rules_say_what_to_change() {
        assert!(password("correct horse battery", "alice@example.com").is_ok());
        assert_eq!(
            password("short", "a@b.co").unwrap_err(),
            "Use at least 10 characters for the password (this one has 5)."
        );
        assert!(password("alice-secret-1", "alice@example.com")
            .unwrap_err()
            .contains("email"));
        assert!(password("Password123!", "x@y.co")
            .unwrap_err()
            .contains("easy to guess"));
        assert!(password("aaaaaaaaaaaa", "x@y.co").is_err());
        assert!(password(&"long enough ".repeat(12), "x@y.co").is_err());
    }
}
