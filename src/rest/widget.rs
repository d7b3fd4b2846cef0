//! The referral widget's side of the API: the merchant's backend asks for a short-lived widget
//! token for one of its signed-in users (`POST /api/v1/participants/{id}/widget_tokens`, any
//! key that reaches them), and `/widget.js` in the merchant's page shows that person what
//! `GET /api/v1/widget` answers to the token — their link, share text, friends and rewards.
//! The token is signed with the instance's secret key and names one person for an hour: the
//! browser holds no API key, no Refloop session and no cookie, and any origin may ask.

use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    auth::{bearer, within_rate, ApiCaller},
    error::{ApiError, ErrorBody},
    idempotency::{self, IdempotencyKey},
    participants::reached,
};
use crate::{
    campaigns::join::personal_view,
    db::{participants, unix_now},
    domain::participants::{ParticipantSummary, Qualification},
    secrets::Sealer,
    state::AppState,
};

/// How a widget token starts.
pub const TOKEN_PREFIX: &str = "rfw_";
/// How long a widget token lasts: the merchant's page asks its backend for a new one when it
/// loads.
pub const TOKEN_SECONDS: i64 = 3600;
/// Requests one person's widget may make in a minute.
pub const REQUESTS_PER_MINUTE: i64 = 120;

/// The person a widget token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WidgetHolder {
    pub account_id: String,
    pub participant_id: String,
}

fn signature(sealer: &Sealer, holder: &WidgetHolder, expires: i64) -> String {
    sealer.derive(&format!(
        "widget {} {} {expires}",
        holder.account_id, holder.participant_id
    ))[..32]
        .to_string()
}

/// `rfw_{expires}.{account}.{participant}.{signature}`.
pub fn token_for(sealer: &Sealer, holder: &WidgetHolder, expires: i64) -> String {
    format!(
        "{TOKEN_PREFIX}{expires}.{}.{}.{}",
        holder.account_id,
        holder.participant_id,
        signature(sealer, holder, expires)
    )
}

/// The person `token` names, or why it is refused.
pub fn holder_of(sealer: &Sealer, token: &str, now: i64) -> Result<WidgetHolder, &'static str> {
    let malformed = "This is not a widget token: ask the API for one (POST /api/v1/participants/{id}/widget_tokens).";
    let parts: Vec<&str> = token
        .strip_prefix(TOKEN_PREFIX)
        .ok_or(malformed)?
        .split('.')
        .collect();
    let [expires, account, participant, signed] = parts[..] else {
        return Err(malformed);
    };
    let expires: i64 = expires.parse().map_err(|_| malformed)?;
    let holder = WidgetHolder {
        account_id: account.to_string(),
        participant_id: participant.to_string(),
    };
    let expected = signature(sealer, &holder, expires);
    let same = expected.len() == signed.len()
        && expected
            .bytes()
            .zip(signed.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !same {
        return Err("This widget token was not made by this Refloop, or has been altered.");
    }
    if expires <= now {
        return Err("This widget token has expired: the page asks its backend for a new one.");
    }
    Ok(holder)
}

/// What `POST /api/v1/participants/{id}/widget_tokens` answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct WidgetToken {
    /// Always `widget_token`.
    pub object: String,
    /// For the widget's `token` attribute.
    #[schema(example = "rfw_1767225600.acc_1.par_8d1e0b.5f0c…")]
    pub token: String,
    pub participant: String,
    /// When it stops working, in seconds since 1970 (UTC): an hour after it was made.
    pub expires_at: i64,
}

/// `POST /api/v1/participants/{id}/widget_tokens`: a token for the widget to show this person
/// (201). A read-only key may ask: the token only reads.
#[utoipa::path(
    post,
    path = "/participants/{id}/widget_tokens",
    tag = "Widget",
    summary = "Make a widget token",
    description = "For the referral widget in the merchant's app (`<script src=\"…/widget.js\">` and \
        `<refloop-referral token=\"…\">`): the merchant's backend asks for one for the signed-in \
        user when the page loads. It shows that person for an hour; any key that reaches them may ask.",
    params(("id" = String, Path, description = "The participant's id."), IdempotencyKey),
    responses(
        (status = 201, description = "A token.", body = WidgetToken),
        (status = 401, description = "No API key, or a revoked one.", body = ErrorBody),
        (status = 404, description = "No such participant in a campaign this key reaches.", body = ErrorBody),
    )
)]
pub async fn mint(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let path = format!("POST /api/v1/participants/{id}/widget_tokens");
    let answer = async {
        let p = reached(&state, &caller, &id).await?;
        let expires_at = unix_now() + TOKEN_SECONDS;
        let holder = WidgetHolder {
            account_id: p.account_id,
            participant_id: p.id,
        };
        let minted = WidgetToken {
            object: "widget_token".into(),
            token: token_for(&state.stripe.sealer, &holder, expires_at),
            participant: holder.participant_id,
            expires_at,
        };
        Ok((StatusCode::CREATED, super::json(&minted)))
    };
    idempotency::once(&state.db, &caller, &headers, &path, &body, answer).await
}

/// A friend as the widget shows them to the person who invited them: a first name and an
/// initial, or the email's first letter and its domain.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ToSchema)]
pub struct WidgetFriend {
    pub name: String,
    /// `pending` or `qualified`.
    pub status: String,
    /// "Joined" or "Qualified".
    pub status_label: String,
    /// When they joined, in seconds since 1970 (UTC).
    pub joined: i64,
}

impl WidgetFriend {
    pub fn of(f: &ParticipantSummary) -> WidgetFriend {
        let first = f.first_name.trim();
        let name = if first.is_empty() {
            let (user, domain) = f.email.split_once('@').unwrap_or((&f.email, ""));
            let initial: String = user.chars().take(1).collect();
            format!("{initial}…@{domain}")
        } else {
            match f.last_name.trim().chars().next() {
                Some(initial) => format!("{first} {initial}."),
                None => first.to_string(),
            }
        };
        let qualified = f.qualification == Qualification::Qualified;
        WidgetFriend {
            name,
            status: if qualified { "qualified" } else { "pending" }.into(),
            status_label: if qualified { "Qualified" } else { "Joined" }.into(),
            joined: f.joined_at,
        }
    }
}

/// What `GET /api/v1/widget` answers: the person's personal page, and their friends.
#[derive(Debug, Serialize, ToSchema)]
pub struct WidgetView {
    /// Always `widget`.
    pub object: String,
    pub campaign_name: String,
    pub first_name: String,
    pub referral_code: String,
    pub referral_link: String,
    pub share_text: String,
    /// "Your friends get 20% off at checkout with your code ANN-7K2Q.", when the campaign has a
    /// friend's offer.
    pub friend_offer: Option<String>,
    pub invited_by: Option<String>,
    pub friends_joined: i64,
    pub friends_qualified: i64,
    /// Newest first, at most 500.
    pub friends: Vec<WidgetFriend>,
    /// What they have earned, a line each ("10.00 USD credit — issued").
    pub rewards: Vec<String>,
}

/// Any origin may call the widget's endpoint: it answers only to a token, never to a cookie.
fn cross_origin(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    response
}

/// The browser's preflight for `GET /api/v1/widget` from the merchant's page.
pub async fn preflight() -> Response {
    cross_origin(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/v1/widget` with `Authorization: Bearer rfw_…`.
#[utoipa::path(
    get,
    path = "/widget",
    tag = "Widget",
    summary = "What the widget shows",
    description = "What `widget.js` asks with its token, from the merchant's page (any origin; no cookie): \
        the person's link, share text, friends (a first name and an initial) and rewards.",
    security(("widget_token" = [])),
    responses(
        (status = 200, description = "The person's referral page.", body = WidgetView),
        (status = 401, description = "No token, an expired or altered one, or the person was removed.", body = ErrorBody),
        (status = 429, description = "Too many requests for this person in a minute.", body = ErrorBody),
    )
)]
pub async fn show(State(state): State<AppState>, headers: HeaderMap) -> Response {
    cross_origin(match view(&state, &headers).await {
        Ok(view) => Json(view).into_response(),
        Err(e) => e.into_response(),
    })
}

async fn view(state: &AppState, headers: &HeaderMap) -> Result<WidgetView, ApiError> {
    let refused =
        |message: &str| ApiError::new(StatusCode::UNAUTHORIZED, "authentication_error", message);
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(bearer)
        .filter(|t| t.len() < 300)
        .ok_or_else(|| refused("No widget token: send it as `Authorization: Bearer rfw_…`."))?;
    let now = unix_now();
    let holder = holder_of(&state.stripe.sealer, token, now).map_err(refused)?;
    within_rate(
        state,
        &format!("widget:{}", holder.participant_id),
        now,
        REQUESTS_PER_MINUTE,
        "This widget asked too often in a minute.",
    )
    .await?;
    let pool = state.db.pool();
    let p = participants::get(pool, &holder.account_id, &holder.participant_id)
        .await?
        .ok_or_else(|| {
            refused("The person this widget token names is no longer in the campaign.")
        })?;
    let friends = participants::referred_by(pool, &p.account_id, &p.id)
        .await?
        .iter()
        .map(WidgetFriend::of)
        .collect();
    let page = personal_view(&state.db, &state.config.public_url(), p).await?;
    Ok(WidgetView {
        object: "widget".into(),
        campaign_name: page.campaign_name,
        first_name: page.first_name,
        referral_code: page.code,
        referral_link: page.referral_link,
        share_text: page.share_text,
        friend_offer: page.friend_offer,
        invited_by: page.invited_by,
        friends_joined: page.friends_joined,
        friends_qualified: page.friends_qualified,
        friends,
        rewards: page.rewards,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann() -> WidgetHolder {
        WidgetHolder {
            account_id: "acc_1".into(),
            participant_id: "par_ann".into(),
        }
    }

    #[test]
    fn a_widget_token_names_one_person_until_it_expires() {
        let sealer = Sealer::random();
        let token = token_for(&sealer, &ann(), 1_000);
        assert!(token.starts_with("rfw_1000.acc_1.par_ann."));
        assert_eq!(holder_of(&sealer, &token, 999), Ok(ann()));
        assert!(holder_of(&sealer, &token, 1_000)
            .unwrap_err()
            .contains("expired"));
        // Another instance's key, another person, a later expiry: refused.
        assert!(holder_of(&Sealer::random(), &token, 999)
            .unwrap_err()
            .contains("not made by this Refloop"));
        let bob = token.replace("par_ann", "par_bob");
        assert!(holder_of(&sealer, &bob, 999).is_err());
        let later = token.replace("rfw_1000", "rfw_9000");
        assert!(holder_of(&sealer, &later, 999).is_err());
        for bad in ["", "rfk_x", "rfw_", "rfw_1.2.3", "rfw_x.acc.par.sig"] {
            assert!(holder_of(&sealer, bad, 0)
                .unwrap_err()
                .contains("not a widget token"));
        }
    }

    #[test]
    fn friends_are_shown_by_first_name_and_initial() {
        let friend = |first: &str, last: &str, email: &str| ParticipantSummary {
            id: "par_1".into(),
            email: email.into(),
            first_name: first.into(),
            last_name: last.into(),
            code: "c".into(),
            kind: crate::domain::participants::ParticipantKind::Invited,
            qualification: Qualification::Pending,
            stripe_status: crate::domain::participants::StripeStatus::Sent,
            stripe_note: String::new(),
            referrals: 0,
            qualified_referrals: 0,
            joined_at: 5,
        };
        assert_eq!(
            WidgetFriend::of(&friend("Bob", "Stone", "b@x.io")).name,
            "Bob S."
        );
        assert_eq!(WidgetFriend::of(&friend("Bob", "", "b@x.io")).name, "Bob");
        let anonymous = WidgetFriend::of(&friend("", "", "bob.stone@mail.example"));
        assert_eq!(anonymous.name, "b…@mail.example");
        assert_eq!(anonymous.status_label, "Joined");
    }
}
