//! The client: base URL, key, pinned `Stripe-Version`, optional `Stripe-Account`; retries with
//! exponential backoff and jitter; a shared token bucket per account; lists and searches as
//! streams. Every POST carries the idempotency key its caller derives from what it does.

use std::{fmt, sync::Arc, time::Duration};

use futures::{stream, Stream};
use rand::Rng;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::{
    error::StripeError,
    form,
    rate_limit::TokenBucket,
    types::{
        Account, BalanceTransaction, Charge, Coupon, Customer, CustomerBalanceTransaction,
        CustomerParams, Event, List, ListFilter, PaymentIntent, PromotionCode, Refund,
        SearchResult, WebhookEndpoint,
    },
    API_VERSION,
};

/// How often, and how patiently, a failed request is tried again.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// Full jitter: a random delay up to the exponential bound.
    fn delay(&self, attempt: u32) -> Duration {
        let bound = self
            .base_delay
            .saturating_mul(1 << attempt.min(16))
            .min(self.max_delay);
        bound.mul_f64(rand::thread_rng().gen_range(0.5..=1.0))
    }
}

#[derive(Clone)]
pub struct StripeClient {
    http: reqwest::Client,
    base_url: String,
    key: String,
    stripe_account: Option<String>,
    limiter: Option<Arc<TokenBucket>>,
    retry: RetryPolicy,
}

impl fmt::Debug for StripeClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeClient")
            .field("base_url", &self.base_url)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl StripeClient {
    /// The HTTP client a process shares among all its Stripe requests: its pool keeps
    /// connections (HTTP/2 where the server offers it) open, so a job pays no new handshake.
    pub fn http_client() -> reqwest::Client {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_idle_timeout(Duration::from_secs(90))
            .build()
            .expect("an HTTP client")
    }

    /// `base_url` is `https://api.stripe.com`, or the sandbox's (`…/sandbox/stripe`). A client
    /// of its own: for one-off checks; jobs use `over` with the process's shared client.
    pub fn new(base_url: &str, key: &str) -> StripeClient {
        StripeClient::over(Self::http_client(), base_url, key)
    }

    /// A client for `key` that sends through `http`, the process's shared connection pool.
    pub fn over(http: reqwest::Client, base_url: &str, key: &str) -> StripeClient {
        StripeClient {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            key: key.to_string(),
            stripe_account: None,
            limiter: None,
            retry: RetryPolicy::default(),
        }
    }

    /// Shares a rate limiter (one per Stripe account, from `RateLimiters`).
    pub fn with_limiter(mut self, limiter: Arc<TokenBucket>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Acts on a connected account (`Stripe-Account`).
    pub fn on_account(mut self, account: &str) -> Self {
        self.stripe_account = Some(account.to_string());
        self
    }

    /// Sends one request, retrying what can succeed later; the answer as JSON.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        params: &Value,
        idempotency_key: Option<&str>,
    ) -> Result<Value, StripeError> {
        let body = form::to_body(&form::encode(params));
        let mut attempt = 0;
        loop {
            if let Some(limiter) = &self.limiter {
                limiter.acquire().await;
            }
            let outcome = self
                .send_once(method.clone(), path, &body, idempotency_key)
                .await;
            let retry = match &outcome {
                Ok(_) => false,
                Err((err, should_retry)) => should_retry.unwrap_or_else(|| err.is_retryable()),
            };
            attempt += 1;
            match outcome {
                Ok(v) => return Ok(v),
                Err((err, _)) if !retry || attempt >= self.retry.max_attempts => return Err(err),
                Err(_) => tokio::time::sleep(self.retry.delay(attempt)).await,
            }
        }
    }

    /// One try: the answer, or the error and what `Stripe-Should-Retry` said.
    async fn send_once(
        &self,
        method: Method,
        path: &str,
        body: &str,
        idempotency_key: Option<&str>,
    ) -> Result<Value, (StripeError, Option<bool>)> {
        let mut url = format!("{}{path}", self.base_url);
        let mut req = if method == Method::GET || method == Method::DELETE {
            if !body.is_empty() {
                url = format!("{url}?{body}");
            }
            self.http.request(method, &url)
        } else {
            self.http
                .request(method, &url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.to_string())
        };
        req = req
            .bearer_auth(&self.key)
            .header("stripe-version", API_VERSION);
        if let Some(account) = &self.stripe_account {
            req = req.header("stripe-account", account);
        }
        if let Some(key) = idempotency_key {
            req = req.header("idempotency-key", key);
        }
        let res = req
            .send()
            .await
            .map_err(|e| (StripeError::Connection(e.without_url().to_string()), None))?;
        let status = res.status();
        let should_retry = res
            .headers()
            .get("stripe-should-retry")
            .and_then(|v| v.to_str().ok())
            .map(|v| v == "true");
        let text = res
            .text()
            .await
            .map_err(|e| (StripeError::Connection(e.to_string()), None))?;
        let json: Value =
            serde_json::from_str(&text).unwrap_or_else(|_| json!({"error": {"message": text}}));
        if status == StatusCode::OK {
            Ok(json)
        } else {
            Err((
                StripeError::from_response(status.as_u16(), &json),
                should_retry,
            ))
        }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        params: &Value,
        idempotency_key: Option<&str>,
    ) -> Result<T, StripeError> {
        let value = self.request(method, path, params, idempotency_key).await?;
        serde_json::from_value(value).map_err(|e| StripeError::Api {
            status: 200,
            message: format!("unexpected answer: {e}"),
        })
    }

    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        params: &Value,
        idempotency_key: &str,
    ) -> Result<T, StripeError> {
        self.call(Method::POST, path, params, Some(idempotency_key))
            .await
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, StripeError> {
        self.call(Method::GET, path, &json!({}), None).await
    }

    async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T, StripeError> {
        self.call(Method::DELETE, path, &json!({}), None).await
    }

    pub async fn account(&self) -> Result<Account, StripeError> {
        self.get("/v1/account").await
    }

    pub async fn create_customer(
        &self,
        params: &CustomerParams,
        idempotency_key: &str,
    ) -> Result<Customer, StripeError> {
        let params = serde_json::to_value(params).expect("params serialize");
        self.post("/v1/customers", &params, idempotency_key).await
    }

    pub async fn update_customer(
        &self,
        id: &str,
        params: &CustomerParams,
        idempotency_key: &str,
    ) -> Result<Customer, StripeError> {
        let params = serde_json::to_value(params).expect("params serialize");
        self.post(&format!("/v1/customers/{id}"), &params, idempotency_key)
            .await
    }

    /// A customer, or its `deleted: true` stub.
    pub async fn retrieve_customer(&self, id: &str) -> Result<Customer, StripeError> {
        self.get(&format!("/v1/customers/{id}")).await
    }

    pub async fn delete_customer(&self, id: &str) -> Result<Customer, StripeError> {
        self.delete(&format!("/v1/customers/{id}")).await
    }

    pub async fn retrieve_event(&self, id: &str) -> Result<Event, StripeError> {
        self.get(&format!("/v1/events/{id}")).await
    }

    /// Creates and confirms a PaymentIntent with a test payment method (`pm_card_visa`).
    pub async fn pay(
        &self,
        customer: &str,
        amount: i64,
        currency: &str,
        payment_method: &str,
        idempotency_key: &str,
    ) -> Result<PaymentIntent, StripeError> {
        let params = json!({"amount": amount.to_string(), "currency": currency, "customer": customer, "payment_method": payment_method, "confirm": "true"});
        self.post("/v1/payment_intents", &params, idempotency_key)
            .await
    }

    pub async fn retrieve_charge(&self, id: &str) -> Result<Charge, StripeError> {
        self.get(&format!("/v1/charges/{id}")).await
    }

    pub async fn retrieve_balance_transaction(
        &self,
        id: &str,
    ) -> Result<BalanceTransaction, StripeError> {
        self.get(&format!("/v1/balance_transactions/{id}")).await
    }

    /// A customer's charges, newest first.
    pub fn list_charges(&self, customer: &str, filter: ListFilter) -> Pages<Charge> {
        let mut filter = filter;
        filter.customer = Some(customer.to_string());
        self.paginate("/v1/charges", filter)
    }

    /// Refunds `amount` of a charge (all that is left when `None`).
    pub async fn refund(
        &self,
        charge: &str,
        amount: Option<i64>,
        idempotency_key: &str,
    ) -> Result<Refund, StripeError> {
        let mut params = json!({"charge": charge});
        if let Some(a) = amount {
            params["amount"] = json!(a.to_string());
        }
        self.post("/v1/refunds", &params, idempotency_key).await
    }

    /// `params` as Stripe takes them, e.g. `{"amount_off": "1000", "currency": "usd", "duration": "once"}`.
    pub async fn create_coupon(
        &self,
        params: &Value,
        idempotency_key: &str,
    ) -> Result<Coupon, StripeError> {
        self.post("/v1/coupons", params, idempotency_key).await
    }

    /// A promotion code for a coupon, optionally only for one customer.
    pub async fn create_promotion_code(
        &self,
        coupon: &str,
        code: Option<&str>,
        customer: Option<&str>,
        idempotency_key: &str,
    ) -> Result<PromotionCode, StripeError> {
        let mut params = json!({"promotion": {"type": "coupon", "coupon": coupon}});
        if let Some(c) = code {
            params["code"] = json!(c);
        }
        if let Some(c) = customer {
            params["customer"] = json!(c);
        }
        self.post("/v1/promotion_codes", &params, idempotency_key)
            .await
    }

    pub async fn list_promotion_codes(
        &self,
        customer: &str,
    ) -> Result<Vec<PromotionCode>, StripeError> {
        let page: List<PromotionCode> = self
            .call(
                Method::GET,
                "/v1/promotion_codes",
                &json!({"customer": customer, "limit": "100"}),
                None,
            )
            .await?;
        Ok(page.data)
    }

    /// A balance adjustment: a negative amount is credit the customer's next invoices use.
    pub async fn create_balance_transaction(
        &self,
        customer: &str,
        amount: i64,
        currency: &str,
        description: &str,
        idempotency_key: &str,
    ) -> Result<CustomerBalanceTransaction, StripeError> {
        let params =
            json!({"amount": amount.to_string(), "currency": currency, "description": description});
        self.post(
            &format!("/v1/customers/{customer}/balance_transactions"),
            &params,
            idempotency_key,
        )
        .await
    }

    pub async fn create_webhook_endpoint(
        &self,
        url: &str,
        events: &[&str],
        metadata: &[(&str, &str)],
        idempotency_key: &str,
    ) -> Result<WebhookEndpoint, StripeError> {
        let mut params = json!({"url": url, "enabled_events": events, "api_version": API_VERSION});
        for (k, v) in metadata {
            params["metadata"][*k] = json!(v);
        }
        self.post("/v1/webhook_endpoints", &params, idempotency_key)
            .await
    }

    pub async fn list_webhook_endpoints(&self) -> Result<Vec<WebhookEndpoint>, StripeError> {
        let page: List<WebhookEndpoint> = self
            .call(
                Method::GET,
                "/v1/webhook_endpoints",
                &json!({"limit": "100"}),
                None,
            )
            .await?;
        Ok(page.data)
    }

    pub async fn retrieve_webhook_endpoint(
        &self,
        id: &str,
    ) -> Result<WebhookEndpoint, StripeError> {
        self.get(&format!("/v1/webhook_endpoints/{id}")).await
    }

    /// Changes the events, or enables / disables the endpoint.
    pub async fn update_webhook_endpoint(
        &self,
        id: &str,
        events: Option<&[&str]>,
        disabled: Option<bool>,
        idempotency_key: &str,
    ) -> Result<WebhookEndpoint, StripeError> {
        let mut params = json!({});
        if let Some(e) = events {
            params["enabled_events"] = json!(e);
        }
        if let Some(d) = disabled {
            params["disabled"] = json!(d.to_string());
        }
        self.post(
            &format!("/v1/webhook_endpoints/{id}"),
            &params,
            idempotency_key,
        )
        .await
    }

    pub async fn delete_webhook_endpoint(&self, id: &str) -> Result<WebhookEndpoint, StripeError> {
        self.delete(&format!("/v1/webhook_endpoints/{id}")).await
    }

    /// Every customer matching the filter, newest first, page after page.
    pub fn list_customers(&self, filter: ListFilter) -> Pages<Customer> {
        self.paginate("/v1/customers", filter)
    }

    /// Every event matching the filter (`types` up to 20), newest first.
    pub fn list_events(&self, filter: ListFilter) -> Pages<Event> {
        self.paginate("/v1/events", filter)
    }

    /// One page of customers after `starting_after` (newest first): what a run that keeps its
    /// own checkpoint reads.
    pub async fn customers_page(
        &self,
        filter: &ListFilter,
        starting_after: Option<&str>,
    ) -> Result<List<Customer>, StripeError> {
        let mut params = list_params(filter);
        if let Some(after) = starting_after {
            params["starting_after"] = json!(after);
        }
        self.call(Method::GET, "/v1/customers", &params, None).await
    }

    fn paginate<T: DeserializeOwned + HasId + Send + 'static>(
        &self,
        path: &'static str,
        filter: ListFilter,
    ) -> Pages<T> {
        let params = list_params(&filter);
        let client = self.clone();
        pages(move |cursor: Option<String>| {
            let client = client.clone();
            let mut params = params.clone();
            if let Some(after) = cursor {
                params["starting_after"] = json!(after);
            }
            async move {
                let page: List<T> = client.call(Method::GET, path, &params, None).await?;
                let next = page
                    .has_more
                    .then(|| page.data.last().map(|t| t.id().to_string()))
                    .flatten();
                Ok((page.data, next))
            }
        })
    }

    /// Every customer the search query matches, page after page.
    pub fn search_customers(&self, query: &str) -> Pages<Customer> {
        let query = query.to_string();
        let client = self.clone();
        pages(move |page: Option<String>| {
            let client = client.clone();
            let mut params = json!({ "query": query, "limit": "100" });
            if let Some(p) = page {
                params["page"] = json!(p);
            }
            async move {
                let result: SearchResult<Customer> = client
                    .call(Method::GET, "/v1/customers/search", &params, None)
                    .await?;
                let next = if result.has_more {
                    result.next_page
                } else {
                    None
                };
                Ok((result.data, next))
            }
        })
    }
}

/// A list request's parameters for a filter.
fn list_params(filter: &ListFilter) -> Value {
    let mut params = json!({ "limit": filter.page_size.unwrap_or(100).to_string() });
    for (op, v) in [
        ("gt", filter.created_gt),
        ("gte", filter.created_gte),
        ("lt", filter.created_lt),
    ] {
        if let Some(v) = v {
            params["created"][op] = json!(v.to_string());
        }
    }
    if let Some(email) = &filter.email {
        params["email"] = json!(email);
    }
    if let Some(customer) = &filter.customer {
        params["customer"] = json!(customer);
    }
    if !filter.types.is_empty() {
        params["types"] = json!(filter.types);
    }
    if filter.undelivered {
        params["delivery_success"] = json!("false");
    }
    params
}

/// Items of a list or search, fetched a page at a time as the stream is read.
pub type Pages<T> = std::pin::Pin<Box<dyn Stream<Item = Result<T, StripeError>> + Send>>;

/// Turns a page fetcher (items and the next cursor) into a stream of items.
fn pages<T, F, Fut>(fetch: F) -> Pages<T>
where
    T: Send + 'static,
    F: Fn(Option<String>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), StripeError>> + Send,
{
    enum State {
        Start,
        Next(String),
        Done,
    }
    let fetch = Arc::new(fetch);
    Box::pin(stream::unfold(
        (State::Start, Vec::<T>::new().into_iter()),
        move |(mut state, mut buffered)| {
            let fetch = fetch.clone();
            async move {
                loop {
                    if let Some(item) = buffered.next() {
                        return Some((Ok(item), (state, buffered)));
                    }
                    let cursor = match &state {
                        State::Done => return None,
                        State::Start => None,
                        State::Next(c) => Some(c.clone()),
                    };
                    match fetch(cursor).await {
                        Ok((items, next)) => {
                            state = next.map_or(State::Done, State::Next);
                            buffered = items.into_iter();
                        }
                        Err(e) => return Some((Err(e), (State::Done, Vec::new().into_iter()))),
                    }
                }
            }
        },
    ))
}

/// Objects a list can page past.
pub trait HasId {
    fn id(&self) -> &str;
}

impl HasId for Customer {
    fn id(&self) -> &str {
        &self.id
    }
}

impl HasId for Charge {
    fn id(&self) -> &str {
        &self.id
    }
}

impl HasId for Event {
    fn id(&self) -> &str {
        &self.id
    }
}
