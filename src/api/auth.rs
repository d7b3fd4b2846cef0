//! Sign-up, sign-in, sign-out, and who is signed in.

use leptos::prelude::*;

use crate::{domain::team::CurrentUser, error::AppError};

#[cfg(feature = "ssr")]
use super::{client_ip, enter_app, set_cookie, state, with_status};

/// Creates an account with its Owner, signs them in and goes to the dashboard.
#[server(endpoint = "sign_up")]
pub async fn sign_up(
    company: String,
    name: String,
    email: String,
    password: String,
) -> Result<(), AppError> {
    with_status(
        async {
            let state = state()?;
            let ip = client_ip();
            crate::accounts::may_sign_up(
                &state.db,
                state.config.signup,
                state.config.signup_limit,
                &ip,
            )
            .await?;
            let form = crate::accounts::SignUp {
                company,
                name,
                email,
                password,
            };
            let token = crate::accounts::sign_up(&state.db, form, &ip).await?;
            enter_app(&state, &token);
            Ok(())
        }
        .await,
    )
}

#[server(endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String) -> Result<(), AppError> {
    with_status(
        async {
            let state = state()?;
            let token =
                crate::accounts::sign_in(&state.db, &email, &password, &client_ip()).await?;
            enter_app(&state, &token);
            Ok(())
        }
        .await,
    )
}

#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    with_status(
        async {
            let state = state()?;
            let parts = use_context::<axum::http::request::Parts>();
            if let Some(token) = parts.and_then(|p| crate::auth::session::token_from(&p.headers)) {
                crate::accounts::sign_out(&state.db, &token).await?;
            }
            set_cookie(crate::auth::session::clear_cookie(
                state.config.secure_cookies(),
            ));
            leptos_axum::redirect("/signin");
            Ok(())
        }
        .await,
    )
}

/// The signed-in person, or `None`.
#[server(endpoint = "current_user")]
pub async fn get_current_user() -> Result<Option<CurrentUser>, AppError> {
    with_status(
        async {
            let state = state()?;
            match crate::api::context::caller().await? {
                None => Ok(None),
                Some(ctx) => Ok(Some(crate::accounts::current_user(&state.db, &ctx).await?)),
            }
        }
        .await,
    )
}

/// Changes the caller's password; their other sessions end.
#[server(endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), AppError> {
    with_status(
        async {
            let ctx = crate::api::context::require_member().await?;
            let state = state()?;
            let session = use_context::<axum::http::request::Parts>()
                .and_then(|p| crate::auth::session::token_from(&p.headers))
                .map(|t| crate::auth::session::hash(&t))
                .unwrap_or_default();
            crate::accounts::passwords::change_password(
                &state.db,
                &ctx,
                &session,
                &current_password,
                &new_password,
            )
            .await
        }
        .await,
    )
}

/// Ends every session of the caller (this one too) and goes to the sign-in page.
#[server(endpoint = "sign_out_everywhere")]
pub async fn sign_out_everywhere() -> Result<(), AppError> {
    with_status(
        async {
            let ctx = crate::api::context::require_member().await?;
            let state = state()?;
            crate::accounts::passwords::sign_out_everywhere(&state.db, &ctx).await?;
            set_cookie(crate::auth::session::clear_cookie(
                state.config.secure_cookies(),
            ));
            leptos_axum::redirect("/signin");
            Ok(())
        }
        .await,
    )
}

/// Emails a link to choose a new password (the same answer whether or not the email has an
/// account).
#[server(endpoint = "request_password_reset")]
pub async fn request_password_reset(email: String) -> Result<(), AppError> {
    with_status(
        async {
            let state = state()?;
            crate::accounts::passwords::request_reset(
                &state.db,
                &state.stripe.sealer,
                &state.mailer,
                &state.config.public_url(),
                &email,
                &client_ip(),
            )
            .await?;
            leptos_axum::redirect("/forgot-password?sent=1");
            Ok(())
        }
        .await,
    )
}

/// The email a reset link is for. Public: the token is the credential.
#[server(endpoint = "password_reset")]
pub async fn get_password_reset(token: String) -> Result<String, AppError> {
    with_status(
        async { crate::accounts::passwords::reset_preview(&state()?.db, &token).await }.await,
    )
}

/// Chooses a new password through a reset link, and signs in.
#[server(endpoint = "reset_password")]
pub async fn reset_password(token: String, password: String) -> Result<(), AppError> {
    with_status(
        async {
            let state = state()?;
            let session = crate::accounts::passwords::reset_password(
                &state.db,
                &token,
                &password,
                &client_ip(),
            )
            .await?;
            enter_app(&state, &session);
            Ok(())
        }
        .await,
    )
}
