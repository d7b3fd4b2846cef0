//! Rewards: each campaign's rules and the ledger of rewards, one row per (qualified referral,
//! rule, recipient). Every statement is scoped to the account.

use sqlx::{any::AnyRow, Any, Executor, FromRow, Row};

use crate::domain::rewards::{RewardEntry, RewardKind, RewardSettings, RewardStatus};

pub async fn settings<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    campaign_id: &str,
) -> Result<Option<RewardSettings>, sqlx::Error> {
    super::campaign_json::load(ex, "reward_settings", account_id, campaign_id).await
}

pub async fn save_settings<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    campaign_id: &str,
    settings: &RewardSettings,
    now: i64,
) -> Result<(), sqlx::Error> {
    super::campaign_json::save(
        ex,
        "reward_settings",
        account_id,
        campaign_id,
        settings,
        now,
    )
    .await
}

/// One reward in the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewardRow {
    pub id: String,
    pub account_id: String,
    pub campaign_id: String,
    pub rule_id: String,
    /// The invited friend whose qualification earned it.
    pub referral_id: String,
    pub recipient_id: String,
    pub kind: RewardKind,
    pub amount: i64,
    pub currency: String,
    /// "10.00 USD credit"
    pub description: String,
    pub status: RewardStatus,
    pub note: String,
    pub customer_id: Option<String>,
    pub stripe_ref: Option<String>,
    pub code: Option<String>,
    pub reversal_ref: Option<String>,
    /// The teammate who approved, rejected or fulfilled it.
    pub decided_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// A commission's payment ('' for a reward earned by qualifying), the payment's net it was
    /// computed on, and when the payment was made.
    pub charge_id: String,
    pub base: i64,
    pub paid_at: i64,
    /// A held reward: until when, and the payment whose refund or dispute cancels it.
    pub held_until: Option<i64>,
    pub held_for: Option<String>,
    /// A manual reward's payout reference, as the teammate who marked it fulfilled wrote it.
    pub payout_ref: Option<String>,
}

impl RewardRow {
    /// A commission entry, earned on one payment.
    pub fn is_commission(&self) -> bool {
        !self.charge_id.is_empty()
    }
}

impl FromRow<'_, AnyRow> for RewardRow {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let kind: String = row.try_get("kind")?;
        let status: String = row.try_get("status")?;
        Ok(RewardRow {
            id: row.try_get("id")?,
            account_id: row.try_get("account_id")?,
            campaign_id: row.try_get("campaign_id")?,
            rule_id: row.try_get("rule_id")?,
            referral_id: row.try_get("referral_id")?,
            recipient_id: row.try_get("recipient_id")?,
            kind: RewardKind::from_key(&kind).unwrap_or(RewardKind::Manual),
            amount: row.try_get("amount")?,
            currency: row.try_get("currency")?,
            description: row.try_get("description")?,
            status: RewardStatus::from_key(&status).unwrap_or(RewardStatus::Failed),
            note: row.try_get("note")?,
            customer_id: row.try_get("customer_id")?,
            stripe_ref: row.try_get("stripe_ref")?,
            code: row.try_get("code")?,
            reversal_ref: row.try_get("reversal_ref")?,
            decided_by: row.try_get("decided_by")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            charge_id: row.try_get("charge_id")?,
            base: row.try_get("base")?,
            paid_at: row.try_get("paid_at")?,
            held_until: row.try_get("held_until")?,
            held_for: row.try_get("held_for")?,
            payout_ref: row.try_get("payout_ref")?,
        })
    }
}

const COLUMNS: &str = "id, account_id, campaign_id, rule_id, referral_id, recipient_id, kind, amount, currency, description, \
     status, note, customer_id, stripe_ref, code, reversal_ref, decided_by, created_at, updated_at, charge_id, base, paid_at, held_until, held_for, \
     payout_ref";

/// Adds a reward unless this (referral, rule, recipient, payment) has one already; true when
/// added.
pub async fn insert<'c>(
    ex: impl Executor<'c, Database = Any>,
    r: &RewardRow,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(&format!(
        "INSERT INTO rewards ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25) \
         ON CONFLICT (referral_id, rule_id, recipient_id, charge_id) DO NOTHING"
    ))
    .bind(&r.id)
    .bind(&r.account_id)
    .bind(&r.campaign_id)
    .bind(&r.rule_id)
    .bind(&r.referral_id)
    .bind(&r.recipient_id)
    .bind(r.kind.key())
    .bind(r.amount)
    .bind(&r.currency)
    .bind(&r.description)
    .bind(r.status.key())
    .bind(&r.note)
    .bind(&r.customer_id)
    .bind(&r.stripe_ref)
    .bind(&r.code)
    .bind(&r.reversal_ref)
    .bind(&r.decided_by)
    .bind(r.created_at)
    .bind(r.updated_at)
    .bind(&r.charge_id)
    .bind(r.base)
    .bind(r.paid_at)
    .bind(r.held_until)
    .bind(&r.held_for)
    .bind(&r.payout_ref)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Writes a reward's status and what came with it; only from `from` (the status the caller
/// read), so two workers cannot both move it. True when it moved.
pub async fn update<'c>(
    ex: impl Executor<'c, Database = Any>,
    r: &RewardRow,
    from: RewardStatus,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE rewards SET status = $1, note = $2, customer_id = $3, stripe_ref = $4, code = $5, reversal_ref = $6, \
         decided_by = $7, updated_at = $8, payout_ref = $12, held_until = $13, held_for = $14 \
         WHERE id = $9 AND account_id = $10 AND status = $11",
    )
    .bind(r.status.key())
    .bind(&r.note)
    .bind(&r.customer_id)
    .bind(&r.stripe_ref)
    .bind(&r.code)
    .bind(&r.reversal_ref)
    .bind(&r.decided_by)
    .bind(r.updated_at)
    .bind(&r.id)
    .bind(&r.account_id)
    .bind(from.key())
    .bind(&r.payout_ref)
    .bind(r.held_until)
    .bind(&r.held_for)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    id: &str,
) -> Result<Option<RewardRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM rewards WHERE account_id = $1 AND id = $2"
    ))
    .bind(account_id)
    .bind(id)
    .fetch_optional(ex)
    .await
}

pub async fn for_referral<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    referral_id: &str,
) -> Result<Vec<RewardRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM rewards WHERE account_id = $1 AND referral_id = $2 ORDER BY created_at, id"
    ))
    .bind(account_id)
    .bind(referral_id)
    .fetch_all(ex)
    .await
}

/// What `recipient_id` earned under a commission rule from payments made since `since` by
/// friends other than `referral_id`, still standing: (paid_at, amount) per entry.
pub async fn commissions_elsewhere<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    recipient_id: &str,
    rule_id: &str,
    referral_id: &str,
    since: i64,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT paid_at, amount FROM rewards WHERE account_id = $1 AND recipient_id = $2 AND rule_id = $3 \
         AND paid_at >= $4 AND referral_id <> $5 AND charge_id <> '' \
         AND status NOT IN ('cancelled', 'rejected', 'reversed', 'failed')",
    )
    .bind(account_id)
    .bind(recipient_id)
    .bind(rule_id)
    .bind(since)
    .bind(referral_id)
    .fetch_all(ex)
    .await
}

/// The rewards a person earned, oldest first.
pub async fn for_recipient<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    recipient_id: &str,
) -> Result<Vec<RewardRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM rewards WHERE account_id = $1 AND recipient_id = $2 ORDER BY created_at, id"
    ))
    .bind(account_id)
    .bind(recipient_id)
    .fetch_all(ex)
    .await
}

const ENTRY_SELECT: &str = "SELECT r.id, r.rule_id, r.kind, r.description, r.status, r.note, r.recipient_id, \
     rp.email AS recipient_email, r.referral_id, fp.email AS referral_email, r.customer_id, r.stripe_ref, r.code, \
     r.created_at, r.updated_at \
     FROM rewards r JOIN participants rp ON rp.id = r.recipient_id JOIN participants fp ON fp.id = r.referral_id";

/// The ledger of a campaign, what waits for a teammate first, then newest first, with the
/// emails of the recipient and the friend.
pub async fn in_campaign<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    campaign_id: &str,
    limit: i64,
) -> Result<Vec<RewardEntry>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "{ENTRY_SELECT} WHERE r.account_id = $1 AND r.campaign_id = $2 \
         ORDER BY CASE WHEN r.status IN ('awaiting_approval', 'to_fulfil', 'flagged', 'failed') THEN 0 ELSE 1 END, \
         r.created_at DESC, r.id LIMIT $3"
    ))
    .bind(account_id)
    .bind(campaign_id)
    .bind(limit)
    .fetch_all(ex)
    .await?;
    rows.iter().map(entry).collect()
}

/// The rewards a person earned, and those their qualification earned their referrer.
pub async fn of_person<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    participant_id: &str,
) -> Result<Vec<RewardEntry>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "{ENTRY_SELECT} WHERE r.account_id = $1 AND (r.recipient_id = $2 OR r.referral_id = $2) \
         ORDER BY r.created_at, r.id"
    ))
    .bind(account_id)
    .bind(participant_id)
    .fetch_all(ex)
    .await?;
    rows.iter().map(entry).collect()
}

fn entry(r: &AnyRow) -> Result<RewardEntry, sqlx::Error> {
    let kind: String = r.try_get("kind")?;
    let status: String = r.try_get("status")?;
    Ok(RewardEntry {
        id: r.try_get("id")?,
        rule_id: r.try_get("rule_id")?,
        kind: RewardKind::from_key(&kind).unwrap_or(RewardKind::Manual),
        description: r.try_get("description")?,
        status: RewardStatus::from_key(&status).unwrap_or(RewardStatus::Failed),
        note: r.try_get("note")?,
        recipient_id: r.try_get("recipient_id")?,
        recipient_email: r.try_get("recipient_email")?,
        referral_id: r.try_get("referral_id")?,
        referral_email: r.try_get("referral_email")?,
        customer_id: r.try_get("customer_id")?,
        stripe_ref: r.try_get("stripe_ref")?,
        code: r.try_get("code")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// A manual reward to pay out, with who gets it.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Payout {
    pub id: String,
    pub recipient_email: String,
    pub recipient_first_name: String,
    pub amount: i64,
    pub currency: String,
    pub description: String,
    pub created_at: i64,
    pub referral_email: String,
}

/// The campaign's manual rewards to fulfil, oldest first: the payout run.
pub async fn to_pay_out<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    campaign_id: &str,
) -> Result<Vec<Payout>, sqlx::Error> {
    sqlx::query_as(
        "SELECT r.id, rp.email AS recipient_email, rp.first_name AS recipient_first_name, r.amount, r.currency, \
         r.description, r.created_at, fp.email AS referral_email \
         FROM rewards r JOIN participants rp ON rp.id = r.recipient_id JOIN participants fp ON fp.id = r.referral_id \
         WHERE r.account_id = $1 AND r.campaign_id = $2 AND r.status = 'to_fulfil' AND r.kind = 'manual' \
         ORDER BY r.created_at, r.id",
    )
    .bind(account_id)
    .bind(campaign_id)
    .fetch_all(ex)
    .await
}

/// Rewards for a person that wait for them to be linked to a Stripe customer.
pub async fn waiting_for<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    recipient_id: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM rewards WHERE account_id = $1 AND recipient_id = $2 AND status = 'waiting'",
    )
    .bind(account_id)
    .bind(recipient_id)
    .fetch_all(ex)
    .await
}

/// Held rewards whose hold ends by `by`, with the customer whose payment each waits on (at most
/// `limit`, the earliest first).
pub async fn held_by<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    by: i64,
    limit: i64,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT r.id, c.customer_id FROM rewards r \
         JOIN stripe_charges c ON c.account_id = r.account_id AND c.charge_id = r.held_for \
         WHERE r.account_id = $1 AND r.status = 'held' AND r.held_until <= $2 AND c.customer_id IS NOT NULL \
         ORDER BY r.held_until, r.id LIMIT $3",
    )
    .bind(account_id)
    .bind(by)
    .bind(limit)
    .fetch_all(ex)
    .await
}

/// What the API's list of rewards is filtered by.
#[derive(Debug, Clone, Default)]
pub struct ApiFilter {
    /// Campaign ids; empty: every campaign of the account.
    pub campaigns: Vec<String>,
    /// Rewards given to this participant.
    pub recipient: Option<String>,
    pub status: Option<String>,
    /// After this reward (its time and id), newest first.
    pub after: Option<(i64, String)>,
}

/// A page of the account's rewards, newest first: up to `limit`, and whether more follow.
pub async fn api_page<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    filter: &ApiFilter,
    limit: i64,
) -> Result<(Vec<RewardRow>, bool), sqlx::Error> {
    let mut sql = format!("SELECT {COLUMNS} FROM rewards WHERE account_id = $1");
    let mut n = 1;
    let mut next = || {
        n += 1;
        format!("${n}")
    };
    if !filter.campaigns.is_empty() {
        let list: Vec<String> = filter.campaigns.iter().map(|_| next()).collect();
        sql.push_str(&format!(" AND campaign_id IN ({})", list.join(", ")));
    }
    if filter.recipient.is_some() {
        sql.push_str(&format!(" AND recipient_id = {}", next()));
    }
    if filter.status.is_some() {
        sql.push_str(&format!(" AND status = {}", next()));
    }
    if filter.after.is_some() {
        let (at, at_again, id) = (next(), next(), next());
        sql.push_str(&format!(
            " AND (created_at < {at} OR (created_at = {at_again} AND id < {id}))"
        ));
    }
    sql.push_str(&format!(
        " ORDER BY created_at DESC, id DESC LIMIT {}",
        next()
    ));
    let mut q = sqlx::query_as::<_, RewardRow>(&sql).bind(account_id);
    for c in &filter.campaigns {
        q = q.bind(c);
    }
    if let Some(r) = &filter.recipient {
        q = q.bind(r);
    }
    if let Some(s) = &filter.status {
        q = q.bind(s);
    }
    if let Some((at, id)) = &filter.after {
        q = q.bind(*at).bind(*at).bind(id);
    }
    let mut rows = q.bind(limit + 1).fetch_all(ex).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    Ok((rows, more))
}
