//! The records integration health reads that no other page needs: participants by how they
//! reached Stripe or qualification, join refusals and sync runs across an account. Every
//! statement is scoped to the account; lists are capped by `limit`.

use sqlx::{Any, Executor, Row};

use super::stripe_connections::CURRENT_STRIPE_ACCOUNT;

/// A participant as a check's evidence names them.
#[derive(Debug, Clone)]
pub struct Flagged {
    pub campaign: String,
    pub email: String,
    pub note: String,
    pub at: i64,
    /// How many customers they are linked to.
    pub customers: i64,
}

const FLAGGED: &str =
    "SELECT c.name AS campaign, p.email, p.stripe_note AS note, p.created_at AS at, \
     (SELECT COUNT(*) FROM participant_customers pc WHERE pc.participant_id = p.id \
      AND pc.stripe_account = (SELECT sc.stripe_account_id FROM stripe_connections sc WHERE sc.account_id = $1)) AS customers \
     FROM participants p JOIN campaigns c ON c.id = p.campaign_id WHERE p.account_id = $1";

async fn flagged<'c>(
    ex: impl Executor<'c, Database = Any>,
    sql: String,
    account_id: &str,
    limit: i64,
) -> Result<Vec<Flagged>, sqlx::Error> {
    let rows = sqlx::query(&sql)
        .bind(account_id)
        .bind(limit)
        .fetch_all(ex)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Flagged {
                campaign: r.try_get("campaign")?,
                email: r.try_get("email")?,
                note: r.try_get("note")?,
                at: r.try_get("at")?,
                customers: r.try_get("customers")?,
            })
        })
        .collect()
}

/// People Refloop linked to customers already in Stripe (rather than creating one), newest first.
pub async fn matched_existing<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    limit: i64,
) -> Result<Vec<Flagged>, sqlx::Error> {
    let sql = format!(
        "{FLAGGED} AND p.stripe_status = 'sent' AND EXISTS (SELECT 1 FROM participant_customers pc \
         WHERE pc.participant_id = p.id AND pc.how = 'linked') ORDER BY p.created_at DESC, p.id DESC LIMIT $2"
    );
    flagged(ex, sql, account_id, limit).await
}

/// People not sent because of what Stripe held (several customers with their email and the
/// policy says flag it, or another reason the plan gave), newest first.
pub async fn skipped<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    limit: i64,
) -> Result<Vec<Flagged>, sqlx::Error> {
    let sql = format!(
        "{FLAGGED} AND p.stripe_status = 'skipped' ORDER BY p.created_at DESC, p.id DESC LIMIT $2"
    );
    flagged(ex, sql, account_id, limit).await
}

/// Invited friends still pending who have paid something: counted spend below the target, or
/// payments that did not count (outside the window, another currency, …). The note is where
/// they stand in words.
pub async fn near_misses<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    limit: i64,
) -> Result<Vec<Flagged>, sqlx::Error> {
    let sql = format!(
        "SELECT c.name AS campaign, p.email, p.qualification_note AS note, p.created_at AS at, \
         (SELECT COUNT(*) FROM participant_customers pc WHERE pc.participant_id = p.id) AS customers \
         FROM participants p JOIN campaigns c ON c.id = p.campaign_id WHERE p.account_id = $1 \
         AND p.referrer_id IS NOT NULL AND p.qualification = 'pending' AND (p.spent > 0 OR EXISTS \
         (SELECT 1 FROM stripe_charges ch JOIN participant_customers pc ON pc.customer_id = ch.customer_id \
          WHERE pc.participant_id = p.id AND ch.account_id = $1 AND ch.stripe_account = {CURRENT_STRIPE_ACCOUNT})) \
         ORDER BY p.created_at DESC, p.id DESC LIMIT $2"
    );
    flagged(ex, sql, account_id, limit).await
}

/// Invited friends in campaigns whose payments count only from linked customers, who paid
/// through another customer with their email (so that payment does not count); `customers` is
/// how many such customers. With the campaign's id, for its qualification settings.
pub async fn unlinked_payers<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    limit: i64,
) -> Result<Vec<(String, Flagged)>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT c.id AS campaign_id, c.name AS campaign, p.email, p.qualification_note AS note, p.created_at AS at, \
         COUNT(DISTINCT ch.customer_id) AS customers \
         FROM participants p JOIN campaigns c ON c.id = p.campaign_id \
         JOIN stripe_charges ch ON ch.account_id = p.account_id AND ch.email = p.email \
         WHERE p.account_id = $1 AND p.referrer_id IS NOT NULL AND ch.customer_id IS NOT NULL \
         AND ch.stripe_account = {CURRENT_STRIPE_ACCOUNT} \
         AND ch.customer_id NOT IN (SELECT pc.customer_id FROM participant_customers pc WHERE pc.participant_id = p.id) \
         GROUP BY c.id, c.name, p.id, p.email, p.qualification_note, p.created_at \
         ORDER BY p.created_at DESC, p.id DESC LIMIT $2"
    ))
    .bind(account_id)
    .bind(limit)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("campaign_id")?,
                Flagged {
                    campaign: r.try_get("campaign")?,
                    email: r.try_get("email")?,
                    note: r.try_get("note")?,
                    at: r.try_get("at")?,
                    customers: r.try_get("customers")?,
                },
            ))
        })
        .collect()
}

/// A paid charge by a customer who has a friend's email but is not linked to them.
#[derive(Debug, Clone, PartialEq)]
pub struct UnlinkedCharge {
    pub charge_id: String,
    pub customer_id: String,
    /// What was paid, less what was refunded, in the currency's minor unit.
    pub amount: i64,
    pub currency: String,
}

/// The paid charges (newest first, at most `limit`) of the connected Stripe account made by
/// customers with this `email` who are not linked to the participant: what Check 10 counts,
/// for one person.
pub async fn unlinked_charges_of<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    participant_id: &str,
    email: &str,
    limit: i64,
) -> Result<Vec<UnlinkedCharge>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT ch.charge_id, ch.customer_id, ch.amount - ch.refunded AS amount, ch.currency \
         FROM stripe_charges ch \
         WHERE ch.account_id = $1 AND ch.email = $2 AND ch.customer_id IS NOT NULL AND ch.paid <> 0 \
         AND ch.stripe_account = {CURRENT_STRIPE_ACCOUNT} \
         AND ch.customer_id NOT IN (SELECT pc.customer_id FROM participant_customers pc WHERE pc.participant_id = $3) \
         ORDER BY ch.created DESC, ch.charge_id DESC LIMIT $4"
    ))
    .bind(account_id)
    .bind(email)
    .bind(participant_id)
    .bind(limit)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(UnlinkedCharge {
                charge_id: r.try_get("charge_id")?,
                customer_id: r.try_get("customer_id")?,
                amount: r.try_get("amount")?,
                currency: r.try_get("currency")?,
            })
        })
        .collect()
}

/// Join refusals of the account for `reason` since `since`: how many, and the latest.
pub async fn refusals_since<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    reason: &str,
    since: i64,
) -> Result<(i64, Option<i64>), sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, MAX(at) AS latest FROM join_refusals WHERE account_id = $1 AND reason = $2 AND at >= $3",
    )
    .bind(account_id)
    .bind(reason)
    .bind(since)
    .fetch_one(ex)
    .await?;
    Ok((row.try_get("n")?, row.try_get("latest")?))
}
