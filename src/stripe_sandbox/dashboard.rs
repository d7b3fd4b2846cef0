//! A small dashboard for playing the merchant's side: customers with their metadata, payments,
//! webhook endpoints and deliveries, with buttons to simulate a payment, refund one, and
//! delete an endpoint. Plain HTML that works without scripts.

use axum::{
    extract::{Path, Query, State},
    response::{Html, IntoResponse, Redirect, Response},
    Form,
};
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::Row;

use super::{customers, payments, store, webhooks, Sandbox};
use crate::domain::money::{format_amount, parse_amount};

#[derive(Deserialize, Default)]
pub struct Selected {
    account: Option<String>,
    notice: Option<String>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub async fn page(State(sb): State<Sandbox>, Query(sel): Query<Selected>) -> Response {
    match render(&sb, sel).await {
        Ok(html) => Html(html).into_response(),
        Err(e) => (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            format!("The sandbox dashboard failed: {e}"),
        )
            .into_response(),
    }
}

async fn render(sb: &Sandbox, sel: Selected) -> Result<String, sqlx::Error> {
    let accounts = sqlx::query("SELECT id, name FROM sandbox_accounts ORDER BY created DESC, id")
        .fetch_all(sb.db.pool())
        .await?;
    let accounts: Vec<(String, String)> = accounts
        .iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("name")?)))
        .collect::<Result<_, sqlx::Error>>()?;
    let current = sel
        .account
        .clone()
        .or_else(|| accounts.first().map(|a| a.0.clone()));
    let mut html = String::from(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Stripe sandbox · Refloop</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\"><style>\
         body{font-family:system-ui,sans-serif;margin:0;background:#f6f7fb;color:#1b1d29}\
         header{background:#635bff;color:#fff;padding:.8rem 2rem}main{padding:1rem 2rem;max-width:70rem}\
         section{background:#fff;border:1px solid #e2e4ee;border-radius:10px;padding:1rem 1.2rem;margin:0 0 1.2rem}\
         table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem;border-bottom:1px solid #eee;vertical-align:top;font-size:.9rem}\
         form{display:inline-flex;gap:.3rem;margin:0}input,select{padding:.25rem;font:inherit;width:6rem}button{font:inherit;cursor:pointer}\
         code{font-size:.85rem}.notice{background:#e5f6ee;border:1px solid #137a4b;padding:.5rem 1rem;border-radius:8px}\
         </style></head><body><header><strong>Stripe sandbox</strong> · test mode · the merchant's side of Refloop</header><main>",
    );
    if let Some(n) = &sel.notice {
        html.push_str(&format!(
            "<p class=\"notice\" role=\"status\">{}</p>",
            esc(n)
        ));
    }
    if accounts.is_empty() {
        html.push_str("<section><p>No sandbox accounts yet. Connect the built-in sandbox from Refloop's Integrations page to create one.</p></section></main></body></html>");
        return Ok(html);
    }
    html.push_str("<section><form method=\"get\"><label>Account <select name=\"account\" onchange=\"this.form.submit()\">");
    for (id, name) in &accounts {
        let selected = if Some(id) == current.as_ref() {
            " selected"
        } else {
            ""
        };
        html.push_str(&format!(
            "<option value=\"{}\"{selected}>{} ({})</option>",
            esc(id),
            esc(name),
            esc(id)
        ));
    }
    html.push_str("</select></label> <button>Show</button></form></section>");
    let account = current.unwrap_or_default();
    let q = store::ListQuery {
        limit: 100,
        ..Default::default()
    };

    let (customers, _) = store::list(&sb.db, &account, "customer", &q).await?;
    html.push_str(&format!(
        "<section><h2>New customer</h2><form method=\"post\" action=\"dashboard/customer\">\
         <input type=\"hidden\" name=\"account\" value=\"{}\">\
         <input name=\"email\" aria-label=\"New customer's email\" placeholder=\"email\" style=\"width:14rem\">\
         <input name=\"name\" aria-label=\"New customer's name\" placeholder=\"name\" style=\"width:10rem\">\
         <button>Create customer</button></form></section>",
        esc(&account)
    ));
    html.push_str("<section><h2>Customers</h2><table><thead><tr><th>Customer</th><th>Metadata</th><th>Balance</th><th>Simulate a payment</th></tr></thead><tbody>");
    for c in &customers {
        let id = c["id"].as_str().unwrap_or_default();
        let metadata: String = c["metadata"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        format!(
                            "<div><code>{}</code> = {}</div>",
                            esc(k),
                            esc(v.as_str().unwrap_or_default())
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let currency = c["currency"].as_str().unwrap_or("usd");
        html.push_str(&format!(
            "<tr data-customer=\"{id}\"><td><code>{id}</code><br>{}<br>{}</td><td>{metadata}</td><td>{}</td><td>\
             <form method=\"post\" action=\"dashboard/payment\"><input type=\"hidden\" name=\"account\" value=\"{acct}\">\
             <input type=\"hidden\" name=\"customer\" value=\"{id}\"><input name=\"amount\" aria-label=\"Amount for {email}\" placeholder=\"20.00\" required>\
             <select name=\"currency\" aria-label=\"Currency\"><option>usd</option><option>eur</option><option>gbp</option><option>jpy</option></select>\
             <button aria-label=\"Pay as {email}\">Pay</button></form></td></tr>",
            esc(c["email"].as_str().unwrap_or("(no email)")),
            esc(c["name"].as_str().unwrap_or("")),
            format_amount(c["balance"].as_i64().unwrap_or_default(), currency),
            acct = esc(&account),
            email = esc(c["email"].as_str().unwrap_or(id)),
        ));
    }
    html.push_str("</tbody></table></section>");

    let (charges, _) = store::list(&sb.db, &account, "charge", &q).await?;
    html.push_str("<section><h2>Payments</h2><table><thead><tr><th>Charge</th><th>Customer</th><th>Amount</th><th>Refunded</th><th>Status</th><th></th></tr></thead><tbody>");
    for ch in &charges {
        let id = ch["id"].as_str().unwrap_or_default();
        let currency = ch["currency"].as_str().unwrap_or("usd");
        let refundable = ch["status"] == "succeeded" && ch["refunded"] != true;
        let refund = if refundable {
            format!(
                "<form method=\"post\" action=\"dashboard/refund\"><input type=\"hidden\" name=\"account\" value=\"{}\"><input type=\"hidden\" name=\"charge\" value=\"{id}\">\
                 <input name=\"amount\" aria-label=\"Refund amount for {id}\" placeholder=\"all\"><input type=\"hidden\" name=\"currency\" value=\"{currency}\"><button>Refund</button></form>",
                esc(&account)
            )
        } else {
            String::new()
        };
        html.push_str(&format!(
            "<tr data-charge=\"{id}\"><td><code>{id}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{refund}</td></tr>",
            esc(ch["customer"].as_str().unwrap_or("-")),
            format_amount(ch["amount_captured"].as_i64().unwrap_or_default(), currency),
            format_amount(ch["amount_refunded"].as_i64().unwrap_or_default(), currency),
            esc(ch["status"].as_str().unwrap_or_default()),
        ));
    }
    html.push_str("</tbody></table></section>");

    let (endpoints, _) = store::list(&sb.db, &account, "webhook_endpoint", &q).await?;
    html.push_str("<section><h2>Webhook endpoints</h2><table><thead><tr><th>Endpoint</th><th>Status</th><th>Events</th><th></th></tr></thead><tbody>");
    for e in &endpoints {
        let id = e["id"].as_str().unwrap_or_default();
        html.push_str(&format!(
            "<tr data-endpoint=\"{id}\"><td><code>{id}</code><br>{}</td><td>{}</td><td>{}</td><td>\
             <form method=\"post\" action=\"dashboard/delete_endpoint\"><input type=\"hidden\" name=\"account\" value=\"{}\"><input type=\"hidden\" name=\"endpoint\" value=\"{id}\"><button>Delete endpoint</button></form></td></tr>",
            esc(e["url"].as_str().unwrap_or_default()),
            esc(e["status"].as_str().unwrap_or_default()),
            esc(&e["enabled_events"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")).unwrap_or_default()),
            esc(&account),
        ));
    }
    html.push_str("</tbody></table></section><section><h2>Webhook deliveries</h2><table><thead><tr><th>Event</th><th>Status</th><th>Attempts</th><th>Last answer</th></tr></thead><tbody>");
    for d in webhooks::deliveries(sb, &account, 50).await? {
        html.push_str(&format!(
            "<tr><td>{}<br><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(d["type"].as_str().unwrap_or_default()),
            esc(d["event"].as_str().unwrap_or_default()),
            esc(d["status"].as_str().unwrap_or_default()),
            d["attempts"],
            esc(&match (&d["last_status_code"], d["last_error"].as_str()) {
                (_, Some(err)) => err.to_string(),
                (Value::Number(code), None) => code.to_string(),
                _ => "-".to_string(),
            }),
        ));
    }
    html.push_str("</tbody></table></section></main></body></html>");
    Ok(html)
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
}

/// The dashboard's buttons; each goes back to the dashboard with what happened.
pub async fn act(
    State(sb): State<Sandbox>,
    Path(action): Path<String>,
    Form(f): Form<Action>,
) -> Response {
    let currency = f
        .currency
        .clone()
        .unwrap_or_else(|| "usd".into())
        .to_lowercase();
    let outcome: Result<String, String> = match action.as_str() {
        "payment" => match (
            f.customer.as_deref(),
            f.amount.as_deref().and_then(|a| parse_amount(a, &currency)),
        ) {
            (Some(customer), Some(amount)) => {
                payments::simulate_payment(&sb, &f.account, customer, amount, &currency, None)
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
            _ => Err("Enter an amount greater than zero, such as 20.00.".into()),
        },
        "refund" => {
            let charge = f.charge.clone().unwrap_or_default();
            let mut params = json!({ "charge": charge });
            if let Some(a) = f.amount.as_deref().filter(|a| !a.trim().is_empty()) {
                match parse_amount(a, &currency) {
                    Some(minor) => params["amount"] = json!(minor.to_string()),
                    None => return back(
                        &f.account,
                        "Enter a refund amount greater than zero, or leave it empty to refund all.",
                    ),
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
