//! Webhook signatures: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`, HMAC-SHA256 over
//! `"{t}.{raw body}"` keyed with the whole `whsec_…` secret. Any `v1` may match (several during
//! secret rotation); other schemes are ignored; comparison is constant-time; old timestamps
//! are refused. Messages follow Stripe's libraries.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How old a signed timestamp may be, in seconds.
pub const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("Unable to extract timestamp and signatures from header")]
    Malformed,
    #[error("No signatures found with expected scheme v1")]
    NoV1,
    #[error("No signatures found matching the expected signature for payload")]
    NoMatch,
    #[error("Timestamp outside the tolerance zone")]
    TooOld,
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `v1` signature of a payload, in lowercase hex.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    mac(secret, timestamp, body)
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A whole `Stripe-Signature` header for one secret.
pub fn header(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", sign(secret, timestamp, body))
}

/// Checks a header against the raw body with one secret, at time `now`; returns the signed
/// timestamp.
pub fn verify(header: &str, body: &[u8], secret: &str, now: i64) -> Result<i64, SignatureError> {
    let mut timestamp = None;
    let mut v1 = Vec::new();
    for item in header.split(',') {
        let Some((k, v)) = item.trim().split_once('=') else {
            continue;
        };
        match k {
            "t" => timestamp = v.parse::<i64>().ok(),
            "v1" => v1.push(v),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if v1.is_empty() {
        return Err(SignatureError::NoV1);
    }
    let expected = mac(secret, timestamp, body);
    let matched = v1.iter().any(|hex| {
        decode_hex(hex).is_some_and(|bytes| expected.clone().verify_slice(&bytes).is_ok())
    });
    if !matched {
        return Err(SignatureError::NoMatch);
    }
    if now - timestamp > TOLERANCE_SECS {
        return Err(SignatureError::TooOld);
    }
    Ok(timestamp)
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors from ../shared/STRIPE_API.md.
    #[test]
    fn the_published_vectors_verify() {
        let body = br#"{"id":"evt_test_webhook","object":"event"}"#;
        assert_eq!(
            sign("whsec_test_secret", 1_700_000_000, body),
            "d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990"
        );
        let body = br#"{"account":"acct_123","api_version":"2017-05-25","created":1533204620,"data":{"object":{"amount":1000,"currency":"usd","customer":"cus_123","date":1533204620,"description":"Test Invoice Item","discountable":false,"id":"ii_123","invoice":"in_123","livemode":false,"metadata":{},"object":"invoiceitem","period":{"end":1533204620,"start":1533204620},"proration":false,"quantity":3,"quantity_decimal":"0"}},"id":"evt_123","livemode":false,"object":"event","pending_webhooks":1,"request":{"id":"req_123","idempotency_key":"idempotency-key-123"},"type":"invoiceitem.created"}"#;
        assert_eq!(
            sign("secret", 1_533_204_620, body),
            "d7373bc68f4bd320b253cd7461f87af6e1cdf1b4d7db1614d8d1d746972d2d0a"
        );
    }

    #[test]
    fn during_rotation_either_secret_verifies() {
        let body = br#"{"id":"evt_1","object":"event","type":"charge.succeeded"}"#;
        let header = "t=1700000300,v1=b0c907cc0f23cf1a06a52e68edad73f1850641fed4dd08831737b28189cfa910,v1=4ccb07966c980c1c611a19d4bd59442d79d6e74efe3e5d903870625ff5f02920,v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39";
        assert_eq!(
            verify(header, body, "whsec_new", 1_700_000_300),
            Ok(1_700_000_300)
        );
        assert_eq!(
            verify(header, body, "whsec_old", 1_700_000_400),
            Ok(1_700_000_300)
        );
        assert_eq!(
            verify(header, body, "whsec_other", 1_700_000_300),
            Err(SignatureError::NoMatch)
        );
    }

    #[test]
    fn failures_use_stripes_words() {
        let body = b"{}";
        let good = header("whsec_x", 1_000, body);
        assert_eq!(verify(&good, body, "whsec_x", 1_000 + 300), Ok(1_000));
        assert_eq!(
            verify(&good, body, "whsec_x", 1_000 + 301)
                .unwrap_err()
                .to_string(),
            "Timestamp outside the tolerance zone"
        );
        assert_eq!(
            verify("garbage", body, "whsec_x", 0)
                .unwrap_err()
                .to_string(),
            "Unable to extract timestamp and signatures from header"
        );
        assert_eq!(
            verify("t=5,v0=abcd", body, "whsec_x", 5)
                .unwrap_err()
                .to_string(),
            "No signatures found with expected scheme v1"
        );
        assert_eq!(
            verify(&good, b"{ }", "whsec_x", 1_000)
                .unwrap_err()
                .to_string(),
            "No signatures found matching the expected signature for payload"
        );
        assert_eq!(
            verify("t=5,v1=zz", body, "whsec_x", 5),
            Err(SignatureError::NoMatch)
        );
    }
}
