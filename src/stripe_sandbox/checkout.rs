//! Prices, Payment Links and Checkout Sessions (mode `payment`, or `subscription` for a
//! recurring price), and paying a session as the hosted checkout page does: the email, a test
//! card, a promotion code that applies its coupon (to a subscription's first invoice) and counts
//! its redemptions, then the charge (or the subscription and its first invoice) and the events
//! Stripe sends, in Stripe's order.

use serde_json::{json, Value};

use super::{
    billing,
    customers::{self, check_known, integer, list_body, list_query, live_customer, text},
    db_error, new_id, payments, store, ApiError, Sandbox,
};
use crate::domain::attribution::reference_shape_ok;

/// `POST /v1/prices`: a one-time or recurring (`recurring[interval]`, `[interval_count]`)
/// price of a product (named with `product_data[name]`, or an existing `product`).
pub async fn create_price(sb: &Sandbox, account: &str, params: Value) -> Result<Value, ApiError> {
    check_known(
        &params,
        &[
            "currency",
            "unit_amount",
            "product",
            "product_data",
            "metadata",
            "nickname",
            "active",
            "recurring",
        ],
    )?;
    let recurring = match params.get("recurring") {
        None => None,
        Some(r) => {
            let interval = r
                .get("interval")
                .and_then(Value::as_str)
                .ok_or_else(|| ApiError::missing_param("recurring[interval]"))?;
            if !["day", "week", "month", "year"].contains(&interval) {
                return Err(ApiError::invalid(
                    "recurring[interval]",
                    format!("Invalid recurring[interval]: must be one of day, week, month, or year ({interval})"),
                ));
            }
            let count = integer(r, "interval_count")?.unwrap_or(1);
            if !(1..=12).contains(&count) {
                return Err(ApiError::invalid(
                    "recurring[interval_count]",
                    "interval_count must be between 1 and 12.",
                ));
            }
            Some(json!({
                "aggregate_usage": null, "interval": interval, "interval_count": count,
                "trial_period_days": null, "usage_type": "licensed",
            }))
        }
    };
    let mut price = price_from(sb, account, &params, "", true).await?;
    if let Some(recurring) = recurring {
        price["recurring"] = recurring;
        price["type"] = json!("recurring");
        store::update(&sb.db, account, "price", &price, None)
            .await
            .map_err(db_error)?;
    }
    Ok(price)
}

/// A price from `currency`, `unit_amount` and `product`/`product_data` under `prefix` (the
/// parameter names errors give, such as `line_items[0][price_data]`).
async fn price_from(
    sb: &Sandbox,
    account: &str,
    params: &Value,
    prefix: &str,
    active: bool,
) -> Result<Value, ApiError> {
    let name = |key: &str| {
        if prefix.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}[{key}]")
        }
    };
    let currency = params
        .get("currency")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::missing_param(&name("currency")))?;
    let currency = payments::checked_currency(currency)?;
    let unit_amount = integer(params, "unit_amount")
        .map_err(|_| ApiError::invalid(&name("unit_amount"), "Invalid integer"))?
        .ok_or_else(|| ApiError::missing_param(&name("unit_amount")))?;
    if !(0..=99_999_999).contains(&unit_amount) {
        return Err(ApiError::invalid(
            &name("unit_amount"),
            "unit_amount must be between 0 and 99999999.",
        ));
    }
    let product = match (params.get("product"), params.get("product_data")) {
        (Some(Value::String(id)), None) => payments::retrieve(sb, account, "product", id).await?,
        (None, Some(data)) => {
            let product_name = data
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| !n.trim().is_empty())
                .ok_or_else(|| ApiError::missing_param(&name("product_data][name")))?;
            let product = json!({
                "id": new_id("prod"), "object": "product", "active": true, "created": sb.now(),
                "description": null, "livemode": false, "metadata": {}, "name": product_name,
            });
            store::insert(&sb.db, account, "product", &product, Default::default())
                .await
                .map_err(db_error)?;
            product
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                &name("product"),
                "You may only specify one of these parameters: product, product_data.",
            ))
        }
        _ => return Err(ApiError::missing_param(&name("product"))),
    };
    let price = json!({
        "id": new_id("price"), "object": "price", "active": active, "billing_scheme": "per_unit",
        "created": sb.now(), "currency": currency, "livemode": false, "lookup_key": null,
        "metadata": params.get("metadata").cloned().filter(Value::is_object).unwrap_or_else(|| json!({})),
        "nickname": params.get("nickname").cloned().unwrap_or(Value::Null),
        "product": product["id"], "recurring": null, "tax_behavior": "unspecified", "type": "one_time",
        "unit_amount": unit_amount, "unit_amount_decimal": unit_amount.to_string(),
    });
    sb.create(account, "price", &price, "price.created").await?;
    Ok(price)
}

/// The line items of a session or link: `line_items[n][price]` (or `[price_data]`) and
/// `[quantity]`, all in one currency.
async fn line_items(sb: &Sandbox, account: &str, params: &Value) -> Result<Vec<Value>, ApiError> {
    let items = match params.get("line_items") {
        Some(Value::Array(items)) if !items.is_empty() => items.clone(),
        Some(Value::Object(map)) if !map.is_empty() => map.values().cloned().collect(),
        _ => return Err(ApiError::missing_param("line_items")),
    };
    if items.len() > 100 {
        return Err(ApiError::invalid(
            "line_items",
            "A session takes at most 100 line items.",
        ));
    }
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("line_items[{i}]");
        if let Value::Object(map) = item {
            if let Some(k) = map
                .keys()
                .find(|k| !["price", "price_data", "quantity"].contains(&k.as_str()))
            {
                return Err(ApiError::unknown_param(&format!("{at}[{k}]")));
            }
        }
        let price = match (item.get("price"), item.get("price_data")) {
            (Some(Value::String(id)), None) => payments::retrieve(sb, account, "price", id).await?,
            (None, Some(data)) => {
                price_from(sb, account, data, &format!("{at}[price_data]"), false).await?
            }
            _ => {
                return Err(ApiError::invalid(
                    &format!("{at}[price]"),
                    "Each line item needs exactly one of price or price_data.",
                ))
            }
        };
        let quantity = integer(item, "quantity")
            .map_err(|_| ApiError::invalid(&format!("{at}[quantity]"), "Invalid integer"))?
            .ok_or_else(|| ApiError::missing_param(&format!("{at}[quantity]")))?;
        if !(1..=999_999).contains(&quantity) {
            return Err(ApiError::invalid(
                &format!("{at}[quantity]"),
                "quantity must be at least 1.",
            ));
        }
        let product = found(sb, account, "product", &price["product"]).await?;
        let amount = price["unit_amount"].as_i64().unwrap_or_default() * quantity;
        out.push(json!({
            "id": new_id("li"), "object": "item", "amount_discount": 0, "amount_subtotal": amount,
            "amount_tax": 0, "amount_total": amount, "currency": price["currency"],
            "description": product["name"], "price": price, "quantity": quantity,
        }));
    }
    let currency = &out[0]["currency"];
    if out.iter().any(|i| i["currency"] != *currency) {
        return Err(ApiError::invalid(
            "line_items",
            "All line items must be in the same currency.",
        ));
    }
    Ok(out)
}

/// Keeps an object's line items beside it (Stripe lists them at `…/line_items`).
async fn save_items(
    sb: &Sandbox,
    account: &str,
    owner: &str,
    items: &[Value],
) -> Result<(), ApiError> {
    let list = json!({ "id": items_id(owner), "created": sb.now(), "data": items });
    store::insert(&sb.db, account, "line_items", &list, Default::default())
        .await
        .map_err(db_error)
}

/// Where an owner's line items are kept: ids are unique across kinds, so the list has its
/// owner's id and a suffix.
pub(super) fn items_id(owner: &str) -> String {
    format!("{owner}/line_items")
}

/// The object an id (a JSON string, or null) names, or null when there is none.
async fn found(sb: &Sandbox, account: &str, kind: &str, id: &Value) -> Result<Value, ApiError> {
    let Some(id) = id.as_str() else {
        return Ok(Value::Null);
    };
    Ok(store::get(&sb.db, account, kind, id)
        .await
        .map_err(db_error)?
        .map(|(o, _)| o)
        .unwrap_or(Value::Null))
}

/// The line items kept beside a session or Payment Link (empty when it has none).
pub(super) async fn items_of(
    sb: &Sandbox,
    account: &str,
    owner: &str,
) -> Result<Vec<Value>, ApiError> {
    Ok(store::get(&sb.db, account, "line_items", &items_id(owner))
        .await
        .map_err(db_error)?
        .and_then(|(l, _)| l["data"].as_array().cloned())
        .unwrap_or_default())
}

fn flag(params: &Value, key: &str) -> Result<bool, ApiError> {
    match params.get(key).and_then(Value::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ApiError::invalid(key, format!("Invalid boolean: {other}"))),
    }
}

/// `POST /v1/payment_links`: a link anyone can pay, at `{base}/pay/{id}`.
pub async fn create_payment_link(
    sb: &Sandbox,
    account: &str,
    params: Value,
    base: &str,
) -> Result<Value, ApiError> {
    check_known(
        &params,
        &[
            "line_items",
            "allow_promotion_codes",
            "after_completion",
            "customer_creation",
            "metadata",
        ],
    )?;
    let items = line_items(sb, account, &params).await?;
    let after = match params["after_completion"]["type"].as_str() {
        None | Some("hosted_confirmation") => json!({
            "type": "hosted_confirmation",
            "hosted_confirmation": { "custom_message": null },
        }),
        Some("redirect") => {
            let url = redirect_url(&params["after_completion"]["redirect"], "url")
                .map_err(|m| ApiError::invalid("after_completion[redirect][url]", m))?;
            json!({ "type": "redirect", "redirect": { "url": url } })
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "after_completion[type]",
                "after_completion[type] is hosted_confirmation or redirect.",
            ))
        }
    };
    let id = new_id("plink");
    let link = json!({
        "id": id, "object": "payment_link", "active": true, "after_completion": after,
        "allow_promotion_codes": flag(&params, "allow_promotion_codes")?,
        "currency": items[0]["currency"], "customer_creation": customer_creation(&params)?,
        "livemode": false,
        "metadata": params.get("metadata").cloned().filter(Value::is_object).unwrap_or_else(|| json!({})),
        "url": format!("{base}/pay/{id}"),
    });
    save_items(sb, account, &id, &items).await?;
    sb.create(account, "payment_link", &link, "payment_link.created")
        .await?;
    Ok(link)
}

fn customer_creation(params: &Value) -> Result<&'static str, ApiError> {
    match params.get("customer_creation").and_then(Value::as_str) {
        None | Some("if_required") => Ok("if_required"),
        Some("always") => Ok("always"),
        Some(_) => Err(ApiError::invalid(
            "customer_creation",
            "customer_creation is always or if_required.",
        )),
    }
}

/// An absolute http(s) URL (where a payer is sent after paying).
fn redirect_url(params: &Value, key: &str) -> Result<String, String> {
    let url = params
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("Missing required param: {key}."))?;
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= 5_000
        && !url.chars().any(char::is_whitespace);
    if ok {
        Ok(url.to_string())
    } else {
        Err(format!("Not a valid URL: {url}"))
    }
}

/// What a session is opened with, besides its items.
#[derive(Default)]
pub struct Opening {
    pub client_reference_id: Option<String>,
    pub customer: Option<String>,
    pub customer_email: Option<String>,
    pub allow_promotion_codes: bool,
    pub discounts: Vec<Value>,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub payment_link: Option<String>,
    /// `payment`, or `subscription` for a recurring price.
    pub mode: &'static str,
    pub customer_creation: &'static str,
    pub metadata: Value,
}

/// The mode a session's items call for (`asked`, when the API named one): `subscription` for
/// one recurring price (the sandbox's subscriptions have one item), `payment` for one-time
/// prices, as Stripe refuses a mix.
fn mode_of(items: &[Value], asked: Option<&str>) -> Result<&'static str, ApiError> {
    let recurring = items
        .iter()
        .filter(|i| i["price"]["type"] == "recurring")
        .count();
    let mode = match (asked, recurring) {
        (Some("payment"), 1..) => {
            return Err(ApiError::invalid(
                "mode",
                "You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only one-time prices.",
            ))
        }
        (Some("subscription"), 0) => {
            return Err(ApiError::invalid(
                "mode",
                "You must provide at least one recurring price in `subscription` mode when using prices.",
            ))
        }
        (_, 0) => "payment",
        _ => "subscription",
    };
    if mode == "subscription" && items.len() > 1 {
        return Err(ApiError::invalid(
            "line_items",
            "The sandbox's subscriptions take one line item.",
        ));
    }
    Ok(mode)
}

/// `POST /v1/checkout/sessions` (mode `payment` or `subscription`).
pub async fn create_session(
    sb: &Sandbox,
    account: &str,
    params: Value,
    base: &str,
) -> Result<Value, ApiError> {
    check_known(
        &params,
        &[
            "mode",
            "line_items",
            "success_url",
            "cancel_url",
            "client_reference_id",
            "customer",
            "customer_email",
            "customer_creation",
            "allow_promotion_codes",
            "discounts",
            "metadata",
            "expand",
        ],
    )?;
    let asked = match params.get("mode").and_then(Value::as_str) {
        Some(mode @ ("payment" | "subscription")) => mode,
        Some("setup") => {
            return Err(ApiError::invalid(
                "mode",
                "The sandbox's Checkout takes mode=payment or mode=subscription.",
            ))
        }
        Some(other) => {
            return Err(ApiError::invalid(
                "mode",
                format!(
                    "Invalid mode: must be one of payment, setup, or subscription (got {other})."
                ),
            ))
        }
        None => return Err(ApiError::missing_param("mode")),
    };
    let items = line_items(sb, account, &params).await?;
    let mode = mode_of(&items, Some(asked))?;
    let reference = match text(&params, "client_reference_id", 200)? {
        Some(Value::String(r)) if reference_shape_ok(&r) => Some(r),
        Some(Value::String(_)) => {
            return Err(ApiError::invalid(
                "client_reference_id",
                "client_reference_id may contain only letters, digits, dashes and underscores.",
            ))
        }
        _ => None,
    };
    let customer = match params.get("customer").and_then(Value::as_str) {
        Some(id) => Some(
            live_customer(sb, account, id).await?["id"]
                .as_str()
                .unwrap_or(id)
                .to_string(),
        ),
        None => None,
    };
    let customer_email =
        text(&params, "customer_email", 800)?.and_then(|v| v.as_str().map(str::to_string));
    if customer.is_some() && customer_email.is_some() {
        return Err(ApiError::invalid(
            "customer_email",
            "You may only specify one of these parameters: customer, customer_email.",
        ));
    }
    let allow = flag(&params, "allow_promotion_codes")?;
    let discounts = match params.get("discounts") {
        None => Vec::new(),
        Some(d) => {
            let list: Vec<Value> = match d {
                Value::Array(a) => a.clone(),
                Value::Object(m) => m.values().cloned().collect(),
                _ => return Err(ApiError::invalid("discounts", "Invalid array")),
            };
            let mut found = Vec::new();
            for (i, d) in list.iter().enumerate() {
                found.push(discount(sb, account, d, i).await?);
            }
            found
        }
    };
    if allow && !discounts.is_empty() {
        return Err(ApiError::invalid(
            "discounts",
            "You may only specify one of these parameters: allow_promotion_codes, discounts.",
        ));
    }
    let success_url = match params.get("success_url") {
        None => None,
        Some(_) => Some(
            redirect_url(&params, "success_url")
                .map_err(|m| ApiError::invalid("success_url", m))?,
        ),
    };
    let cancel_url = match params.get("cancel_url") {
        None => None,
        Some(_) => Some(
            redirect_url(&params, "cancel_url").map_err(|m| ApiError::invalid("cancel_url", m))?,
        ),
    };
    let opening = Opening {
        client_reference_id: reference,
        customer,
        customer_email,
        allow_promotion_codes: allow,
        discounts,
        success_url,
        cancel_url,
        payment_link: None,
        mode,
        customer_creation: customer_creation(&params)?,
        metadata: params
            .get("metadata")
            .cloned()
            .filter(Value::is_object)
            .unwrap_or_else(|| json!({})),
    };
    open_session(sb, account, items, opening, base).await
}

/// A `discounts[n]` entry: an existing coupon or promotion code, as the session applies it.
async fn discount(sb: &Sandbox, account: &str, d: &Value, i: usize) -> Result<Value, ApiError> {
    match (d.get("coupon"), d.get("promotion_code")) {
        (Some(Value::String(c)), None) => {
            let coupon = payments::retrieve(sb, account, "coupon", c).await?;
            Ok(json!({ "coupon": coupon["id"], "promotion_code": null }))
        }
        (None, Some(Value::String(p))) => {
            let promo = payments::retrieve(sb, account, "promotion_code", p).await?;
            Ok(
                json!({ "coupon": promo["promotion"]["coupon"]["id"], "promotion_code": promo["id"] }),
            )
        }
        _ => Err(ApiError::invalid(
            &format!("discounts[{i}]"),
            "Each discount needs exactly one of coupon or promotion_code.",
        )),
    }
}

/// Opens a session over these items (from the API or a Payment Link's URL).
pub async fn open_session(
    sb: &Sandbox,
    account: &str,
    items: Vec<Value>,
    o: Opening,
    base: &str,
) -> Result<Value, ApiError> {
    let subtotal: i64 = items
        .iter()
        .map(|i| i["amount_subtotal"].as_i64().unwrap_or_default())
        .sum();
    let id = format!("cs_test_{}", &new_id("x")[2..]);
    let now = sb.now();
    let session = json!({
        "id": id, "object": "checkout.session", "allow_promotion_codes": o.allow_promotion_codes,
        "amount_subtotal": subtotal, "amount_total": subtotal, "cancel_url": o.cancel_url,
        "client_reference_id": o.client_reference_id, "created": now, "currency": items[0]["currency"],
        "customer": o.customer, "customer_creation": o.customer_creation, "customer_details": null,
        "customer_email": o.customer_email, "discounts": o.discounts, "expires_at": now + 86_400,
        "invoice": null, "livemode": false, "metadata": o.metadata, "mode": o.mode,
        "payment_intent": null, "subscription": null,
        "payment_link": o.payment_link, "payment_status": "unpaid", "status": "open",
        "success_url": o.success_url,
        "total_details": { "amount_discount": 0, "amount_shipping": 0, "amount_tax": 0 },
        "url": format!("{base}/checkout/{id}"),
    });
    save_items(sb, account, &id, &items).await?;
    store::insert(
        &sb.db,
        account,
        "checkout.session",
        &session,
        store::Columns {
            customer: session["customer"].as_str(),
            ..Default::default()
        },
    )
    .await
    .map_err(db_error)?;
    Ok(session)
}

/// A session from a Payment Link's URL, with what the URL may carry: `client_reference_id`
/// (dropped unless it has Stripe's shape, as Stripe does).
pub async fn session_from_link(
    sb: &Sandbox,
    account: &str,
    link: &Value,
    client_reference_id: Option<&str>,
    base: &str,
) -> Result<Value, ApiError> {
    let id = link["id"].as_str().unwrap_or_default();
    let items = items_of(sb, account, id).await?;
    let success_url = match link["after_completion"]["type"].as_str() {
        Some("redirect") => link["after_completion"]["redirect"]["url"]
            .as_str()
            .map(str::to_string),
        _ => None,
    };
    let mode = mode_of(&items, None)?;
    let opening = Opening {
        mode,
        client_reference_id: client_reference_id
            .filter(|r| reference_shape_ok(r))
            .map(str::to_string),
        allow_promotion_codes: link["allow_promotion_codes"] == true,
        success_url,
        payment_link: Some(id.to_string()),
        customer_creation: if link["customer_creation"] == "always" {
            "always"
        } else {
            "if_required"
        },
        metadata: link["metadata"].clone(),
        ..Default::default()
    };
    open_session(sb, account, items, opening, base).await
}

pub async fn list_sessions(sb: &Sandbox, account: &str, params: &Value) -> Result<Value, ApiError> {
    let mut q = list_query(
        sb,
        account,
        "checkout.session",
        params,
        &["customer", "payment_intent", "payment_link", "status"],
    )
    .await?;
    q.customer = params
        .get("customer")
        .and_then(Value::as_str)
        .map(str::to_string);
    let (mut data, has_more) = store::list(&sb.db, account, "checkout.session", &q)
        .await
        .map_err(db_error)?;
    for key in ["payment_intent", "payment_link", "status"] {
        if let Some(v) = params.get(key).and_then(Value::as_str) {
            data.retain(|s| s[key] == v);
        }
    }
    Ok(list_body("/v1/checkout/sessions", data, has_more))
}

/// `GET /v1/checkout/sessions/{id}/line_items` and `/v1/payment_links/{id}/line_items`.
pub async fn list_items(
    sb: &Sandbox,
    account: &str,
    kind: &str,
    id: &str,
) -> Result<Value, ApiError> {
    payments::retrieve(sb, account, kind, id).await?;
    let path = if kind == "payment_link" {
        format!("/v1/payment_links/{id}/line_items")
    } else {
        format!("/v1/checkout/sessions/{id}/line_items")
    };
    Ok(list_body(&path, items_of(sb, account, id).await?, false))
}

/// What a payer enters on the hosted page.
#[derive(Debug, Default, Clone)]
pub struct Payment {
    pub email: String,
    pub name: String,
    pub card: String,
    pub promotion_code: String,
}

/// Why the hosted page did not take a payment, in the words it shows.
pub type Declined = String;

/// The promotion code a payer typed, if it applies to this session now.
async fn redeemable(
    sb: &Sandbox,
    account: &str,
    session: &Value,
    code: &str,
) -> Result<Result<Value, Declined>, ApiError> {
    let found = store::list(
        &sb.db,
        account,
        "promotion_code",
        &store::ListQuery {
            limit: 100,
            email: Some(code.trim().to_lowercase()),
            ..Default::default()
        },
    )
    .await
    .map_err(db_error)?
    .0;
    let Some(promo) = found.into_iter().find(|p| p["active"] == true) else {
        return Ok(Err(format!(
            "{} is not a valid promotion code.",
            code.trim()
        )));
    };
    let (coupon, _) = store::get(
        &sb.db,
        account,
        "coupon",
        promo["promotion"]["coupon"]["id"]
            .as_str()
            .unwrap_or_default(),
    )
    .await
    .map_err(db_error)?
    .ok_or_else(ApiError::internal)?;
    let now = sb.now();
    let used_up = |o: &Value| {
        o["max_redemptions"]
            .as_i64()
            .is_some_and(|m| o["times_redeemed"].as_i64().unwrap_or_default() >= m)
    };
    let expired = promo["expires_at"].as_i64().is_some_and(|e| e <= now)
        || coupon["redeem_by"].as_i64().is_some_and(|e| e <= now);
    let code = promo["code"].as_str().unwrap_or_default();
    if expired {
        return Ok(Err(format!("{code} has expired.")));
    }
    if used_up(&promo) || used_up(&coupon) || coupon["valid"] == false {
        return Ok(Err(format!("{code} can no longer be used.")));
    }
    if promo["customer"].is_string() && promo["customer"] != session["customer"] {
        return Ok(Err(format!("{code} is for another customer.")));
    }
    if coupon["amount_off"].is_i64() && coupon["currency"] != session["currency"] {
        return Ok(Err(format!("{code} is not valid in this currency.")));
    }
    if let Some(min) = promo["restrictions"]["minimum_amount"].as_i64() {
        if session["amount_subtotal"].as_i64().unwrap_or_default() < min {
            return Ok(Err(format!("{code} needs a larger order.")));
        }
    }
    Ok(Ok(json!({ "promotion": promo, "coupon": coupon })))
}

/// What a coupon takes off an amount.
fn discount_on(coupon: &Value, amount: i64) -> i64 {
    if let Some(pct) = coupon["percent_off"].as_f64() {
        return ((amount as f64) * pct / 100.0).round() as i64;
    }
    coupon["amount_off"]
        .as_i64()
        .unwrap_or_default()
        .min(amount)
}

/// The email a session is opened for, which the payer cannot change: `customer_email`, or the
/// email of its `customer`.
pub async fn locked_email(
    sb: &Sandbox,
    account: &str,
    session: &Value,
) -> Result<Option<String>, ApiError> {
    if let Some(email) = session["customer_email"].as_str() {
        return Ok(Some(email.to_string()));
    }
    match session["customer"].as_str() {
        Some(id) => Ok(store::get(&sb.db, account, "customer", id)
            .await
            .map_err(db_error)?
            .and_then(|(c, _)| c["email"].as_str().map(str::to_string))),
        None => Ok(None),
    }
}

/// Pays an open session as its hosted page does. `Ok(Err(..))` is the payer's mistake or a
/// declined card, shown on the page; the session stays open.
pub async fn pay(
    sb: &Sandbox,
    account: &str,
    session_id: &str,
    p: Payment,
) -> Result<Result<Value, Declined>, ApiError> {
    // One payment at a time per sandbox, so a double submit pays once.
    let _paying = sb.customer_write().await;
    let (mut session, _) = store::get(&sb.db, account, "checkout.session", session_id)
        .await
        .map_err(db_error)?
        .ok_or_else(|| ApiError::missing("checkout.session", session_id))?;
    if session["status"] != "open" {
        return Ok(Err("This checkout is no longer open.".into()));
    }
    let typed = match locked_email(sb, account, &session).await? {
        Some(email) => email,
        None => p.email.clone(),
    };
    let email = match crate::domain::validate::email(&typed) {
        Ok(e) => e,
        Err(why) => return Ok(Err(why)),
    };
    let Some(method) = super::cards::by_number(&p.card).map(|c| c.method) else {
        return Ok(Err(
            "Your card number is invalid. In the sandbox, use a Stripe test card such as 4242 4242 4242 4242 or 5555 5555 5555 4444 (4000 0000 0000 0002 is declined)."
                .into(),
        ));
    };
    let subtotal = session["amount_subtotal"].as_i64().unwrap_or_default();
    let mut discounts = session["discounts"].as_array().cloned().unwrap_or_default();
    let mut applied: Option<Value> = None;
    if !p.promotion_code.trim().is_empty() {
        if session["allow_promotion_codes"] != true {
            return Ok(Err("This checkout does not take promotion codes.".into()));
        }
        match redeemable(sb, account, &session, &p.promotion_code).await? {
            Ok(found) => {
                discounts = vec![json!({
                    "coupon": found["coupon"]["id"], "promotion_code": found["promotion"]["id"],
                })];
                applied = Some(found);
            }
            Err(why) => return Ok(Err(why)),
        }
    } else if let Some(d) = discounts.first() {
        // A discount the session was opened with.
        let promotion = found(sb, account, "promotion_code", &d["promotion_code"]).await?;
        let coupon = found(sb, account, "coupon", &d["coupon"]).await?;
        applied = Some(json!({ "promotion": promotion, "coupon": coupon }));
    }
    let off = applied
        .as_ref()
        .map(|a| discount_on(&a["coupon"], subtotal))
        .unwrap_or_default();
    let total = subtotal - off;
    // A subscription is always a customer's.
    let subscribing = session["mode"] == "subscription";
    let customer = match session["customer"].as_str() {
        Some(c) => Some(c.to_string()),
        None if session["customer_creation"] == "always" || subscribing => {
            let mut params = json!({ "email": email });
            if !p.name.trim().is_empty() {
                params["name"] = json!(p.name.trim());
            }
            let c = customers::create(sb, account, params).await?;
            c["id"].as_str().map(str::to_string)
        }
        None => None,
    };
    let mut intent_params = json!({
        "amount": total.to_string(), "currency": session["currency"], "payment_method": method,
        "confirm": "true", "receipt_email": email,
        "description": format!("Checkout {session_id}"),
    });
    if let Some(c) = &customer {
        intent_params["customer"] = json!(c);
    }
    let mut subscription = Value::Null;
    // A discount of all of it leaves nothing to charge.
    let intent = if subscribing {
        if payments::declines(method) {
            return Ok(Err("Your card was declined.".into()));
        }
        let item = items_of(sb, account, session_id)
            .await?
            .into_iter()
            .next()
            .unwrap_or_default();
        let (sub, invoice) = billing::subscribe(
            sb,
            account,
            customer.as_deref().unwrap_or_default(),
            item["price"].clone(),
            item["quantity"].as_i64().unwrap_or(1),
            json!({}),
            off,
        )
        .await?;
        session["invoice"] = invoice["id"].clone();
        subscription = sub["id"].clone();
        Value::Null
    } else if total < 1 {
        Value::Null
    } else {
        match payments::create_intent(sb, account, intent_params).await {
            Ok(i) => i,
            Err(e) if e.code == Some("card_declined") => {
                return Ok(Err("Your card was declined.".into()))
            }
            Err(e) => return Err(e),
        }
    };
    if let Some(a) = &applied {
        for kind in ["promotion_code", "coupon"] {
            let key = if kind == "coupon" {
                "coupon"
            } else {
                "promotion"
            };
            let mut o = a[key].clone();
            if o.is_null() {
                continue;
            }
            o["times_redeemed"] = json!(o["times_redeemed"].as_i64().unwrap_or_default() + 1);
            // A promotion code is found by its code, kept lower-cased in the lookup column.
            let lookup = o["code"].as_str().map(str::to_lowercase);
            store::update(&sb.db, account, kind, &o, lookup.as_deref())
                .await
                .map_err(db_error)?;
        }
    }
    session["status"] = json!("complete");
    session["payment_status"] = json!(if total < 1 {
        "no_payment_required"
    } else {
        "paid"
    });
    session["payment_intent"] = intent["id"].clone();
    session["subscription"] = subscription;
    session["customer"] = json!(customer);
    session["customer_details"] = json!({
        "email": email,
        "name": if p.name.trim().is_empty() { Value::Null } else { json!(p.name.trim()) },
    });
    session["discounts"] = json!(discounts);
    session["amount_total"] = json!(total);
    session["total_details"]["amount_discount"] = json!(off);
    store::update(&sb.db, account, "checkout.session", &session, None)
        .await
        .map_err(db_error)?;
    sb.emit(account, "checkout.session.completed", &session, None)
        .await?;
    Ok(Ok(session))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coupons_take_a_share_or_an_amount_never_more_than_the_total() {
        assert_eq!(discount_on(&json!({ "percent_off": 15.0 }), 6_000), 900);
        assert_eq!(discount_on(&json!({ "amount_off": 500 }), 6_000), 500);
        assert_eq!(discount_on(&json!({ "amount_off": 9_000 }), 6_000), 6_000);
    }
}
