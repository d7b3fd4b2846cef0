//! PaymentIntents confirmed with test payment methods, the Charges they make, Refunds (full
//! and partial, `amount_refunded` a running total) and Disputes.

use serde_json::{json, Value};

use super::{
    balance, cards,
    customers::{check_known, integer, list_body, list_query, live_customer},
    db_error, new_id, store, ApiError, Sandbox,
};

/// `pm_card_visa` and friends succeed; `pm_card_chargeDeclined` is declined.
pub(super) fn declines(payment_method: &str) -> bool {
    cards::by_method(payment_method).declines
}

fn currency(params: &Value) -> Result<String, ApiError> {
    let c = params
        .get("currency")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::missing_param("currency"))?;
    checked_currency(c)
}

/// A currency Stripe charges in, lower-cased, or Stripe's refusal.
pub fn checked_currency(c: &str) -> Result<String, ApiError> {
    crate::domain::money::known_currency(c).ok_or_else(|| {
        ApiError::invalid(
            "currency",
            format!(
                "Invalid currency: {c}. Use a three-letter ISO code Stripe supports, such as usd."
            ),
        )
    })
}

fn positive_amount(params: &Value, key: &str) -> Result<i64, ApiError> {
    let amount = integer(params, key)?.ok_or_else(|| ApiError::missing_param(key))?;
    if amount < 1 {
        return Err(ApiError::invalid(
            key,
            "This value must be greater than or equal to 1.",
        ));
    }
    Ok(amount)
}

/// Stripe's rule for ISK since April 2023: two decimals in the API, whole krónur charged.
fn chargeable(amount: i64, currency: &str) -> Result<(), ApiError> {
    if currency == "isk" && amount % 100 != 0 {
        return Err(ApiError::invalid_charge_amount(
            "invalid_charge_amount_no_decimal_compatible",
            "Invalid amount. Currency ISK has become effectively zero-decimal and charged amounts \
             must be evenly divisible by 100. See https://stripe.com/docs/currencies#special-cases \
             for more information.",
        ));
    }
    Ok(())
}

pub async fn create_intent(sb: &Sandbox, account: &str, params: Value) -> Result<Value, ApiError> {
    check_known(
        &params,
        &[
            "amount",
            "currency",
            "customer",
            "payment_method",
            "confirm",
            "description",
            "metadata",
            "receipt_email",
            "payment_method_types",
            "expand",
        ],
    )?;
    let amount = positive_amount(&params, "amount")?;
    let currency = currency(&params)?;
    chargeable(amount, &currency)?;
    let customer = match params
        .get("customer")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        Some(id) => Some(live_customer(sb, account, id).await?["id"].clone()),
        None => None,
    };
    let intent = json!({
        "id": new_id("pi"),
        "object": "payment_intent",
        "amount": amount,
        "amount_received": 0,
        "created": sb.now(),
        "currency": currency,
        "customer": customer,
        "description": params.get("description").cloned().unwrap_or(Value::Null),
        "latest_charge": null,
        "livemode": false,
        "metadata": params.get("metadata").cloned().filter(Value::is_object).unwrap_or_else(|| json!({})),
        "payment_method": params.get("payment_method").cloned().unwrap_or(Value::Null),
        "receipt_email": params.get("receipt_email").cloned().unwrap_or(Value::Null),
        "status": "requires_payment_method",
    });
    sb.create(account, "payment_intent", &intent, "payment_intent.created")
        .await?;
    if params.get("confirm").and_then(Value::as_str) == Some("true") {
        return confirm(
            sb,
            account,
            intent["id"].as_str().unwrap_or_default(),
            params,
        )
        .await;
    }
    Ok(intent)
}

/// Confirms with the given (or attached) test payment method: a charge either way, and the
/// intent succeeds or answers with Stripe's card error.
pub async fn confirm(
    sb: &Sandbox,
    account: &str,
    id: &str,
    params: Value,
) -> Result<Value, ApiError> {
    let (mut intent, _) = store::get(&sb.db, account, "payment_intent", id)
        .await
        .map_err(db_error)?
        .ok_or_else(|| ApiError::missing("payment_intent", id))?;
    if intent["status"] == "succeeded" {
        return Err(ApiError::invalid(
            "payment_intent",
            "This PaymentIntent has already succeeded.",
        ));
    }
    let method = params
        .get("payment_method")
        .and_then(Value::as_str)
        .or_else(|| intent["payment_method"].as_str())
        .ok_or_else(|| ApiError::missing_param("payment_method"))?
        .to_string();
    let declined = declines(&method);
    let charge = charge_for(sb, account, &intent, &method, declined, None).await?;
    intent["payment_method"] = json!(method);
    intent["latest_charge"] = charge["id"].clone();
    if declined {
        intent["status"] = json!("requires_payment_method");
        store::update(&sb.db, account, "payment_intent", &intent, None)
            .await
            .map_err(db_error)?;
        sb.emit(account, "payment_intent.payment_failed", &intent, None)
            .await?;
        return Err(ApiError::card_declined(
            charge["id"].as_str().unwrap_or_default(),
        ));
    }
    intent["status"] = json!("succeeded");
    intent["amount_received"] = intent["amount"].clone();
    store::update(&sb.db, account, "payment_intent", &intent, None)
        .await
        .map_err(db_error)?;
    sb.emit(account, "payment_intent.succeeded", &intent, None)
        .await?;
    Ok(intent)
}

/// Records the charge of an intent (at `created`, or now) and its event.
async fn charge_for(
    sb: &Sandbox,
    account: &str,
    intent: &Value,
    method: &str,
    declined: bool,
    created: Option<i64>,
) -> Result<Value, ApiError> {
    let email = match intent["customer"].as_str() {
        Some(c) => store::get(&sb.db, account, "customer", c)
            .await
            .map_err(db_error)?
            .map(|(c, _)| c["email"].clone())
            .unwrap_or(Value::Null),
        None => intent["receipt_email"].clone(),
    };
    let amount = intent["amount"].as_i64().unwrap_or_default();
    let charge = json!({
        "id": new_id("ch"),
        "object": "charge",
        "amount": amount,
        "amount_captured": if declined { 0 } else { amount },
        "amount_refunded": 0,
        "balance_transaction": if declined { Value::Null } else { json!(new_id("txn")) },
        "billing_details": { "email": email, "name": null },
        "captured": !declined,
        "created": created.unwrap_or_else(|| sb.now()),
        "currency": intent["currency"],
        "customer": intent["customer"],
        "description": intent["description"],
        "disputed": false,
        "failure_code": if declined { json!("card_declined") } else { Value::Null },
        "failure_message": if declined { json!("Your card was declined.") } else { Value::Null },
        "invoice": intent["invoice"],
        "livemode": false,
        "metadata": {},
        "paid": !declined,
        "payment_intent": intent["id"],
        "payment_method": method,
        "payment_method_details": cards::details(account, cards::by_method(method)),
        "refunded": false,
        "status": if declined { "failed" } else { "succeeded" },
    });
    let event = if declined {
        "charge.failed"
    } else {
        if let Some(txn) = charge["balance_transaction"].as_str() {
            let currency = charge["currency"].as_str().unwrap_or_default();
            balance::record(sb, account, txn, &charge, amount, currency, None).await?;
        }
        "charge.succeeded"
    };
    sb.create(account, "charge", &charge, event).await?;
    Ok(charge)
}

/// A payment with the test card `method` that succeeded at `created` (the sandbox's
/// "simulate a payment" control and its dashboard's Pay).
pub async fn simulate_payment(
    sb: &Sandbox,
    account: &str,
    customer: &str,
    amount: i64,
    currency: &str,
    method: &str,
    created: Option<i64>,
) -> Result<Value, ApiError> {
    let currency = checked_currency(currency)?;
    chargeable(amount, &currency)?;
    live_customer(sb, account, customer).await?;
    let at = created.unwrap_or_else(|| sb.now());
    let intent = json!({
        "id": new_id("pi"), "object": "payment_intent", "amount": amount, "amount_received": amount,
        "created": at, "currency": currency, "customer": customer, "description": "Simulated payment",
        "invoice": null, "latest_charge": null, "livemode": false, "metadata": {},
        "payment_method": method, "receipt_email": null, "status": "succeeded",
    });
    succeeded(sb, account, intent, at).await
}

/// An invoice paid at `at` by its customer's card: the intent and the charge.
pub(super) async fn pay_invoice(
    sb: &Sandbox,
    account: &str,
    invoice: &Value,
    at: i64,
) -> Result<Value, ApiError> {
    let intent = json!({
        "id": new_id("pi"), "object": "payment_intent", "amount": invoice["amount_due"],
        "amount_received": invoice["amount_due"], "created": at, "currency": invoice["currency"],
        "customer": invoice["customer"], "description": "Subscription update",
        "invoice": invoice["id"], "latest_charge": null, "livemode": false, "metadata": {},
        "payment_method": "pm_card_visa", "receipt_email": null, "status": "succeeded",
    });
    succeeded(sb, account, intent, at).await
}

/// A succeeded intent's charge at `at`, then the intent and its event; the charge.
async fn succeeded(sb: &Sandbox, account: &str, intent: Value, at: i64) -> Result<Value, ApiError> {
    let method = intent["payment_method"].as_str().unwrap_or("pm_card_visa");
    let charge = charge_for(sb, account, &intent, method, false, Some(at)).await?;
    let mut intent = intent;
    intent["latest_charge"] = charge["id"].clone();
    sb.create(
        account,
        "payment_intent",
        &intent,
        "payment_intent.succeeded",
    )
    .await?;
    Ok(charge)
}

pub async fn retrieve(
    sb: &Sandbox,
    account: &str,
    kind: &str,
    id: &str,
) -> Result<Value, ApiError> {
    store::get(&sb.db, account, kind, id)
        .await
        .map_err(db_error)?
        .map(|(v, _)| v)
        .ok_or_else(|| ApiError::missing(kind, id))
}

pub async fn list_charges(sb: &Sandbox, account: &str, params: &Value) -> Result<Value, ApiError> {
    let mut q = list_query(
        sb,
        account,
        "charge",
        params,
        &["customer", "payment_intent"],
    )
    .await?;
    q.customer = params
        .get("customer")
        .and_then(Value::as_str)
        .map(str::to_string);
    let (mut data, has_more) = store::list(&sb.db, account, "charge", &q)
        .await
        .map_err(db_error)?;
    if let Some(pi) = params.get("payment_intent").and_then(Value::as_str) {
        data.retain(|c| c["payment_intent"] == pi);
    }
    Ok(list_body("/v1/charges", data, has_more))
}

/// `POST /v1/refunds` with `charge` or `payment_intent`, and optionally `amount` (default: what
/// is left). The charge's `amount_refunded` is a running total; `refunded` turns true only
/// when all of it is refunded.
pub async fn refund(sb: &Sandbox, account: &str, params: Value) -> Result<Value, ApiError> {
    check_known(
        &params,
        &[
            "charge",
            "payment_intent",
            "amount",
            "reason",
            "metadata",
            "expand",
        ],
    )?;
    let charge_id = match (
        params.get("charge").and_then(Value::as_str),
        params.get("payment_intent").and_then(Value::as_str),
    ) {
        (Some(c), _) => c.to_string(),
        (None, Some(pi)) => retrieve(sb, account, "payment_intent", pi).await?["latest_charge"]
            .as_str()
            .ok_or_else(|| {
                ApiError::invalid(
                    "payment_intent",
                    "This PaymentIntent has no charge to refund.",
                )
            })?
            .to_string(),
        (None, None) => return Err(ApiError::missing_param("charge")),
    };
    let mut charge = retrieve(sb, account, "charge", &charge_id).await?;
    let captured = charge["amount_captured"].as_i64().unwrap_or_default();
    let refunded = charge["amount_refunded"].as_i64().unwrap_or_default();
    let left = captured - refunded;
    let amount = match integer(&params, "amount")? {
        Some(a) => a,
        None => left,
    };
    if left <= 0 {
        return Err(ApiError {
            code: Some("charge_already_refunded"),
            ..ApiError::invalid(
                "charge",
                format!("Charge {charge_id} has already been refunded."),
            )
        });
    }
    if amount < 1 || amount > left {
        return Err(ApiError::invalid(
            "amount",
            format!(
                "Refund amount ({amount}) is greater than unrefunded amount on charge ({left})"
            ),
        ));
    }
    let txn = new_id("txn");
    let refund = json!({
        "id": new_id("re"), "object": "refund", "amount": amount, "balance_transaction": txn,
        "charge": charge_id, "created": sb.now(),
        "currency": charge["currency"], "payment_intent": charge["payment_intent"],
        "reason": params.get("reason").cloned().unwrap_or(Value::Null), "status": "succeeded",
    });
    store::insert(
        &sb.db,
        account,
        "refund",
        &refund,
        store::Columns {
            customer: charge["customer"].as_str(),
            ..Default::default()
        },
    )
    .await
    .map_err(db_error)?;
    // The money goes back at the rate its charge came in at.
    let rate = balance::rate_of(sb, account, &charge).await?;
    let currency = charge["currency"].as_str().unwrap_or_default().to_string();
    balance::record(sb, account, &txn, &refund, -amount, &currency, rate).await?;
    let previous = json!({ "amount_refunded": refunded, "refunded": charge["refunded"] });
    charge["amount_refunded"] = json!(refunded + amount);
    charge["refunded"] = json!(refunded + amount == captured);
    store::update(&sb.db, account, "charge", &charge, None)
        .await
        .map_err(db_error)?;
    sb.emit(account, "charge.refunded", &charge, Some(previous))
        .await?;
    sb.emit(account, "refund.created", &refund, None).await?;
    Ok(refund)
}

/// Opens a dispute on a charge (`charge.dispute.created`, then `funds_withdrawn`).
pub async fn open_dispute(
    sb: &Sandbox,
    account: &str,
    charge_id: &str,
    amount: Option<i64>,
) -> Result<Value, ApiError> {
    let mut charge = retrieve(sb, account, "charge", charge_id).await?;
    let amount = amount.unwrap_or_else(|| charge["amount_captured"].as_i64().unwrap_or_default());
    let dispute = json!({
        "id": new_id("du"), "object": "dispute", "amount": amount, "charge": charge_id, "created": sb.now(),
        "currency": charge["currency"], "payment_intent": charge["payment_intent"], "reason": "fraudulent",
        "status": "needs_response",
    });
    store::insert(
        &sb.db,
        account,
        "dispute",
        &dispute,
        store::Columns {
            customer: charge["customer"].as_str(),
            ..Default::default()
        },
    )
    .await
    .map_err(db_error)?;
    charge["disputed"] = json!(true);
    store::update(&sb.db, account, "charge", &charge, None)
        .await
        .map_err(db_error)?;
    sb.emit(account, "charge.dispute.created", &dispute, None)
        .await?;
    sb.emit(account, "charge.dispute.funds_withdrawn", &dispute, None)
        .await?;
    Ok(dispute)
}

/// Closes a dispute as `won` (funds reinstated) or `lost`.
pub async fn close_dispute(
    sb: &Sandbox,
    account: &str,
    dispute_id: &str,
    won: bool,
) -> Result<Value, ApiError> {
    let mut dispute = retrieve(sb, account, "dispute", dispute_id).await?;
    if dispute["status"] == "won" || dispute["status"] == "lost" {
        return Err(ApiError::invalid(
            "dispute",
            "This dispute is already closed.",
        ));
    }
    let previous = json!({ "status": dispute["status"] });
    dispute["status"] = json!(if won { "won" } else { "lost" });
    store::update(&sb.db, account, "dispute", &dispute, None)
        .await
        .map_err(db_error)?;
    if won {
        sb.emit(account, "charge.dispute.funds_reinstated", &dispute, None)
            .await?;
    }
    sb.emit(account, "charge.dispute.closed", &dispute, Some(previous))
        .await?;
    Ok(dispute)
}
