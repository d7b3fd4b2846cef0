//! The unsubscribe link of every campaign email. `GET /unsubscribe/{participant}/{token}` shows
//! a page with one button, so a link scanner's visit changes nothing; `POST` to the same
//! address unsubscribes, from that button (no script needed) or in one click from the reader's
//! mail client (`List-Unsubscribe-Post`, RFC 8058).

use axum::{
    extract::{Path, State},
    http::{header, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Response},
};
use leptos::{prelude::*, tachys::view::RenderHtml};

use crate::{notifications, state::AppState};

/// The page runs no script and is framed by nobody; its one form posts to itself.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
                   base-uri 'none'; frame-ancestors 'none'";

pub async fn page(
    State(state): State<AppState>,
    Path((participant, token)): Path<(String, String)>,
) -> Response {
    match notifications::unsubscribe_subject(&state.db, &state.stripe.sealer, &participant, &token)
        .await
    {
        Ok(Some((p, campaign, None))) => {
            let action = format!("/unsubscribe/{participant}/{token}");
            respond(
                StatusCode::OK,
                view! {
                    <h1>"Unsubscribe"</h1>
                    <p>
                        "Stop emails from " <strong>{campaign}</strong> " to " {p.email} "?"
                    </p>
                    <form method="post" action=action>
                        <button type="submit">"Unsubscribe"</button>
                    </form>
                }
                .to_html(),
            )
        }
        Ok(Some((p, campaign, Some(_)))) => done(&p.email, &campaign),
        Ok(None) => not_valid(),
        Err(e) => failed(e),
    }
}

pub async fn unsubscribe(
    State(state): State<AppState>,
    Path((participant, token)): Path<(String, String)>,
) -> Response {
    match notifications::unsubscribe_subject(&state.db, &state.stripe.sealer, &participant, &token)
        .await
    {
        Ok(Some((p, campaign, _))) => match notifications::unsubscribe(&state.db, &p).await {
            Ok(_) => done(&p.email, &campaign),
            Err(e) => failed(e),
        },
        Ok(None) => not_valid(),
        Err(e) => failed(e),
    }
}

fn done(email: &str, campaign: &str) -> Response {
    respond(
        StatusCode::OK,
        view! {
            <h1>"You are unsubscribed"</h1>
            <p role="status">
                {email.to_string()} " gets no more emails from " <strong>{campaign.to_string()}</strong>
                ". You can still ask for your link again on the campaign's page."
            </p>
        }
        .to_html(),
    )
}

fn not_valid() -> Response {
    respond(
        StatusCode::NOT_FOUND,
        view! {
            <h1>"This link is not valid"</h1>
            <p role="alert">
                "Use the unsubscribe link in one of the campaign's emails, as it was sent."
            </p>
        }
        .to_html(),
    )
}

fn failed(e: sqlx::Error) -> Response {
    let reference = crate::db::new_id("err");
    tracing::error!(error = %e, reference, "unsubscribe");
    respond(
        StatusCode::INTERNAL_SERVER_ERROR,
        view! {
            <h1>"Something went wrong"</h1>
            <p role="alert">
                "Nothing was changed. Try again in a moment (reference " {reference} ")."
            </p>
        }
        .to_html(),
    )
}

fn respond(status: StatusCode, main: String) -> Response {
    let head = view! {
        <head>
            <meta charset="utf-8" />
            <meta name="viewport" content="width=device-width, initial-scale=1" />
            <title>"Unsubscribe"</title>
        </head>
    };
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\">{}<body style=\"font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.5\"><main>{main}</main></body></html>",
        head.to_html()
    );
    let mut res = (status, Html(body)).into_response();
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
