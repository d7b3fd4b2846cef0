//! The dashboard's ledger and reads: the payments that count for invited friends (kept by the
//! qualification workflow), summed per day, and the figures read from them, the participants
//! and the rewards. Every read is scoped to the account and, when `campaign` is not empty, to
//! one of its campaigns; each is answered from one index (migration 0018).

use std::collections::BTreeMap;

use sqlx::{Any, AnyConnection, AnyPool, Executor};

use super::{in_list, participants::ParticipantRow};
use crate::domain::{
    dashboard::{Amount, Cost, CostBucket, Funnel, RevenueDay, TopReferrer},
    participants::EventKind,
    qualification::ChargeEntry,
    rewards::RewardStatus,
};

const DAY: i64 = 86_400;

/// The campaign filter shared by the reads: `$2` is a campaign id, or empty for all.
const CAMPAIGN: &str = "($2 = '' OR campaign_id = $2)";

/// Keeps a friend's referred payments as evaluated now: each paid charge that counts for them,
/// made since they joined, net of refunds and lost disputes. Adjusts the daily sums by what
/// changed and marks whether they are paying. Runs in the evaluation's transaction, which holds
/// the friend's row lock.
pub async fn record_payments(
    conn: &mut AnyConnection,
    friend: &ParticipantRow,
    referrer_id: &str,
    counted: &[ChargeEntry],
) -> Result<(), sqlx::Error> {
    let now: BTreeMap<&str, (&str, i64, i64)> = counted
        .iter()
        .filter(|c| c.created >= friend.created_at && c.net() > 0)
        .map(|c| (c.id.as_str(), (c.currency.as_str(), c.net(), c.created)))
        .collect();
    let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT charge_id, currency, net, paid_at FROM referred_payments WHERE participant_id = $1",
    )
    .bind(&friend.id)
    .fetch_all(&mut *conn)
    .await?;
    let before: BTreeMap<&str, (&str, i64, i64)> = rows
        .iter()
        .map(|(id, cur, net, at)| (id.as_str(), (cur.as_str(), *net, *at)))
        .collect();
    if before == now {
        return Ok(());
    }
    // What changed per day and currency, applied in one order so that two evaluations never
    // wait on each other's day rows the other way round.
    let mut changes: BTreeMap<(i64, &str), i64> = BTreeMap::new();
    for (currency, net, at) in before.values() {
        *changes
            .entry((at.div_euclid(DAY) * DAY, currency))
            .or_default() -= net;
    }
    for (currency, net, at) in now.values() {
        *changes
            .entry((at.div_euclid(DAY) * DAY, currency))
            .or_default() += net;
    }
    sqlx::query("DELETE FROM referred_payments WHERE participant_id = $1")
        .bind(&friend.id)
        .execute(&mut *conn)
        .await?;
    for (charge_id, (currency, net, at)) in &now {
        sqlx::query(
            "INSERT INTO referred_payments \
             (account_id, campaign_id, participant_id, referrer_id, charge_id, currency, net, paid_at, day) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&friend.account_id)
        .bind(&friend.campaign_id)
        .bind(&friend.id)
        .bind(referrer_id)
        .bind(*charge_id)
        .bind(*currency)
        .bind(*net)
        .bind(*at)
        .bind(at.div_euclid(DAY) * DAY)
        .execute(&mut *conn)
        .await?;
    }
    for ((day, currency), change) in changes.into_iter().filter(|(_, c)| *c != 0) {
        sqlx::query(
            "INSERT INTO referred_revenue_days (account_id, campaign_id, day, currency, revenue) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (account_id, day, campaign_id, currency) \
             DO UPDATE SET revenue = referred_revenue_days.revenue + excluded.revenue",
        )
        .bind(&friend.account_id)
        .bind(&friend.campaign_id)
        .bind(day)
        .bind(currency)
        .bind(change)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query("UPDATE participants SET paying = $1 WHERE id = $2 AND paying <> $1")
        .bind(i64::from(!now.is_empty()))
        .bind(&friend.id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// What invited friends paid in `[from, to)`, per day and currency.
pub async fn revenue_days<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    campaign: &str,
    from: i64,
    to: i64,
) -> Result<Vec<RevenueDay>, sqlx::Error> {
    let rows: Vec<(i64, String, i64)> = sqlx::query_as(&format!(
        "SELECT day, currency, CAST(SUM(revenue) AS BIGINT) FROM referred_revenue_days \
         WHERE account_id = $1 AND {CAMPAIGN} AND day >= $3 AND day < $4 \
         GROUP BY day, currency ORDER BY day, currency"
    ))
    .bind(account_id)
    .bind(campaign)
    .bind(from)
    .bind(to)
    .fetch_all(ex)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(day, currency, amount)| RevenueDay {
            day,
            currency,
            amount,
        })
        .collect())
}

/// What the rewards granted in `[from, to)` cost, per currency and where they stand (rewards
/// that will not be given cost nothing).
pub async fn cost<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    campaign: &str,
    from: i64,
    to: i64,
) -> Result<Vec<Cost>, sqlx::Error> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(&format!(
        "SELECT status, currency, CAST(SUM(amount) AS BIGINT) FROM rewards \
         WHERE account_id = $1 AND {CAMPAIGN} AND created_at >= $3 AND created_at < $4 \
         GROUP BY status, currency"
    ))
    .bind(account_id)
    .bind(campaign)
    .bind(from)
    .bind(to)
    .fetch_all(ex)
    .await?;
    let mut costs: BTreeMap<String, Cost> = BTreeMap::new();
    for (status, currency, amount) in rows {
        let Some(bucket) = RewardStatus::from_key(&status).and_then(CostBucket::of) else {
            continue;
        };
        costs
            .entry(currency.clone())
            .or_insert_with(|| Cost {
                currency,
                ..Cost::default()
            })
            .add(bucket, amount);
    }
    Ok(costs.into_values().collect())
}

/// Clicks and joins in `[from, to)`, and how far the friends who joined in it got (two
/// queries, at once).
pub async fn funnel(
    pool: &AnyPool,
    account_id: &str,
    campaign: &str,
    from: i64,
    to: i64,
) -> Result<Funnel, sqlx::Error> {
    let clicks_sql = format!(
        "SELECT COUNT(*) FROM participant_events \
         WHERE account_id = $1 AND {CAMPAIGN} AND kind = $5 AND at >= $3 AND at < $4"
    );
    let clicks = sqlx::query_as::<_, (i64,)>(&clicks_sql)
        .bind(account_id)
        .bind(campaign)
        .bind(from)
        .bind(to)
        .bind(EventKind::Clicked.key())
        .fetch_one(pool);
    let people_sql = format!(
        "SELECT COUNT(*), COUNT(referrer_id), \
           CAST(COALESCE(SUM(CASE WHEN referrer_id IS NOT NULL THEN paying ELSE 0 END), 0) AS BIGINT), \
           CAST(COALESCE(SUM(CASE WHEN qualification = 'qualified' THEN 1 ELSE 0 END), 0) AS BIGINT) \
         FROM participants WHERE account_id = $1 AND {CAMPAIGN} AND created_at >= $3 AND created_at < $4"
    );
    let people = sqlx::query_as::<_, (i64, i64, i64, i64)>(&people_sql)
        .bind(account_id)
        .bind(campaign)
        .bind(from)
        .bind(to)
        .fetch_one(pool);
    let ((clicks,), (joined, invited, paying, qualified)) = tokio::try_join!(clicks, people)?;
    Ok(Funnel {
        clicks,
        joined,
        invited,
        paying,
        qualified,
    })
}

/// The `limit` people referring whose friends who joined in `[from, to)` pay most often, then
/// are most; their revenue and rewards are left for `revenue_by_referrer` and
/// `rewards_by_recipient`.
pub async fn top_referrers(
    pool: &AnyPool,
    account_id: &str,
    campaign: &str,
    from: i64,
    to: i64,
    limit: i64,
) -> Result<Vec<TopReferrer>, sqlx::Error> {
    let counts: Vec<(String, i64, i64)> = sqlx::query_as(&format!(
        "SELECT referrer_id, COUNT(*) AS friends, CAST(SUM(paying) AS BIGINT) AS paid FROM participants \
         WHERE account_id = $1 AND referrer_id IS NOT NULL AND {CAMPAIGN} AND created_at >= $3 AND created_at < $4 \
         GROUP BY referrer_id ORDER BY paid DESC, friends DESC, referrer_id LIMIT $5"
    ))
    .bind(account_id)
    .bind(campaign)
    .bind(from)
    .bind(to)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    if counts.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id, campaign_id, email, first_name, last_name FROM participants \
         WHERE account_id = $1 AND id IN {}",
        in_list(2, counts.len())
    );
    let mut q = sqlx::query_as(&sql).bind(account_id);
    for (id, _, _) in &counts {
        q = q.bind(id);
    }
    let people: Vec<(String, String, String, String, String)> = q.fetch_all(pool).await?;
    Ok(counts
        .into_iter()
        .filter_map(|(id, friends, paying)| {
            let (_, campaign_id, email, first, last) = people.iter().find(|p| p.0 == id)?;
            Some(TopReferrer {
                campaign_id: campaign_id.clone(),
                email: email.clone(),
                name: format!("{first} {last}").trim().to_string(),
                id,
                friends,
                paying,
                revenue: Vec::new(),
                rewards: Vec::new(),
            })
        })
        .collect())
}

/// What these people's friends paid in `[from, to)`, per person and currency.
pub async fn revenue_by_referrer(
    pool: &AnyPool,
    account_id: &str,
    referrer_ids: &[String],
    from: i64,
    to: i64,
) -> Result<Vec<(String, Amount)>, sqlx::Error> {
    if referrer_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT referrer_id, currency, CAST(SUM(net) AS BIGINT) FROM referred_payments \
         WHERE account_id = $1 AND paid_at >= $2 AND paid_at < $3 AND referrer_id IN {} \
         GROUP BY referrer_id, currency ORDER BY referrer_id, currency",
        in_list(4, referrer_ids.len())
    );
    let mut q = sqlx::query_as(&sql).bind(account_id).bind(from).bind(to);
    for id in referrer_ids {
        q = q.bind(id);
    }
    let rows: Vec<(String, String, i64)> = q.fetch_all(pool).await?;
    Ok(rows
        .into_iter()
        .map(|(id, currency, amount)| (id, Amount { currency, amount }))
        .collect())
}

/// What the rewards granted to these people in `[from, to)` cost, per person and currency.
pub async fn rewards_by_recipient(
    pool: &AnyPool,
    account_id: &str,
    recipient_ids: &[String],
    from: i64,
    to: i64,
) -> Result<Vec<(String, Amount)>, sqlx::Error> {
    if recipient_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT recipient_id, status, currency, CAST(SUM(amount) AS BIGINT) FROM rewards \
         WHERE account_id = $1 AND created_at >= $2 AND created_at < $3 AND recipient_id IN {} \
         GROUP BY recipient_id, status, currency ORDER BY recipient_id, currency",
        in_list(4, recipient_ids.len())
    );
    let mut q = sqlx::query_as(&sql).bind(account_id).bind(from).bind(to);
    for id in recipient_ids {
        q = q.bind(id);
    }
    let rows: Vec<(String, String, String, i64)> = q.fetch_all(pool).await?;
    let mut sums: BTreeMap<(String, String), i64> = BTreeMap::new();
    for (id, status, currency, amount) in rows {
        if RewardStatus::from_key(&status)
            .and_then(CostBucket::of)
            .is_some()
        {
            *sums.entry((id, currency)).or_default() += amount;
        }
    }
    Ok(sums
        .into_iter()
        .map(|((id, currency), amount)| (id, Amount { currency, amount }))
        .collect())
}

/// Seconds from joining to qualifying of each friend who qualified in `[from, to)`.
pub async fn seconds_to_qualify<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    campaign: &str,
    from: i64,
    to: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let rows: Vec<(i64,)> = sqlx::query_as(&format!(
        "SELECT qualified_at - created_at FROM participants \
         WHERE account_id = $1 AND {CAMPAIGN} AND qualified_at >= $3 AND qualified_at < $4"
    ))
    .bind(account_id)
    .bind(campaign)
    .bind(from)
    .bind(to)
    .fetch_all(ex)
    .await?;
    Ok(rows.into_iter().map(|(s,)| s.max(0)).collect())
}
