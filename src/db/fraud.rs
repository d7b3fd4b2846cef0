//! Referrals flagged for review: the signs that fired with their evidence, and the team's
//! decision. Every statement is scoped to the account.

use std::collections::HashMap;

use sqlx::{Any, Executor};

use super::participants::ParticipantRow;
use crate::domain::fraud::{AddressUse, Card, CardUse, Finding, ReviewState, NETWORK_WINDOW};

/// A flagged referral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub findings: Vec<Finding>,
    pub state: ReviewState,
    pub decided_by: Option<String>,
}

/// Flags the friend `participant_id` for review (once: a second flag keeps the first).
pub async fn flag<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    campaign_id: &str,
    participant_id: &str,
    findings: &[Finding],
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO referral_reviews (participant_id, account_id, campaign_id, findings, state, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (participant_id) DO NOTHING",
    )
    .bind(participant_id)
    .bind(account_id)
    .bind(campaign_id)
    .bind(serde_json::to_string(findings).expect("findings serialize"))
    .bind(ReviewState::Waiting.key())
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// The review of the friend `participant_id`, if their referral was flagged.
pub async fn review_of<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    participant_id: &str,
) -> Result<Option<Review>, sqlx::Error> {
    let row: Option<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT findings, state, decided_by FROM referral_reviews WHERE account_id = $1 AND participant_id = $2",
    )
    .bind(account_id)
    .bind(participant_id)
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|(findings, state, decided_by)| {
        let (findings, state) = decode(&findings, &state);
        Review {
            findings,
            state,
            decided_by,
        }
    }))
}

/// A review's stored findings and state, read back.
fn decode(findings: &str, state: &str) -> (Vec<Finding>, ReviewState) {
    (
        serde_json::from_str(findings).unwrap_or_default(),
        ReviewState::from_key(state).unwrap_or(ReviewState::Waiting),
    )
}

/// Records the team's decision on a review still waiting; true when it was.
pub async fn decide<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    participant_id: &str,
    state: ReviewState,
    by: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE referral_reviews SET state = $1, decided_by = $2, decided_at = $3 \
         WHERE account_id = $4 AND participant_id = $5 AND state = $6",
    )
    .bind(state.key())
    .bind(by)
    .bind(now)
    .bind(account_id)
    .bind(participant_id)
    .bind(ReviewState::Waiting.key())
    .execute(ex)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The findings and state of each of the campaign's reviews (the overview counts them by sign).
pub async fn of_campaign<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    campaign_id: &str,
) -> Result<Vec<(Vec<Finding>, ReviewState)>, sqlx::Error> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT findings, state FROM referral_reviews WHERE account_id = $1 AND campaign_id = $2",
    )
    .bind(account_id)
    .bind(campaign_id)
    .fetch_all(ex)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(findings, state)| decode(&findings, &state))
        .collect())
}

/// Reviews of the account still waiting that were flagged before `before`, the oldest first:
/// the friend's email, the campaign's name and when.
pub async fn waiting_before<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    before: i64,
    limit: i64,
) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.email, c.name, r.created_at FROM referral_reviews r \
         JOIN participants p ON p.id = r.participant_id JOIN campaigns c ON c.id = r.campaign_id \
         WHERE r.account_id = $1 AND r.state = $2 AND r.created_at < $3 \
         ORDER BY r.created_at, r.participant_id LIMIT $4",
    )
    .bind(account_id)
    .bind(ReviewState::Waiting.key())
    .bind(before)
    .bind(limit)
    .fetch_all(ex)
    .await
}

/// Where `p` joined from (hashes of their device cookie and address), kept until `keep_until`.
pub async fn record_sighting<'c>(
    ex: impl Executor<'c, Database = Any>,
    p: &ParticipantRow,
    device: Option<&str>,
    network: Option<&str>,
    at: i64,
    keep_until: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO join_sightings (participant_id, account_id, campaign_id, device, network, at, keep_until) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (participant_id) DO NOTHING",
    )
    .bind(&p.id)
    .bind(&p.account_id)
    .bind(&p.campaign_id)
    .bind(device)
    .bind(network)
    .bind(at)
    .bind(keep_until)
    .execute(ex)
    .await?;
    Ok(())
}

/// Where the referrer `referrer_id` and each of their friends joined from, while kept: their
/// device and network hashes by participant id.
pub async fn sightings_around<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    referrer_id: &str,
    now: i64,
) -> Result<HashMap<String, (Option<String>, Option<String>)>, sqlx::Error> {
    let rows: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT s.participant_id, s.device, s.network FROM join_sightings s \
         JOIN participants p ON p.id = s.participant_id AND p.account_id = s.account_id \
         WHERE s.account_id = $1 AND (p.id = $2 OR p.referrer_id = $2) AND s.keep_until >= $3",
    )
    .bind(account_id)
    .bind(referrer_id)
    .bind(now)
    .fetch_all(ex)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, device, network)| (id, (device, network)))
        .collect())
}

/// Who joined the campaign from the address `network` (a hash): joins within the last hour,
/// counting the one being made, and people unconnected to `referrer_id` (neither them nor
/// their friends) within `NETWORK_WINDOW`.
pub async fn address_use<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    campaign_id: &str,
    network: &str,
    referrer_id: &str,
    now: i64,
) -> Result<AddressUse, sqlx::Error> {
    let (last_hour, unconnected): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(CASE WHEN s.at > $4 THEN 1 END), \
           COUNT(CASE WHEN p.id <> $5 AND (p.referrer_id IS NULL OR p.referrer_id <> $5) THEN 1 END) \
         FROM join_sightings s JOIN participants p ON p.id = s.participant_id AND p.account_id = s.account_id \
         WHERE s.account_id = $1 AND s.campaign_id = $2 AND s.network = $3 AND s.at > $6",
    )
    .bind(account_id)
    .bind(campaign_id)
    .bind(network)
    .bind(now - 3_600)
    .bind(referrer_id)
    .bind(now - NETWORK_WINDOW)
    .fetch_one(ex)
    .await?;
    Ok(AddressUse {
        joins_last_hour: last_hour as usize + 1,
        unconnected: unconnected as usize,
    })
}

/// The cards of the current Stripe account's charges paid by the participant `participant_id`:
/// charges of the customers linked to them, attributed to them at checkout, or (when `email` is
/// given) paid with their email; each charge once, the oldest first.
pub async fn cards_of<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    participant_id: &str,
    email: Option<&str>,
) -> Result<Vec<CardUse>, sqlx::Error> {
    let rows: Vec<(String, String, String, String, Option<String>, i64)> = sqlx::query_as(&format!(
        "SELECT c.card_fingerprint, COALESCE(c.card_last4, ''), COALESCE(c.card_brand, ''), c.charge_id, c.customer_id, c.created \
         FROM stripe_charges c WHERE c.account_id = $1 AND c.stripe_account = {current} \
         AND c.card_fingerprint IS NOT NULL AND c.paid = 1 AND ( \
           c.customer_id IN (SELECT customer_id FROM participant_customers WHERE account_id = $1 \
             AND participant_id = $2 AND stripe_account = {current}) \
           OR c.payment_intent IN (SELECT payment_intent FROM checkout_attributions WHERE account_id = $1 \
             AND participant_id = $2) \
           OR c.email = $3) \
         ORDER BY c.created, c.charge_id",
        current = super::stripe_connections::CURRENT_STRIPE_ACCOUNT,
    ))
    .bind(account_id)
    .bind(participant_id)
    .bind(email)
    .fetch_all(ex)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(fingerprint, last4, brand, charge_id, customer, at)| CardUse {
                card: Card {
                    fingerprint,
                    last4,
                    brand,
                },
                charge_id,
                customer,
                at,
            },
        )
        .collect())
}

/// Adds a finding to the friend's review, flagging them if they were not; a review already
/// decided waits again, as the new sign is for the team to see. False when the review already
/// had a finding of that sign.
pub async fn add_finding(
    conn: &mut sqlx::AnyConnection,
    friend: &ParticipantRow,
    finding: &Finding,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let Some(mut review) = review_of(&mut *conn, &friend.account_id, &friend.id).await? else {
        flag(
            &mut *conn,
            &friend.account_id,
            &friend.campaign_id,
            &friend.id,
            std::slice::from_ref(finding),
            now,
        )
        .await?;
        return Ok(true);
    };
    if review.findings.iter().any(|f| f.signal == finding.signal) {
        return Ok(false);
    }
    review.findings.push(finding.clone());
    sqlx::query(
        "UPDATE referral_reviews SET findings = $1, state = $2, decided_by = NULL, decided_at = NULL \
         WHERE account_id = $3 AND participant_id = $4",
    )
    .bind(serde_json::to_string(&review.findings).expect("findings serialize"))
    .bind(ReviewState::Waiting.key())
    .bind(&friend.account_id)
    .bind(&friend.id)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}
