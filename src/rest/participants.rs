//! `/api/v1/participants`: enrol someone (the public join's rules and refusals), look one up,
//! and list them with cursor pagination and filters.

use std::collections::HashMap;

use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::Response,
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{auth::ApiCaller, error::ApiError, idempotency};
use crate::{
    campaigns::join::{self, JoinRequest},
    db::{
        campaigns::{self, CampaignRow},
        participants::{self, ApiFilter, ParticipantRow},
    },
    domain::participants::referral_link,
    state::AppState,
};

/// The most a page holds, and what it holds without `limit`.
const LIMIT_MAX: i64 = 100;
const LIMIT_DEFAULT: i64 = 10;

/// A participant as the API shows them.
pub fn to_json(p: &ParticipantRow, slug: &str, public_url: &str) -> Value {
    json!({
        "id": p.id,
        "object": "participant",
        "campaign": { "id": p.campaign_id, "slug": slug },
        "email": p.email,
        "first_name": p.first_name,
        "last_name": p.last_name,
        "fields": p.fields.iter().cloned().collect::<HashMap<_, _>>(),
        "referral_code": p.code,
        "referral_link": referral_link(public_url, &p.code),
        "personal_page": format!("{public_url}/p/{}", p.page_token),
        "referred_by": p.referrer_id,
        "referrals": p.referrals,
        "qualified_referrals": p.qualified_referrals,
        "qualification": p.qualification.key(),
        "stripe": {
            "status": p.stripe_status.key(),
            "customer": p.stripe_customer_id,
            "note": p.stripe_note,
        },
        "created": p.created_at,
    })
}

/// The campaign named by id or slug, if the key reaches it.
async fn campaign_of(
    state: &AppState,
    caller: &ApiCaller,
    named: &str,
) -> Result<CampaignRow, ApiError> {
    let pool = state.db.pool();
    let found = match campaigns::get(pool, caller.account_id(), named).await? {
        Some(c) => Some(c),
        None => campaigns::by_slug(pool, &named.trim().to_lowercase())
            .await?
            .filter(|c| c.account_id == caller.account_id()),
    };
    found
        .filter(|c| caller.reaches(&c.id))
        .ok_or_else(|| ApiError {
            status: StatusCode::NOT_FOUND,
            ..ApiError::invalid(
                "campaign",
                format!("No campaign “{named}” that this key reaches."),
            )
        })
}

async fn slug_of(state: &AppState, p: &ParticipantRow) -> Result<String, ApiError> {
    Ok(
        campaigns::get(state.db.pool(), &p.account_id, &p.campaign_id)
            .await?
            .map(|c| c.slug)
            .unwrap_or_default(),
    )
}

/// What `POST /api/v1/participants` takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enrol {
    /// The campaign's id or slug.
    pub campaign: String,
    pub email: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    /// The campaign's other form fields, by key.
    #[serde(default)]
    pub fields: HashMap<String, String>,
    /// Who referred them: their referral code, or their email in the campaign.
    #[serde(default)]
    pub referral_code: Option<String>,
    #[serde(default)]
    pub referrer_email: Option<String>,
}

/// `POST /api/v1/participants`: 201 with the participant, or the refusal as a typed error.
pub async fn enrol(
    State(state): State<AppState>,
    caller: ApiCaller,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    idempotency::once(
        &state.db,
        &caller,
        &headers,
        "POST /api/v1/participants",
        &body,
        enrol_now(&state, &caller, &body),
    )
    .await
}

async fn enrol_now(
    state: &AppState,
    caller: &ApiCaller,
    body: &[u8],
) -> Result<(StatusCode, Value), ApiError> {
    caller.may_write()?;
    let e: Enrol = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            format!("The body must be a JSON object of the participant: {e}."),
        )
    })?;
    let c = campaign_of(state, caller, &e.campaign).await?;
    let referral_code = match (&e.referral_code, &e.referrer_email) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "referrer_email",
                "Give the referral code or the referrer's email, not both.",
            ))
        }
        (Some(code), None) => Some(code.clone()),
        (None, Some(email)) => Some(
            participants::by_email(state.db.pool(), &c.id, &email.trim().to_lowercase())
                .await?
                .ok_or_else(|| {
                    ApiError::invalid(
                        "referrer_email",
                        format!("No one in the campaign has the email {email}."),
                    )
                })?
                .code,
        ),
        (None, None) => None,
    };
    if let Some(code) = &referral_code {
        let known = participants::by_code(state.db.pool(), code)
            .await?
            .is_some_and(|r| r.campaign_id == c.id);
        if !known {
            return Err(ApiError::invalid(
                "referral_code",
                format!("No one in the campaign has the referral code {code}."),
            ));
        }
    }
    let mut values = e.fields;
    values.insert("email".into(), e.email);
    values.extend(e.first_name.map(|v| ("first_name".to_string(), v)));
    values.extend(e.last_name.map(|v| ("last_name".to_string(), v)));
    let request = JoinRequest {
        slug: c.slug.clone(),
        values,
        referral_code,
        honeypot: String::new(),
        ip: format!("api:{}", caller.key.id),
        sighting: Default::default(),
    };
    match join::admit_join(&state.db, u32::MAX as u64, request).await? {
        Ok(person) => {
            state.queue.wake();
            Ok((
                StatusCode::CREATED,
                to_json(&person, &c.slug, &state.config.public_url()),
            ))
        }
        Err(refusal) => Err(ApiError {
            code: Some(refusal.key().to_string()),
            ..ApiError::new(StatusCode::CONFLICT, "join_refused", refusal.message())
        }),
    }
}

/// `GET /api/v1/participants/{id}`.
pub async fn retrieve(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let p = participants::get(state.db.pool(), caller.account_id(), &id)
        .await?
        .filter(|p| caller.reaches(&p.campaign_id))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found_error",
                format!("No participant {id}."),
            )
        })?;
    let slug = slug_of(&state, &p).await?;
    Ok(Json(to_json(&p, &slug, &state.config.public_url())))
}

/// The list's query: `limit`, `starting_after` (a participant id), and filters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub limit: Option<String>,
    pub starting_after: Option<String>,
    pub campaign: Option<String>,
    pub email: Option<String>,
    pub referral_code: Option<String>,
}

/// `GET /api/v1/participants`: `{"object": "list", "data": [...], "has_more"}`, newest first.
pub async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            e.body_text(),
        )
    })?;
    let limit = match q.limit.as_deref() {
        None => LIMIT_DEFAULT,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=LIMIT_MAX).contains(l))
            .ok_or_else(|| {
                ApiError::invalid(
                    "limit",
                    format!("`limit` is a whole number from 1 to {LIMIT_MAX}."),
                )
            })?,
    };
    let mut filter = ApiFilter {
        campaigns: caller.key.campaigns.clone(),
        email: q.email,
        code: q.referral_code,
        after: None,
    };
    let campaign_slugs: HashMap<String, String> =
        campaigns::list(state.db.pool(), caller.account_id())
            .await?
            .into_iter()
            .map(|c| (c.id, c.slug))
            .collect();
    if let Some(named) = &q.campaign {
        filter.campaigns = vec![campaign_of(&state, &caller, named).await?.id];
    }
    if let Some(after) = &q.starting_after {
        let p = participants::get(state.db.pool(), caller.account_id(), after)
            .await?
            .ok_or_else(|| {
                ApiError::invalid(
                    "starting_after",
                    format!("`starting_after` names no participant: {after}."),
                )
            })?;
        filter.after = Some((p.created_at, p.id));
    }
    let (rows, has_more) =
        participants::api_page(state.db.pool(), caller.account_id(), &filter, limit).await?;
    let public_url = state.config.public_url();
    let data: Vec<Value> = rows
        .iter()
        .map(|p| {
            let slug = campaign_slugs
                .get(&p.campaign_id)
                .map_or("", String::as_str);
            to_json(p, slug, &public_url)
        })
        .collect();
    Ok(Json(json!({
        "object": "list",
        "url": "/api/v1/participants",
        "data": data,
        "has_more": has_more,
    })))
}
