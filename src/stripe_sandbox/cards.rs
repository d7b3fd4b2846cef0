//! Stripe's test cards: the numbers the hosted page takes, the `pm_card_…` payment methods the
//! API takes, and what a charge says of its card. As on Stripe, a card's `fingerprint` is the
//! same every time it is used within one account and differs between accounts.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A test card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestCard {
    pub number: &'static str,
    pub method: &'static str,
    pub brand: &'static str,
    pub funding: &'static str,
    pub declines: bool,
}

const fn card(
    number: &'static str,
    method: &'static str,
    brand: &'static str,
    funding: &'static str,
) -> TestCard {
    TestCard {
        number,
        method,
        brand,
        funding,
        declines: false,
    }
}

/// The cards the sandbox knows (Stripe's documented test numbers).
pub const CARDS: [TestCard; 7] = [
    card("4242424242424242", "pm_card_visa", "visa", "credit"),
    card("4000056655665556", "pm_card_visa_debit", "visa", "debit"),
    card(
        "5555555555554444",
        "pm_card_mastercard",
        "mastercard",
        "credit",
    ),
    card(
        "5200828282828210",
        "pm_card_mastercard_debit",
        "mastercard",
        "debit",
    ),
    card("378282246310005", "pm_card_amex", "amex", "credit"),
    card("6011111111111117", "pm_card_discover", "discover", "credit"),
    TestCard {
        declines: true,
        ..card(
            "4000000000000002",
            "pm_card_chargeDeclined",
            "visa",
            "credit",
        )
    },
];

impl TestCard {
    /// "Visa ••4242", as the dashboard offers it.
    pub fn label(&self) -> String {
        let brand = match self.brand {
            "amex" => "American Express",
            "mastercard" => "Mastercard",
            "discover" => "Discover",
            _ => "Visa",
        };
        let debit = if self.funding == "debit" {
            " debit"
        } else {
            ""
        };
        format!("{brand}{debit} ••{}", &self.number[self.number.len() - 4..])
    }
}

/// The card with this number (spaces and dashes ignored).
pub fn by_number(number: &str) -> Option<TestCard> {
    let digits: String = number
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    CARDS.into_iter().find(|c| c.number == digits)
}

/// The card a payment method pays with: a known `pm_card_…` (or `tok_…` of the same name), else
/// the Visa card, as the sandbox has always taken any method.
pub fn by_method(method: &str) -> TestCard {
    let method = method.replacen("tok_", "pm_card_", 1);
    let method = if method == "pm_card_visa_chargeDeclined" {
        "pm_card_chargeDeclined"
    } else {
        method.as_str()
    };
    CARDS
        .into_iter()
        .find(|c| c.method == method)
        .unwrap_or(CARDS[0])
}

/// A charge's `payment_method_details` for `card` in `account`.
pub fn details(account: &str, card: TestCard) -> Value {
    json!({
        "type": "card",
        "card": {
            "brand": card.brand,
            "country": "US",
            "exp_month": 12,
            "exp_year": 2034,
            "fingerprint": fingerprint(account, card.number),
            "funding": card.funding,
            "last4": &card.number[card.number.len() - 4..],
        },
    })
}

/// 16 letters and digits, stable for one card number in one account.
fn fingerprint(account: &str, number: &str) -> String {
    const CHARS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    Sha256::digest(format!("refloop sandbox card {account} {number}"))
        .iter()
        .take(16)
        .map(|b| CHARS[*b as usize % CHARS.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cards_fingerprint_is_stable_in_an_account_and_differs_between_accounts_and_cards() {
        let visa = by_method("pm_card_visa");
        let fp = |account, card| details(account, card)["card"]["fingerprint"].clone();
        assert_eq!(
            fp("acct_a", visa),
            fp("acct_a", by_number("4242 4242 4242 4242").unwrap())
        );
        assert_ne!(fp("acct_a", visa), fp("acct_b", visa));
        assert_ne!(
            fp("acct_a", visa),
            fp("acct_a", by_method("pm_card_mastercard"))
        );
        assert_eq!(fp("acct_a", visa).as_str().unwrap().len(), 16);
        assert_eq!(details("acct_a", visa)["card"]["last4"], "4242");
    }

    #[test]
    fn methods_and_numbers_name_the_same_cards() {
        for c in CARDS {
            assert_eq!(by_number(c.number), Some(c));
            assert_eq!(by_method(c.method), c);
        }
        assert!(by_method("tok_chargeDeclined").declines);
        assert!(by_method("pm_card_visa_chargeDeclined").declines);
        assert_eq!(by_method("pm_something_else").method, "pm_card_visa");
        assert_eq!(by_number("1234"), None);
    }
}
