//! Campaigns, always looked up within their account, except by public slug.

use sqlx::{any::AnyRow, Any, Executor, FromRow, Row};

use crate::domain::campaigns::{CampaignStatus, FormField, PromoteToggle};

#[derive(Debug, Clone, PartialEq)]
pub struct CampaignRow {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub slug: String,
    pub status: CampaignStatus,
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    pub referrer_form: Vec<FormField>,
    pub friend_form: Vec<FormField>,
    pub referral_cap: Option<i64>,
    pub send_referrers_to_stripe: bool,
    pub send_friends_to_stripe: bool,
    pub ongoing_stripe_sync: bool,
    pub share_text: String,
    /// Where referral links lead; empty: Refloop's join page.
    pub landing_url: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl FromRow<'_, AnyRow> for CampaignRow {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let form = |col: &str| -> Result<Vec<FormField>, sqlx::Error> {
            let text: String = row.try_get(col)?;
            serde_json::from_str(&text).map_err(|e| sqlx::Error::ColumnDecode {
                index: col.into(),
                source: Box::new(e),
            })
        };
        let status: String = row.try_get("status")?;
        Ok(CampaignRow {
            id: row.try_get("id")?,
            account_id: row.try_get("account_id")?,
            name: row.try_get("name")?,
            slug: row.try_get("slug")?,
            status: CampaignStatus::from_key(&status).unwrap_or(CampaignStatus::Draft),
            starts_at: row.try_get("starts_at")?,
            ends_at: row.try_get("ends_at")?,
            referrer_form: form("referrer_form")?,
            friend_form: form("friend_form")?,
            referral_cap: row.try_get("referral_cap")?,
            send_referrers_to_stripe: row.try_get::<i64, _>("send_referrers_to_stripe")? != 0,
            send_friends_to_stripe: row.try_get::<i64, _>("send_friends_to_stripe")? != 0,
            ongoing_stripe_sync: row.try_get::<i64, _>("ongoing_stripe_sync")? != 0,
            share_text: row.try_get("share_text")?,
            landing_url: row.try_get("landing_url")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

const COLUMNS: &str = "id, account_id, name, slug, status, starts_at, ends_at, referrer_form, friend_form, referral_cap, \
     send_referrers_to_stripe, send_friends_to_stripe, ongoing_stripe_sync, share_text, created_at, updated_at, landing_url";

fn json(form: &[FormField]) -> String {
    serde_json::to_string(form).expect("form fields serialize")
}

pub async fn insert<'c>(
    ex: impl Executor<'c, Database = Any>,
    c: &CampaignRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO campaigns ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
    ))
    .bind(&c.id)
    .bind(&c.account_id)
    .bind(&c.name)
    .bind(&c.slug)
    .bind(c.status.key())
    .bind(c.starts_at)
    .bind(c.ends_at)
    .bind(json(&c.referrer_form))
    .bind(json(&c.friend_form))
    .bind(c.referral_cap)
    .bind(i64::from(c.send_referrers_to_stripe))
    .bind(i64::from(c.send_friends_to_stripe))
    .bind(i64::from(c.ongoing_stripe_sync))
    .bind(&c.share_text)
    .bind(c.created_at)
    .bind(c.updated_at)
    .bind(&c.landing_url)
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn get<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    id: &str,
) -> Result<Option<CampaignRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM campaigns WHERE id = $1 AND account_id = $2"
    ))
    .bind(id)
    .bind(account_id)
    .fetch_optional(ex)
    .await
}

/// The campaign a public page names (any account: the slug is the address).
pub async fn by_slug<'c>(
    ex: impl Executor<'c, Database = Any>,
    slug: &str,
) -> Result<Option<CampaignRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM campaigns WHERE slug = $1"))
        .bind(slug)
        .fetch_optional(ex)
        .await
}

/// The account's campaigns, newest first.
pub async fn list<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
) -> Result<Vec<CampaignRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM campaigns WHERE account_id = $1 ORDER BY created_at DESC, id DESC"
    ))
    .bind(account_id)
    .fetch_all(ex)
    .await
}

/// Replaces the builder's settings (not the integration toggles: see `set_toggle`); false if
/// there is no such campaign in the account.
pub async fn update<'c>(
    ex: impl Executor<'c, Database = Any>,
    c: &CampaignRow,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE campaigns SET name = $1, slug = $2, status = $3, starts_at = $4, ends_at = $5, referrer_form = $6, \
         friend_form = $7, referral_cap = $8, share_text = $9, updated_at = $10, landing_url = $13 WHERE id = $11 AND account_id = $12",
    )
    .bind(&c.name)
    .bind(&c.slug)
    .bind(c.status.key())
    .bind(c.starts_at)
    .bind(c.ends_at)
    .bind(json(&c.referrer_form))
    .bind(json(&c.friend_form))
    .bind(c.referral_cap)
    .bind(&c.share_text)
    .bind(c.updated_at)
    .bind(&c.id)
    .bind(&c.account_id)
    .bind(&c.landing_url)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Switches one integration toggle, and only it (two switches flipped at once both stick).
pub async fn set_toggle<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    id: &str,
    toggle: PromoteToggle,
    on: bool,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let column = match toggle {
        PromoteToggle::SendReferrers => "send_referrers_to_stripe",
        PromoteToggle::SendFriends => "send_friends_to_stripe",
        PromoteToggle::OngoingSync => "ongoing_stripe_sync",
    };
    let done = sqlx::query(&format!(
        "UPDATE campaigns SET {column} = $1, updated_at = $2 WHERE id = $3 AND account_id = $4"
    ))
    .bind(i64::from(on))
    .bind(now)
    .bind(id)
    .bind(account_id)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// How many participants each of the account's campaigns has.
pub async fn participant_counts<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT campaign_id, COUNT(*) FROM participants WHERE account_id = $1 GROUP BY campaign_id",
    )
    .bind(account_id)
    .fetch_all(ex)
    .await
}

/// Sets the account's participant limit.
pub async fn set_participant_limit<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    limit: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE accounts SET participant_limit = $1 WHERE id = $2")
        .bind(limit)
        .bind(account_id)
        .execute(ex)
        .await?;
    Ok(())
}

/// The account's participant limit.
pub async fn participant_limit<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT participant_limit FROM accounts WHERE id = $1")
        .bind(account_id)
        .fetch_one(ex)
        .await
}
