//! The account endpoint, idempotent replays, and the sandbox's own test controls under
//! `/_sandbox/…` (JSON in, JSON out): create accounts and keys, reset, advance the clock, and
//! set rate limits, search delay and injected faults.

use std::future::Future;

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::Row;

use super::{
    access::{self, Refused, Viewer},
    db_error, new_id, new_secret, ApiError, Caller, Sandbox, Settings,
};

pub async fn account(sb: &Sandbox, account: &str) -> Result<Value, ApiError> {
    let row = sqlx::query("SELECT name, created FROM sandbox_accounts WHERE id = $1")
        .bind(account)
        .fetch_one(sb.db.pool())
        .await
        .map_err(db_error)?;
    let name: String = row.try_get("name").map_err(db_error)?;
    Ok(json!({
        "id": account,
        "object": "account",
        "business_profile": { "name": name },
        "charges_enabled": true,
        "country": "US",
        "created": row.try_get::<i64, _>("created").map_err(db_error)?,
        "default_currency": "usd",
        "details_submitted": true,
        "email": null,
        "payouts_enabled": true,
        "settings": { "dashboard": { "display_name": name } },
        "type": "standard",
    }))
}

const IDEMPOTENCY_WINDOW_SECS: i64 = 24 * 3600;

/// Runs `op` once per idempotency key: a repeat with the same parameters replays the first
/// answer (success or error) with `Idempotent-Replayed: true`; other parameters are refused;
/// a repeat while the first is still running gets 409.
pub async fn idempotent<F, Fut>(
    sb: &Sandbox,
    caller: &Caller,
    key: &str,
    fingerprint: &str,
    op: F,
) -> Response
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Value, ApiError>>,
{
    if key.len() > 255 {
        return ApiError::invalid(
            "Idempotency-Key",
            "Idempotency keys can be at most 255 characters.",
        )
        .into_response();
    }
    let db = sb.db.pool();
    let now = sb.now();
    let _ = sqlx::query(
        "DELETE FROM sandbox_idempotency WHERE account = $1 AND key = $2 AND created < $3",
    )
    .bind(&caller.account)
    .bind(key)
    .bind(now - IDEMPOTENCY_WINDOW_SECS)
    .execute(db)
    .await;
    let claimed = sqlx::query(
        "INSERT INTO sandbox_idempotency (account, key, fingerprint, status, body, created) VALUES ($1, $2, $3, 0, '', $4) \
         ON CONFLICT (account, key) DO NOTHING",
    )
    .bind(&caller.account)
    .bind(key)
    .bind(fingerprint)
    .bind(now)
    .execute(db)
    .await;
    match claimed {
        Err(e) => return db_error(e).into_response(),
        Ok(done) if done.rows_affected() == 0 => {
            let row = match sqlx::query("SELECT fingerprint, status, body FROM sandbox_idempotency WHERE account = $1 AND key = $2")
                .bind(&caller.account)
                .bind(key)
                .fetch_one(db)
                .await
            {
                Ok(r) => r,
                Err(e) => return db_error(e).into_response(),
            };
            let stored: String = row.try_get("fingerprint").unwrap_or_default();
            let status: i64 = row.try_get("status").unwrap_or_default();
            let body: String = row.try_get("body").unwrap_or_default();
            if stored != fingerprint {
                return ApiError::idempotency_mismatch(key).into_response();
            }
            if status == 0 {
                return ApiError::idempotency_in_flight().into_response();
            }
            let mut res = (
                StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK),
                Json(serde_json::from_str::<Value>(&body).unwrap_or(Value::Null)),
            )
                .into_response();
            res.headers_mut()
                .insert("idempotent-replayed", "true".parse().unwrap());
            return res;
        }
        Ok(_) => {}
    }
    let result = op().await;
    let (status, body) = match &result {
        Ok(v) => (200, v.clone()),
        Err(e) => (e.status, e.body()),
    };
    // An injected or internal failure is not remembered: Stripe lets those be retried.
    let outcome = if status >= 500 {
        sqlx::query("DELETE FROM sandbox_idempotency WHERE account = $1 AND key = $2")
            .bind(&caller.account)
            .bind(key)
            .execute(db)
            .await
    } else {
        sqlx::query(
            "UPDATE sandbox_idempotency SET status = $1, body = $2 WHERE account = $3 AND key = $4",
        )
        .bind(status as i64)
        .bind(body.to_string())
        .bind(&caller.account)
        .bind(key)
        .execute(db)
        .await
    };
    if let Err(e) = outcome {
        return db_error(e).into_response();
    }
    super::respond(result)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ControlRequest {
    name: Option<String>,
    account: Option<String>,
    /// The Refloop account a new sandbox account belongs to.
    owner: Option<String>,
    permissions: Option<Vec<String>>,
    advance_secs: Option<i64>,
    /// Absent: unchanged; `null`: no limit; a number: requests per second.
    #[serde(default, deserialize_with = "present")]
    rate_limit: Option<Option<f64>>,
    search_delay_secs: Option<i64>,
    error_rate: Option<f64>,
    rate_limit_error_rate: Option<f64>,
    lost_response_rate: Option<f64>,
    latency_ms: Option<u64>,
    webhook_drop_rate: Option<f64>,
    webhook_duplicate_rate: Option<f64>,
    webhook_delay_ms: Option<u64>,
    webhook_reorder_ms: Option<u64>,
    webhook_max_attempts: Option<i64>,
    webhook_retry_base_ms: Option<u64>,
    /// USD for one unit of each currency named (`settings`).
    exchange_rates: Option<std::collections::BTreeMap<String, f64>>,
    customer: Option<String>,
    /// A key to revoke (`revoke_key`).
    key: Option<String>,
    amount: Option<i64>,
    currency: Option<String>,
    created: Option<i64>,
    charge: Option<String>,
    dispute: Option<String>,
    won: Option<bool>,
}

/// Tells a field given as `null` (Some(None)) from one left out (None).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// `POST /_sandbox/{action}`: the instance-wide controls (`reset`, `settings`, `clock`), which
/// exist only with the test controls on, and the per-account ones (`accounts`, `keys`,
/// `revoke_key`, `payment`, `refund`, `dispute`, `close_dispute`, `deliveries`), which inside a
/// Refloop answer only members of the account's owner.
pub async fn handle(
    State(sb): State<Sandbox>,
    Path(action): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let req: ControlRequest = if body.is_empty() {
        ControlRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({ "error": e.to_string() })),
                )
                    .into_response()
            }
        }
    };
    match run(&sb, &action, &headers, req).await {
        Ok(v) => Json(v).into_response(),
        Err((status, message)) => (status, Json(json!({ "error": message }))).into_response(),
    }
}

const INSTANCE_WIDE: [&str; 3] = ["reset", "settings", "clock"];
const PER_ACCOUNT: [&str; 8] = [
    "accounts",
    "keys",
    "revoke_key",
    "payment",
    "refund",
    "dispute",
    "close_dispute",
    "deliveries",
];

async fn run(
    sb: &Sandbox,
    action: &str,
    headers: &HeaderMap,
    req: ControlRequest,
) -> Result<Value, Refused> {
    let bad = |m: &str| (StatusCode::BAD_REQUEST, m.to_string());
    let exists =
        PER_ACCOUNT.contains(&action) || (sb.controls() && INSTANCE_WIDE.contains(&action));
    if !exists {
        return Err((
            StatusCode::NOT_FOUND,
            format!("no sandbox control `{action}`"),
        ));
    }
    let viewer = sb.viewer(headers).await?;
    let db = sb.db.pool();
    let internal = |e: sqlx::Error| {
        tracing::error!(error = %e, "stripe sandbox storage");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "The sandbox could not use its storage.".to_string(),
        )
    };
    // The account a per-account control acts on, once the caller may act on it.
    let account = |act: bool| {
        let account = req.account.clone();
        let viewer = &viewer;
        async move {
            let account = account.ok_or_else(|| bad("`account` is required"))?;
            viewer.check(sb, &account, act).await?;
            Ok::<String, Refused>(account)
        }
    };
    match action {
        "accounts" => {
            let owner = match &viewer {
                Viewer::Anyone => req.owner.clone(),
                Viewer::Refloop => Some(
                    req.owner
                        .clone()
                        .ok_or_else(|| bad("`owner` is required"))?,
                ),
                Viewer::Member(m) if m.may_act => Some(m.account.clone()),
                Viewer::Member(_) => return Err(access::forbidden()),
            };
            let name = req.name.as_deref().unwrap_or("Sandbox merchant").trim();
            if name.is_empty() || name.chars().count() > 100 {
                return Err(bad("`name` is 1 to 100 characters"));
            }
            let account = new_id("acct");
            let secret = new_secret("sk_test_");
            sqlx::query(
                "INSERT INTO sandbox_accounts (id, name, created, owner) VALUES ($1, $2, $3, $4)",
            )
            .bind(&account)
            .bind(name)
            .bind(sb.now())
            .bind(owner)
            .execute(db)
            .await
            .map_err(internal)?;
            insert_key(sb, &secret, &account, &[])
                .await
                .map_err(internal)?;
            Ok(json!({ "account": account, "secret_key": secret }))
        }
        "keys" => {
            let account = account(true).await?;
            let permissions = req.permissions.unwrap_or_default();
            if let Some(p) = permissions.iter().find(|p| {
                !p.starts_with("rak_") || !(p.ends_with("_read") || p.ends_with("_write"))
            }) {
                return Err(bad(&format!(
                    "`{p}` is not a permission of the form rak_<resource>_<read|write>"
                )));
            }
            let key = new_secret("rk_test_");
            insert_key(sb, &key, &account, &permissions)
                .await
                .map_err(internal)?;
            Ok(json!({ "key": key, "account": account, "permissions": permissions }))
        }
        "revoke_key" => {
            let key = req.key.ok_or_else(|| bad("`key` is required"))?;
            let owner: Option<String> =
                sqlx::query_scalar("SELECT account FROM sandbox_keys WHERE key = $1")
                    .bind(&key)
                    .fetch_optional(db)
                    .await
                    .map_err(internal)?;
            let Some(owner) = owner else {
                return Err(bad("no such key"));
            };
            viewer
                .check(sb, &owner, true)
                .await
                .map_err(|(status, m)| {
                    if status == StatusCode::NOT_FOUND {
                        bad("no such key")
                    } else {
                        (status, m)
                    }
                })?;
            sqlx::query("DELETE FROM sandbox_keys WHERE key = $1")
                .bind(&key)
                .execute(db)
                .await
                .map_err(internal)?;
            Ok(json!({ "revoked": true }))
        }
        "reset" => {
            for table in [
                "sandbox_idempotency",
                "sandbox_deliveries",
                "sandbox_objects",
                "sandbox_keys",
                "sandbox_accounts",
            ] {
                sqlx::query(&format!("DELETE FROM {table}"))
                    .execute(db)
                    .await
                    .map_err(internal)?;
            }
            *sb.inner.settings.lock().expect("settings lock") = Settings::default();
            sb.inner
                .clock_offset
                .store(0, std::sync::atomic::Ordering::Relaxed);
            sb.inner.buckets.lock().expect("bucket lock").clear();
            Ok(json!({ "reset": true }))
        }
        "clock" => {
            let secs = req
                .advance_secs
                .ok_or_else(|| bad("`advance_secs` is required"))?;
            if secs < 0 {
                return Err(bad("the sandbox clock only moves forward"));
            }
            sb.inner
                .clock_offset
                .fetch_add(secs, std::sync::atomic::Ordering::Relaxed);
            Ok(json!({ "now": sb.now() }))
        }
        "settings" => {
            let mut guard = sb.inner.settings.lock().expect("settings lock");
            let s = &mut *guard;
            if let Some(r) = req.rate_limit {
                if r.is_some_and(|r| r <= 0.0) {
                    return Err(bad("`rate_limit` must be positive, or null for no limit"));
                }
                s.rate_limit = r;
            }
            for (value, slot) in [
                (req.error_rate, &mut s.error_rate),
                (req.rate_limit_error_rate, &mut s.rate_limit_error_rate),
                (req.lost_response_rate, &mut s.lost_response_rate),
                (req.webhook_drop_rate, &mut s.webhook_drop_rate),
                (req.webhook_duplicate_rate, &mut s.webhook_duplicate_rate),
            ] {
                if let Some(v) = value {
                    if !(0.0..=1.0).contains(&v) {
                        return Err(bad("fault rates are between 0 and 1"));
                    }
                    *slot = v;
                }
            }
            if let Some(d) = req.search_delay_secs {
                s.search_delay_secs = d.max(0);
            }
            if let Some(l) = req.latency_ms {
                s.latency_ms = l;
            }
            for (value, slot) in [
                (req.webhook_delay_ms, &mut s.webhook_delay_ms),
                (req.webhook_reorder_ms, &mut s.webhook_reorder_ms),
                (req.webhook_retry_base_ms, &mut s.webhook_retry_base_ms),
            ] {
                if let Some(v) = value {
                    *slot = v;
                }
            }
            if let Some(n) = req.webhook_max_attempts {
                s.webhook_max_attempts = n.max(1);
            }
            for (code, rate) in req.exchange_rates.unwrap_or_default() {
                let Some(currency) = crate::domain::money::known_currency(&code) else {
                    return Err(bad(
                        "`exchange_rates` names currencies Stripe supports, such as eur",
                    ));
                };
                if !(rate.is_finite() && rate > 0.0) {
                    return Err(bad("an exchange rate is a positive number of USD per unit"));
                }
                s.exchange_rates.insert(currency, rate);
            }
            sb.inner.buckets.lock().expect("bucket lock").clear();
            Ok(json!({
                "rate_limit": s.rate_limit,
                "search_delay_secs": s.search_delay_secs,
                "error_rate": s.error_rate,
                "rate_limit_error_rate": s.rate_limit_error_rate,
                "lost_response_rate": s.lost_response_rate,
                "latency_ms": s.latency_ms,
                "webhook_drop_rate": s.webhook_drop_rate,
                "webhook_duplicate_rate": s.webhook_duplicate_rate,
                "webhook_delay_ms": s.webhook_delay_ms,
                "webhook_reorder_ms": s.webhook_reorder_ms,
                "webhook_max_attempts": s.webhook_max_attempts,
                "webhook_retry_base_ms": s.webhook_retry_base_ms,
                "exchange_rates": s.exchange_rates,
            }))
        }
        "payment" => {
            let account = account(true).await?;
            let customer = req.customer.ok_or_else(|| bad("`customer` is required"))?;
            let amount = req.amount.filter(|a| *a > 0).ok_or_else(|| {
                bad("`amount` (in the currency's smallest unit, > 0) is required")
            })?;
            let currency = req.currency.unwrap_or_else(|| "usd".into());
            super::payments::simulate_payment(
                sb,
                &account,
                &customer,
                amount,
                &currency,
                "pm_card_visa",
                req.created,
            )
            .await
            .map_err(api)
        }
        "refund" => {
            let account = account(true).await?;
            let charge = req.charge.ok_or_else(|| bad("`charge` is required"))?;
            let mut params = json!({ "charge": charge });
            if let Some(a) = req.amount {
                params["amount"] = json!(a.to_string());
            }
            super::payments::refund(sb, &account, params)
                .await
                .map_err(api)
        }
        "dispute" => {
            let account = account(true).await?;
            let charge = req.charge.ok_or_else(|| bad("`charge` is required"))?;
            super::payments::open_dispute(sb, &account, &charge, req.amount)
                .await
                .map_err(api)
        }
        "close_dispute" => {
            let account = account(true).await?;
            let dispute = req.dispute.ok_or_else(|| bad("`dispute` is required"))?;
            super::payments::close_dispute(sb, &account, &dispute, req.won.unwrap_or(false))
                .await
                .map_err(api)
        }
        "deliveries" => {
            let account = account(false).await?;
            Ok(
                json!({ "data": super::webhooks::deliveries(sb, &account, 200).await.map_err(internal)? }),
            )
        }
        other => Err((
            StatusCode::NOT_FOUND,
            format!("no sandbox control `{other}`"),
        )),
    }
}

fn api(e: ApiError) -> Refused {
    (
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
        e.message,
    )
}

async fn insert_key(
    sb: &Sandbox,
    key: &str,
    account: &str,
    permissions: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sandbox_keys (key, account, permissions, created) VALUES ($1, $2, $3, $4)",
    )
    .bind(key)
    .bind(account)
    .bind(permissions.join(","))
    .bind(sb.now())
    .execute(sb.db.pool())
    .await?;
    Ok(())
}
