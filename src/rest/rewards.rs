//! `/api/v1/rewards`: the rewards referrals earned, listed with cursor pagination and filters,
//! and a manual reward marked fulfilled once the merchant's system has given it.

use axum::{
    body::Bytes,
    extract::{rejection::QueryRejection, Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::Response,
    Json,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use utoipa::IntoParams;

use super::{
    auth::ApiCaller,
    error::{ApiError, ErrorBody},
    idempotency::{self, IdempotencyKey},
    json,
    paging::{self, Page},
    participants::{body_of, campaign_of, reached},
};
use crate::{
    db::rewards::{self, ApiFilter, RewardRow},
    domain::rewards::{RewardDecision, RewardStatus},
    state::AppState,
    workflows,
};

/// A reward's side in Stripe.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RewardStripe {
    /// The customer credited or given the coupon, `cus_…`.
    pub customer: Option<String>,
    /// The balance transaction, coupon or promotion code it made.
    pub reference: Option<String>,
    /// The promotion code given, for a coupon reward.
    pub promotion_code: Option<String>,
}

/// A reward a referral earned.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Reward {
    #[schema(example = "rwd_3b7c1d")]
    pub id: String,
    /// Always `reward`.
    pub object: String,
    /// The campaign's id.
    pub campaign: String,
    /// The participant given it.
    pub participant: String,
    /// The referral (the invited friend's participant id) that earned it.
    pub referral: String,
    /// `credit`, `promotion_code` or `manual`.
    #[schema(example = "credit")]
    pub kind: String,
    #[schema(example = "10.00 USD credit")]
    pub description: String,
    /// In the currency's smallest unit.
    pub amount: i64,
    pub currency: String,
    /// `held`, `awaiting_approval`, `queued`, `waiting`, `issued`, `to_fulfil`, `fulfilled`,
    /// `reversed`, `flagged`, `cancelled`, `rejected` or `failed`.
    #[schema(example = "issued")]
    pub status: String,
    pub note: String,
    pub stripe: RewardStripe,
    /// The payout's reference, once fulfilled.
    pub payout_reference: Option<String>,
    /// Seconds since 1970 (UTC).
    pub created: i64,
    pub updated: i64,
}

impl Reward {
    pub fn of(r: &RewardRow) -> Reward {
        Reward {
            id: r.id.clone(),
            object: "reward".into(),
            campaign: r.campaign_id.clone(),
            participant: r.recipient_id.clone(),
            referral: r.referral_id.clone(),
            kind: r.kind.key().into(),
            description: r.description.clone(),
            amount: r.amount,
            currency: r.currency.clone(),
            status: r.status.key().into(),
            note: r.note.clone(),
            stripe: RewardStripe {
                customer: r.customer_id.clone(),
                reference: r.stripe_ref.clone(),
                promotion_code: r.code.clone(),
            },
            payout_reference: r.payout_ref.clone(),
            created: r.created_at,
            updated: r.updated_at,
        }
    }
}

/// A reward as the API shows it.
pub fn to_json(r: &RewardRow) -> Value {
    json(&Reward::of(r))
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
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// How many to answer, 1 to 100 (10 without it).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The last reward of the previous page: the page after it.
    pub starting_after: Option<String>,
    /// Only this campaign's (its id or slug).
    pub campaign: Option<String>,
    /// Only the rewards given to this participant.
    pub participant: Option<String>,
    /// Only rewards with this status (`issued`, `to_fulfil`, …).
    pub status: Option<String>,
}

/// `GET /api/v1/rewards`: newest first.
#[utoipa::path(
    get,
    path = "/rewards",
    tag = "Rewards",
    summary = "List rewards",
    description = "Newest first, a page at a time, in the campaigns this key reaches.",
    params(ListQuery),
    responses(
        (status = 200, description = "A page.", body = Page<Reward>),
        (status = 400, description = "A parameter is wrong.", body = ErrorBody),
        (status = 401, description = "No API key, or a revoked one.", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Page<Reward>>, ApiError> {
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
    let data = rows.iter().map(Reward::of).collect();
    Ok(Json(paging::page("/api/v1/rewards", data, has_more)))
}

/// `GET /api/v1/rewards/{id}`.
#[utoipa::path(
    get,
    path = "/rewards/{id}",
    tag = "Rewards",
    summary = "Retrieve a reward",
    params(("id" = String, Path, description = "The reward's id, `rwd_…`.")),
    responses(
        (status = 200, description = "The reward.", body = Reward),
        (status = 404, description = "No such reward in a campaign this key reaches.", body = ErrorBody),
    )
)]
pub async fn retrieve(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Reward>, ApiError> {
    Ok(Json(Reward::of(
        &reward_reached(&state, &caller, &id).await?,
    )))
}

/// What `POST /api/v1/rewards/{id}/fulfil` takes.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Fulfil {
    /// The payout's reference (a bank transfer's id, a gift card's number).
    #[serde(default)]
    pub reference: String,
}

/// `POST /api/v1/rewards/{id}/fulfil`: a manual reward to fulfil is marked fulfilled.
#[utoipa::path(
    post,
    path = "/rewards/{id}/fulfil",
    tag = "Rewards",
    summary = "Mark a reward fulfilled",
    description = "A manual reward waiting to be fulfilled (`to_fulfil`), once the merchant's system has \
        given it; the body is optional.",
    params(("id" = String, Path, description = "The reward's id."), IdempotencyKey),
    request_body(content = Option<Fulfil>),
    responses(
        (status = 200, description = "Fulfilled.", body = Reward),
        (status = 403, description = "A read-only key.", body = ErrorBody),
        (status = 404, description = "No such reward.", body = ErrorBody),
        (status = 409, description = "It is not a manual reward waiting to be fulfilled.", body = ErrorBody),
    )
)]
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
