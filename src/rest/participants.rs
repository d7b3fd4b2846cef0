//! `/api/v1/participants`: enrol someone (the public join's rules and refusals), look one up,
//! list them with cursor pagination and filters, change their details, remove them, and
//! attribute a Stripe customer to them.

use std::collections::{BTreeMap, HashMap};

use axum::{
    body::Bytes,
    extract::{rejection::QueryRejection, Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::Response,
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{auth::ApiCaller, error::ApiError, idempotency, paging};
use crate::{
    campaigns::{
        attribution,
        join::{self, JoinRequest},
        people,
    },
    db::{
        campaigns::{self, CampaignRow},
        participants::{self, ApiFilter, ParticipantRow},
    },
    domain::participants::referral_link,
    state::AppState,
};

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
pub async fn campaign_of(
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
    let e: Enrol = body_of(body, "the participant")?;
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

/// The participant `id` of the caller's account, if the key reaches their campaign.
pub async fn reached(
    state: &AppState,
    caller: &ApiCaller,
    id: &str,
) -> Result<ParticipantRow, ApiError> {
    participants::get(state.db.pool(), caller.account_id(), id)
        .await?
        .filter(|p| caller.reaches(&p.campaign_id))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found_error",
                format!("No participant {id}."),
            )
        })
}

/// The body of a POST, as `T`, or what is wrong with it.
pub fn body_of<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            format!("The body must be a JSON object of {what}: {e}."),
        )
    })
}

/// `GET /api/v1/participants/{id}`.
pub async fn retrieve(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let p = reached(&state, &caller, &id).await?;
    let slug = slug_of(&state, &p).await?;
    let mut body = to_json(&p, &slug, &state.config.public_url());
    let earned =
        crate::db::rewards::for_recipient(state.db.pool(), caller.account_id(), &p.id).await?;
    body["rewards"] = earned.iter().map(super::rewards::to_json).collect();
    Ok(Json(body))
}

/// What `POST /api/v1/participants/{id}` takes: any of the names and the form's other fields.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    /// Taken only to say that it cannot change.
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

/// `POST /api/v1/participants/{id}`: changes their details; 200 with the participant.
pub async fn update(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("POST /api/v1/participants/{id}");
    let answer = async {
        caller.may_write()?;
        let p = reached(&state, &caller, &id).await?;
        let change: Change = body_of(&body, "the fields to change")?;
        let mut values = change.fields;
        values.extend(change.first_name.map(|v| ("first_name".to_string(), v)));
        values.extend(change.last_name.map(|v| ("last_name".to_string(), v)));
        values.extend(change.email.map(|v| ("email".to_string(), v)));
        let p = people::change_details(
            &state.db,
            caller.account_id(),
            &p.id,
            &values,
            &caller.actor(),
        )
        .await?;
        let slug = slug_of(&state, &p).await?;
        Ok((
            StatusCode::OK,
            to_json(&p, &slug, &state.config.public_url()),
        ))
    };
    idempotency::once(&state.db, &caller, &headers, &path, &body, answer).await
}

/// `DELETE /api/v1/participants/{id}`: removes someone without history (409 with the reason
/// otherwise); `{"id", "object": "participant", "deleted": true}`.
pub async fn remove(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.may_write()?;
    let p = reached(&state, &caller, &id).await?;
    let gone = people::remove(&state.db, caller.account_id(), &p.id).await?;
    state.queue.wake();
    Ok(Json(
        json!({ "id": gone.id, "object": "participant", "deleted": true }),
    ))
}

/// What `POST /api/v1/participants/{id}/customers` takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attribute {
    /// The Stripe customer's id, `cus_…`.
    pub customer: String,
}

/// `POST /api/v1/participants/{id}/customers`: attributes a Stripe customer of the connected
/// account to them: its payments count for them from then on, past ones included.
pub async fn attribute(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("POST /api/v1/participants/{id}/customers");
    let answer = async {
        caller.may_write()?;
        let p = reached(&state, &caller, &id).await?;
        let a: Attribute = body_of(&body, "the Stripe customer")?;
        let p = attribution::attribute_customer(
            &state.db,
            &state.stripe,
            caller.account_id(),
            &p.id,
            &a.customer,
            &caller.actor(),
        )
        .await?;
        state.queue.wake();
        let slug = slug_of(&state, &p).await?;
        Ok((
            StatusCode::OK,
            to_json(&p, &slug, &state.config.public_url()),
        ))
    };
    idempotency::once(&state.db, &caller, &headers, &path, &body, answer).await
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
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let q = paging::query_of(query)?;
    let limit = paging::limit_of(q.limit.as_deref())?;
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
    Ok(Json(paging::page("/api/v1/participants", data, has_more)))
}
