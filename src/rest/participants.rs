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
    rewards::Reward,
};
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

/// The campaign a participant is in.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CampaignRef {
    #[schema(example = "cmp_4f2a9c")]
    pub id: String,
    #[schema(example = "spring")]
    pub slug: String,
}

/// Where a participant stands with the connected Stripe account.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ParticipantStripe {
    /// `not_sent`, `queued`, `waiting`, `sent`, `skipped` or `failed`.
    #[schema(example = "sent")]
    pub status: String,
    /// Their Stripe customer, `cus_…`, once sent or attributed.
    pub customer: Option<String>,
    /// Why the status is what it is ("policy: most recent", "email is empty").
    pub note: String,
}

/// A person in a campaign: someone referring, or a friend they invited.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Participant {
    #[schema(example = "par_8d1e0b")]
    pub id: String,
    /// Always `participant`.
    pub object: String,
    pub campaign: CampaignRef,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// The campaign's other form fields, by key.
    pub fields: BTreeMap<String, String>,
    #[schema(example = "ann7k2q9")]
    pub referral_code: String,
    #[schema(example = "https://refloop.example/r/ann7k2q9")]
    pub referral_link: String,
    /// Their personal page: link, share buttons, friends' counts and rewards.
    pub personal_page: String,
    /// The participant who referred them.
    pub referred_by: Option<String>,
    /// Friends who joined through them.
    pub referrals: i64,
    /// Friends who reached the campaign's target.
    pub qualified_referrals: i64,
    /// A friend's qualification: `pending` or `qualified`; `none` for someone referring.
    #[schema(example = "pending")]
    pub qualification: String,
    pub stripe: ParticipantStripe,
    /// When they joined, in seconds since 1970 (UTC).
    pub created: i64,
    /// What they have earned (only when one participant is retrieved).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rewards: Option<Vec<Reward>>,
}

impl Participant {
    pub fn of(p: &ParticipantRow, slug: &str, public_url: &str) -> Participant {
        Participant {
            id: p.id.clone(),
            object: "participant".into(),
            campaign: CampaignRef {
                id: p.campaign_id.clone(),
                slug: slug.into(),
            },
            email: p.email.clone(),
            first_name: p.first_name.clone(),
            last_name: p.last_name.clone(),
            fields: p.fields.iter().cloned().collect(),
            referral_code: p.code.clone(),
            referral_link: referral_link(public_url, &p.code),
            personal_page: format!("{public_url}/p/{}", p.page_token),
            referred_by: p.referrer_id.clone(),
            referrals: p.referrals,
            qualified_referrals: p.qualified_referrals,
            qualification: p.qualification.key().into(),
            stripe: ParticipantStripe {
                status: p.stripe_status.key().into(),
                customer: p.stripe_customer_id.clone(),
                note: p.stripe_note.clone(),
            },
            created: p.created_at,
            rewards: None,
        }
    }
}

/// A participant as the API shows them.
pub fn to_json(p: &ParticipantRow, slug: &str, public_url: &str) -> Value {
    json(&Participant::of(p, slug, public_url))
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
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Enrol {
    /// The campaign's id or slug.
    #[schema(example = "spring")]
    pub campaign: String,
    #[schema(example = "ann@example.com")]
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
#[utoipa::path(
    post,
    path = "/participants",
    tag = "Participants",
    summary = "Enrol someone",
    description = "Adds someone to a campaign with the public join form's rules: its fields, its \
        refusals (a second join with one email, a disposable address where refused, a closed \
        campaign) answered as `join_refused` with the reason's `code`. A friend names who referred \
        them by `referral_code` or `referrer_email`.",
    params(IdempotencyKey),
    request_body = Enrol,
    responses(
        (status = 201, description = "Enrolled.", body = Participant),
        (status = 400, description = "A parameter is wrong: `field` names it.", body = ErrorBody),
        (status = 401, description = "No API key, or a revoked one.", body = ErrorBody),
        (status = 403, description = "A read-only key.", body = ErrorBody),
        (status = 404, description = "No campaign this key reaches.", body = ErrorBody),
        (status = 409, description = "The join was refused (`join_refused`, with its `code`).", body = ErrorBody),
        (status = 429, description = "Too many requests: wait `Retry-After` seconds.", body = ErrorBody),
    )
)]
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
#[utoipa::path(
    get,
    path = "/participants/{id}",
    tag = "Participants",
    summary = "Retrieve a participant",
    description = "Their link, code, personal page, friends' counts, Stripe status, qualification and rewards.",
    params(("id" = String, Path, description = "The participant's id, `par_…`.")),
    responses(
        (status = 200, description = "The participant, with `rewards`.", body = Participant),
        (status = 401, description = "No API key, or a revoked one.", body = ErrorBody),
        (status = 404, description = "No such participant in a campaign this key reaches.", body = ErrorBody),
    )
)]
pub async fn retrieve(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Participant>, ApiError> {
    let p = reached(&state, &caller, &id).await?;
    let slug = slug_of(&state, &p).await?;
    let earned =
        crate::db::rewards::for_recipient(state.db.pool(), caller.account_id(), &p.id).await?;
    Ok(Json(Participant {
        rewards: Some(earned.iter().map(Reward::of).collect()),
        ..Participant::of(&p, &slug, &state.config.public_url())
    }))
}

/// What `POST /api/v1/participants/{id}` takes: any of the names and the form's other fields.
#[derive(Debug, Deserialize, ToSchema)]
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
#[utoipa::path(
    post,
    path = "/participants/{id}",
    tag = "Participants",
    summary = "Change a participant's details",
    description = "Their names and the campaign's other form fields, checked as the form checks them. \
        The email cannot change: it is who they are in Stripe and in the campaign.",
    params(("id" = String, Path, description = "The participant's id."), IdempotencyKey),
    request_body = Change,
    responses(
        (status = 200, description = "Changed.", body = Participant),
        (status = 400, description = "A field is wrong, or the email was given.", body = ErrorBody),
        (status = 403, description = "A read-only key.", body = ErrorBody),
        (status = 404, description = "No such participant.", body = ErrorBody),
    )
)]
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

/// What `DELETE /api/v1/participants/{id}` answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Deleted {
    pub id: String,
    /// Always `participant`.
    pub object: String,
    /// Always `true`.
    pub deleted: bool,
}

/// `DELETE /api/v1/participants/{id}`: removes someone without history (409 with the reason
/// otherwise); `{"id", "object": "participant", "deleted": true}`.
#[utoipa::path(
    delete,
    path = "/participants/{id}",
    tag = "Participants",
    summary = "Remove a participant",
    description = "Only someone without history: no friends, rewards or payments counted for a referral. \
        Otherwise 409, with the reason.",
    params(("id" = String, Path, description = "The participant's id.")),
    responses(
        (status = 200, description = "Removed.", body = Deleted),
        (status = 403, description = "A read-only key.", body = ErrorBody),
        (status = 404, description = "No such participant.", body = ErrorBody),
        (status = 409, description = "They have history.", body = ErrorBody),
    )
)]
pub async fn remove(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Deleted>, ApiError> {
    caller.may_write()?;
    let p = reached(&state, &caller, &id).await?;
    let gone = people::remove(&state.db, caller.account_id(), &p.id).await?;
    state.queue.wake();
    Ok(Json(Deleted {
        id: gone.id,
        object: "participant".into(),
        deleted: true,
    }))
}

/// What `POST /api/v1/participants/{id}/customers` takes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Attribute {
    /// The Stripe customer's id, `cus_…`.
    #[schema(example = "cus_PmQ2x8")]
    pub customer: String,
}

/// `POST /api/v1/participants/{id}/customers`: attributes a Stripe customer of the connected
/// account to them: its payments count for them from then on, past ones included.
#[utoipa::path(
    post,
    path = "/participants/{id}/customers",
    tag = "Referrals",
    summary = "Attribute a Stripe customer to a participant",
    description = "A customer of the connected Stripe account (checked with Stripe) becomes theirs: its \
        payments count towards their qualification, past ones included. Refused if the customer \
        is someone else's in the campaign.",
    params(("id" = String, Path, description = "The participant's id."), IdempotencyKey),
    request_body = Attribute,
    responses(
        (status = 200, description = "Attributed.", body = Participant),
        (status = 400, description = "Not a customer of the connected account.", body = ErrorBody),
        (status = 404, description = "No such participant.", body = ErrorBody),
        (status = 409, description = "The customer is someone else's in the campaign.", body = ErrorBody),
    )
)]
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
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// How many to answer, 1 to 100 (10 without it).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The last participant of the previous page: the page after it.
    pub starting_after: Option<String>,
    /// Only this campaign's (its id or slug).
    pub campaign: Option<String>,
    /// Only the participant with this email.
    pub email: Option<String>,
    /// Only the participant with this referral code.
    pub referral_code: Option<String>,
}

/// `GET /api/v1/participants`: `{"object": "list", "data": [...], "has_more"}`, newest first.
#[utoipa::path(
    get,
    path = "/participants",
    tag = "Participants",
    summary = "List participants",
    description = "Newest first, a page at a time, in the campaigns this key reaches.",
    params(ListQuery),
    responses(
        (status = 200, description = "A page.", body = Page<Participant>),
        (status = 400, description = "A parameter is wrong.", body = ErrorBody),
        (status = 401, description = "No API key, or a revoked one.", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Page<Participant>>, ApiError> {
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
    let data = rows
        .iter()
        .map(|p| {
            let slug = campaign_slugs
                .get(&p.campaign_id)
                .map_or("", String::as_str);
            Participant::of(p, slug, &public_url)
        })
        .collect();
    Ok(Json(paging::page("/api/v1/participants", data, has_more)))
}
