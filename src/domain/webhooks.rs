//! Outbound webhooks: the events Refloop tells the merchant's systems about, how an endpoint's
//! form is checked, and when a failed message is tried again (signing and delivery are the
//! server's, in `workflows::outbound`).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::campaigns::check_landing_url;

keyed!(
    /// What an endpoint may subscribe to.
    WebhookEvent {
        ParticipantJoined => "participant.joined", "Someone joined a campaign",
        ParticipantSentToStripe => "participant.sent_to_stripe", "Someone was sent to Stripe",
        ReferralQualified => "referral.qualified", "A referral qualified",
        ReferralUnqualified => "referral.unqualified", "A referral went back to pending",
        RewardIssued => "reward.issued", "A reward was given",
        RewardReversed => "reward.reversed", "A reward was reversed",
        SyncFinished => "sync.finished", "A Stripe customers sync finished",
    }
);

keyed!(
    /// Where a message stands.
    DeliveryStatus {
        Pending => "pending", "Sending",
        Delivered => "delivered", "Delivered",
        Failed => "failed", "Failed",
    }
);

/// After the first attempt, how long to wait before each next one (seconds): ten attempts
/// over about three days, as Standard Webhooks senders do.
pub const RETRY_DELAYS: [i64; 9] = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000, 86_400, 86_400];

/// When the attempt after attempt number `attempts` (1-based) is due, or `None` when that was
/// the last.
pub fn next_attempt_after(attempts: i64) -> Option<i64> {
    RETRY_DELAYS
        .get(usize::try_from(attempts - 1).ok()?)
        .copied()
}

/// The most of a response body the delivery log keeps.
pub const RESPONSE_KEPT: usize = 1_024;

/// An endpoint as the Integrations page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    pub id: String,
    pub url: String,
    pub events: Vec<WebhookEvent>,
    pub enabled: bool,
    /// Why it was disabled, when it was.
    pub disabled_reason: Option<String>,
    pub created_by: String,
    pub created_at: i64,
    pub deliveries: Vec<WebhookDelivery>,
}

/// A new endpoint, with its signing secret shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewWebhookEndpoint {
    pub endpoint: WebhookEndpoint,
    pub secret: String,
}

/// One message to one endpoint, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    pub id: String,
    pub event: WebhookEvent,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub response_status: Option<i64>,
    pub response_body: String,
    pub created_at: i64,
    pub last_attempt_at: Option<i64>,
    pub next_attempt_at: Option<i64>,
}

/// An endpoint's address and events, as checked.
pub type EndpointForm = (String, Vec<WebhookEvent>);

/// Checks an endpoint's form: an absolute http(s) address and at least one event Refloop sends.
/// Whether the address is public is checked each time it is resolved.
pub fn check_endpoint_form(
    url: &str,
    events: &[String],
) -> Result<EndpointForm, Vec<(String, String)>> {
    let mut errors = Vec::new();
    let url = match check_landing_url(url) {
        Ok(u) if u.is_empty() => {
            errors.push((
                "url".to_string(),
                "Give the endpoint's address, such as https://example.com/webhooks/refloop."
                    .to_string(),
            ));
            u
        }
        Ok(u) if u.split('/').nth(2).is_some_and(|host| host.contains('@')) => {
            errors.push((
                "url".to_string(),
                "Leave credentials out of the address: your endpoint checks the signature instead."
                    .to_string(),
            ));
            u
        }
        Ok(u) => u,
        Err(message) => {
            errors.push(("url".to_string(), message));
            String::new()
        }
    };
    let mut chosen = Vec::new();
    for e in events.iter().filter(|e| !e.is_empty()) {
        match WebhookEvent::from_key(e) {
            Some(k) if !chosen.contains(&k) => chosen.push(k),
            Some(_) => {}
            None => errors.push((
                "events".to_string(),
                format!("“{e}” is not an event Refloop sends."),
            )),
        }
    }
    if chosen.is_empty() && !errors.iter().any(|(f, _)| f == "events") {
        errors.push((
            "events".to_string(),
            "Choose at least one event.".to_string(),
        ));
    }
    if errors.is_empty() {
        Ok((url, chosen))
    } else {
        Err(errors)
    }
}

/// Whether anyone on the internet could reach an address: not loopback, private, link-local,
/// shared (carrier NAT), benchmarking, documentation, multicast, reserved or unspecified.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_unspecified()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let [first, second, ..] = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first == 0x2001 && second == 0x0db8))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "2001:db8::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "1.1.1.1", "2606:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn retries_span_about_three_days_in_ten_attempts() {
        let total: i64 = RETRY_DELAYS.iter().sum();
        assert!((72 * 3600..80 * 3600).contains(&total), "{total}");
        assert_eq!(next_attempt_after(1), Some(5));
        assert_eq!(next_attempt_after(9), Some(86_400));
        assert_eq!(next_attempt_after(10), None);
    }

    #[test]
    fn an_endpoint_needs_an_http_address_and_known_events() {
        let all = vec![
            "participant.joined".to_string(),
            "reward.issued".to_string(),
        ];
        assert_eq!(
            check_endpoint_form(" https://example.com/hooks ", &all),
            Ok((
                "https://example.com/hooks".to_string(),
                vec![WebhookEvent::ParticipantJoined, WebhookEvent::RewardIssued]
            ))
        );
        let fields = |url: &str, events: &[&str]| {
            let events: Vec<String> = events.iter().map(|e| e.to_string()).collect();
            check_endpoint_form(url, &events)
                .unwrap_err()
                .into_iter()
                .map(|(f, _)| f)
                .collect::<Vec<_>>()
        };
        assert_eq!(fields("", &["reward.issued"]), ["url"]);
        assert_eq!(fields("ftp://example.com", &["reward.issued"]), ["url"]);
        assert_eq!(
            fields("https://user:pw@example.com/x", &["reward.issued"]),
            ["url"]
        );
        assert_eq!(fields("https://example.com", &[]), ["events"]);
        assert_eq!(fields("https://example.com", &["reward.paid"]), ["events"]);
    }
}
