//! Qualification: each campaign's settings, Refloop's webhook endpoint in the connected Stripe,
//! the ledger of Stripe events received, the ledger of charges, and where each invited friend
//! stands. Every statement is scoped to the account.

use sqlx::{any::AnyRow, Any, Executor, FromRow, Row};

use super::participants::ParticipantRow;
use super::stripe_connections::CURRENT_STRIPE_ACCOUNT;

use crate::domain::{
    fraud::Card,
    participants::Qualification,
    qualification::{QualificationSettings, Settlement},
};

pub async fn settings<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    campaign_id: &str,
) -> Result<Option<QualificationSettings>, sqlx::Error> {
    super::campaign_json::load(ex, "qualification_settings", account_id, campaign_id).await
}

pub async fn save_settings<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    campaign_id: &str,
    settings: &QualificationSettings,
    now: i64,
) -> Result<(), sqlx::Error> {
    super::campaign_json::save(
        ex,
        "qualification_settings",
        account_id,
        campaign_id,
        settings,
        now,
    )
    .await
}

/// Refloop's webhook endpoint in an account's Stripe, and what it has received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRow {
    /// The public part of its address: `/webhooks/stripe/{id}`.
    pub id: String,
    pub account_id: String,
    pub endpoint_id: String,
    pub sealed_secret: String,
    pub url: String,
    pub created_at: i64,
    pub last_event_at: Option<i64>,
    pub events_received: i64,
    pub signature_failures: i64,
    pub last_failure_at: Option<i64>,
    pub reconciled_after: i64,
    pub reconciled_at: Option<i64>,
    /// The Stripe account the endpoint was made in.
    pub stripe_account: String,
    /// Deliveries refused because that account is no longer the one connected.
    pub foreign_events: i64,
}

impl FromRow<'_, AnyRow> for WebhookRow {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(WebhookRow {
            id: row.try_get("id")?,
            account_id: row.try_get("account_id")?,
            endpoint_id: row.try_get("endpoint_id")?,
            sealed_secret: row.try_get("sealed_secret")?,
            url: row.try_get("url")?,
            created_at: row.try_get("created_at")?,
            last_event_at: row.try_get("last_event_at")?,
            events_received: row.try_get("events_received")?,
            signature_failures: row.try_get("signature_failures")?,
            last_failure_at: row.try_get("last_failure_at")?,
            reconciled_after: row.try_get("reconciled_after")?,
            reconciled_at: row.try_get("reconciled_at")?,
            stripe_account: row.try_get("stripe_account")?,
            foreign_events: row.try_get("foreign_events")?,
        })
    }
}

const WEBHOOK_COLUMNS: &str =
    "id, account_id, endpoint_id, sealed_secret, url, created_at, last_event_at, events_received, \
     signature_failures, last_failure_at, reconciled_after, reconciled_at, stripe_account, foreign_events";

/// The endpoint a delivery is addressed to (the only look-up not scoped to an account: the
/// address is all a delivery carries, and its signature is checked next).
pub async fn webhook_by_id<'c>(
    ex: impl Executor<'c, Database = Any>,
    id: &str,
) -> Result<Option<WebhookRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {WEBHOOK_COLUMNS} FROM stripe_webhooks WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(ex)
    .await
}

pub async fn webhook_for<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
) -> Result<Option<WebhookRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {WEBHOOK_COLUMNS} FROM stripe_webhooks WHERE account_id = $1"
    ))
    .bind(account_id)
    .fetch_optional(ex)
    .await
}

/// Every account with an endpoint (the scheduled reconciliation visits each).
pub async fn webhook_accounts<'c>(
    ex: impl Executor<'c, Database = Any>,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT account_id FROM stripe_webhooks ORDER BY account_id")
        .fetch_all(ex)
        .await
}

/// Records a (new or replacement) endpoint; its counters start again. An endpoint in another
/// Stripe account replaces the old one's address too, so nothing sent to that still arrives.
pub async fn save_webhook<'c>(
    ex: impl Executor<'c, Database = Any>,
    w: &WebhookRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO stripe_webhooks (id, account_id, endpoint_id, sealed_secret, url, created_at, reconciled_after, stripe_account) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (account_id) DO UPDATE SET id = excluded.id, endpoint_id = excluded.endpoint_id, sealed_secret = excluded.sealed_secret, \
         url = excluded.url, created_at = excluded.created_at, signature_failures = 0, last_failure_at = NULL, \
         stripe_account = excluded.stripe_account, foreign_events = 0, \
         reconciled_after = CASE WHEN stripe_webhooks.stripe_account = excluded.stripe_account \
           THEN stripe_webhooks.reconciled_after ELSE excluded.reconciled_after END",
    )
    .bind(&w.id)
    .bind(&w.account_id)
    .bind(&w.endpoint_id)
    .bind(&w.sealed_secret)
    .bind(&w.url)
    .bind(w.created_at)
    .bind(w.reconciled_after)
    .bind(&w.stripe_account)
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn note_delivery<'c>(
    ex: impl Executor<'c, Database = Any>,
    id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE stripe_webhooks SET events_received = events_received + 1, last_event_at = $1 WHERE id = $2",
    )
    .bind(now)
    .bind(id)
    .execute(ex)
    .await?;
    Ok(())
}

/// A delivery to an endpoint of a Stripe account that is no longer connected.
pub async fn note_foreign_event<'c>(
    ex: impl Executor<'c, Database = Any>,
    id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE stripe_webhooks SET foreign_events = foreign_events + 1 WHERE id = $1")
        .bind(id)
        .execute(ex)
        .await?;
    Ok(())
}

pub async fn note_signature_failure<'c>(
    ex: impl Executor<'c, Database = Any>,
    id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE stripe_webhooks SET signature_failures = signature_failures + 1, last_failure_at = $1 WHERE id = $2",
    )
    .bind(now)
    .bind(id)
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn save_reconciled<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    after: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE stripe_webhooks SET reconciled_after = $1, reconciled_at = $2 WHERE account_id = $3",
    )
    .bind(after)
    .bind(now)
    .bind(account_id)
    .execute(ex)
    .await?;
    Ok(())
}

/// Adds an event to the ledger; false when its id is already there (a duplicate).
#[allow(clippy::too_many_arguments)]
pub async fn record_event<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    stripe_account: &str,
    event_id: &str,
    kind: &str,
    created: i64,
    payload: &str,
    source: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO stripe_events (account_id, event_id, type, created, payload, source, received_at, stripe_account) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (account_id, event_id) DO NOTHING",
    )
    .bind(account_id)
    .bind(event_id)
    .bind(kind)
    .bind(created)
    .bind(payload)
    .bind(source)
    .bind(now)
    .bind(stripe_account)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A recorded event's payload and the Stripe account it came from, if that account is the one
/// connected now (an event from an account switched away from is left unprocessed).
pub async fn event_payload<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    event_id: &str,
) -> Result<Option<(String, String)>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT payload, stripe_account FROM stripe_events WHERE account_id = $1 AND event_id = $2 \
         AND stripe_account = {CURRENT_STRIPE_ACCOUNT}"
    ))
    .bind(account_id)
    .bind(event_id)
    .fetch_optional(ex)
    .await?;
    row.map(|r| Ok((r.try_get("payload")?, r.try_get("stripe_account")?)))
        .transpose()
}

/// What one event or look-up says about a charge; what it does not know is `None` or 0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChargeUpdate {
    pub charge_id: String,
    pub customer_id: Option<String>,
    pub email: Option<String>,
    /// The PaymentIntent it paid, which a Checkout Session names.
    pub payment_intent: Option<String>,
    pub amount: i64,
    pub currency: Option<String>,
    pub created: i64,
    pub paid: bool,
    pub refunded: i64,
    /// Lost in a dispute.
    pub disputed: i64,
    /// Its balance transaction (`txn_…`), which says what it settled as.
    pub balance_transaction: Option<String>,
    /// What it settled as in the merchant's balance, when Refloop read it.
    pub settled: Option<Settlement>,
    /// The invoice it paid, if any (a subscription's).
    pub invoice: Option<String>,
    /// The card it was paid with, if a card.
    pub card: Option<Card>,
}

/// Merges into the charge's row: what is known stays known, amounts only grow, so the
/// result does not depend on the order or number of the events that said it.
pub async fn merge_charge<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    stripe_account: &str,
    c: &ChargeUpdate,
    now: i64,
) -> Result<(), sqlx::Error> {
    fn greatest(column: &str) -> String {
        format!(
            "{column} = CASE WHEN excluded.{column} > stripe_charges.{column} THEN excluded.{column} ELSE stripe_charges.{column} END"
        )
    }
    sqlx::query(&format!(
        "INSERT INTO stripe_charges (account_id, charge_id, customer_id, email, amount, currency, created, paid, refunded, disputed, updated_at, stripe_account, payment_intent, \
         settled_amount, settled_currency, exchange_rate, card_fingerprint, card_last4, card_brand) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) \
         ON CONFLICT (account_id, charge_id) DO UPDATE SET \
         customer_id = COALESCE(stripe_charges.customer_id, excluded.customer_id), \
         payment_intent = COALESCE(stripe_charges.payment_intent, excluded.payment_intent), \
         email = COALESCE(stripe_charges.email, excluded.email), \
         currency = CASE WHEN stripe_charges.currency = '' THEN excluded.currency ELSE stripe_charges.currency END, \
         settled_amount = COALESCE(stripe_charges.settled_amount, excluded.settled_amount), \
         settled_currency = COALESCE(stripe_charges.settled_currency, excluded.settled_currency), \
         exchange_rate = COALESCE(stripe_charges.exchange_rate, excluded.exchange_rate), \
         card_fingerprint = COALESCE(stripe_charges.card_fingerprint, excluded.card_fingerprint), \
         card_last4 = COALESCE(stripe_charges.card_last4, excluded.card_last4), \
         card_brand = COALESCE(stripe_charges.card_brand, excluded.card_brand), \
         {}, {}, {}, {}, {}, updated_at = excluded.updated_at",
        greatest("amount"),
        greatest("created"),
        greatest("paid"),
        greatest("refunded"),
        greatest("disputed"),
    ))
    .bind(account_id)
    .bind(&c.charge_id)
    .bind(&c.customer_id)
    .bind(c.email.as_ref().map(|e| e.trim().to_lowercase()))
    .bind(c.amount)
    .bind(c.currency.clone().unwrap_or_default())
    .bind(c.created)
    .bind(i64::from(c.paid))
    .bind(c.refunded)
    .bind(c.disputed)
    .bind(now)
    .bind(stripe_account)
    .bind(&c.payment_intent)
    .bind(c.settled.as_ref().map(|s| s.amount))
    .bind(c.settled.as_ref().map(|s| s.currency.clone()))
    .bind(c.settled.as_ref().map(|s| s.rate.clone()))
    .bind(c.card.as_ref().map(|c| c.fingerprint.clone()))
    .bind(c.card.as_ref().map(|c| c.last4.clone()))
    .bind(c.card.as_ref().map(|c| c.brand.clone()))
    .execute(ex)
    .await?;
    Ok(())
}

/// What a charge lost to refunds and disputes, as far as the ledger knows (0 for a charge it
/// does not know).
pub async fn charge_losses<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    charge_id: &str,
) -> Result<i64, sqlx::Error> {
    let lost: Option<i64> = sqlx::query_scalar(
        "SELECT refunded + disputed FROM stripe_charges WHERE account_id = $1 AND charge_id = $2",
    )
    .bind(account_id)
    .bind(charge_id)
    .fetch_optional(ex)
    .await?;
    Ok(lost.unwrap_or_default())
}

/// Whether the ledger knows what this charge settled as.
pub async fn is_settled<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    charge_id: &str,
) -> Result<bool, sqlx::Error> {
    let settled: Option<Option<i64>> = sqlx::query_scalar(
        "SELECT settled_amount FROM stripe_charges WHERE account_id = $1 AND charge_id = $2",
    )
    .bind(account_id)
    .bind(charge_id)
    .fetch_optional(ex)
    .await?;
    Ok(matches!(settled, Some(Some(_))))
}

/// The currencies of the account's qualification targets, lower case.
pub async fn target_currencies<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
) -> Result<Vec<String>, sqlx::Error> {
    let documents: Vec<String> =
        sqlx::query_scalar("SELECT settings FROM qualification_settings WHERE account_id = $1")
            .bind(account_id)
            .fetch_all(ex)
            .await?;
    let mut currencies: Vec<String> = documents
        .iter()
        .filter_map(|d| serde_json::from_str::<QualificationSettings>(d).ok())
        .map(|s| s.currency)
        .collect();
    currencies.sort();
    currencies.dedup();
    Ok(currencies)
}

/// Who made a charge, as far as the ledger knows.
#[derive(Debug, Clone, Default)]
pub struct Payer {
    pub customer: Option<String>,
    pub email: Option<String>,
    pub payment_intent: Option<String>,
}

pub async fn charge_payer<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    charge_id: &str,
) -> Result<Option<Payer>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT customer_id, email, payment_intent FROM stripe_charges WHERE account_id = $1 AND charge_id = $2",
    )
    .bind(account_id)
    .bind(charge_id)
    .fetch_optional(ex)
    .await?;
    row.as_ref().map(payer).transpose()
}

fn payer(r: &AnyRow) -> Result<Payer, sqlx::Error> {
    Ok(Payer {
        customer: r.try_get("customer_id")?,
        email: r.try_get("email")?,
        payment_intent: r.try_get("payment_intent")?,
    })
}

/// Who made the charges of a payment (a PaymentIntent), as far as the ledger knows.
pub async fn payers_of_intent<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    payment_intent: &str,
) -> Result<Vec<Payer>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT customer_id, email, payment_intent FROM stripe_charges WHERE account_id = $1 AND payment_intent = $2",
    )
    .bind(account_id)
    .bind(payment_intent)
    .fetch_all(ex)
    .await?;
    rows.iter().map(payer).collect()
}

/// Invited friends a payment may count for: those it was attributed to at checkout, those
/// linked to its customer, and those with its email (whose campaigns may count every customer
/// with it).
pub async fn friends_paying<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    payer: &Payer,
) -> Result<Vec<(String, bool)>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT p.id, 1 AS linked FROM participants p JOIN participant_customers pc ON pc.participant_id = p.id \
         WHERE pc.account_id = $1 AND pc.customer_id = $2 AND p.referrer_id IS NOT NULL \
         AND pc.stripe_account = {CURRENT_STRIPE_ACCOUNT} \
         UNION ALL \
         SELECT p.id, 0 AS linked FROM participants p WHERE p.account_id = $1 AND p.email = $3 AND p.referrer_id IS NOT NULL \
         UNION ALL \
         SELECT a.participant_id AS id, 1 AS linked FROM checkout_attributions a \
         WHERE a.account_id = $1 AND a.payment_intent = $4 AND a.participant_id IS NOT NULL"
    ))
    .bind(account_id)
    .bind(&payer.customer)
    .bind(payer.email.as_ref().map(|e| e.trim().to_lowercase()))
    .bind(&payer.payment_intent)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get::<i64, _>("linked")? == 1)))
        .collect()
}

/// Invited friends still pending whose window is open (or closed since `closed_since`): the
/// people reconciliation looks up.
pub async fn pending_friends<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    joined_since: i64,
    limit: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM participants WHERE account_id = $1 AND referrer_id IS NOT NULL AND qualification = 'pending' \
         AND created_at >= $2 ORDER BY created_at DESC LIMIT $3",
    )
    .bind(account_id)
    .bind(joined_since)
    .bind(limit)
    .fetch_all(ex)
    .await
}

/// Reads a participant of `account_id` and takes their row lock for the rest of the
/// transaction, in one statement (PostgreSQL; SQLite's writers are serialised already), so that
/// two evaluations of one friend run one after the other and the second sees what the first
/// wrote.
pub async fn lock_participant<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    participant_id: &str,
) -> Result<Option<ParticipantRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE participants SET spent = spent WHERE id = $1 AND account_id = $2 RETURNING {}",
        super::participants::COLUMNS
    ))
    .bind(participant_id)
    .bind(account_id)
    .fetch_optional(ex)
    .await
}

/// Where a friend stands now.
pub async fn set_standing<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    participant_id: &str,
    qualification: Qualification,
    spent: i64,
    qualified_at: Option<i64>,
    note: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE participants SET qualification = $1, spent = $2, qualified_at = $3, qualification_note = $4 \
         WHERE id = $5 AND account_id = $6",
    )
    .bind(qualification.key())
    .bind(spent)
    .bind(qualified_at)
    .bind(note)
    .bind(participant_id)
    .bind(account_id)
    .execute(ex)
    .await?;
    Ok(())
}

/// Adds `delta` (1 or -1) to a referrer's qualified referrals.
pub async fn add_qualified<'c>(
    ex: impl Executor<'c, Database = Any>,
    referrer_id: &str,
    delta: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE participants SET qualified_referrals = qualified_referrals + $1 WHERE id = $2",
    )
    .bind(delta)
    .bind(referrer_id)
    .execute(ex)
    .await?;
    Ok(())
}

/// Every invited friend of a campaign.
pub async fn friends_in_campaign<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    campaign_id: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM participants WHERE account_id = $1 AND campaign_id = $2 AND referrer_id IS NOT NULL",
    )
    .bind(account_id)
    .bind(campaign_id)
    .fetch_all(ex)
    .await
}

/// How many of a campaign's invited friends stand where (by `Qualification` key).
pub async fn standing_counts<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    campaign_id: &str,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT qualification, COUNT(*) FROM participants WHERE account_id = $1 AND campaign_id = $2 \
         AND referrer_id IS NOT NULL GROUP BY qualification",
    )
    .bind(account_id)
    .bind(campaign_id)
    .fetch_all(ex)
    .await
}
