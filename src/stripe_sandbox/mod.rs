//! A stateful Stripe sandbox that speaks Stripe's wire protocol: form-encoded requests, JSON
//! objects, the error envelope, pagination, search, idempotency and rate limits. Mounted at
//! `/sandbox/stripe` in the Refloop server (and runnable alone); newcomers, the demo and the
//! tests talk to it with the same client production points at api.stripe.com.
//!
//! `/sandbox/stripe/v1/…` is Stripe's API; `/sandbox/stripe/_sandbox/…` are the sandbox's own
//! test controls, never confused with it.

mod access;
mod balance;
mod billing;
mod cards;
mod checkout;
mod control;
mod customers;
mod dashboard;
mod error;
mod hosted;
mod payments;
mod rewards;
mod search;
mod store;
mod webhooks;

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicI64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use axum::{
    body::Bytes,
    extract::{OriginalUri, State},
    http::{HeaderMap, Method, Uri},
    response::{IntoResponse, Response},
    routing::{any, post},
    Json, Router,
};
use rand::Rng;
use serde_json::{json, Value};
use sqlx::Row;

pub use access::{Access, Gate, Member, Members};
pub use error::ApiError;

use crate::{db::Db, stripe::form};

/// The API version the sandbox answers with (and the client pins).
pub const API_VERSION: &str = crate::stripe::API_VERSION;

/// Knobs the test controls turn.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Requests per second per account; `None` turns the limit off.
    pub rate_limit: Option<f64>,
    /// Seconds before a new object appears in search results.
    pub search_delay_secs: i64,
    /// Share of API requests answered with an injected 500 (0.0–1.0).
    pub error_rate: f64,
    /// Share of API requests answered with an injected 429.
    pub rate_limit_error_rate: f64,
    /// Share of API requests carried out whose answer is then lost (a 500 after the work is
    /// done): what idempotency keys are for.
    pub lost_response_rate: f64,
    /// Extra latency on every API request.
    pub latency_ms: u64,
    /// Share of webhook deliveries dropped (never sent), and sent twice.
    pub webhook_drop_rate: f64,
    pub webhook_duplicate_rate: f64,
    /// Delay before every delivery, and a random extra delay up to this (reorders them).
    pub webhook_delay_ms: u64,
    pub webhook_reorder_ms: u64,
    /// Tries per delivery, and the first retry's delay (doubling after).
    pub webhook_max_attempts: i64,
    pub webhook_retry_base_ms: u64,
    /// USD for one unit of a currency, for what payments in it settle as (`balance`).
    pub exchange_rates: std::collections::BTreeMap<String, f64>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            // Stripe's test mode.
            rate_limit: Some(25.0),
            search_delay_secs: 0,
            error_rate: 0.0,
            rate_limit_error_rate: 0.0,
            lost_response_rate: 0.0,
            latency_ms: 0,
            webhook_drop_rate: 0.0,
            webhook_duplicate_rate: 0.0,
            webhook_delay_ms: 0,
            webhook_reorder_ms: 0,
            // Test mode retries a few times over a short while.
            webhook_max_attempts: 4,
            webhook_retry_base_ms: 1000,
            exchange_rates: balance::default_rates(),
        }
    }
}

#[derive(Clone)]
pub struct Sandbox {
    db: Db,
    access: Access,
    inner: Arc<Inner>,
}

struct Inner {
    clock_offset: AtomicI64,
    settings: Mutex<Settings>,
    buckets: Mutex<HashMap<String, Bucket>>,
    deliveries_due: tokio::sync::Notify,
    /// Held while a customer is read, changed and written back, so two concurrent changes to
    /// one customer (metadata and a balance transaction) do not lose each other's write.
    customer_writes: tokio::sync::Mutex<()>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Who is calling: the account a key belongs to, and what a restricted key may do.
pub struct Caller {
    pub account: String,
    pub key: String,
    /// `None` for a secret key (everything allowed).
    pub permissions: Option<Vec<String>>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("settings", &self.settings())
            .finish()
    }
}

impl Sandbox {
    /// A sandbox over `db` with these doors, its webhook deliverer running (call inside a
    /// Tokio runtime).
    pub fn start(db: Db, access: Access) -> Sandbox {
        let sb = Sandbox {
            db,
            access,
            inner: Arc::new(Inner {
                clock_offset: AtomicI64::new(0),
                settings: Mutex::new(Settings::default()),
                buckets: Mutex::new(HashMap::new()),
                deliveries_due: tokio::sync::Notify::new(),
                customer_writes: tokio::sync::Mutex::new(()),
            }),
        };
        tokio::spawn(webhooks::deliver_forever(sb.clone()));
        sb
    }

    /// The sandbox's clock: real time plus what the test controls advanced it by.
    pub fn now(&self) -> i64 {
        crate::db::unix_now() + self.inner.clock_offset.load(Ordering::Relaxed)
    }

    pub fn settings(&self) -> Settings {
        self.inner.settings.lock().expect("settings lock").clone()
    }

    /// Serialises read-modify-write changes to customers.
    pub(crate) async fn customer_write(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.inner.customer_writes.lock().await
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The routes, to nest under `/sandbox/stripe` or serve alone.
    pub fn router(self) -> Router {
        Router::new()
            .route("/", axum::routing::get(dashboard::page))
            .route("/dashboard/{action}", post(dashboard::act))
            .route("/v1/{*path}", any(api))
            .route("/pay/{id}", axum::routing::get(hosted::pay_link))
            .route(
                "/checkout/{id}",
                axum::routing::get(hosted::show).post(hosted::submit),
            )
            .route("/_sandbox/{action}", post(control::handle))
            .with_state(self)
    }

    async fn caller(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        let auth = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(ApiError::no_key)?;
        let key = if let Some(k) = auth.strip_prefix("Bearer ") {
            k.trim().to_string()
        } else if let Some(basic) = auth.strip_prefix("Basic ") {
            use base64::{engine::general_purpose::STANDARD, Engine};
            let decoded = STANDARD
                .decode(basic.trim())
                .map_err(|_| ApiError::no_key())?;
            let text = String::from_utf8(decoded).map_err(|_| ApiError::no_key())?;
            text.split(':').next().unwrap_or_default().to_string()
        } else {
            return Err(ApiError::no_key());
        };
        let row = sqlx::query("SELECT account, permissions FROM sandbox_keys WHERE key = $1")
            .bind(&key)
            .fetch_optional(self.db.pool())
            .await
            .map_err(|_| ApiError::internal())?
            .ok_or_else(|| ApiError::invalid_key(&key))?;
        let account: String = row.try_get("account").map_err(|_| ApiError::internal())?;
        let permissions: String = row
            .try_get("permissions")
            .map_err(|_| ApiError::internal())?;
        Ok(Caller {
            account,
            permissions: key.starts_with("rk_").then(|| {
                permissions
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(str::to_string)
                    .collect()
            }),
            key,
        })
    }

    /// Where browsers reach this sandbox (for the URLs of Payment Links and Checkout Sessions):
    /// inside a Refloop, its public address; as a test tool, the address the request came to.
    /// `path` is the request's full path and `marker` where the sandbox's own part begins.
    pub(crate) fn public_base(&self, headers: &HeaderMap, path: &str, marker: &str) -> String {
        if let Access::Members(gate) = &self.access {
            return gate.public_base.clone();
        }
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
            })
            .unwrap_or("127.0.0.1");
        let prefix = path.find(marker).map(|at| &path[..at]).unwrap_or_default();
        format!("http://{host}{prefix}")
    }

    /// Takes a token from the account's bucket, or refuses with Stripe's 429.
    fn take_token(&self, account: &str) -> Result<(), ApiError> {
        let Some(rate) = self.settings().rate_limit else {
            return Ok(());
        };
        let mut buckets = self.inner.buckets.lock().expect("bucket lock");
        let now = Instant::now();
        let bucket = buckets.entry(account.to_string()).or_insert(Bucket {
            tokens: rate,
            at: now,
        });
        bucket.tokens =
            (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * rate).min(rate);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(ApiError::rate_limited())
        }
    }

    /// Stores a new object (found by its `customer`) and emits the event saying so.
    pub async fn create(
        &self,
        account: &str,
        kind: &str,
        object: &Value,
        event: &str,
    ) -> Result<(), ApiError> {
        let cols = store::Columns {
            customer: object["customer"].as_str(),
            ..Default::default()
        };
        self.create_with(account, kind, object, cols, event).await
    }

    /// Stores a new object, found by the given columns, and emits the event saying so.
    pub async fn create_with(
        &self,
        account: &str,
        kind: &str,
        object: &Value,
        cols: store::Columns<'_>,
        event: &str,
    ) -> Result<(), ApiError> {
        store::insert(&self.db, account, kind, object, cols)
            .await
            .map_err(db_error)?;
        self.emit(account, event, object, None).await?;
        Ok(())
    }

    /// Records an event for a state change (`customer.created`, …) and returns it.
    pub async fn emit(
        &self,
        account: &str,
        kind: &str,
        object: &Value,
        previous: Option<Value>,
    ) -> Result<Value, ApiError> {
        let mut data = json!({ "object": object });
        if let Some(p) = previous {
            data["previous_attributes"] = p;
        }
        let event = json!({
            "id": new_id("evt"),
            "object": "event",
            "account": account,
            "api_version": API_VERSION,
            "created": self.now(),
            "data": data,
            "livemode": false,
            "pending_webhooks": 0,
            "request": { "id": new_id("req"), "idempotency_key": null },
            "type": kind,
        });
        store::insert(
            &self.db,
            account,
            "event",
            &event,
            store::Columns {
                event_type: Some(kind),
                ..Default::default()
            },
        )
        .await
        .map_err(db_error)?;
        webhooks::enqueue(self, account, &event).await?;
        Ok(event)
    }
}

/// A Stripe-style id: prefix, underscore, 24 characters of base62.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", base62(24))
}

/// A key or signing secret (`sk_test_…`, `whsec_…`): the prefix and 40 characters of base62
/// from the operating system's generator, about 238 random bits.
pub fn new_secret(prefix: &str) -> String {
    format!("{prefix}{}", base62(40))
}

fn base62(len: usize) -> String {
    const CHARS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rngs::OsRng;
    (0..len)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}

fn db_error(err: sqlx::Error) -> ApiError {
    tracing::error!(error = %err, "stripe sandbox storage");
    ApiError::internal()
}

/// What a request asks for, once its path is read.
enum Route {
    Account,
    Customers,
    CustomerSearch,
    Customer(String),
    BalanceTransactions(String),
    BalanceTransaction(String),
    Events,
    Event(String),
    PaymentIntents,
    PaymentIntent(String),
    PaymentIntentConfirm(String),
    Charges,
    Charge(String),
    Refunds,
    Coupons,
    Coupon(String),
    PromotionCodes,
    PromotionCode(String),
    Prices,
    Price(String),
    PaymentLinks,
    PaymentLink(String),
    PaymentLinkItems(String),
    CheckoutSessions,
    CheckoutSession(String),
    CheckoutSessionItems(String),
    WebhookEndpoints,
    WebhookEndpoint(String),
    Subscriptions,
    Subscription(String),
    Invoice(String),
    TestClocks,
    TestClock(String),
    TestClockAdvance(String),
}

impl Route {
    fn parse(path: &str) -> Option<Route> {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        Some(match parts.as_slice() {
            ["account"] => Route::Account,
            ["customers"] => Route::Customers,
            ["customers", "search"] => Route::CustomerSearch,
            ["customers", id] => Route::Customer(id.to_string()),
            ["customers", id, "balance_transactions"] => Route::BalanceTransactions(id.to_string()),
            ["balance_transactions", id] => Route::BalanceTransaction(id.to_string()),
            ["events"] => Route::Events,
            ["events", id] => Route::Event(id.to_string()),
            ["payment_intents"] => Route::PaymentIntents,
            ["payment_intents", id] => Route::PaymentIntent(id.to_string()),
            ["payment_intents", id, "confirm"] => Route::PaymentIntentConfirm(id.to_string()),
            ["charges"] => Route::Charges,
            ["charges", id] => Route::Charge(id.to_string()),
            ["refunds"] => Route::Refunds,
            ["coupons"] => Route::Coupons,
            ["coupons", id] => Route::Coupon(id.to_string()),
            ["promotion_codes"] => Route::PromotionCodes,
            ["promotion_codes", id] => Route::PromotionCode(id.to_string()),
            ["prices"] => Route::Prices,
            ["prices", id] => Route::Price(id.to_string()),
            ["payment_links"] => Route::PaymentLinks,
            ["payment_links", id] => Route::PaymentLink(id.to_string()),
            ["payment_links", id, "line_items"] => Route::PaymentLinkItems(id.to_string()),
            ["checkout", "sessions"] => Route::CheckoutSessions,
            ["checkout", "sessions", id] => Route::CheckoutSession(id.to_string()),
            ["checkout", "sessions", id, "line_items"] => {
                Route::CheckoutSessionItems(id.to_string())
            }
            ["subscriptions"] => Route::Subscriptions,
            ["subscriptions", id] => Route::Subscription(id.to_string()),
            ["invoices", id] => Route::Invoice(id.to_string()),
            ["test_helpers", "test_clocks"] => Route::TestClocks,
            ["test_helpers", "test_clocks", id] => Route::TestClock(id.to_string()),
            ["test_helpers", "test_clocks", id, "advance"] => {
                Route::TestClockAdvance(id.to_string())
            }
            ["webhook_endpoints"] => Route::WebhookEndpoints,
            ["webhook_endpoints", id] => Route::WebhookEndpoint(id.to_string()),
            _ => return None,
        })
    }

    /// The restricted-key permission a method on this route needs (`rak_<resource>_<read|write>`).
    fn permission(&self, method: &Method) -> Option<String> {
        let resource = match self {
            Route::Account => return None,
            Route::Customers | Route::CustomerSearch | Route::Customer(_) => "customer",
            Route::BalanceTransactions(_) => "customer_balance",
            Route::BalanceTransaction(_) => "balance",
            Route::Events | Route::Event(_) => "event",
            Route::PaymentIntents | Route::PaymentIntent(_) | Route::PaymentIntentConfirm(_) => {
                "payment_intent"
            }
            Route::Charges | Route::Charge(_) => "charge",
            Route::Refunds => "refund",
            Route::Coupons | Route::Coupon(_) => "coupon",
            Route::PromotionCodes | Route::PromotionCode(_) => "promotion_code",
            Route::Prices | Route::Price(_) => "price",
            Route::PaymentLinks | Route::PaymentLink(_) | Route::PaymentLinkItems(_) => {
                "payment_link"
            }
            Route::CheckoutSessions
            | Route::CheckoutSession(_)
            | Route::CheckoutSessionItems(_) => "checkout_session",
            Route::WebhookEndpoints | Route::WebhookEndpoint(_) => "webhook",
            Route::Subscriptions | Route::Subscription(_) => "subscription",
            Route::Invoice(_) => "invoice",
            Route::TestClocks | Route::TestClock(_) | Route::TestClockAdvance(_) => "test_clock",
        };
        let access = if *method == Method::GET {
            "read"
        } else {
            "write"
        };
        Some(format!("rak_{resource}_{access}"))
    }
}

/// Every `/v1/…` request: faults, authentication, the rate limit, permissions, idempotency,
/// then the operation itself.
async fn api(
    State(sb): State<Sandbox>,
    method: Method,
    uri: Uri,
    OriginalUri(original): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let settings = sb.settings();
    if settings.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(settings.latency_ms)).await;
    }
    let roll: f64 = rand::thread_rng().gen();
    if roll < settings.error_rate {
        return ApiError::internal().into_response();
    }
    if roll < settings.error_rate + settings.rate_limit_error_rate {
        return ApiError::rate_limited().into_response();
    }
    let caller = match sb.caller(&headers).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = sb.take_token(&caller.account) {
        return e.into_response();
    }
    let path = uri
        .path()
        .split("/v1/")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let Some(route) = Route::parse(&path) else {
        return ApiError {
            status: 404,
            kind: "invalid_request_error",
            code: None,
            message: format!("Unrecognized request URL ({method}: /v1/{path})."),
            param: None,
            decline_code: None,
        }
        .into_response();
    };
    if let (Some(needed), Some(granted)) = (route.permission(&method), &caller.permissions) {
        let write = needed.replace("_read", "_write");
        if !granted.iter().any(|g| *g == needed || *g == write) {
            return ApiError::permission(&caller.key, &caller.account, &needed).into_response();
        }
    }
    let raw = if method == Method::GET {
        uri.query().unwrap_or_default().to_string()
    } else {
        String::from_utf8_lossy(&body).into_owned()
    };
    let params = match form::parse_body(&raw).and_then(|pairs| form::decode(&pairs)) {
        Ok(p) => p,
        Err(message) => return ApiError::invalid("body", message).into_response(),
    };
    let idempotency_key = (method == Method::POST)
        .then(|| {
            headers
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
        .flatten();
    let base = sb.public_base(&headers, original.path(), "/v1/");
    let response = match idempotency_key {
        None => respond(dispatch(&sb, &caller, &method, route, params, &base).await),
        Some(key) => {
            control::idempotent(
                &sb,
                &caller,
                &key,
                &format!("{method} {path} {raw}"),
                || dispatch(&sb, &caller, &method, route, params, &base),
            )
            .await
        }
    };
    if rand::thread_rng().gen::<f64>() < settings.lost_response_rate {
        return ApiError::internal().into_response();
    }
    response
}

fn respond(result: Result<Value, ApiError>) -> Response {
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn dispatch(
    sb: &Sandbox,
    caller: &Caller,
    method: &Method,
    route: Route,
    params: Value,
    base: &str,
) -> Result<Value, ApiError> {
    let account = caller.account.as_str();
    match (method.clone(), route) {
        (Method::GET, Route::Account) => control::account(sb, account).await,
        (Method::GET, Route::Customers) => customers::list(sb, account, &params).await,
        (Method::POST, Route::Customers) => customers::create(sb, account, params).await,
        (Method::GET, Route::CustomerSearch) => customers::search(sb, account, &params).await,
        (Method::GET, Route::Customer(id)) => customers::retrieve(sb, account, &id).await,
        (Method::POST, Route::Customer(id)) => customers::update(sb, account, &id, params).await,
        (Method::DELETE, Route::Customer(id)) => customers::delete(sb, account, &id).await,
        (Method::GET, Route::BalanceTransaction(id)) => {
            payments::retrieve(sb, account, "balance_transaction", &id).await
        }
        (Method::GET, Route::Events) => customers::list_events(sb, account, &params).await,
        (Method::GET, Route::Event(id)) => payments::retrieve(sb, account, "event", &id).await,
        (Method::POST, Route::BalanceTransactions(id)) => {
            rewards::create_balance_transaction(sb, account, &id, params).await
        }
        (Method::GET, Route::BalanceTransactions(id)) => {
            rewards::list_balance_transactions(sb, account, &id, &params).await
        }
        (Method::POST, Route::PaymentIntents) => payments::create_intent(sb, account, params).await,
        (Method::GET, Route::PaymentIntent(id)) => {
            payments::retrieve(sb, account, "payment_intent", &id).await
        }
        (Method::POST, Route::PaymentIntentConfirm(id)) => {
            payments::confirm(sb, account, &id, params).await
        }
        (Method::GET, Route::Charges) => payments::list_charges(sb, account, &params).await,
        (Method::GET, Route::Charge(id)) => payments::retrieve(sb, account, "charge", &id).await,
        (Method::POST, Route::Refunds) => payments::refund(sb, account, params).await,
        (Method::POST, Route::Coupons) => rewards::create_coupon(sb, account, params).await,
        (Method::GET, Route::Coupon(id)) => payments::retrieve(sb, account, "coupon", &id).await,
        (Method::POST, Route::PromotionCodes) => {
            rewards::create_promotion_code(sb, account, params).await
        }
        (Method::GET, Route::PromotionCodes) => {
            rewards::list_promotion_codes(sb, account, &params).await
        }
        (Method::GET, Route::PromotionCode(id)) => {
            payments::retrieve(sb, account, "promotion_code", &id).await
        }
        (Method::POST, Route::Prices) => checkout::create_price(sb, account, params).await,
        (Method::GET, Route::Price(id)) => payments::retrieve(sb, account, "price", &id).await,
        (Method::POST, Route::PaymentLinks) => {
            checkout::create_payment_link(sb, account, params, base).await
        }
        (Method::GET, Route::PaymentLink(id)) => {
            payments::retrieve(sb, account, "payment_link", &id).await
        }
        (Method::GET, Route::PaymentLinkItems(id)) => {
            checkout::list_items(sb, account, "payment_link", &id).await
        }
        (Method::POST, Route::CheckoutSessions) => {
            checkout::create_session(sb, account, params, base).await
        }
        (Method::GET, Route::CheckoutSessions) => {
            checkout::list_sessions(sb, account, &params).await
        }
        (Method::GET, Route::CheckoutSession(id)) => {
            payments::retrieve(sb, account, "checkout.session", &id).await
        }
        (Method::GET, Route::CheckoutSessionItems(id)) => {
            checkout::list_items(sb, account, "checkout.session", &id).await
        }
        (Method::POST, Route::Subscriptions) => {
            billing::create_subscription(sb, account, params).await
        }
        (Method::GET, Route::Subscription(id)) => {
            payments::retrieve(sb, account, "subscription", &id).await
        }
        (Method::POST, Route::Subscription(id)) => {
            billing::update_subscription(sb, account, &id, params).await
        }
        (Method::DELETE, Route::Subscription(id)) => {
            billing::cancel_subscription(sb, account, &id).await
        }
        (Method::GET, Route::Invoice(id)) => payments::retrieve(sb, account, "invoice", &id).await,
        (Method::POST, Route::TestClocks) => billing::create_clock(sb, account, params).await,
        (Method::GET, Route::TestClock(id)) => {
            payments::retrieve(sb, account, "test_helpers.test_clock", &id).await
        }
        (Method::POST, Route::TestClockAdvance(id)) => {
            billing::advance_clock(sb, account, &id, params).await
        }
        (Method::POST, Route::WebhookEndpoints) => {
            webhooks::create_endpoint(sb, account, params).await
        }
        (Method::GET, Route::WebhookEndpoints) => {
            webhooks::list_endpoints(sb, account, &params).await
        }
        (Method::GET, Route::WebhookEndpoint(id)) => {
            webhooks::retrieve_endpoint(sb, account, &id).await
        }
        (Method::POST, Route::WebhookEndpoint(id)) => {
            webhooks::update_endpoint(sb, account, &id, params).await
        }
        (Method::DELETE, Route::WebhookEndpoint(id)) => {
            webhooks::delete_endpoint(sb, account, &id).await
        }
        (m, _) => Err(ApiError {
            status: 405,
            kind: "invalid_request_error",
            code: None,
            message: format!("This endpoint does not support {m}."),
            param: None,
            decline_code: None,
        }),
    }
}
