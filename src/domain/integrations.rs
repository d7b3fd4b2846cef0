//! What the browser may know about a Stripe connection: never the key, only its hint.

use serde::{Deserialize, Serialize};

keyed!(
    /// Where an account's Stripe is.
    StripeMode {
        Sandbox => "sandbox", "The Stripe sandbox built into Refloop (test mode)",
        Key => "key", "Your own Stripe account, through a secret or restricted key",
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StripeConnection {
    pub mode: StripeMode,
    /// e.g. "rk_test_…a1b2": the kind of key and its last four characters.
    pub key_hint: Option<String>,
    pub livemode: bool,
    /// "Acme Inc (acct_…)", as Stripe named the account when the key was checked.
    pub stripe_account: Option<String>,
    pub connected_by: String,
    pub connected_at: i64,
    /// A permanent failure talking to Stripe (e.g. the key lost a permission), and when.
    pub alert: Option<String>,
    pub alert_at: Option<i64>,
    /// Where to see the customers Refloop sends: the sandbox's dashboard, or Stripe's.
    pub dashboard_url: String,
}

impl StripeConnection {
    pub fn describe(&self) -> String {
        match (self.mode, &self.key_hint) {
            (StripeMode::Sandbox, _) => "Built-in Stripe sandbox (test mode)".to_string(),
            (StripeMode::Key, Some(hint)) => format!(
                "Your Stripe account {}({} mode) with key {hint}",
                self.stripe_account
                    .as_ref()
                    .map(|a| format!("{a} "))
                    .unwrap_or_default(),
                if self.livemode { "live" } else { "test" }
            ),
            (StripeMode::Key, None) => "Your Stripe account".to_string(),
        }
    }
}

/// Checks the shape of a pasted Stripe key; returns whether it is a live-mode key.
/// The restricted-key permissions Refloop needs: the permission, how Stripe's dashboard labels
/// it, and what Refloop does with it.
pub const REQUIRED_PERMISSIONS: [(&str, &str, &str); 7] = [
    (
        "rak_customer_write",
        "Customers: Write",
        "create and update the Stripe customers of people who join",
    ),
    (
        "rak_event_read",
        "Events: Read",
        "catch new customers and payments a webhook missed",
    ),
    (
        "rak_charge_read",
        "Charges: Read",
        "add up what each invited friend spends",
    ),
    (
        "rak_coupon_write",
        "Coupons: Write",
        "create coupon rewards",
    ),
    (
        "rak_promotion_code_write",
        "Promotion codes: Write",
        "give each reward its own promotion code",
    ),
    (
        "rak_customer_balance_write",
        "Customer balance: Write",
        "credit account-balance rewards",
    ),
    (
        "rak_webhook_write",
        "Webhook endpoints: Write",
        "register the webhook that tells Refloop about payments within seconds",
    ),
];

/// The permissions Refloop works without, each losing what it is for.
pub const OPTIONAL_PERMISSIONS: [(&str, &str, &str); 1] = [(
    "rak_balance_read",
    "Balance: Read",
    "count a payment in another currency than a campaign's target at the amount Stripe settled",
)];

/// Stripe's page for creating a restricted key, with every permission Refloop uses ticked.
pub fn key_creation_link() -> String {
    let permissions: String = REQUIRED_PERMISSIONS
        .iter()
        .chain(&OPTIONAL_PERMISSIONS)
        .map(|(p, _, _)| format!("&permissions%5B%5D={p}"))
        .collect();
    format!("https://dashboard.stripe.com/apikeys/create?name=Refloop{permissions}")
}

/// "Customers: Write (to create …)" for each of `permissions` that `missing` names.
fn lacking(permissions: &[(&str, &str, &str)], missing: &[String]) -> Vec<String> {
    permissions
        .iter()
        .filter(|(p, _, _)| missing.iter().any(|m| m == p))
        .map(|(_, label, why)| format!("{label} (to {why})"))
        .collect()
}

/// What to tell someone whose key lacks `missing` (permission names), or `None` if it lacks
/// nothing.
pub fn explain_missing_permissions(missing: &[String]) -> Option<String> {
    let lines = lacking(&REQUIRED_PERMISSIONS, missing);
    (!lines.is_empty()).then(|| {
        format!(
            "This key lacks {} Refloop needs: {}. Create a restricted key with them ticked (the link below fills them in) and paste it here.",
            if lines.len() == 1 { "a permission" } else { "permissions" },
            lines.join("; ")
        )
    })
}

/// What to tell someone whose key lacks `missing` optional permissions, or `None`.
pub fn explain_missing_optional(missing: &[String]) -> Option<String> {
    let lines = lacking(&OPTIONAL_PERMISSIONS, missing);
    (!lines.is_empty()).then(|| {
        format!(
            "This key lacks {}. Refloop works without it, but cannot do that until you connect a key that has it.",
            lines.join("; ")
        )
    })
}

pub fn check_key_format(key: &str) -> Result<bool, String> {
    let key = key.trim();
    if key.is_empty() {
        return Err("Paste your Stripe secret or restricted key.".into());
    }
    if key.starts_with("pk_") {
        return Err("That is a publishable key (pk_…). Refloop needs a restricted key (rk_…) or a secret key (sk_…).".into());
    }
    let live = if key.starts_with("rk_live_") || key.starts_with("sk_live_") {
        true
    } else if key.starts_with("rk_test_") || key.starts_with("sk_test_") {
        false
    } else {
        return Err("A Stripe key starts with rk_test_, rk_live_, sk_test_ or sk_live_.".into());
    };
    if key.len() < 20 || key.chars().any(|c| !c.is_ascii_alphanumeric() && c != '_') {
        return Err(
            "That key looks cut short or has stray characters; copy it again from Stripe.".into(),
        );
    }
    Ok(live)
}

/// "rk_test_…a1b2"
pub fn key_hint(key: &str) -> String {
    let key = key.trim();
    let prefix_len = key.match_indices('_').nth(1).map_or(0, |(i, _)| i + 1);
    format!(
        "{}…{}",
        &key[..prefix_len],
        &key[key.len().saturating_sub(4)..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_permissions_are_named_with_what_to_tick() {
        assert_eq!(explain_missing_permissions(&[]), None);
        let text = explain_missing_permissions(&[
            "rak_charge_read".to_string(),
            "rak_customer_write".to_string(),
        ])
        .unwrap();
        assert!(
            text.starts_with(
                "This key lacks permissions Refloop needs: Customers: Write (to create"
            ),
            "{text}"
        );
        assert!(text.contains("; Charges: Read (to add up"), "{text}");
        let link = key_creation_link();
        assert!(link.starts_with("https://dashboard.stripe.com/apikeys/create?name=Refloop&permissions%5B%5D=rak_customer_write&"));
        assert_eq!(link.matches("permissions%5B%5D=").count(), 8);
        assert!(
            link.ends_with("&permissions%5B%5D=rak_balance_read"),
            "{link}"
        );
        assert_eq!(explain_missing_optional(&[]), None);
        assert_eq!(
            explain_missing_optional(&["rak_balance_read".to_string()]).unwrap(),
            "This key lacks Balance: Read (to count a payment in another currency than a campaign's target at the amount Stripe settled). Refloop works without it, but cannot do that until you connect a key that has it."
        );
    }

    #[test]
    fn keys_are_checked_and_hinted() {
        assert_eq!(check_key_format("rk_test_51Habcdefghijklmnop"), Ok(false));
        assert_eq!(check_key_format(" sk_live_51Habcdefghijklmnop "), Ok(true));
        assert!(check_key_format("pk_test_51Habcdefghijklmnop")
            .unwrap_err()
            .contains("publishable"));
        assert!(check_key_format("hello").is_err());
        assert!(check_key_format("rk_test_12")
            .unwrap_err()
            .contains("cut short"));
        assert!(check_key_format("").is_err());
        assert_eq!(key_hint("rk_test_51Habcdefghijklmnop"), "rk_test_…mnop");
    }
}
