//! Webhook endpoints (the secret is shown only when one is created) and delivery: every event
//! goes to each enabled endpoint subscribed to it, signed with `Stripe-Signature`, retried
//! with backoff, and logged. Faults can drop, duplicate, delay or reorder deliveries.

use std::time::Duration;

use rand::Rng;
use serde_json::{json, Value};
use sqlx::Row;

use super::{
    customers::{check_known, list_body, list_query},
    db_error, new_id, new_secret, store, ApiError, Sandbox,
};
use crate::stripe::signature;

const MAX_ENDPOINTS: usize = 16;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

fn without_secret(mut endpoint: Value) -> Value {
    if let Value::Object(map) = &mut endpoint {
        map.remove("secret");
    }
    endpoint
}

fn events_param(params: &Value) -> Result<Option<Vec<String>>, ApiError> {
    match params.get("enabled_events") {
        None => Ok(None),
        Some(Value::Array(items)) if !items.is_empty() => Ok(Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
        )),
        _ => Err(ApiError::invalid(
            "enabled_events",
            "enabled_events must list at least one event type (or *).",
        )),
    }
}

/// The endpoint's URL, if given: an http(s) address this sandbox may deliver to.
fn check_url(sb: &Sandbox, params: &Value) -> Result<Option<String>, ApiError> {
    match params.get("url").and_then(Value::as_str) {
        None => Ok(None),
        Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
            sb.delivery_target(u)
                .map_err(|m| ApiError::invalid("url", m))?;
            Ok(Some(u.to_string()))
        }
        Some(u) => Err(ApiError::invalid(
            "url",
            format!("Invalid URL: {u}. It must start with https:// (or http:// in test mode)."),
        )),
    }
}

pub async fn create_endpoint(
    sb: &Sandbox,
    account: &str,
    params: Value,
) -> Result<Value, ApiError> {
    check_known(
        &params,
        &[
            "url",
            "enabled_events",
            "api_version",
            "description",
            "metadata",
            "connect",
        ],
    )?;
    let url = check_url(sb, &params)?.ok_or_else(|| ApiError::missing_param("url"))?;
    let events = events_param(&params)?.ok_or_else(|| ApiError::missing_param("enabled_events"))?;
    let existing = all_endpoints(sb, account).await?;
    if existing.len() >= MAX_ENDPOINTS {
        return Err(ApiError::invalid(
            "url",
            format!("You have reached the maximum of {MAX_ENDPOINTS} test webhook endpoints."),
        ));
    }
    let endpoint = json!({
        "id": new_id("we"), "object": "webhook_endpoint",
        "api_version": params.get("api_version").cloned().unwrap_or(json!(super::API_VERSION)),
        "created": sb.now(), "description": params.get("description").cloned().unwrap_or(Value::Null),
        "enabled_events": events, "livemode": false,
        "metadata": params.get("metadata").cloned().filter(Value::is_object).unwrap_or_else(|| json!({})),
        "secret": new_secret("whsec_"), "status": "enabled", "url": url,
    });
    store::insert(
        &sb.db,
        account,
        "webhook_endpoint",
        &endpoint,
        Default::default(),
    )
    .await
    .map_err(db_error)?;
    Ok(endpoint)
}

async fn all_endpoints(sb: &Sandbox, account: &str) -> Result<Vec<Value>, ApiError> {
    let q = store::ListQuery {
        limit: 100,
        ..Default::default()
    };
    Ok(store::list(&sb.db, account, "webhook_endpoint", &q)
        .await
        .map_err(db_error)?
        .0)
}

async fn endpoint(sb: &Sandbox, account: &str, id: &str) -> Result<Value, ApiError> {
    match store::get(&sb.db, account, "webhook_endpoint", id)
        .await
        .map_err(db_error)?
    {
        Some((e, false)) => Ok(e),
        _ => Err(ApiError::missing("webhook_endpoint", id)),
    }
}

pub async fn retrieve_endpoint(sb: &Sandbox, account: &str, id: &str) -> Result<Value, ApiError> {
    endpoint(sb, account, id).await.map(without_secret)
}

pub async fn list_endpoints(
    sb: &Sandbox,
    account: &str,
    params: &Value,
) -> Result<Value, ApiError> {
    let q = list_query(sb, account, "webhook_endpoint", params, &[]).await?;
    let (data, has_more) = store::list(&sb.db, account, "webhook_endpoint", &q)
        .await
        .map_err(db_error)?;
    Ok(list_body(
        "/v1/webhook_endpoints",
        data.into_iter().map(without_secret).collect(),
        has_more,
    ))
}

pub async fn update_endpoint(
    sb: &Sandbox,
    account: &str,
    id: &str,
    params: Value,
) -> Result<Value, ApiError> {
    check_known(
        &params,
        &[
            "url",
            "enabled_events",
            "disabled",
            "description",
            "metadata",
        ],
    )?;
    let mut e = endpoint(sb, account, id).await?;
    if let Some(url) = check_url(sb, &params)? {
        e["url"] = json!(url);
    }
    if let Some(events) = events_param(&params)? {
        e["enabled_events"] = json!(events);
    }
    match params.get("disabled").and_then(Value::as_str) {
        Some("true") => e["status"] = json!("disabled"),
        Some("false") => e["status"] = json!("enabled"),
        Some(other) => {
            return Err(ApiError::invalid(
                "disabled",
                format!("Invalid boolean: {other}"),
            ))
        }
        None => {}
    }
    if let Some(d) = params.get("description") {
        e["description"] = d.clone();
    }
    store::update(&sb.db, account, "webhook_endpoint", &e, None)
        .await
        .map_err(db_error)?;
    Ok(without_secret(e))
}

pub async fn delete_endpoint(sb: &Sandbox, account: &str, id: &str) -> Result<Value, ApiError> {
    endpoint(sb, account, id).await?;
    store::mark_deleted(&sb.db, account, "webhook_endpoint", id)
        .await
        .map_err(db_error)?;
    Ok(json!({ "id": id, "object": "webhook_endpoint", "deleted": true }))
}

/// Queues an event for every enabled endpoint subscribed to its type, applying the
/// configured faults.
pub async fn enqueue(sb: &Sandbox, account: &str, event: &Value) -> Result<(), ApiError> {
    let kind = event["type"].as_str().unwrap_or_default();
    let settings = sb.settings();
    for e in all_endpoints(sb, account).await? {
        let subscribed = e["enabled_events"]
            .as_array()
            .is_some_and(|list| list.iter().any(|t| t == "*" || t == kind));
        if e["status"] != "enabled" || !subscribed {
            continue;
        }
        let (dropped, copies, delay) = {
            let mut rng = rand::thread_rng();
            let dropped = rng.gen::<f64>() < settings.webhook_drop_rate;
            let copies = if rng.gen::<f64>() < settings.webhook_duplicate_rate {
                2
            } else {
                1
            };
            let jitter = if settings.webhook_reorder_ms > 0 {
                rng.gen_range(0..=settings.webhook_reorder_ms)
            } else {
                0
            };
            (dropped, copies, settings.webhook_delay_ms + jitter)
        };
        for _ in 0..copies {
            sqlx::query(
                "INSERT INTO sandbox_deliveries (id, account, event_id, endpoint_id, status, attempts, next_attempt_ms, created_ms) \
                 VALUES ($1, $2, $3, $4, $5, 0, $6, $7)",
            )
            .bind(new_id("whd"))
            .bind(account)
            .bind(event["id"].as_str().unwrap_or_default())
            .bind(e["id"].as_str().unwrap_or_default())
            .bind(if dropped { "dropped" } else { "pending" })
            .bind(now_ms() + delay as i64)
            .bind(now_ms())
            .execute(sb.db.pool())
            .await
            .map_err(db_error)?;
        }
    }
    sb.inner.deliveries_due.notify_one();
    Ok(())
}

/// Sends due deliveries until the sandbox is dropped: woken when events are queued, and every
/// 200 ms for retries.
pub async fn deliver_forever(sb: Sandbox) {
    // Redirects are not followed: a delivery goes where its endpoint says, or nowhere.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client");
    loop {
        if let Err(e) = deliver_due(&sb, &http).await {
            tracing::warn!(error = %e, "stripe sandbox: webhook delivery");
        }
        tokio::select! {
            _ = sb.inner.deliveries_due.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
}

/// Deliveries in flight at once (Stripe too delivers an account's events concurrently).
const CONCURRENT_DELIVERIES: usize = 16;

async fn deliver_due(sb: &Sandbox, http: &reqwest::Client) -> Result<(), sqlx::Error> {
    use futures::StreamExt;
    let rows = sqlx::query(
        "SELECT id, account, event_id, endpoint_id, attempts, next_attempt_ms FROM sandbox_deliveries \
         WHERE status = 'pending' AND next_attempt_ms <= $1 ORDER BY next_attempt_ms LIMIT 100",
    )
    .bind(now_ms())
    .fetch_all(sb.db.pool())
    .await?;
    let results: Vec<Result<(), sqlx::Error>> = futures::stream::iter(rows)
        .map(|row| deliver(sb, http, row))
        .buffer_unordered(CONCURRENT_DELIVERIES)
        .collect()
        .await;
    results.into_iter().collect()
}

/// How long a claimed delivery stays with the process that claimed it (longer than a
/// delivery's timeout); a process that stops mid-delivery leaves it to another after this.
const CLAIM_MS: i64 = 30_000;

/// One attempt at one delivery: claimed (so that several processes on one database send it
/// once), signed, posted, and its outcome logged (retried with backoff until the attempts run
/// out).
async fn deliver(
    sb: &Sandbox,
    http: &reqwest::Client,
    row: sqlx::any::AnyRow,
) -> Result<(), sqlx::Error> {
    let settings = sb.settings();
    let id: String = row.try_get("id")?;
    let claimed = sqlx::query(
        "UPDATE sandbox_deliveries SET next_attempt_ms = $1 \
         WHERE id = $2 AND status = 'pending' AND next_attempt_ms = $3",
    )
    .bind(now_ms() + CLAIM_MS)
    .bind(&id)
    .bind(row.try_get::<i64, _>("next_attempt_ms")?)
    .execute(sb.db.pool())
    .await?;
    if claimed.rows_affected() != 1 {
        return Ok(());
    }
    let account: String = row.try_get("account")?;
    let attempts: i64 = row.try_get::<i64, _>("attempts")? + 1;
    let event = store::get(
        &sb.db,
        &account,
        "event",
        &row.try_get::<String, _>("event_id")?,
    )
    .await?;
    let endpoint = store::get(
        &sb.db,
        &account,
        "webhook_endpoint",
        &row.try_get::<String, _>("endpoint_id")?,
    )
    .await?;
    let (Some((event, _)), Some((endpoint, false))) = (event, endpoint) else {
        sqlx::query("UPDATE sandbox_deliveries SET status = 'failed', last_error = 'endpoint deleted' WHERE id = $1").bind(&id).execute(sb.db.pool()).await?;
        return Ok(());
    };
    let target = match sb.delivery_target(endpoint["url"].as_str().unwrap_or_default()) {
        Ok(t) => t,
        Err(why) => {
            sqlx::query("UPDATE sandbox_deliveries SET status = 'failed', attempts = $1, last_error = $2 WHERE id = $3")
                .bind(attempts).bind(why).bind(&id).execute(sb.db.pool()).await?;
            return Ok(());
        }
    };
    let body = event.to_string();
    let t = crate::db::unix_now();
    let header = signature::header(
        endpoint["secret"].as_str().unwrap_or_default(),
        t,
        body.as_bytes(),
    );
    let result = http
        .post(target)
        .header("content-type", "application/json; charset=utf-8")
        .header("stripe-signature", header)
        .header(
            "user-agent",
            "Stripe/1.0 (+https://stripe.com/docs/webhooks) refloop-sandbox",
        )
        .body(body)
        .send()
        .await;
    let (code, error) = match result {
        Ok(res) if res.status().is_success() => (Some(res.status().as_u16() as i64), None),
        Ok(res) => (
            Some(res.status().as_u16() as i64),
            Some(format!("answered {}", res.status())),
        ),
        Err(e) => (None, Some(e.without_url().to_string())),
    };
    if error.is_none() {
        sqlx::query("UPDATE sandbox_deliveries SET status = 'delivered', attempts = $1, last_status_code = $2, last_error = NULL, delivered_ms = $3 WHERE id = $4")
            .bind(attempts).bind(code).bind(now_ms()).bind(&id).execute(sb.db.pool()).await?;
    } else {
        let done = attempts >= settings.webhook_max_attempts;
        let backoff = settings
            .webhook_retry_base_ms
            .saturating_mul(1 << (attempts - 1).min(20)) as i64;
        sqlx::query("UPDATE sandbox_deliveries SET status = $1, attempts = $2, last_status_code = $3, last_error = $4, next_attempt_ms = $5 WHERE id = $6")
            .bind(if done { "failed" } else { "pending" })
            .bind(attempts)
            .bind(code)
            .bind(error)
            .bind(now_ms() + backoff)
            .bind(&id)
            .execute(sb.db.pool())
            .await?;
    }
    Ok(())
}

/// The delivery log of an account, newest first.
pub async fn deliveries(
    sb: &Sandbox,
    account: &str,
    limit: i64,
) -> Result<Vec<Value>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT d.id, d.event_id, d.endpoint_id, d.status, d.attempts, d.last_status_code, d.last_error, d.created_ms, d.delivered_ms, o.event_type \
         FROM sandbox_deliveries d LEFT JOIN sandbox_objects o ON o.id = d.event_id \
         WHERE d.account = $1 ORDER BY d.created_ms DESC, d.id DESC LIMIT $2",
    )
    .bind(account)
    .bind(limit)
    .fetch_all(sb.db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(json!({
                "id": r.try_get::<String, _>("id")?,
                "event": r.try_get::<String, _>("event_id")?,
                "type": r.try_get::<Option<String>, _>("event_type")?,
                "endpoint": r.try_get::<String, _>("endpoint_id")?,
                "status": r.try_get::<String, _>("status")?,
                "attempts": r.try_get::<i64, _>("attempts")?,
                "last_status_code": r.try_get::<Option<i64>, _>("last_status_code")?,
                "last_error": r.try_get::<Option<String>, _>("last_error")?,
                "created_ms": r.try_get::<i64, _>("created_ms")?,
                "delivered_ms": r.try_get::<Option<i64>, _>("delivered_ms")?,
            }))
        })
        .collect()
}

/// Events whose delivery has failed so far (for `delivery_success=false`).
pub async fn undelivered_event_ids(sb: &Sandbox, account: &str) -> Result<Vec<String>, ApiError> {
    let rows = sqlx::query(
        "SELECT DISTINCT event_id FROM sandbox_deliveries WHERE account = $1 AND (status = 'failed' OR status = 'dropped' OR (status = 'pending' AND attempts > 0))",
    )
    .bind(account)
    .fetch_all(sb.db.pool())
    .await
    .map_err(db_error)?;
    rows.iter()
        .map(|r| r.try_get::<String, _>("event_id").map_err(db_error))
        .collect()
}
