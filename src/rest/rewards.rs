//! `/api/v1/rewards`: the rewards referrals earned, listed with cursor pagination and filters,
//! and a manual reward marked fulfilled once the merchant's system has given it.

use axum::{
    body::Bytes,
    extract::{rejection::QueryRejection, Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::Response,
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    auth::ApiCaller,
    error::ApiError,
    idempotency, paging,
    participants::{body_of, campaign_of, reached},
};
use crate::{
    db::rewards::{self, ApiFilter, RewardRow},
    domain::rewards::{RewardDecision, RewardStatus},
    state::AppState,
    workflows,
};

/// A reward as the API shows it.
pub fn to_json(r: &RewardRow) -> Value {
    json!({
        "id": r.id,
        "object": "reward",
        "campaign": r.campaign_id,
        "participant": r.recipient_id,
        "referral": r.referral_id,
        "kind": r.kind.key(),
        "description": r.description,
        "amount": r.amount,
        "currency": r.currency,
        "status": r.status.key(),
        "note": r.note,
        "stripe": {
            "customer": r.customer_id,
            "reference": r.stripe_ref,
            "promotion_code": r.code,
        },
        "payout_reference": r.payout_ref,
        "created": r.created_at,
        "updated": r.updated_at,
    })
}

/// The reward `id` of the caller's account, if the key reaches its campaign.
async fn reward_reached(
    state: &AppState,
    caller: &ApiCaller,
    id: &str,
) -> Result<RewardRow, ApiError> {
    rewards::get(state.db.pool(), caller.account_id(), id)
        .await?
        .filter(|r| caller.reaches(&r.campaign_id))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found_error",
                format!("No reward {id}."),
            )
        })
}

/// The list's query: `limit`, `starting_after` (a reward id), and filters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub limit: Option<String>,
    pub starting_after: Option<String>,
    pub campaign: Option<String>,
    /// The participant the rewards were given to.
    pub participant: Option<String>,
    pub status: Option<String>,
}

/// `GET /api/v1/rewards`: newest first.
pub async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let q = paging::query_of(query)?;
    let limit = paging::limit_of(q.limit.as_deref())?;
    let mut filter = ApiFilter {
        campaigns: caller.key.campaigns.clone(),
        ..ApiFilter::default()
    };
    if let Some(named) = &q.campaign {
        filter.campaigns = vec![campaign_of(&state, &caller, named).await?.id];
    }
    if let Some(id) = &q.participant {
        filter.recipient = Some(reached(&state, &caller, id).await?.id);
    }
    if let Some(status) = &q.status {
        let known = RewardStatus::from_key(status).ok_or_else(|| {
            let keys: Vec<&str> = RewardStatus::ALL.iter().map(|s| s.key()).collect();
            ApiError::invalid(
                "status",
                format!("`status` is one of: {}.", keys.join(", ")),
            )
        })?;
        filter.status = Some(known.key().to_string());
    }
    if let Some(after) = &q.starting_after {
        let r = rewards::get(state.db.pool(), caller.account_id(), after)
            .await?
            .ok_or_else(|| {
                ApiError::invalid(
                    "starting_after",
                    format!("`starting_after` names no reward: {after}."),
                )
            })?;
        filter.after = Some((r.created_at, r.id));
    }
    let (rows, has_more) =
        rewards::api_page(state.db.pool(), caller.account_id(), &filter, limit).await?;
    let data = rows.iter().map(to_json).collect();
    Ok(Json(paging::page("/api/v1/rewards", data, has_more)))
}

/// `GET /api/v1/rewards/{id}`.
pub async fn retrieve(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(to_json(&reward_reached(&state, &caller, &id).await?)))
}

/// What `POST /api/v1/rewards/{id}/fulfil` takes.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fulfil {
    /// The payout's reference (a bank transfer's id, a gift card's number).
    #[serde(default)]
    pub reference: String,
}

/// `POST /api/v1/rewards/{id}/fulfil`: a manual reward to fulfil is marked fulfilled.
pub async fn fulfil(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("POST /api/v1/rewards/{id}/fulfil");
    let answer = async {
        caller.may_write()?;
        let r = reward_reached(&state, &caller, &id).await?;
        let f: Fulfil = if body.is_empty() {
            Fulfil::default()
        } else {
            body_of(&body, "the payout's reference")?
        };
        let row = workflows::rewards::decide(
            &state.db,
            caller.account_id(),
            &r.id,
            RewardDecision::MarkFulfilled,
            &caller.actor(),
            &f.reference,
        )
        .await?;
        Ok((StatusCode::OK, to_json(&row)))
    };
    idempotency::once(&state.db, &caller, &headers, &path, &body, answer).await
}
