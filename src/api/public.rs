//! The public pages' server functions: nobody is signed in, so each starts from a slug, a
//! referral code or a personal page's secret, and bot protection replaces permissions.

use std::collections::HashMap;

use leptos::prelude::*;

use crate::{
    domain::campaigns::{PersonalPage, PublicCampaign},
    error::AppError,
};

#[cfg(feature = "ssr")]
use {
    super::{client_ip, set_cookie, state, with_status},
    crate::{
        auth::session,
        campaigns::join::{self, REFERRER_COOKIE},
    },
};

/// How long a referral link is remembered (30 days).
#[cfg(feature = "ssr")]
const REFERRER_COOKIE_SECS: i64 = 30 * 86_400;

/// A random first-party id that tells a referral link's returning visitor from a new one, and
/// the browser someone joins in (kept only as a keyed hash; see `join::Sighting`).
#[cfg(feature = "ssr")]
const VISITOR_COOKIE: &str = "refloop_visitor";
#[cfg(feature = "ssr")]
const VISITOR_COOKIE_SECS: i64 = 365 * 86_400;

/// Who opened a referral link: their visitor cookie, given one now if they have none.
#[cfg(feature = "ssr")]
fn visitor(secure: bool) -> join::Visitor {
    let kept = use_context::<axum::http::request::Parts>()
        .and_then(|p| session::read_cookie(&p.headers, VISITOR_COOKIE))
        .filter(|c| {
            c.len() <= 64
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    let cookie = kept.unwrap_or_else(|| {
        let fresh = session::new_token();
        set_cookie(session::cookie(
            VISITOR_COOKIE,
            &fresh,
            VISITOR_COOKIE_SECS,
            secure,
        ));
        fresh
    });
    join::Visitor(cookie)
}

/// The referral code remembered in the visitor's cookie, if any.
#[cfg(feature = "ssr")]
fn remembered_code() -> Option<String> {
    use_context::<axum::http::request::Parts>()
        .and_then(|parts| session::read_cookie(&parts.headers, REFERRER_COOKIE))
}

/// The join page at `/j/{slug}`.
#[server(endpoint = "public_campaign")]
pub async fn get_public_campaign(slug: String) -> Result<PublicCampaign, AppError> {
    with_status(
        async { join::public_campaign(&state()?.db, &slug, remembered_code().as_deref()).await }
            .await,
    )
}

/// The referral landing at `/r/{code}`: counts the click and remembers the referrer.
#[server(endpoint = "open_referral")]
pub async fn open_referral(code: String) -> Result<PublicCampaign, AppError> {
    with_status(
        async {
            let state = state()?;
            let visitor = visitor(state.config.secure_cookies());
            let page = join::open_referral(&state.db, &code, &visitor).await?;
            if let Some(code) = &page.referral_code {
                set_cookie(session::cookie(
                    REFERRER_COOKIE,
                    code,
                    REFERRER_COOKIE_SECS,
                    state.config.secure_cookies(),
                ));
            }
            // The campaign sends referral links to the merchant's page, carrying the code.
            if let Some(to) = &page.landing {
                leptos_axum::redirect(to);
            }
            Ok(page)
        }
        .await,
    )
}

/// Joins the campaign and opens the new participant's personal page. `code` is the referral
/// code of the landing page (else the remembered one); `website` is the honeypot.
#[server(endpoint = "join_campaign")]
pub async fn join_campaign(
    slug: String,
    values: HashMap<String, String>,
    code: Option<String>,
    website: Option<String>,
) -> Result<(), AppError> {
    with_status(
        async {
            let state = state()?;
            let ip = client_ip();
            // The browser they join in, by the cookie a referral link gave it (or one given now).
            let join::Visitor(device) = visitor(state.config.secure_cookies());
            let request = join::JoinRequest {
                slug,
                values,
                referral_code: code.filter(|c| !c.is_empty()).or_else(remembered_code),
                honeypot: website.unwrap_or_default(),
                sighting: join::Sighting::of(&state.stripe.sealer, &device, &ip),
                ip,
            };
            let token = join::join(&state.db, state.config.join_limit, request).await?;
            // Their Stripe customer is created by a job enqueued with them: start it now.
            state.queue.wake();
            leptos_axum::redirect(&format!("/p/{token}"));
            Ok(())
        }
        .await,
    )
}

/// "Email me my link" on the join page and the referral landing: the same answer whether or
/// not the address is in the campaign. Back to the page it was asked from, saying so.
#[server(endpoint = "email_my_link")]
pub async fn email_my_link(slug: String, email: String, from: String) -> Result<(), AppError> {
    with_status(
        async {
            let state = state()?;
            crate::notifications::email_my_link(&state.db, &slug, &email, &client_ip()).await?;
            state.queue.wake();
            // Only back to a public page of this site.
            let public_page = from
                .strip_prefix("/j/")
                .or_else(|| from.strip_prefix("/r/"))
                .is_some_and(|rest| {
                    !rest.is_empty()
                        && rest
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                });
            let back = if public_page {
                from
            } else {
                format!("/j/{}", crate::domain::participants::url_escape(&slug))
            };
            leptos_axum::redirect(&format!("{back}?link=sent"));
            Ok(())
        }
        .await,
    )
}

/// The personal page at `/p/{token}`.
#[server(endpoint = "personal_page")]
pub async fn get_personal_page(token: String) -> Result<PersonalPage, AppError> {
    with_status(
        async {
            let state = state()?;
            join::personal_page(&state.db, &state.config.public_url(), &token).await
        }
        .await,
    )
}
