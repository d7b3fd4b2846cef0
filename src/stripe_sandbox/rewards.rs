//! What rewards are made of: Coupons, Promotion Codes (the clover shape, optionally restricted
//! to one customer) and Customer balance transactions (negative = credit).

use serde_json::{json, Value};

use super::{
    customers::{check_known, integer, list_body, list_query, live_customer, save, text},
    db_error, new_id, store, ApiError, Sandbox,
};

pub async fn create_coupon(sb: &Sandbox, account: &str, params: Value) -> Result<Value, ApiError> {
    check_known(
        &params,
        &[
            "id",
            "percent_off",
            "amount_off",
            "currency",
            "duration",
            "duration_in_months",
            "max_redemptions",
            "redeem_by",
            "name",
            "metadata",
        ],
    )?;
    let percent_off = match params.get("percent_off").and_then(Value::as_str) {
        Some(p) => Some(
            p.parse::<f64>()
                .ok()
                .filter(|p| *p > 0.0 && *p <= 100.0)
                .ok_or_else(|| {
                    ApiError::invalid(
                        "percent_off",
                        "percent_off must be greater than 0 and at most 100.",
                    )
                })?,
        ),
        None => None,
    };
    let amount_off = integer(&params, "amount_off")?;
    if percent_off.is_some() == amount_off.is_some() {
        return Err(ApiError::invalid(
            "percent_off",
            "Coupons need exactly one of percent_off or amount_off.",
        ));
    }
    let currency = params
        .get("currency")
        .and_then(Value::as_str)
        .map(super::payments::checked_currency)
        .transpose()?;
    if amount_off.is_some() && currency.is_none() {
        return Err(ApiError::missing_param("currency"));
    }
    let duration = params
        .get("duration")
        .and_then(Value::as_str)
        .unwrap_or("once");
    if !["once", "repeating", "forever"].contains(&duration) {
        return Err(ApiError::invalid(
            "duration",
            "duration is once, repeating or forever.",
        ));
    }
    let months = integer(&params, "duration_in_months")?;
    if duration == "repeating" && months.is_none() {
        return Err(ApiError::missing_param("duration_in_months"));
    }
    let id = params
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| new_id("cpn")[4..12].to_string());
    if store::get(&sb.db, account, "coupon", &id)
        .await
        .map_err(db_error)?
        .is_some()
    {
        return Err(ApiError {
            code: Some("resource_already_exists"),
            ..ApiError::invalid("id", "Coupon already exists.")
        });
    }
    let coupon = json!({
        "id": id, "object": "coupon", "amount_off": amount_off, "created": sb.now(), "currency": currency,
        "duration": duration, "duration_in_months": months, "livemode": false,
        "max_redemptions": integer(&params, "max_redemptions")?, "metadata": params.get("metadata").cloned().filter(Value::is_object).unwrap_or_else(|| json!({})),
        "name": text(&params, "name", 40)?.unwrap_or(Value::Null), "percent_off": percent_off,
        "redeem_by": integer(&params, "redeem_by")?, "times_redeemed": 0, "valid": true,
    });
    sb.create(account, "coupon", &coupon, "coupon.created")
        .await?;
    Ok(coupon)
}

pub async fn create_promotion_code(
    sb: &Sandbox,
    account: &str,
    params: Value,
) -> Result<Value, ApiError> {
    check_known(
        &params,
        &[
            "promotion",
            "code",
            "customer",
            "expires_at",
            "max_redemptions",
            "restrictions",
            "active",
            "metadata",
        ],
    )?;
    let promotion = params
        .get("promotion")
        .ok_or_else(|| ApiError::missing_param("promotion"))?;
    if promotion["type"] != "coupon" {
        return Err(ApiError::invalid(
            "promotion[type]",
            "promotion[type] must be coupon.",
        ));
    }
    let coupon_id = promotion["coupon"]
        .as_str()
        .ok_or_else(|| ApiError::missing_param("promotion[coupon]"))?;
    let (coupon, _) = store::get(&sb.db, account, "coupon", coupon_id)
        .await
        .map_err(db_error)?
        .ok_or_else(|| ApiError::missing("coupon", coupon_id))?;
    let customer = match params
        .get("customer")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        Some(c) => Some(live_customer(sb, account, c).await?["id"].clone()),
        None => None,
    };
    let code = match params.get("code").and_then(Value::as_str) {
        Some(c)
            if c.is_empty()
                || c.len() > 500
                || !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-') =>
        {
            return Err(ApiError::invalid(
                "code",
                "A promotion code has letters, digits and dashes only.",
            ));
        }
        Some(c) => c.to_string(),
        None => new_id("x")[2..10].to_uppercase(),
    };
    let taken = store::list(
        &sb.db,
        account,
        "promotion_code",
        &store::ListQuery {
            limit: 100,
            email: Some(code.to_lowercase()),
            ..Default::default()
        },
    )
    .await
    .map_err(db_error)?
    .0;
    if taken.iter().any(|p| p["active"] == true) {
        return Err(ApiError::invalid(
            "code",
            format!("An active promotion code with code: {code} already exists."),
        ));
    }
    let restrictions = params
        .get("restrictions")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let promo = json!({
        "id": new_id("promo"), "object": "promotion_code", "active": params.get("active").and_then(Value::as_str) != Some("false"),
        "code": code, "created": sb.now(), "customer": customer, "expires_at": integer(&params, "expires_at")?,
        "livemode": false, "max_redemptions": integer(&params, "max_redemptions")?,
        "metadata": params.get("metadata").cloned().filter(Value::is_object).unwrap_or_else(|| json!({})),
        "promotion": { "type": "coupon", "coupon": coupon },
        "restrictions": {
            "first_time_transaction": restrictions["first_time_transaction"] == "true",
            "minimum_amount": restrictions["minimum_amount"].as_str().and_then(|s| s.parse::<i64>().ok()),
            "minimum_amount_currency": restrictions["minimum_amount_currency"].clone(),
        },
        "times_redeemed": 0,
    });
    // The code, lower-cased, goes in the lookup column so codes stay unique per account.
    sb.create_with(
        account,
        "promotion_code",
        &promo,
        store::Columns {
            email: Some(&code.to_lowercase()),
            customer: promo["customer"].as_str(),
            ..Default::default()
        },
        "promotion_code.created",
    )
    .await?;
    Ok(promo)
}

pub async fn list_promotion_codes(
    sb: &Sandbox,
    account: &str,
    params: &Value,
) -> Result<Value, ApiError> {
    let mut q = list_query(
        sb,
        account,
        "promotion_code",
        params,
        &["customer", "code", "coupon", "active"],
    )
    .await?;
    q.customer = params
        .get("customer")
        .and_then(Value::as_str)
        .map(str::to_string);
    q.email = params
        .get("code")
        .and_then(Value::as_str)
        .map(str::to_lowercase);
    let (data, has_more) = store::list(&sb.db, account, "promotion_code", &q)
        .await
        .map_err(db_error)?;
    Ok(list_body("/v1/promotion_codes", data, has_more))
}

/// Credit (negative) or debit on a customer's balance; the customer's `balance` follows.
pub async fn create_balance_transaction(
    sb: &Sandbox,
    account: &str,
    customer_id: &str,
    params: Value,
) -> Result<Value, ApiError> {
    check_known(&params, &["amount", "currency", "description", "metadata"])?;
    let amount = integer(&params, "amount")?.ok_or_else(|| ApiError::missing_param("amount"))?;
    let currency = super::payments::checked_currency(
        params
            .get("currency")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::missing_param("currency"))?,
    )?;
    let _writing = sb.customer_write().await;
    let mut customer = live_customer(sb, account, customer_id).await?;
    if let Some(existing) = customer["currency"].as_str() {
        if existing != currency {
            return Err(ApiError::invalid("currency", format!("This customer's balance is in {existing}; a {currency} transaction cannot be added.")));
        }
    }
    let before = customer["balance"].as_i64().unwrap_or_default();
    let txn = json!({
        "id": new_id("cbtxn"), "object": "customer_balance_transaction", "amount": amount, "created": sb.now(),
        "currency": currency, "customer": customer_id,
        "description": text(&params, "description", 350)?.unwrap_or(Value::Null),
        "ending_balance": before + amount, "livemode": false,
        "metadata": params.get("metadata").cloned().filter(Value::is_object).unwrap_or_else(|| json!({})),
        "type": "adjustment",
    });
    store::insert(
        &sb.db,
        account,
        "customer_balance_transaction",
        &txn,
        store::Columns {
            customer: Some(customer_id),
            ..Default::default()
        },
    )
    .await
    .map_err(db_error)?;
    let previous = json!({ "balance": before, "currency": customer["currency"] });
    customer["balance"] = json!(before + amount);
    customer["currency"] = json!(currency);
    save(sb, account, &customer, previous).await?;
    Ok(txn)
}

pub async fn list_balance_transactions(
    sb: &Sandbox,
    account: &str,
    customer_id: &str,
    params: &Value,
) -> Result<Value, ApiError> {
    live_customer(sb, account, customer_id).await?;
    let mut q = list_query(sb, account, "customer_balance_transaction", params, &[]).await?;
    q.customer = Some(customer_id.to_string());
    let (data, has_more) = store::list(&sb.db, account, "customer_balance_transaction", &q)
        .await
        .map_err(db_error)?;
    Ok(list_body(
        &format!("/v1/customers/{customer_id}/balance_transactions"),
        data,
        has_more,
    ))
}
