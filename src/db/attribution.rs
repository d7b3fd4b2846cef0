//! Attribution at checkout: what each completed Checkout Session said about who referred the
//! payer, and every friend's claims on the ledger's charges (see `domain::attribution`). Every
//! statement is scoped to the account.

use sqlx::{any::AnyRow, Any, Executor, Row};

use super::{in_list, stripe_connections::CURRENT_STRIPE_ACCOUNT};
use crate::domain::{
    attribution::{Claim, Claimed, Evidence, Rival},
    qualification::{ChargeEntry, Settlement},
};

/// A completed Checkout Session that carried Refloop evidence, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutRow {
    pub account_id: String,
    pub stripe_account: String,
    pub session_id: String,
    pub campaign_id: Option<String>,
    /// The friend the payment counts for; `None` when no rule could attribute it.
    pub participant_id: Option<String>,
    pub payment_intent: Option<String>,
    pub customer_id: Option<String>,
    pub email: Option<String>,
    pub evidence: Evidence,
    pub reference: String,
    pub outcome: String,
    pub created_at: i64,
}

/// Records a session once; `false` when it was recorded before (a duplicated or second event).
pub async fn record_checkout<'c>(
    ex: impl Executor<'c, Database = Any>,
    r: &CheckoutRow,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO checkout_attributions (account_id, stripe_account, session_id, campaign_id, participant_id, \
         payment_intent, customer_id, email, evidence, reference, outcome, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (account_id, session_id) DO NOTHING",
    )
    .bind(&r.account_id)
    .bind(&r.stripe_account)
    .bind(&r.session_id)
    .bind(&r.campaign_id)
    .bind(&r.participant_id)
    .bind(&r.payment_intent)
    .bind(&r.customer_id)
    .bind(&r.email)
    .bind(r.evidence.key())
    .bind(&r.reference)
    .bind(&r.outcome)
    .bind(r.created_at)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Waits for, and takes for the rest of the transaction, the turn of one payment: the charge's
/// event and its Checkout Session's event are then processed one after the other.
pub async fn take_payment_turn<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    payment_intent: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO payment_turns (account_id, payment_intent, touched_at) VALUES ($1, $2, $3) \
         ON CONFLICT (account_id, payment_intent) DO UPDATE SET touched_at = excluded.touched_at",
    )
    .bind(account_id)
    .bind(payment_intent)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// The friend a session was attributed to, if it was recorded (`Some(None)`: recorded, not
/// attributed).
pub async fn checkout_participant<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    session_id: &str,
) -> Result<Option<Option<String>>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT participant_id FROM checkout_attributions WHERE account_id = $1 AND session_id = $2",
    )
    .bind(account_id)
    .bind(session_id)
    .fetch_optional(ex)
    .await
}

/// Friends a payment was attributed to at checkout.
pub async fn friends_by_payment_intent<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    payment_intent: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT participant_id FROM checkout_attributions WHERE account_id = $1 AND payment_intent = $2 \
         AND participant_id IS NOT NULL",
    )
    .bind(account_id)
    .bind(payment_intent)
    .fetch_all(ex)
    .await
}

/// Sessions since `since` that carried Refloop evidence but could be attributed to nobody,
/// newest first.
pub async fn unattributed_since<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    since: i64,
    limit: i64,
) -> Result<Vec<CheckoutRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT * FROM checkout_attributions WHERE account_id = $1 AND participant_id IS NULL \
         AND created_at >= $2 ORDER BY created_at DESC, session_id LIMIT $3",
    )
    .bind(account_id)
    .bind(since)
    .bind(limit)
    .fetch_all(ex)
    .await?;
    rows.iter().map(checkout_row).collect()
}

fn checkout_row(r: &AnyRow) -> Result<CheckoutRow, sqlx::Error> {
    let evidence: String = r.try_get("evidence")?;
    Ok(CheckoutRow {
        account_id: r.try_get("account_id")?,
        stripe_account: r.try_get("stripe_account")?,
        session_id: r.try_get("session_id")?,
        campaign_id: r.try_get("campaign_id")?,
        participant_id: r.try_get("participant_id")?,
        payment_intent: r.try_get("payment_intent")?,
        customer_id: r.try_get("customer_id")?,
        email: r.try_get("email")?,
        evidence: Evidence::from_key(&evidence).unwrap_or(Evidence::ClientReference),
        reference: r.try_get("reference")?,
        outcome: r.try_get("outcome")?,
        created_at: r.try_get("created_at")?,
    })
}

const CHARGE_COLUMNS: &str = "c.charge_id, c.amount, c.currency, c.created, c.paid, c.refunded, \
     c.disputed, c.settled_amount, c.settled_currency, c.exchange_rate";

/// What a checkout attribution says about itself: the code and the session.
const CHECKOUT_DETAIL: &str = "a.reference || ' (checkout ' || a.session_id || ')'";

fn claimed(r: &AnyRow) -> Result<Claimed, sqlx::Error> {
    let evidence: String = r.try_get("evidence")?;
    Ok(Claimed {
        charge: ChargeEntry {
            id: r.try_get("charge_id")?,
            amount: r.try_get("amount")?,
            currency: r.try_get("currency")?,
            created: r.try_get("created")?,
            paid: r.try_get::<i64, _>("paid")? != 0,
            refunded: r.try_get("refunded")?,
            disputed: r.try_get("disputed")?,
            settled: settlement(r)?,
        },
        claim: Claim {
            evidence: Evidence::from_key(&evidence).unwrap_or(Evidence::Email),
            detail: r.try_get("detail")?,
        },
    })
}

fn settlement(r: &AnyRow) -> Result<Option<Settlement>, sqlx::Error> {
    let amount: Option<i64> = r.try_get("settled_amount")?;
    let currency: Option<String> = r.try_get("settled_currency")?;
    let rate: Option<String> = r.try_get("exchange_rate")?;
    Ok(amount.zip(currency).map(|(amount, currency)| Settlement {
        amount,
        currency,
        rate: rate.unwrap_or_default(),
    }))
}

/// Every claim a friend has on the current Stripe account's charges: payments attributed to
/// them at checkout, charges of the customers linked to them, and (when `email` is given, as
/// their campaign allows) charges paid with their email. A charge may appear once per claim.
pub async fn claims_of<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    participant_id: &str,
    email: Option<&str>,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {CHARGE_COLUMNS}, a.evidence AS evidence, {CHECKOUT_DETAIL} AS detail \
         FROM stripe_charges c JOIN checkout_attributions a \
           ON a.account_id = c.account_id AND a.payment_intent = c.payment_intent \
         WHERE c.account_id = $1 AND c.stripe_account = {CURRENT_STRIPE_ACCOUNT} AND a.participant_id = $2 \
         UNION ALL \
         SELECT {CHARGE_COLUMNS}, 'customer' AS evidence, c.customer_id AS detail FROM stripe_charges c \
         WHERE c.account_id = $1 AND c.stripe_account = {CURRENT_STRIPE_ACCOUNT} AND c.customer_id IN \
           (SELECT customer_id FROM participant_customers WHERE account_id = $1 AND participant_id = $2 \
            AND stripe_account = {CURRENT_STRIPE_ACCOUNT}) \
         UNION ALL \
         SELECT {CHARGE_COLUMNS}, 'email' AS evidence, '' AS detail FROM stripe_charges c \
         WHERE c.account_id = $1 AND c.stripe_account = {CURRENT_STRIPE_ACCOUNT} AND c.email = $3"
    ))
    .bind(account_id)
    .bind(participant_id)
    .bind(email)
    .fetch_all(ex)
    .await?;
    rows.iter().map(claimed).collect()
}

/// Other friends' claims, stronger than email, on these charges: payments attributed to them
/// at checkout and charges of customers linked to them.
pub async fn rivals<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    participant_id: &str,
    charge_ids: &[String],
) -> Result<Vec<Rival>, sqlx::Error> {
    if charge_ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = in_list(3, charge_ids.len());
    let sql = format!(
        "SELECT c.charge_id, p.email, a.evidence AS evidence, {CHECKOUT_DETAIL} AS detail \
         FROM stripe_charges c JOIN checkout_attributions a \
           ON a.account_id = c.account_id AND a.payment_intent = c.payment_intent \
         JOIN participants p ON p.id = a.participant_id \
         WHERE c.account_id = $1 AND a.participant_id <> $2 AND c.charge_id IN {ids} \
         UNION ALL \
         SELECT c.charge_id, p.email, 'customer' AS evidence, pc.customer_id AS detail \
         FROM stripe_charges c JOIN participant_customers pc \
           ON pc.account_id = c.account_id AND pc.customer_id = c.customer_id AND pc.stripe_account = c.stripe_account \
         JOIN participants p ON p.id = pc.participant_id AND p.referrer_id IS NOT NULL \
         WHERE c.account_id = $1 AND pc.participant_id <> $2 AND c.charge_id IN {ids}"
    );
    let mut q = sqlx::query(&sql).bind(account_id).bind(participant_id);
    for id in charge_ids {
        q = q.bind(id);
    }
    let rows = q.fetch_all(ex).await?;
    rows.iter()
        .map(|r| {
            let evidence: String = r.try_get("evidence")?;
            Ok(Rival {
                charge_id: r.try_get("charge_id")?,
                email: r.try_get("email")?,
                claim: Claim {
                    evidence: Evidence::from_key(&evidence).unwrap_or(Evidence::Email),
                    detail: r.try_get("detail")?,
                },
            })
        })
        .collect()
}

/// The charges that count for a friend under the rule of evidence (`domain::attribution`),
/// with the evidence used and the evidence set aside.
pub async fn attributed(
    conn: &mut sqlx::AnyConnection,
    account_id: &str,
    participant_id: &str,
    email: Option<&str>,
) -> Result<crate::domain::attribution::Attributed, sqlx::Error> {
    let mine = crate::domain::attribution::strongest(
        claims_of(&mut *conn, account_id, participant_id, email).await?,
    );
    // Only a claim weaker than the strongest evidence can lose to someone else's.
    let contested: Vec<String> = mine
        .iter()
        .filter(|c| c.claim.evidence != Evidence::ClientReference)
        .map(|c| c.charge.id.clone())
        .collect();
    let mut rivals_found = Vec::new();
    for chunk in contested.chunks(500) {
        rivals_found.extend(rivals(&mut *conn, account_id, participant_id, chunk).await?);
    }
    Ok(crate::domain::attribution::decide(mine, &rivals_found))
}
