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
            match crate::auth::caller().await? {
                None => Ok(None),
                Some(ctx) => Ok(Some(crate::accounts::current_user(&state.db, &ctx).await?)),
            }
        }
        .await,
    )
}
