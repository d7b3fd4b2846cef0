//! Subscriptions billed by Invoices, and test clocks, as Stripe's API has them: a customer may
//! be attached to a test clock when created; a subscription to a recurring price bills its
//! first period at once and each later one when its customer's clock is advanced past the
//! period's end (without a clock, only the first period is billed). Each period is an invoice paid by a charge made at the period's start, with
//! Stripe's events: `invoice.created`, `invoice.finalized`, `invoice.paid`,
//! `invoice.payment_succeeded`, the charge's and the intent's. A changed price bills from the
//! next period (the sandbox makes no prorations).

use serde_json::{json, Value};

use super::{
    customers::{check_known, integer, live_customer},
    db_error, new_id, payments, store, ApiError, Sandbox,
};
use crate::domain::time::add_months;

/// `POST /v1/test_helpers/test_clocks`: a clock frozen at `frozen_time`.
pub async fn create_clock(sb: &Sandbox, account: &str, params: Value) -> Result<Value, ApiError> {
    check_known(&params, &["frozen_time", "name"])?;
    let frozen =
        integer(&params, "frozen_time")?.ok_or_else(|| ApiError::missing_param("frozen_time"))?;
    let clock = json!({
        "id": new_id("clock"), "object": "test_helpers.test_clock", "created": sb.now(),
        "deletes_after": sb.now() + 30 * 86_400, "frozen_time": frozen, "livemode": false,
        "name": params.get("name").cloned().unwrap_or(Value::Null), "status": "ready",
    });
    sb.create(
        account,
        "test_helpers.test_clock",
        &clock,
        "test_helpers.test_clock.created",
    )
    .await?;
    Ok(clock)
}

/// `POST /v1/test_helpers/test_clocks/{id}/advance`: moves the clock forward to `frozen_time`
/// and bills every period of its customers' subscriptions that ends by then, in order.
pub async fn advance_clock(
    sb: &Sandbox,
    account: &str,
    id: &str,
    params: Value,
) -> Result<Value, ApiError> {
    check_known(&params, &["frozen_time"])?;
    let mut clock = payments::retrieve(sb, account, "test_helpers.test_clock", id).await?;
    let to =
        integer(&params, "frozen_time")?.ok_or_else(|| ApiError::missing_param("frozen_time"))?;
    if to <= clock["frozen_time"].as_i64().unwrap_or_default() {
        return Err(ApiError::invalid(
            "frozen_time",
            "The test clock can only be advanced to a time after its current frozen_time.",
        ));
    }
    for mut sub in store::all(&sb.db, account, "subscription")
        .await
        .map_err(db_error)?
        .into_iter()
        .filter(|s| s["test_clock"] == json!(id) && s["status"] == "active")
    {
        while sub["current_period_end"].as_i64().unwrap_or(i64::MAX) <= to {
            let start = sub["current_period_end"].as_i64().unwrap_or_default();
            bill(sb, account, &mut sub, start, "subscription_cycle", 0).await?;
        }
    }
    clock["frozen_time"] = json!(to);
    store::update(&sb.db, account, "test_helpers.test_clock", &clock, None)
        .await
        .map_err(db_error)?;
    sb.emit(account, "test_helpers.test_clock.ready", &clock, None)
        .await?;
    Ok(clock)
}

/// The clock a customer is on and its time, if any.
async fn clock_of(
    sb: &Sandbox,
    account: &str,
    customer: &Value,
) -> Result<Option<(String, i64)>, ApiError> {
    let Some(id) = customer["test_clock"].as_str() else {
        return Ok(None);
    };
    let clock = payments::retrieve(sb, account, "test_helpers.test_clock", id).await?;
    Ok(Some((
        id.to_string(),
        clock["frozen_time"].as_i64().unwrap_or_default(),
    )))
}

/// A customer's clock, checked when the customer is created with `test_clock`.
pub async fn attach(sb: &Sandbox, account: &str, id: &str) -> Result<i64, ApiError> {
    let clock = store::get(&sb.db, account, "test_helpers.test_clock", id)
        .await
        .map_err(db_error)?
        .filter(|(_, deleted)| !deleted)
        .ok_or_else(|| ApiError::invalid("test_clock", format!("No such test clock: '{id}'")))?
        .0;
    Ok(clock["frozen_time"].as_i64().unwrap_or_default())
}

/// The one item of a subscription's parameters: `items[0][price]` (and `[quantity]`).
async fn item(sb: &Sandbox, account: &str, params: &Value) -> Result<(Value, i64), ApiError> {
    let first = match params.get("items") {
        Some(Value::Array(items)) if items.len() == 1 => items[0].clone(),
        Some(Value::Object(map)) if map.len() == 1 => {
            map.values().next().cloned().unwrap_or_default()
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "items",
                "The sandbox bills subscriptions of one item.",
            ))
        }
        None => return Err(ApiError::missing_param("items")),
    };
    let price_id = first
        .get("price")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::missing_param("items[0][price]"))?;
    let price = payments::retrieve(sb, account, "price", price_id).await?;
    if price["type"] != "recurring" {
        return Err(ApiError::invalid(
            "items[0][price]",
            format!("The price specified ({price_id}) is not a recurring price: a subscription needs one."),
        ));
    }
    let quantity = integer(&first, "quantity")?.unwrap_or(1);
    if quantity < 1 {
        return Err(ApiError::invalid(
            "items[0][quantity]",
            "This value must be greater than or equal to 1.",
        ));
    }
    Ok((price, quantity))
}

/// When a period that starts at `start` ends, by the price's interval.
fn period_end(price: &Value, start: i64) -> i64 {
    let count = price["recurring"]["interval_count"]
        .as_i64()
        .unwrap_or(1)
        .max(1);
    let months = |n: i64| add_months(start, u32::try_from(n).unwrap_or(1));
    match price["recurring"]["interval"].as_str() {
        Some("year") => months(12 * count),
        Some("week") => start + 7 * 86_400 * count,
        Some("day") => start + 86_400 * count,
        _ => months(count),
    }
}

/// `POST /v1/subscriptions`: a customer's subscription to one recurring price, its first
/// period billed now (on the customer's clock, if they have one).
pub async fn create_subscription(
    sb: &Sandbox,
    account: &str,
    params: Value,
) -> Result<Value, ApiError> {
    check_known(
        &params,
        &[
            "customer",
            "items",
            "metadata",
            "default_payment_method",
            "expand",
        ],
    )?;
    let customer_id = params
        .get("customer")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::missing_param("customer"))?;
    let (price, quantity) = item(sb, account, &params).await?;
    let metadata = params
        .get("metadata")
        .cloned()
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    let (sub, _) = subscribe(sb, account, customer_id, price, quantity, metadata, 0).await?;
    Ok(sub)
}

/// Subscribes a customer to a recurring price and bills the first period now (on their clock,
/// if they have one), `first_off` off its invoice (a Checkout discount); the subscription and
/// that invoice.
pub(super) async fn subscribe(
    sb: &Sandbox,
    account: &str,
    customer_id: &str,
    price: Value,
    quantity: i64,
    metadata: Value,
    first_off: i64,
) -> Result<(Value, Value), ApiError> {
    let customer = live_customer(sb, account, customer_id).await?;
    let clock = clock_of(sb, account, &customer).await?;
    let now = clock.as_ref().map(|(_, t)| *t).unwrap_or_else(|| sb.now());
    let mut sub = json!({
        "id": new_id("sub"), "object": "subscription", "cancel_at_period_end": false,
        "canceled_at": null, "created": now, "currency": price["currency"], "customer": customer_id,
        "current_period_start": now, "current_period_end": period_end(&price, now),
        "items": { "object": "list", "data": [{
            "id": new_id("si"), "object": "subscription_item", "price": price, "quantity": quantity,
        }], "has_more": false },
        "latest_invoice": null, "livemode": false, "metadata": metadata,
        "status": "active", "test_clock": clock.map(|(id, _)| id),
    });
    sb.create(
        account,
        "subscription",
        &sub,
        "customer.subscription.created",
    )
    .await?;
    let invoice = bill(sb, account, &mut sub, now, "subscription_create", first_off).await?;
    Ok((sub, invoice))
}

/// `POST /v1/subscriptions/{id}`: a new price for its item (`items[0][price]`), billed from the
/// next period, and `metadata`.
pub async fn update_subscription(
    sb: &Sandbox,
    account: &str,
    id: &str,
    params: Value,
) -> Result<Value, ApiError> {
    check_known(
        &params,
        &["items", "metadata", "proration_behavior", "expand"],
    )?;
    let mut sub = live_subscription(sb, account, id).await?;
    let previous = json!({ "items": sub["items"] });
    if params.get("items").is_some() {
        let (price, quantity) = item(sb, account, &params).await?;
        sub["items"]["data"][0]["price"] = price;
        sub["items"]["data"][0]["quantity"] = json!(quantity);
    }
    if let Some(m) = params.get("metadata").filter(|m| m.is_object()) {
        sub["metadata"] = m.clone();
    }
    save(
        sb,
        account,
        &sub,
        "customer.subscription.updated",
        Some(previous),
    )
    .await?;
    Ok(sub)
}

/// `DELETE /v1/subscriptions/{id}`: cancelled now; nothing more is billed.
pub async fn cancel_subscription(sb: &Sandbox, account: &str, id: &str) -> Result<Value, ApiError> {
    let mut sub = live_subscription(sb, account, id).await?;
    sub["status"] = json!("canceled");
    sub["canceled_at"] = json!(sb.now());
    save(sb, account, &sub, "customer.subscription.deleted", None).await?;
    Ok(sub)
}

async fn live_subscription(sb: &Sandbox, account: &str, id: &str) -> Result<Value, ApiError> {
    let sub = payments::retrieve(sb, account, "subscription", id).await?;
    if sub["status"] == "canceled" {
        return Err(ApiError::invalid(
            "subscription",
            format!("A canceled subscription can only update its cancellation_details and metadata. ({id})"),
        ));
    }
    Ok(sub)
}

async fn save(
    sb: &Sandbox,
    account: &str,
    sub: &Value,
    event: &str,
    previous: Option<Value>,
) -> Result<(), ApiError> {
    store::update(&sb.db, account, "subscription", sub, None)
        .await
        .map_err(db_error)?;
    sb.emit(account, event, sub, previous).await?;
    Ok(())
}

/// Bills the period of `sub` that starts at `start`, `off` taken off: its invoice, paid by a
/// charge made then (none when nothing is left to pay), and the subscription moved on to the
/// next period.
async fn bill(
    sb: &Sandbox,
    account: &str,
    sub: &mut Value,
    start: i64,
    reason: &str,
    off: i64,
) -> Result<Value, ApiError> {
    let item = sub["items"]["data"][0].clone();
    let price = &item["price"];
    let subtotal =
        price["unit_amount"].as_i64().unwrap_or_default() * item["quantity"].as_i64().unwrap_or(1);
    let amount = (subtotal - off).max(0);
    let end = period_end(price, start);
    let invoice_id = new_id("in");
    let period = json!({ "start": start, "end": end });
    let mut invoice = json!({
        "id": invoice_id, "object": "invoice", "amount_due": amount, "amount_paid": 0, "subtotal": subtotal,
        "amount_remaining": amount, "billing_reason": reason, "charge": null, "created": start,
        "currency": price["currency"], "customer": sub["customer"], "livemode": false,
        "lines": { "object": "list", "has_more": false, "data": [{
            "id": new_id("il"), "object": "line_item", "amount": subtotal, "currency": price["currency"],
            "period": period, "price": price, "quantity": item["quantity"], "subscription": sub["id"],
        }]},
        "paid": false, "payment_intent": null, "period_start": start, "period_end": end,
        "status": "draft", "subscription": sub["id"], "total": amount,
    });
    sb.create(account, "invoice", &invoice, "invoice.created")
        .await?;
    invoice["status"] = json!("open");
    sb.emit(account, "invoice.finalized", &invoice, None)
        .await?;
    if amount > 0 {
        let charge = payments::pay_invoice(sb, account, &invoice, start).await?;
        invoice["charge"] = charge["id"].clone();
        invoice["payment_intent"] = charge["payment_intent"].clone();
    }
    invoice["status"] = json!("paid");
    invoice["paid"] = json!(true);
    invoice["amount_paid"] = json!(amount);
    invoice["amount_remaining"] = json!(0);
    store::update(&sb.db, account, "invoice", &invoice, None)
        .await
        .map_err(db_error)?;
    sb.emit(account, "invoice.paid", &invoice, None).await?;
    sb.emit(account, "invoice.payment_succeeded", &invoice, None)
        .await?;
    let previous = json!({ "current_period_start": sub["current_period_start"], "current_period_end": sub["current_period_end"] });
    sub["current_period_start"] = json!(start);
    sub["current_period_end"] = json!(end);
    sub["latest_invoice"] = json!(invoice_id);
    save(
        sb,
        account,
        sub,
        "customer.subscription.updated",
        Some(previous),
    )
    .await?;
    Ok(invoice)
}
