//! The friend's offer: each person referring's promotion code for their campaign's coupon in
//! the connected Stripe account. Every statement is scoped to the account.

use sqlx::{Any, Executor, Row};

use super::stripe_connections::CURRENT_STRIPE_ACCOUNT;

/// A person referring's promotion code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferCode {
    pub participant_id: String,
    pub coupon_id: String,
    pub promotion_code_id: String,
    pub code: String,
}

pub async fn save<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    stripe_account: &str,
    c: &OfferCode,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO offer_codes (account_id, participant_id, stripe_account, coupon_id, promotion_code_id, code, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (participant_id, stripe_account, coupon_id) DO NOTHING",
    )
    .bind(account_id)
    .bind(&c.participant_id)
    .bind(stripe_account)
    .bind(&c.coupon_id)
    .bind(&c.promotion_code_id)
    .bind(&c.code)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// The person's code for this coupon in the connected Stripe account.
pub async fn code_for<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    participant_id: &str,
    coupon_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(&format!(
        "SELECT code FROM offer_codes WHERE account_id = $1 AND participant_id = $2 AND coupon_id = $3 \
         AND stripe_account = {CURRENT_STRIPE_ACCOUNT}"
    ))
    .bind(account_id)
    .bind(participant_id)
    .bind(coupon_id)
    .fetch_optional(ex)
    .await
}

/// Who owns a promotion code of the connected Stripe account, and its code.
pub async fn owner<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    promotion_code_id: &str,
) -> Result<Option<(String, String)>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT participant_id, code FROM offer_codes WHERE account_id = $1 AND promotion_code_id = $2 \
         AND stripe_account = {CURRENT_STRIPE_ACCOUNT}"
    ))
    .bind(account_id)
    .bind(promotion_code_id)
    .fetch_optional(ex)
    .await?;
    row.map(|r| Ok((r.try_get("participant_id")?, r.try_get("code")?)))
        .transpose()
}

/// The people referring in a campaign (who each get a code).
pub async fn referrers_in_campaign<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    campaign_id: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM participants WHERE account_id = $1 AND campaign_id = $2 AND referrer_id IS NULL \
         ORDER BY created_at, id",
    )
    .bind(account_id)
    .bind(campaign_id)
    .fetch_all(ex)
    .await
}
