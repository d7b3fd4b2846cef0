//! A small dashboard for playing the merchant's side: customers with their metadata, payments,
//! webhook endpoints and deliveries, with buttons to simulate a payment, refund one, and
//! delete an endpoint. Plain HTML that works without scripts, rendered with Leptos's views (so
//! every value is escaped) and served with a Content-Security-Policy that allows no script.
//! Inside a Refloop, a signed-in member sees only the sandbox accounts of their own account,
//! and acts in them with Manage integrations.

use axum::{
    extract::{OriginalUri, Path, Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Redirect, Response},
    Form,
};
use leptos::{prelude::*, tachys::view::RenderHtml};
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::Row;

use super::{
    access::{Refused, Viewer},
    customers, payments, store, webhooks, Sandbox,
};
use crate::domain::money::{format_amount, known_currency, parse_amount};

/// The dashboard runs no script and is framed by nobody.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; \
                   form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Currencies the payment form offers.
const PAY_IN: [&str; 4] = ["usd", "eur", "gbp", "jpy"];

#[derive(Deserialize, Default)]
pub struct Selected {
    account: Option<String>,
    notice: Option<String>,
}

pub async fn page(
    State(sb): State<Sandbox>,
    Query(sel): Query<Selected>,
    headers: HeaderMap,
) -> Response {
    let viewer = match sb.viewer(&headers).await {
        Ok(v) => v,
        Err(refused) => return refusal(refused),
    };
    match gather(&sb, &viewer, sel).await {
        Ok(Ok(data)) => html(StatusCode::OK, render(data)),
        Ok(Err(refused)) => refusal(refused),
        Err(e) => {
            tracing::error!(error = %e, "stripe sandbox dashboard");
            refusal((
                StatusCode::INTERNAL_SERVER_ERROR,
                "The sandbox dashboard could not read its storage. Try again in a moment.".into(),
            ))
        }
    }
}

/// Someone not signed in is sent to sign in; other refusals are shown as a page.
fn refusal((status, message): Refused) -> Response {
    if status == StatusCode::UNAUTHORIZED {
        return Redirect::to("/signin").into_response();
    }
    let view = view! {
        <main>
            <section>
                <p role="alert">{message}</p>
                <p><a href="/app/integrations">"Back to Refloop"</a></p>
            </section>
        </main>
    };
    html(status, document(view.to_html()))
}

fn html(status: StatusCode, body: String) -> Response {
    let mut res = (status, Html(body)).into_response();
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    res
}

struct Customer {
    id: String,
    email: String,
    name: String,
    metadata: Vec<(String, String)>,
    balance: String,
}

struct Charge {
    id: String,
    customer: String,
    amount: String,
    refunded: String,
    status: String,
    currency: String,
    refundable: bool,
    /// "visa ••4242 (fingerprint …)"
    card: String,
}

struct Endpoint {
    id: String,
    url: String,
    status: String,
    events: String,
}

struct PaymentLink {
    id: String,
    url: String,
    what: String,
    codes: bool,
}

struct Delivery {
    kind: String,
    event: String,
    status: String,
    attempts: i64,
    answer: String,
}

struct Dashboard {
    notice: Option<String>,
    accounts: Vec<(String, String)>,
    account: String,
    customers: Vec<Customer>,
    charges: Vec<Charge>,
    endpoints: Vec<Endpoint>,
    payment_links: Vec<PaymentLink>,
    deliveries: Vec<Delivery>,
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// The sandbox accounts a viewer sees: all of them with the test controls on, their own
/// account's inside a Refloop.
async fn accounts_seen(
    sb: &Sandbox,
    viewer: &Viewer,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows =
        match viewer {
            Viewer::Anyone => {
                sqlx::query("SELECT id, name FROM sandbox_accounts ORDER BY created DESC, id")
                    .fetch_all(sb.db.pool())
                    .await?
            }
            Viewer::Member(m) => sqlx::query(
                "SELECT id, name FROM sandbox_accounts WHERE owner = $1 ORDER BY created DESC, id",
            )
            .bind(&m.account)
            .fetch_all(sb.db.pool())
            .await?,
            Viewer::Refloop => Vec::new(),
        };
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("name")?)))
        .collect()
}

async fn gather(
    sb: &Sandbox,
    viewer: &Viewer,
    sel: Selected,
) -> Result<Result<Dashboard, Refused>, sqlx::Error> {
    let accounts = accounts_seen(sb, viewer).await?;
    let account = match sel.account {
        Some(a) if accounts.iter().any(|(id, _)| *id == a) => a,
        Some(a) => return Ok(Err(super::access::not_found(&a))),
        None => accounts.first().map(|a| a.0.clone()).unwrap_or_default(),
    };
    let mut data = Dashboard {
        notice: sel.notice,
        accounts,
        account,
        customers: Vec::new(),
        charges: Vec::new(),
        endpoints: Vec::new(),
        payment_links: Vec::new(),
        deliveries: Vec::new(),
    };
    if data.account.is_empty() {
        return Ok(Ok(data));
    }
    let q = store::ListQuery {
        limit: 100,
        ..Default::default()
    };
    let account = data.account.clone();
    for c in store::list(&sb.db, &account, "customer", &q).await?.0 {
        let currency = c["currency"].as_str().unwrap_or("usd");
        data.customers.push(Customer {
            id: text(&c["id"]),
            email: c["email"].as_str().unwrap_or("(no email)").to_string(),
            name: text(&c["name"]),
            metadata: c["metadata"]
                .as_object()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), text(v))).collect())
                .unwrap_or_default(),
            balance: format_amount(c["balance"].as_i64().unwrap_or_default(), currency),
        });
    }
    for ch in store::list(&sb.db, &account, "charge", &q).await?.0 {
        let currency = ch["currency"].as_str().unwrap_or("usd").to_string();
        data.charges.push(Charge {
            id: text(&ch["id"]),
            customer: ch["customer"].as_str().unwrap_or("-").to_string(),
            amount: format_amount(
                ch["amount_captured"].as_i64().unwrap_or_default(),
                &currency,
            ),
            refunded: format_amount(
                ch["amount_refunded"].as_i64().unwrap_or_default(),
                &currency,
            ),
            status: text(&ch["status"]),
            refundable: ch["status"] == "succeeded" && ch["refunded"] != true,
            currency,
            card: match &ch["payment_method_details"]["card"] {
                Value::Null => String::new(),
                card => format!(
                    "{} ••{} (fingerprint {})",
                    text(&card["brand"]),
                    text(&card["last4"]),
                    text(&card["fingerprint"])
                ),
            },
        });
    }
    for e in store::list(&sb.db, &account, "webhook_endpoint", &q)
        .await?
        .0
    {
        data.endpoints.push(Endpoint {
            id: text(&e["id"]),
            url: text(&e["url"]),
            status: text(&e["status"]),
            events: e["enabled_events"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default(),
        });
    }
    for l in store::list(&sb.db, &account, "payment_link", &q).await?.0 {
        let id = text(&l["id"]);
        let items = store::get(
            &sb.db,
            &account,
            "line_items",
            &super::checkout::items_id(&id),
        )
        .await?
        .and_then(|(items, _)| items["data"].as_array().cloned())
        .unwrap_or_default();
        let what = items
            .iter()
            .map(|i| {
                let currency = i["currency"].as_str().unwrap_or("usd");
                format!(
                    "{} × {}: {}",
                    i["description"].as_str().unwrap_or("Item"),
                    i["quantity"],
                    format_amount(i["amount_subtotal"].as_i64().unwrap_or_default(), currency)
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        data.payment_links.push(PaymentLink {
            url: text(&l["url"]),
            codes: l["allow_promotion_codes"] == true,
            what,
            id,
        });
    }
    for d in webhooks::deliveries(sb, &account, 50).await? {
        data.deliveries.push(Delivery {
            kind: text(&d["type"]),
            event: text(&d["event"]),
            status: text(&d["status"]),
            attempts: d["attempts"].as_i64().unwrap_or_default(),
            answer: match (&d["last_status_code"], d["last_error"].as_str()) {
                (_, Some(err)) => err.to_string(),
                (Value::Number(code), None) => code.to_string(),
                _ => "-".to_string(),
            },
        });
    }
    Ok(Ok(data))
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;background:#f6f7fb;color:#1b1d29}\
header{background:#635bff;color:#fff;padding:.8rem 2rem}main{padding:1rem 2rem;max-width:70rem}\
section{background:#fff;border:1px solid #e2e4ee;border-radius:10px;padding:1rem 1.2rem;margin:0 0 1.2rem}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem;border-bottom:1px solid #eee;vertical-align:top;font-size:.9rem}\
form{display:inline-flex;gap:.3rem;margin:0}input,select{padding:.25rem;font:inherit;width:6rem}button{font:inherit;cursor:pointer}\
code{font-size:.85rem}.notice{background:#e5f6ee;border:1px solid #137a4b;padding:.5rem 1rem;border-radius:8px}";

/// The page around a rendered body.
fn document(main: String) -> String {
    let head = view! {
        <head>
            <meta charset="utf-8" />
            <title>"Stripe sandbox · Refloop"</title>
            <meta name="viewport" content="width=device-width, initial-scale=1" />
            <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
            <style>{STYLE}</style>
        </head>
    };
    let header = view! {
        <header>
            <strong>"Stripe sandbox"</strong>
            " · test mode · the merchant's side of Refloop"
        </header>
    };
    format!(
        "<!DOCTYPE html><html lang=\"en\">{}<body>{}{main}</body></html>",
        head.to_html(),
        header.to_html()
    )
}

fn render(d: Dashboard) -> String {
    let notice = d
        .notice
        .map(|n| view! { <p class="notice" role="status">{n}</p> });
    if d.accounts.is_empty() {
        let view = view! {
            <main>
                {notice}
                <section>
                    <p>
                        "No sandbox accounts yet. Connect the built-in sandbox from Refloop's Integrations page to create one."
                    </p>
                </section>
            </main>
        };
        return document(view.to_html());
    }
    let current = d.account.clone();
    let account = d.account;
    let options = d
        .accounts
        .into_iter()
        .map(|(id, name)| {
            let selected = id == current;
            let label = format!("{name} ({id})");
            view! { <option value=id selected=selected>{label}</option> }
        })
        .collect_view();
    let customers = d
        .customers
        .into_iter()
        .map(|c| {
            let metadata = c
                .metadata
                .into_iter()
                .map(|(k, v)| view! { <div><code>{k}</code>" = "{v}</div> })
                .collect_view();
            let who = if c.email == "(no email)" { c.id.clone() } else { c.email.clone() };
            let pay_currencies = PAY_IN
                .iter()
                .map(|c| view! { <option>{*c}</option> })
                .collect_view();
            let pay_cards = super::cards::CARDS
                .iter()
                .filter(|c| !c.declines)
                .map(|c| view! { <option value=c.method>{c.label()}</option> })
                .collect_view();
            let id = c.id.clone();
            view! {
                <tr data-customer=id>
                    <td><code>{c.id.clone()}</code><br />{c.email}<br />{c.name}</td>
                    <td>{metadata}</td>
                    <td>{c.balance}</td>
                    <td>
                        <form method="post" action="dashboard/payment">
                            <input type="hidden" name="account" value=account.clone() />
                            <input type="hidden" name="customer" value=c.id />
                            <input name="amount" aria-label=format!("Amount for {who}") placeholder="20.00" required maxlength="20" />
                            <select name="currency" aria-label="Currency">{pay_currencies}</select>
                            <select name="card" aria-label=format!("Card for {who}")>{pay_cards}</select>
                            <button aria-label=format!("Pay as {who}")>"Pay"</button>
                        </form>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let charges = d
        .charges
        .into_iter()
        .map(|ch| {
            let refund = ch.refundable.then(|| {
                view! {
                    <form method="post" action="dashboard/refund">
                        <input type="hidden" name="account" value=account.clone() />
                        <input type="hidden" name="charge" value=ch.id.clone() />
                        <input name="amount" aria-label=format!("Refund amount for {}", ch.id) placeholder="all" maxlength="20" />
                        <input type="hidden" name="currency" value=ch.currency.clone() />
                        <button>"Refund"</button>
                    </form>
                }
            });
            view! {
                <tr data-charge=ch.id.clone()>
                    <td><code>{ch.id.clone()}</code></td>
                    <td><code>{ch.customer}</code></td>
                    <td>{ch.amount}</td>
                    <td>{ch.card}</td>
                    <td>{ch.refunded}</td>
                    <td>{ch.status}</td>
                    <td>{refund}</td>
                </tr>
            }
        })
        .collect_view();
    let endpoints = d
        .endpoints
        .into_iter()
        .map(|e| {
            let id = e.id.clone();
            view! {
                <tr data-endpoint=id>
                    <td><code>{e.id.clone()}</code><br />{e.url}</td>
                    <td>{e.status}</td>
                    <td>{e.events}</td>
                    <td>
                        <form method="post" action="dashboard/delete_endpoint">
                            <input type="hidden" name="account" value=account.clone() />
                            <input type="hidden" name="endpoint" value=e.id />
                            <button>"Delete endpoint"</button>
                        </form>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let payment_links = d
        .payment_links
        .into_iter()
        .map(|l| {
            let id = l.id.clone();
            view! {
                <tr data-payment-link=id>
                    <td><code>{l.id}</code></td>
                    <td>{l.what}</td>
                    <td>{if l.codes { "yes" } else { "no" }}</td>
                    <td><a href=l.url.clone()>{l.url.clone()}</a></td>
                </tr>
            }
        })
        .collect_view();
    let link_currencies = PAY_IN
        .iter()
        .map(|c| view! { <option>{*c}</option> })
        .collect_view();
    let deliveries = d
        .deliveries
        .into_iter()
        .map(|d| {
            view! {
                <tr>
                    <td>{d.kind}<br /><code>{d.event}</code></td>
                    <td>{d.status}</td>
                    <td>{d.attempts}</td>
                    <td>{d.answer}</td>
                </tr>
            }
        })
        .collect_view();
    let view = view! {
        <main>
            {notice}
            <section>
                <form method="get">
                    <label>"Account " <select name="account">{options}</select></label>
                    " "
                    <button>"Show"</button>
                </form>
            </section>
            <section>
                <h2>"New customer"</h2>
                <form method="post" action="dashboard/customer">
                    <input type="hidden" name="account" value=account.clone() />
                    <input name="email" aria-label="New customer's email" placeholder="email" style="width:14rem" maxlength="200" />
                    <input name="name" aria-label="New customer's name" placeholder="name" style="width:10rem" maxlength="200" />
                    <button>"Create customer"</button>
                </form>
            </section>
            <section>
                <h2>"Customers"</h2>
                <table>
                    <thead><tr><th>"Customer"</th><th>"Metadata"</th><th>"Balance"</th><th>"Simulate a payment"</th></tr></thead>
                    <tbody>{customers}</tbody>
                </table>
            </section>
            <section>
                <h2>"Payments"</h2>
                <table>
                    <thead><tr><th>"Charge"</th><th>"Customer"</th><th>"Amount"</th><th>"Card"</th><th>"Refunded"</th><th>"Status"</th><th></th></tr></thead>
                    <tbody>{charges}</tbody>
                </table>
            </section>
            <section>
                <h2>"Payment Links"</h2>
                <form method="post" action="dashboard/payment_link">
                    <input type="hidden" name="account" value=account.clone() />
                    <input name="name" aria-label="Product name" placeholder="product" style="width:12rem" maxlength="200" required />
                    <input name="amount" aria-label="Price" placeholder="60.00" required maxlength="20" />
                    <select name="currency" aria-label="Price currency">{link_currencies}</select>
                    <label><input type="checkbox" name="codes" value="true" style="width:auto" />" Promotion codes"</label>
                    <button>"Create payment link"</button>
                </form>
                <table>
                    <thead><tr><th>"Link"</th><th>"Sells"</th><th>"Codes"</th><th>"URL"</th></tr></thead>
                    <tbody>{payment_links}</tbody>
                </table>
            </section>
            <section>
                <h2>"Webhook endpoints"</h2>
                <table>
                    <thead><tr><th>"Endpoint"</th><th>"Status"</th><th>"Events"</th><th></th></tr></thead>
                    <tbody>{endpoints}</tbody>
                </table>
            </section>
            <section>
                <h2>"Webhook deliveries"</h2>
                <table>
                    <thead><tr><th>"Event"</th><th>"Status"</th><th>"Attempts"</th><th>"Last answer"</th></tr></thead>
                    <tbody>{deliveries}</tbody>
                </table>
            </section>
        </main>
    };
    document(view.to_html())
}

#[derive(Deserialize)]
pub struct Action {
    account: String,
    customer: Option<String>,
    charge: Option<String>,
    endpoint: Option<String>,
    amount: Option<String>,
    currency: Option<String>,
    email: Option<String>,
    name: Option<String>,
    codes: Option<String>,
    /// A test card's payment method (`pm_card_visa`).
    card: Option<String>,
}

/// The dashboard's buttons; each goes back to the dashboard with what happened. Inside a
/// Refloop, each needs Manage integrations in the account that owns the sandbox account.
pub async fn act(
    State(sb): State<Sandbox>,
    Path(action): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Form(f): Form<Action>,
) -> Response {
    let allowed = match sb.viewer(&headers).await {
        Ok(viewer) => viewer.check(&sb, &f.account, true).await,
        Err(refused) => Err(refused),
    };
    if let Err(refused) = allowed {
        return refusal(refused);
    }
    let Some(currency) = known_currency(f.currency.as_deref().unwrap_or("usd")) else {
        return back(
            &f.account,
            "Not done: choose a currency Stripe supports, such as usd.",
        );
    };
    let outcome: Result<String, String> = match action.as_str() {
        "payment" => match (
            f.customer.as_deref(),
            parse_amount(f.amount.as_deref().unwrap_or_default(), &currency),
        ) {
            (Some(customer), Ok(amount)) => {
                let card = f.card.as_deref().unwrap_or("pm_card_visa");
                if !super::cards::CARDS
                    .iter()
                    .any(|c| c.method == card && !c.declines)
                {
                    return back(
                        &f.account,
                        "Not done: choose one of the sandbox's test cards.",
                    );
                }
                payments::simulate_payment(&sb, &f.account, customer, amount, &currency, card, None)
                    .await
                    .map(|ch| {
                        format!(
                            "Payment of {} by {customer} succeeded ({}).",
                            format_amount(amount, &currency),
                            ch["id"].as_str().unwrap_or_default()
                        )
                    })
                    .map_err(|e| e.message)
            }
            (None, _) => Err("Choose the customer who pays.".into()),
            (_, Err(e)) => Err(format!("The amount: {}.", e.reason(&currency))),
        },
        "refund" => {
            let charge = f.charge.clone().unwrap_or_default();
            let mut params = json!({ "charge": charge });
            if let Some(a) = f.amount.as_deref().filter(|a| !a.trim().is_empty()) {
                match parse_amount(a, &currency) {
                    Ok(minor) => params["amount"] = json!(minor.to_string()),
                    Err(e) => {
                        return back(
                            &f.account,
                            &format!(
                                "The refund's amount: {}, or leave it empty to refund all.",
                                e.reason(&currency)
                            ),
                        )
                    }
                }
            }
            payments::refund(&sb, &f.account, params)
                .await
                .map(|r| {
                    format!(
                        "Refunded {} of {charge}.",
                        format_amount(r["amount"].as_i64().unwrap_or_default(), &currency)
                    )
                })
                .map_err(|e| e.message)
        }
        "customer" => {
            let text = |v: &Option<String>| -> Option<String> {
                Some(v.as_deref()?.trim().to_string()).filter(|v| !v.is_empty())
            };
            let mut params = json!({});
            for (key, value) in [("email", text(&f.email)), ("name", text(&f.name))] {
                if let Some(v) = value {
                    params[key] = json!(v);
                }
            }
            customers::create(&sb, &f.account, params)
                .await
                .map(|c| format!("Created customer {}.", c["id"].as_str().unwrap_or_default()))
                .map_err(|e| e.message)
        }
        "payment_link" => {
            let name = f.name.as_deref().unwrap_or_default().trim().to_string();
            match parse_amount(f.amount.as_deref().unwrap_or_default(), &currency) {
                Ok(amount) => {
                    let base = sb.public_base(&headers, uri.path(), "/dashboard/");
                    let params = json!({
                        "line_items": [{
                            "price_data": {
                                "currency": currency, "unit_amount": amount.to_string(),
                                "product_data": { "name": name },
                            },
                            "quantity": "1",
                        }],
                        "allow_promotion_codes": if f.codes.is_some() { "true" } else { "false" },
                    });
                    super::checkout::create_payment_link(&sb, &f.account, params, &base)
                        .await
                        .map(|l| {
                            format!(
                                "Created payment link {}.",
                                l["url"].as_str().unwrap_or_default()
                            )
                        })
                        .map_err(|e| e.message)
                }
                Err(e) => Err(format!("The price: {}.", e.reason(&currency))),
            }
        }
        "delete_endpoint" => {
            let id = f.endpoint.clone().unwrap_or_default();
            webhooks::delete_endpoint(&sb, &f.account, &id)
                .await
                .map(|_| format!("Deleted webhook endpoint {id}."))
                .map_err(|e| e.message)
        }
        other => Err(format!("Unknown action {other}.")),
    };
    back(
        &f.account,
        &outcome.unwrap_or_else(|e| format!("Not done: {e}")),
    )
}

fn back(account: &str, notice: &str) -> Response {
    let query = crate::stripe::form::to_body(&[
        ("account".into(), account.into()),
        ("notice".into(), notice.into()),
    ]);
    Redirect::to(&format!("../?{query}")).into_response()
}
