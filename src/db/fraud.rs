//! Referrals flagged for review: the signs that fired with their evidence, and the team's
//! decision. Every statement is scoped to the account.

use sqlx::{Any, Executor};

use crate::domain::fraud::{Finding, ReviewState};

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
