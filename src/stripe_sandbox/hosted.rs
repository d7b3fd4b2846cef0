//! The pages a payer sees, as Stripe hosts them: a Payment Link's URL (which opens a Checkout
//! Session, taking `client_reference_id`, `prefilled_email` and `prefilled_promo_code`) and the
//! checkout page (email, name, a test card, a promotion code, Pay). They carry no key: the
//! session's or link's unguessable id is the only way in, as on Stripe.

use axum::{
    extract::{OriginalUri, Path, Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Redirect, Response},
    Form,
};
use leptos::{prelude::*, tachys::view::RenderHtml};
use serde::Deserialize;
use sqlx::Row;

use super::{
    checkout::{self, Payment},
    db_error, store, ApiError, Sandbox,
};
use crate::domain::money::format_amount;

/// No script; forms post to the page itself, which may then send the payer to the merchant's
/// success URL (so no `form-action`, which would also govern that redirect).
const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'";

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;background:#f6f7fb;color:#1b1d29}\
main{max-width:28rem;margin:2rem auto;background:#fff;border:1px solid #e2e4ee;border-radius:12px;padding:1.5rem}\
label{display:block;margin:.8rem 0 .2rem;font-size:.9rem}input{width:100%;box-sizing:border-box;padding:.5rem;font:inherit}\
button{margin-top:1.2rem;width:100%;padding:.7rem;font:inherit;background:#635bff;color:#fff;border:0;border-radius:8px;cursor:pointer}\
.alert{background:#fdecea;border:1px solid #b3261e;padding:.5rem .8rem;border-radius:8px}table{width:100%}td{padding:.2rem 0}\
.total{font-weight:600}small{color:#555}";

#[derive(Deserialize, Default)]
pub struct LinkQuery {
    client_reference_id: Option<String>,
    prefilled_email: Option<String>,
    prefilled_promo_code: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct Prefill {
    prefilled_email: Option<String>,
    prefilled_promo_code: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct PayForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    card: String,
    #[serde(default)]
    promotion_code: String,
}

fn html(status: StatusCode, title: &str, main: String) -> Response {
    let head = view! {
        <head>
            <meta charset="utf-8" />
            <title>{format!("{title} · Stripe sandbox")}</title>
            <meta name="viewport" content="width=device-width, initial-scale=1" />
            <style>{STYLE}</style>
        </head>
    };
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\">{}<body>{main}</body></html>",
        head.to_html()
    );
    let mut res = (status, Html(body)).into_response();
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    res
}

fn message(status: StatusCode, text: &str) -> Response {
    let text = text.to_string();
    html(
        status,
        "Checkout",
        view! { <main><p role="alert" class="alert">{text}</p></main> }.to_html(),
    )
}

fn failed(e: ApiError) -> Response {
    message(
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        &e.message,
    )
}

/// `GET /pay/{link}`: opens a session for the link and sends the payer to its page.
pub async fn pay_link(
    State(sb): State<Sandbox>,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Query(q): Query<LinkQuery>,
) -> Response {
    let found = match store::find(sb.db(), "payment_link", &id).await {
        Ok(f) => f,
        Err(e) => return failed(db_error(e)),
    };
    let Some((account, link)) = found.filter(|(_, l)| l["active"] == true) else {
        return message(
            StatusCode::NOT_FOUND,
            "This payment link does not exist or is no longer active.",
        );
    };
    let base = sb.public_base(&headers, uri.path(), "/pay/");
    let session = match checkout::session_from_link(
        &sb,
        &account,
        &link,
        q.client_reference_id.as_deref(),
        &base,
    )
    .await
    {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    let mut to = session["url"].as_str().unwrap_or_default().to_string();
    let prefill: Vec<(String, String)> = [
        ("prefilled_email", q.prefilled_email),
        ("prefilled_promo_code", q.prefilled_promo_code),
    ]
    .into_iter()
    .filter_map(|(k, v)| {
        v.filter(|v| !v.trim().is_empty())
            .map(|v| (k.to_string(), v))
    })
    .collect();
    if !prefill.is_empty() {
        to = format!("{to}?{}", crate::stripe::form::to_body(&prefill));
    }
    Redirect::to(&to).into_response()
}

async fn merchant(sb: &Sandbox, account: &str) -> String {
    sqlx::query("SELECT name FROM sandbox_accounts WHERE id = $1")
        .bind(account)
        .fetch_optional(sb.db().pool())
        .await
        .ok()
        .flatten()
        .and_then(|r| r.try_get::<String, _>("name").ok())
        .unwrap_or_else(|| "Sandbox merchant".into())
}

/// `GET /checkout/{session}`.
pub async fn show(
    State(sb): State<Sandbox>,
    Path(id): Path<String>,
    Query(prefill): Query<Prefill>,
) -> Response {
    let typed = PayForm {
        email: prefill.prefilled_email.unwrap_or_default(),
        promotion_code: prefill.prefilled_promo_code.unwrap_or_default(),
        ..Default::default()
    };
    page(&sb, &id, typed, None).await
}

/// `POST /checkout/{session}`: pays, then sends the payer to the success URL (or thanks them).
pub async fn submit(
    State(sb): State<Sandbox>,
    Path(id): Path<String>,
    Form(f): Form<PayForm>,
) -> Response {
    let account = match store::find(sb.db(), "checkout.session", &id).await {
        Ok(Some((account, _))) => account,
        Ok(None) => return message(StatusCode::NOT_FOUND, "This checkout does not exist."),
        Err(e) => return failed(db_error(e)),
    };
    let payment = Payment {
        email: f.email.clone(),
        name: f.name.clone(),
        card: f.card.clone(),
        promotion_code: f.promotion_code.clone(),
    };
    match checkout::pay(&sb, &account, &id, payment).await {
        Ok(Ok(session)) => match session["success_url"].as_str() {
            Some(url) => Redirect::to(&url.replace("{CHECKOUT_SESSION_ID}", &id)).into_response(),
            None => page(&sb, &id, PayForm::default(), None).await,
        },
        Ok(Err(why)) => {
            let kept = PayForm {
                card: String::new(),
                ..f
            };
            page(&sb, &id, kept, Some(why)).await
        }
        Err(e) => failed(e),
    }
}

/// The checkout page for a session: the form while it is open, thanks once it is paid.
async fn page(sb: &Sandbox, id: &str, typed: PayForm, problem: Option<String>) -> Response {
    let (account, session) = match store::find(sb.db(), "checkout.session", id).await {
        Ok(Some(found)) => found,
        Ok(None) => return message(StatusCode::NOT_FOUND, "This checkout does not exist."),
        Err(e) => return failed(db_error(e)),
    };
    let merchant = merchant(sb, &account).await;
    let currency = session["currency"].as_str().unwrap_or("usd").to_string();
    let items = match checkout::items_of(sb, &account, id).await {
        Ok(items) => items,
        Err(e) => return failed(e),
    };
    let rows: Vec<(String, String)> = items
        .iter()
        .map(|i| {
            (
                format!(
                    "{} × {}",
                    i["description"].as_str().unwrap_or("Item"),
                    i["quantity"]
                ),
                format_amount(i["amount_subtotal"].as_i64().unwrap_or_default(), &currency),
            )
        })
        .collect();
    let total = format_amount(
        session["amount_total"].as_i64().unwrap_or_default(),
        &currency,
    );
    // A subscription's total is what each period bills, as Stripe's page says it.
    let interval = (session["mode"] == "subscription").then(|| {
        items
            .first()
            .and_then(|i| i["price"]["recurring"]["interval"].as_str())
            .unwrap_or("month")
            .to_string()
    });
    let total = match &interval {
        Some(every) => format!("{total} per {every}"),
        None => total,
    };
    let summary = view! {
        <h1>{merchant.clone()}</h1>
        <table>
            {rows
                .into_iter()
                .map(|(what, amount)| view! { <tr><td>{what}</td><td>{amount}</td></tr> })
                .collect_view()}
            <tr class="total"><td>"Total"</td><td>{total.clone()}</td></tr>
        </table>
    };
    if session["status"] != "open" {
        let paid = session["status"] == "complete";
        let text = if paid {
            format!(
                "{} {total}. Thank you! A receipt goes to {}.",
                if interval.is_some() {
                    "Subscribed:"
                } else {
                    "Paid"
                },
                session["customer_details"]["email"]
                    .as_str()
                    .unwrap_or("you")
            )
        } else {
            "This checkout has expired.".to_string()
        };
        let status = if problem.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        };
        let main = view! {
            <main>
                {summary}
                {problem.map(|p| view! { <p role="alert" class="alert">{p}</p> })}
                <p role="status">{text}</p>
                <small>{id.to_string()}</small>
            </main>
        };
        return html(status, "Checkout", main.to_html());
    }
    let status = if problem.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let locked_email = match checkout::locked_email(sb, &account, &session).await {
        Ok(email) => email,
        Err(e) => return failed(e),
    };
    let email = locked_email.clone().unwrap_or(typed.email);
    let codes = session["allow_promotion_codes"] == true;
    let main = view! {
        <main>
            {summary}
            {problem.map(|p| view! { <p role="alert" class="alert">{p}</p> })}
            // No action: the form posts to this page's own address.
            <form method="post">
                <label for="email">"Email"</label>
                <input id="email" name="email" type="email" autocomplete="email" required=true
                    value=email readonly=locked_email.is_some() />
                <label for="name">"Name on card"</label>
                <input id="name" name="name" autocomplete="cc-name" value=typed.name />
                <label for="card">"Card number"</label>
                <input id="card" name="card" inputmode="numeric" autocomplete="cc-number"
                    placeholder="4242 4242 4242 4242" required=true />
                {codes.then(|| view! {
                    <label for="promotion_code">"Promotion code"</label>
                    <input id="promotion_code" name="promotion_code" value=typed.promotion_code.clone() />
                })}
                <button type="submit">{match interval {
                    Some(_) => "Subscribe".to_string(),
                    None => format!("Pay {total}"),
                }}</button>
            </form>
            <small>"Test mode: use 4242 4242 4242 4242; 4000 0000 0000 0002 is declined."</small>
        </main>
    };
    html(status, "Checkout", main.to_html())
}
