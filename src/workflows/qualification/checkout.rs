//! Payments through Stripe Checkout and Payment Links: a completed session whose
//! `client_reference_id` names a Refloop referral code (or a participant id), or which redeemed
//! the promotion code of a person referring, is attributed to an invited friend: the friend it
//! names, or the friend of the person referring who paid with this email, or a new friend made
//! from the session's customer. Each session is recorded once,
//! attributed or not, with the words that say what became of it.

use serde_json::Value;
use sqlx::{Any, Transaction};

use crate::{
    db::{
        self,
        attribution::CheckoutRow,
        campaigns,
        participants::{self, ParticipantRow, Timeline},
        unix_now,
    },
    domain::{
        attribution::{reference_shape_ok, Evidence},
        campaigns::open_status,
        participants::EventKind,
    },
    error::AppError,
    stripe::types::Event,
    workflows::{
        admit::{self, Newcomer, Source},
        sync::link_existing,
    },
};

/// The Checkout events that say a session was paid.
pub const EVENTS: [&str; 2] = [
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
];

/// What a Checkout Session says about its payment and payer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Session {
    id: String,
    paid: bool,
    reference: Option<String>,
    customer: Option<String>,
    email: Option<String>,
    name: Option<String>,
    payment_intent: Option<String>,
    /// A subscription's first invoice (mode `subscription`, where there is no intent).
    invoice: Option<String>,
    /// When the payer opened the checkout.
    created: i64,
    /// The promotion codes it redeemed (`promo_…`).
    promotion_codes: Vec<String>,
}

fn session_of(event: &Event) -> Option<Session> {
    if !EVENTS.contains(&event.kind.as_str()) {
        return None;
    }
    let o = &event.data.object;
    let text = |v: &Value| {
        v.as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    Some(Session {
        id: text(&o["id"])?,
        // An asynchronous payment method completes the session unpaid; its success follows.
        paid: matches!(
            o["payment_status"].as_str(),
            Some("paid" | "no_payment_required")
        ),
        reference: text(&o["client_reference_id"]),
        customer: text(&o["customer"]),
        email: text(&o["customer_details"]["email"])
            .or_else(|| text(&o["customer_email"]))
            .map(|e| e.to_lowercase()),
        name: text(&o["customer_details"]["name"]),
        payment_intent: text(&o["payment_intent"]),
        invoice: text(&o["invoice"]),
        created: o["created"].as_i64().unwrap_or_default(),
        promotion_codes: o["discounts"]
            .as_array()
            .map(|d| {
                d.iter()
                    .filter_map(|d| d["promotion_code"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// Who a session's evidence names, and why it counts or does not.
enum Decision {
    Friend(ParticipantRow, String),
    SetAside(Option<ParticipantRow>, String),
}

/// Attributes a paid session carrying Refloop evidence; the friends to evaluate. A session
/// seen before (a duplicate, or the asynchronous success after the completion) changes nothing
/// but is evaluated again.
pub(super) async fn attribute(
    tx: &mut Transaction<'static, Any>,
    account_id: &str,
    stripe_account: &str,
    event: &Event,
) -> Result<Vec<String>, AppError> {
    let Some(s) = session_of(event).filter(|s| s.paid) else {
        return Ok(Vec::new());
    };
    // The charge's event and this one take turns on the payment: a subscription's first
    // invoice, or the intent (see `intake::apply`).
    if let Some(turn) = s.invoice.as_ref().or(s.payment_intent.as_ref()) {
        db::attribution::take_payment_turn(&mut **tx, account_id, turn, unix_now()).await?;
    }
    if let Some(recorded) =
        db::attribution::checkout_participant(&mut **tx, account_id, &s.id).await?
    {
        return Ok(recorded.into_iter().collect());
    }
    let now = unix_now();
    // The strongest evidence first: the client_reference_id, then a Refloop promotion code.
    let mut found: Option<(Evidence, String, Decision)> = None;
    if let Some(reference) = s.reference.clone() {
        let named = if reference_shape_ok(&reference) {
            named_by(tx, account_id, &reference).await?
        } else {
            None
        };
        let evidence = format!("client_reference_id {reference} on checkout {}", s.id);
        let decision = match named {
            None => Decision::SetAside(None, format!("{evidence} names nobody in Refloop")),
            Some(person) => decide(tx, person, &s, &evidence, now).await?,
        };
        found = Some((Evidence::ClientReference, reference, decision));
    }
    if !matches!(found, Some((_, _, Decision::Friend(..)))) {
        if let Some((owner, code)) = promotion_code_owner(tx, account_id, &s).await? {
            let evidence = format!("promotion code {code} on checkout {}", s.id);
            let decision = decide(tx, owner, &s, &evidence, now).await?;
            if found.is_none() || matches!(decision, Decision::Friend(..)) {
                found = Some((Evidence::PromotionCode, code, decision));
            }
        }
    }
    let Some((evidence, reference, decision)) = found else {
        return Ok(Vec::new());
    };
    let (friend, referrer, outcome) = match decision {
        Decision::Friend(friend, outcome) => (Some(friend), None, outcome),
        Decision::SetAside(referrer, outcome) => (None, referrer, outcome),
    };
    let campaign = friend
        .as_ref()
        .or(referrer.as_ref())
        .map(|p| p.campaign_id.clone());
    db::attribution::record_checkout(
        &mut **tx,
        &CheckoutRow {
            account_id: account_id.to_string(),
            stripe_account: stripe_account.to_string(),
            session_id: s.id.clone(),
            campaign_id: campaign,
            participant_id: friend.as_ref().map(|f| f.id.clone()),
            payment_intent: s.payment_intent.clone(),
            customer_id: s.customer.clone(),
            email: s.email.clone(),
            evidence,
            reference,
            outcome: outcome.clone(),
            created_at: now,
        },
    )
    .await?;
    match friend {
        Some(friend) => {
            if let Some(customer) = &s.customer {
                let how = format!("checkout {}", s.id);
                link_existing(tx, &friend, customer, &how, now).await?;
            }
            let referrer = match &friend.referrer_id {
                Some(id) => participants::get(&mut **tx, account_id, id).await?,
                None => None,
            };
            let mut timeline = Timeline::default();
            let (kind, echo) = (EventKind::Attributed, EventKind::FriendUpdate);
            timeline.echoed(&friend, kind, &outcome, referrer.as_ref(), echo);
            timeline.write(tx, now).await?;
            // Whoever counted this payment by weaker evidence (its customer, its email) is
            // evaluated again: it is the friend's now.
            let mut friends = vec![friend.id];
            if let Some(intent) = &s.payment_intent {
                for payer in
                    db::qualification::payers_of_intent(&mut **tx, account_id, intent).await?
                {
                    let claimants =
                        db::qualification::friends_paying(&mut **tx, account_id, &payer).await?;
                    friends.extend(claimants.into_iter().map(|(id, _)| id));
                }
            }
            friends.sort();
            friends.dedup();
            Ok(friends)
        }
        None => {
            if let Some(r) = referrer {
                participants::add_event(&mut **tx, &r, EventKind::Attributed, &outcome, now)
                    .await?;
            }
            Ok(Vec::new())
        }
    }
}

/// The person referring whose promotion code the session redeemed, with the code.
async fn promotion_code_owner(
    tx: &mut Transaction<'static, Any>,
    account_id: &str,
    s: &Session,
) -> Result<Option<(ParticipantRow, String)>, sqlx::Error> {
    for promo in &s.promotion_codes {
        if let Some((owner, code)) = db::offers::owner(&mut **tx, account_id, promo).await? {
            if let Some(p) = participants::get(&mut **tx, account_id, &owner).await? {
                return Ok(Some((p, code)));
            }
        }
    }
    Ok(None)
}

/// The participant a client_reference_id names: a referral code, or a participant id.
async fn named_by(
    tx: &mut Transaction<'static, Any>,
    account_id: &str,
    reference: &str,
) -> Result<Option<ParticipantRow>, sqlx::Error> {
    if let Some(p) = participants::by_code(&mut **tx, &reference.to_lowercase()).await? {
        if p.account_id == account_id {
            return Ok(Some(p));
        }
        return Ok(None);
    }
    participants::get(&mut **tx, account_id, reference).await
}

/// The friend a session counts for, given the person its reference names.
async fn decide(
    tx: &mut Transaction<'static, Any>,
    named: ParticipantRow,
    s: &Session,
    evidence: &str,
    now: i64,
) -> Result<Decision, AppError> {
    if named.referrer_id.is_some() {
        // The friend's own link (or id): the payment is theirs, whatever email they paid with.
        return Ok(Decision::Friend(named, format!("Attributed by {evidence}")));
    }
    let Some(email) = s.email.clone() else {
        return Ok(Decision::SetAside(
            Some(named),
            format!("Not attributed: {evidence} has no email to tell who paid"),
        ));
    };
    if email == named.email {
        return Ok(Decision::SetAside(
            Some(named),
            format!("Not attributed: {evidence} was paid by {email}, who is the person referring"),
        ));
    }
    // Under the account's admission lock, so that two payments by someone new make one friend.
    db::accounts::lock_admissions(&mut **tx, &named.account_id).await?;
    if let Some(existing) = participants::by_email(&mut **tx, &named.campaign_id, &email).await? {
        if existing.referrer_id.as_deref() == Some(named.id.as_str()) {
            return Ok(Decision::Friend(
                existing,
                format!("Attributed by {evidence} (paid as {email})"),
            ));
        }
        let how = if existing.referrer_id.is_some() {
            "through someone else's link"
        } else {
            "on their own"
        };
        return Ok(Decision::SetAside(
            Some(named),
            format!("Not attributed: {evidence} was paid by {email}, who had joined {how}; a person counts for one referrer"),
        ));
    }
    // Someone new: they become the friend of the person referring, as if they had joined
    // through the link, under the same rules.
    let Some(c) = campaigns::get(&mut **tx, &named.account_id, &named.campaign_id).await? else {
        return Ok(Decision::SetAside(
            Some(named),
            format!("Not attributed: {evidence}: the campaign is gone"),
        ));
    };
    let Some(referrer) = participants::get(&mut **tx, &named.account_id, &named.id).await? else {
        return Ok(Decision::SetAside(
            None,
            format!("Not attributed: {evidence}: the person referring is gone"),
        ));
    };
    let status = open_status(c.status, c.starts_at, c.ends_at, now);
    if let Err(refusal) = admit::may_admit(tx, &c, status, Some(&referrer), &email).await? {
        return Ok(Decision::SetAside(
            Some(referrer),
            format!(
                "Not attributed: {evidence} was paid by {email}, who could not join: {}",
                refusal.message()
            ),
        ));
    }
    let (first_name, last_name) = split_name(s.name.as_deref().unwrap_or_default());
    let outcome = format!("Attributed by {evidence}");
    let newcomer = Newcomer {
        email: email.clone(),
        first_name,
        last_name,
        fields: Vec::new(),
        source: Source::Checkout {
            customer: s.customer.clone(),
            note: format!(
                "Joined by paying at checkout {} with the referral of {} ({})",
                s.id, referrer.email, referrer.code
            ),
        },
    };
    // They joined when they opened the checkout, so that the payment it made counts.
    let joined_at = if s.created > 0 {
        s.created.min(now)
    } else {
        now
    };
    match admit::admit(tx, &c, Some(&referrer), newcomer, joined_at).await? {
        Some(friend) => Ok(Decision::Friend(friend, outcome)),
        None => Ok(Decision::SetAside(
            Some(referrer),
            format!("Not attributed: {evidence} was paid by {email}, who joined meanwhile"),
        )),
    }
}

/// "Bob van Dijk" → ("Bob", "van Dijk").
fn split_name(name: &str) -> (String, String) {
    let name = name.trim();
    match name.split_once(char::is_whitespace) {
        Some((first, last)) => (first.to_string(), last.trim().to_string()),
        None => (name.to_string(), String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, object: Value) -> Event {
        serde_json::from_value(serde_json::json!({
            "id": "evt_1", "object": "event", "type": kind, "created": 1,
            "data": { "object": object },
        }))
        .unwrap()
    }

    #[test]
    fn a_paid_session_is_read_and_an_unpaid_one_waits() {
        let paid = event(
            "checkout.session.completed",
            serde_json::json!({
                "id": "cs_1", "payment_status": "paid", "client_reference_id": " ann7k2q9 ",
                "customer": null, "customer_email": null, "payment_intent": "pi_1",
                "customer_details": { "email": "Bob@Example.com", "name": "Bob van Dijk" },
            }),
        );
        let s = session_of(&paid).unwrap();
        assert!(s.paid);
        assert_eq!(s.reference.as_deref(), Some("ann7k2q9"));
        assert_eq!(s.email.as_deref(), Some("bob@example.com"));
        assert_eq!(s.customer, None);
        assert_eq!(s.payment_intent.as_deref(), Some("pi_1"));
        assert_eq!(s.created, 0);
        let unpaid = event(
            "checkout.session.completed",
            serde_json::json!({ "id": "cs_2", "payment_status": "unpaid" }),
        );
        assert!(!session_of(&unpaid).unwrap().paid);
        assert_eq!(
            session_of(&event(
                "charge.succeeded",
                serde_json::json!({ "id": "ch_1" })
            )),
            None
        );
    }

    #[test]
    fn names_split_at_the_first_space() {
        assert_eq!(
            split_name(" Bob van Dijk "),
            ("Bob".into(), "van Dijk".into())
        );
        assert_eq!(split_name("Cher"), ("Cher".into(), String::new()));
    }
}
