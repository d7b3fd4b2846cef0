//! Customers, and the list and search machinery every list shares (events use it too).

use serde_json::{json, Map, Value};

use super::{db_error, new_id, search::Query, store, ApiError, Sandbox};

const CUSTOMER_PARAMS: [&str; 8] = [
    "email",
    "name",
    "phone",
    "description",
    "metadata",
    "balance",
    "expand",
    "preferred_locales",
];

pub(super) fn text(params: &Value, key: &str, max: usize) -> Result<Option<Value>, ApiError> {
    match params.get(key) {
        None => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(Some(Value::Null)),
        Some(Value::String(s)) if s.chars().count() > max => Err(ApiError::invalid(
            key,
            format!(
                "Invalid string: {}...; must be at most {max} characters",
                &s.chars().take(20).collect::<String>()
            ),
        )),
        Some(Value::String(s)) => Ok(Some(json!(s))),
        Some(_) => Err(ApiError::invalid(
            key,
            format!("Invalid string: {key} must be a string"),
        )),
    }
}

/// Applies `metadata[...]` parameters: values merge, an empty value removes its key, an empty
/// `metadata` clears all. Enforces Stripe's limits.
pub(super) fn apply_metadata(
    current: &mut Map<String, Value>,
    params: &Value,
) -> Result<(), ApiError> {
    match params.get("metadata") {
        None => {}
        Some(Value::String(s)) if s.is_empty() => current.clear(),
        Some(Value::Object(updates)) => {
            for (k, v) in updates {
                if k.chars().count() > 40 || k.contains('[') || k.contains(']') {
                    return Err(ApiError::invalid(&format!("metadata[{k}]"), format!("Invalid metadata key `{k}`: keys are at most 40 characters and cannot contain square brackets.")));
                }
                match v {
                    Value::String(s) if s.is_empty() => {
                        current.remove(k);
                    }
                    Value::String(s) if s.chars().count() > 500 => {
                        return Err(ApiError::invalid(&format!("metadata[{k}]"), format!("Metadata values can have up to 500 characters, but you passed in a value that is {} characters.", s.chars().count())));
                    }
                    Value::String(s) => {
                        current.insert(k.clone(), json!(s));
                    }
                    _ => {
                        return Err(ApiError::invalid(
                            &format!("metadata[{k}]"),
                            "Metadata values must be strings.",
                        ))
                    }
                }
            }
            if current.len() > 50 {
                return Err(ApiError::invalid(
                    "metadata",
                    "You can have at most 50 metadata keys.",
                ));
            }
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "metadata",
                "Invalid object: metadata must be an object of strings.",
            ))
        }
    }
    Ok(())
}

pub(super) fn check_known(params: &Value, allowed: &[&str]) -> Result<(), ApiError> {
    if let Value::Object(map) = params {
        if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(ApiError::unknown_param(unknown));
        }
    }
    Ok(())
}

pub(super) fn integer(params: &Value, key: &str) -> Result<Option<i64>, ApiError> {
    match params.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => s
            .parse()
            .map(Some)
            .map_err(|_| ApiError::invalid(key, format!("Invalid integer: {s}"))),
        Some(_) => Err(ApiError::invalid(key, "Invalid integer")),
    }
}

/// Sets the writable fields of a customer from parameters; returns the previous values of
/// what changed (for `previous_attributes`).
fn apply(customer: &mut Value, params: &Value) -> Result<Map<String, Value>, ApiError> {
    check_known(params, &CUSTOMER_PARAMS)?;
    let mut previous = Map::new();
    for (key, max) in [
        ("email", 512),
        ("name", 256),
        ("phone", 20),
        ("description", 350),
    ] {
        if let Some(v) = text(params, key, max)? {
            if customer[key] != v {
                previous.insert(key.into(), customer[key].clone());
                customer[key] = v;
            }
        }
    }
    if let Some(balance) = integer(params, "balance")? {
        if customer["balance"] != json!(balance) {
            previous.insert("balance".into(), customer["balance"].clone());
            customer["balance"] = json!(balance);
        }
    }
    let before = customer["metadata"].clone();
    let mut metadata = before.as_object().cloned().unwrap_or_default();
    apply_metadata(&mut metadata, params)?;
    if Value::Object(metadata.clone()) != before {
        previous.insert("metadata".into(), before);
        customer["metadata"] = Value::Object(metadata);
    }
    Ok(previous)
}

pub async fn create(sb: &Sandbox, account: &str, params: Value) -> Result<Value, ApiError> {
    let id = new_id("cus");
    let mut customer = json!({
        "id": id,
        "object": "customer",
        "address": null,
        "balance": 0,
        "created": sb.now(),
        "currency": null,
        "default_source": null,
        "delinquent": false,
        "description": null,
        "email": null,
        "invoice_prefix": id[4..12].to_uppercase(),
        "livemode": false,
        "metadata": {},
        "name": null,
        "phone": null,
        "preferred_locales": [],
        "shipping": null,
        "tax_exempt": "none",
        "test_clock": null,
    });
    // A test clock is given when the customer is made, and sets their time.
    let mut params = params;
    if let Some(clock) = params.as_object_mut().and_then(|p| p.remove("test_clock")) {
        let id = clock.as_str().unwrap_or_default();
        customer["created"] = json!(super::billing::attach(sb, account, id).await?);
        customer["test_clock"] = json!(id);
    }
    apply(&mut customer, &params)?;
    sb.create_with(
        account,
        "customer",
        &customer,
        store::Columns {
            email: customer["email"].as_str(),
            ..Default::default()
        },
        "customer.created",
    )
    .await?;
    Ok(customer)
}

/// Stores a changed customer and emits `customer.updated` with what changed.
pub(super) async fn save(
    sb: &Sandbox,
    account: &str,
    customer: &Value,
    previous: Value,
) -> Result<(), ApiError> {
    store::update(
        &sb.db,
        account,
        "customer",
        customer,
        customer["email"].as_str(),
    )
    .await
    .map_err(db_error)?;
    sb.emit(account, "customer.updated", customer, Some(previous))
        .await?;
    Ok(())
}

pub(super) async fn live_customer(
    sb: &Sandbox,
    account: &str,
    id: &str,
) -> Result<Value, ApiError> {
    match store::get(&sb.db, account, "customer", id)
        .await
        .map_err(db_error)?
    {
        Some((c, false)) => Ok(c),
        _ => Err(ApiError::missing("customer", id)),
    }
}

pub async fn retrieve(sb: &Sandbox, account: &str, id: &str) -> Result<Value, ApiError> {
    match store::get(&sb.db, account, "customer", id)
        .await
        .map_err(db_error)?
    {
        Some((c, false)) => Ok(c),
        Some((_, true)) => Ok(json!({ "id": id, "object": "customer", "deleted": true })),
        None => Err(ApiError::missing("customer", id)),
    }
}

pub async fn update(
    sb: &Sandbox,
    account: &str,
    id: &str,
    params: Value,
) -> Result<Value, ApiError> {
    let _writing = sb.customer_write().await;
    let mut customer = live_customer(sb, account, id).await?;
    let previous = apply(&mut customer, &params)?;
    if !previous.is_empty() {
        save(sb, account, &customer, Value::Object(previous)).await?;
    }
    Ok(customer)
}

pub async fn delete(sb: &Sandbox, account: &str, id: &str) -> Result<Value, ApiError> {
    let customer = live_customer(sb, account, id).await?;
    store::mark_deleted(&sb.db, account, "customer", id)
        .await
        .map_err(db_error)?;
    sb.emit(account, "customer.deleted", &customer, None)
        .await?;
    Ok(json!({ "id": id, "object": "customer", "deleted": true }))
}

/// Reads `limit`, `starting_after`, `ending_before` and `created[…]` as every list does.
pub(super) async fn list_query(
    sb: &Sandbox,
    account: &str,
    kind: &str,
    params: &Value,
    allowed_extra: &[&str],
) -> Result<store::ListQuery, ApiError> {
    let mut allowed = vec![
        "limit",
        "starting_after",
        "ending_before",
        "created",
        "expand",
    ];
    allowed.extend_from_slice(allowed_extra);
    check_known(params, &allowed)?;
    let limit = integer(params, "limit")?.unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            format!("Invalid integer: {limit}; limit must be between 1 and 100"),
        ));
    }
    let mut q = store::ListQuery {
        limit,
        ..Default::default()
    };
    for (param, slot) in [
        ("starting_after", &mut q.starting_after),
        ("ending_before", &mut q.ending_before),
    ] {
        if let Some(id) = params
            .get(param)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            *slot = Some(
                store::cursor(&sb.db, account, kind, id)
                    .await
                    .map_err(db_error)?
                    .ok_or_else(|| {
                        ApiError::invalid(
                            param,
                            format!("Invalid {param}: no {kind} with id '{id}' in this list"),
                        )
                    })?,
            );
        }
    }
    match params.get("created") {
        None => {}
        Some(Value::String(s)) => {
            let exact = s
                .parse::<i64>()
                .map_err(|_| ApiError::invalid("created", format!("Invalid integer: {s}")))?;
            q.created_gte = Some(exact);
            q.created_lte = Some(exact);
        }
        Some(Value::Object(range)) => {
            for (op, v) in range {
                let n = v
                    .as_str()
                    .and_then(|s| s.parse::<i64>().ok())
                    .ok_or_else(|| {
                        ApiError::invalid(&format!("created[{op}]"), "Invalid integer")
                    })?;
                match op.as_str() {
                    "gt" => q.created_gt = Some(n),
                    "gte" => q.created_gte = Some(n),
                    "lt" => q.created_lt = Some(n),
                    "lte" => q.created_lte = Some(n),
                    other => return Err(ApiError::unknown_param(&format!("created[{other}]"))),
                }
            }
        }
        Some(_) => return Err(ApiError::invalid("created", "Invalid created filter")),
    }
    Ok(q)
}

pub(super) fn list_body(url: &str, data: Vec<Value>, has_more: bool) -> Value {
    json!({ "object": "list", "url": url, "has_more": has_more, "data": data })
}

pub async fn list(sb: &Sandbox, account: &str, params: &Value) -> Result<Value, ApiError> {
    let mut q = list_query(sb, account, "customer", params, &["email", "test_clock"]).await?;
    q.email = params
        .get("email")
        .and_then(Value::as_str)
        .map(str::to_string);
    let (data, has_more) = store::list(&sb.db, account, "customer", &q)
        .await
        .map_err(db_error)?;
    Ok(list_body("/v1/customers", data, has_more))
}

pub async fn list_events(sb: &Sandbox, account: &str, params: &Value) -> Result<Value, ApiError> {
    let mut q = list_query(
        sb,
        account,
        "event",
        params,
        &["type", "types", "delivery_success"],
    )
    .await?;
    if let Some(t) = params.get("type").and_then(Value::as_str) {
        q.event_types.push(t.to_string());
    }
    if let Some(Value::Array(types)) = params.get("types") {
        if types.len() > 20 {
            return Err(ApiError::invalid("types", "You may pass at most 20 types."));
        }
        q.event_types
            .extend(types.iter().filter_map(Value::as_str).map(str::to_string));
    }
    let (mut data, has_more) = store::list(&sb.db, account, "event", &q)
        .await
        .map_err(db_error)?;
    if params.get("delivery_success").and_then(Value::as_str) == Some("false") {
        let undelivered = super::webhooks::undelivered_event_ids(sb, account).await?;
        data.retain(|e| {
            e["id"]
                .as_str()
                .is_some_and(|id| undelivered.iter().any(|u| u == id))
        });
    }
    Ok(list_body("/v1/events", data, has_more))
}

/// `GET /v1/customers/search?query=…&limit=…&page=…`. Results are newest first; `next_page`
/// is an opaque cursor. New customers become searchable after the configured delay.
pub async fn search(sb: &Sandbox, account: &str, params: &Value) -> Result<Value, ApiError> {
    check_known(params, &["query", "limit", "page", "expand"])?;
    let text = params
        .get("query")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::missing_param("query"))?;
    let query = Query::parse(text).map_err(|m| ApiError::invalid("query", m))?;
    let limit = integer(params, "limit")?.unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            "limit must be between 1 and 100",
        ));
    }
    let mut cursor = match params
        .get("page")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
    {
        None => None,
        Some(page) => Some(
            decode_page(page).ok_or_else(|| ApiError::invalid("page", "Invalid page token."))?,
        ),
    };
    let mut found = Vec::new();
    let mut last_seen = None;
    let mut has_more = false;
    // Scan the list in batches, newest first, until a page of matches (plus one) is found.
    'scan: loop {
        let q = store::ListQuery {
            limit: 500,
            starting_after: cursor,
            created_max: Some(sb.now() - sb.settings().search_delay_secs),
            ..Default::default()
        };
        let (batch, more) = store::list(&sb.db, account, "customer", &q)
            .await
            .map_err(db_error)?;
        for customer in &batch {
            let id = customer["id"].as_str().unwrap_or_default();
            if query.matches(customer) {
                if found.len() as i64 == limit {
                    has_more = true;
                    break 'scan;
                }
                found.push(customer.clone());
                last_seen = Some(id.to_string());
            }
        }
        match batch.last() {
            Some(last) if more => {
                cursor = store::cursor(
                    &sb.db,
                    account,
                    "customer",
                    last["id"].as_str().unwrap_or_default(),
                )
                .await
                .map_err(db_error)?
            }
            _ => break,
        }
    }
    let next_page = match (has_more, last_seen) {
        (true, Some(id)) => store::cursor(&sb.db, account, "customer", &id)
            .await
            .map_err(db_error)?
            .map(encode_page),
        _ => None,
    };
    Ok(json!({
        "object": "search_result",
        "url": "/v1/customers/search",
        "has_more": has_more,
        "next_page": next_page,
        "data": found,
    }))
}

fn encode_page((created, seq): (i64, i64)) -> String {
    format!("pg_{created:x}_{seq:x}")
}

fn decode_page(page: &str) -> Option<(i64, i64)> {
    let rest = page.strip_prefix("pg_")?;
    let (c, s) = rest.split_once('_')?;
    Some((
        i64::from_str_radix(c, 16).ok()?,
        i64::from_str_radix(s, 16).ok()?,
    ))
}
