//! The Stripe client against the built-in sandbox, over real HTTP on loopback.

use std::{collections::BTreeMap, collections::HashSet};

use futures::{StreamExt, TryStreamExt};
use refloop::{
    stripe::{
        rate_limit::TokenBucket,
        types::{CustomerParams, ListFilter},
        RetryPolicy, StripeClient, StripeError,
    },
    stripe_sandbox::Sandbox,
};
use serde_json::{json, Value};

use crate::support::TestDb;

/// Where the tests' Refloop says it is reached.
pub const PUBLIC_URL: &str = "http://127.0.0.1:9";

pub struct SandboxServer {
    pub base: String,
    http: reqwest::Client,
}

impl SandboxServer {
    pub async fn start(t: &TestDb) -> SandboxServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = Sandbox::start(t.db.clone(), refloop::stripe_sandbox::Access::Controls).router();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        SandboxServer {
            base,
            http: reqwest::Client::new(),
        }
    }

    /// Refloop's way to this sandbox: as the built-in sandbox and as "Stripe's API", with a
    /// fresh secret key for sealing. Refloop's public address is a loopback one, where the
    /// sandbox may deliver webhooks (nothing answers there).
    pub fn access(&self) -> refloop::workflows::StripeAccess {
        refloop::workflows::StripeAccess {
            sealer: refloop::secrets::Sealer::random(),
            api_url: self.base.clone(),
            sandbox_url: self.base.clone(),
            limiters: refloop::stripe::rate_limit::RateLimiters::new(1_000.0, 1_000.0),
            public_url: PUBLIC_URL.into(),
            ..Default::default()
        }
    }

    pub async fn control(&self, action: &str, body: Value) -> Value {
        let res = self
            .http
            .post(format!("{}/_sandbox/{action}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            res.status().is_success(),
            "control {action}: {}",
            res.text().await.unwrap()
        );
        res.json().await.unwrap()
    }

    /// A new sandbox account and a client with its secret key (rate limit off unless asked).
    pub async fn account(&self) -> (String, StripeClient) {
        let created = self.control("accounts", json!({"name": "Acme Test"})).await;
        let client = StripeClient::new(&self.base, created["secret_key"].as_str().unwrap());
        (created["account"].as_str().unwrap().to_string(), client)
    }

    pub async fn restricted(&self, account: &str, permissions: &[&str]) -> StripeClient {
        let key = self
            .control(
                "keys",
                json!({"account": account, "permissions": permissions}),
            )
            .await;
        StripeClient::new(&self.base, key["key"].as_str().unwrap())
    }

    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        key: &str,
        body: &str,
        idempotency: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(key)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_string());
        if let Some(k) = idempotency {
            req = req.header("idempotency-key", k);
        }
        req.send().await.unwrap()
    }
}

fn params(email: &str, name: &str) -> CustomerParams {
    CustomerParams {
        email: Some(email.into()),
        name: Some(name.into()),
        ..Default::default()
    }
}

crate::on_both_backends!(
    customers_are_created_updated_and_deleted_with_their_events,
    lists_page_newest_first_and_filter
);

async fn customers_are_created_updated_and_deleted_with_their_events(t: &TestDb) {
    let sb = SandboxServer::start(t).await;
    sb.control("settings", json!({"rate_limit": null})).await;
    let (account, client) = sb.account().await;
    assert_eq!(client.account().await.unwrap().id, account);

    let mut p = params("jane@example.com", "Jane Doe");
    p.metadata.insert("referral_code".into(), "JANE1".into());
    p.metadata.insert("campaign".into(), "spring".into());
    let jane = client.create_customer(&p, "create-jane").await.unwrap();
    assert!(jane.id.starts_with("cus_"));
    assert_eq!(jane.metadata["referral_code"], "JANE1");

    // Metadata merges; an empty value removes a key; other fields stay.
    let update = CustomerParams {
        metadata: BTreeMap::from([
            ("campaign".into(), "".into()),
            ("referral_link".into(), "https://r.example/JANE1".into()),
        ]),
        ..Default::default()
    };
    let jane = client
        .update_customer(&jane.id, &update, "update-jane")
        .await
        .unwrap();
    assert_eq!(jane.name.as_deref(), Some("Jane Doe"));
    assert_eq!(
        jane.metadata,
        BTreeMap::from([
            ("referral_code".into(), "JANE1".into()),
            ("referral_link".into(), "https://r.example/JANE1".into())
        ])
    );
    assert_eq!(client.retrieve_customer(&jane.id).await.unwrap(), jane);

    let gone = client.delete_customer(&jane.id).await.unwrap();
    assert!(gone.deleted);
    assert!(client.retrieve_customer(&jane.id).await.unwrap().deleted);
    let err = client
        .update_customer(&jane.id, &update, "update-deleted")
        .await
        .unwrap_err();
    assert_eq!(
        err,
        StripeError::NotFound {
            message: format!("No such customer: '{}'", jane.id)
        }
    );

    let events: Vec<_> = client
        .list_events(ListFilter::default())
        .try_collect()
        .await
        .unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["customer.deleted", "customer.updated", "customer.created"]
    );
    let previous = events[1].data.previous_attributes.as_ref().unwrap();
    assert_eq!(previous["metadata"]["campaign"], "spring");
    let only_created: Vec<_> = client
        .list_events(ListFilter {
            types: vec!["customer.created".into()],
            ..Default::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert_eq!(only_created.len(), 1);
    assert_eq!(
        client
            .retrieve_event(&only_created[0].id)
            .await
            .unwrap()
            .data
            .object["id"],
        json!(jane.id)
    );
}

async fn lists_page_newest_first_and_filter(t: &TestDb) {
    let sb = SandboxServer::start(t).await;
    sb.control("settings", json!({"rate_limit": null})).await;
    let (_, client) = sb.account().await;
    let mut created = Vec::new();
    for i in 0..25 {
        let c = client
            .create_customer(
                &params(&format!("p{i}@example.com"), &format!("Person {i}")),
                &format!("c{i}"),
            )
            .await
            .unwrap();
        created.push(c.id);
    }
    let listed: Vec<String> = client
        .list_customers(ListFilter {
            page_size: Some(10),
            ..Default::default()
        })
        .map_ok(|c| c.id)
        .try_collect()
        .await
        .unwrap();
    let newest_first: Vec<String> = created.iter().rev().cloned().collect();
    assert_eq!(
        listed, newest_first,
        "25 customers over 3 pages, newest first, none twice"
    );

    let by_email: Vec<_> = client
        .list_customers(ListFilter {
            email: Some("p7@example.com".into()),
            ..Default::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert_eq!(by_email.len(), 1);
    assert_eq!(by_email[0].id, created[7]);

    // created filters: everything was made within this second or the few before.
    let now = refloop::db::unix_now();
    let future: Vec<_> = client
        .list_customers(ListFilter {
            created_gt: Some(now + 60),
            ..Default::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert!(future.is_empty());
    let recent: Vec<_> = client
        .list_customers(ListFilter {
            created_gte: Some(now - 60),
            ..Default::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert_eq!(recent.len(), 25);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_by_email_name_and_metadata_across_pages() {
    let t = TestDb::sqlite().await;
    let sb = SandboxServer::start(&t).await;
    sb.control("settings", json!({"rate_limit": null})).await;
    let (_, client) = sb.account().await;
    for i in 0..120 {
        let mut p = params(
            &format!(
                "user{i}@{}.example",
                if i % 2 == 0 { "even" } else { "odd" }
            ),
            &format!("User {i}"),
        );
        p.metadata.insert("cohort".into(), (i % 3).to_string());
        client.create_customer(&p, &format!("s{i}")).await.unwrap();
    }
    let evens: Vec<_> = client
        .search_customers("email~'even.example'")
        .try_collect()
        .await
        .unwrap();
    assert_eq!(evens.len(), 60, "paged through two pages of search results");
    assert_eq!(
        evens
            .iter()
            .map(|c| c.id.clone())
            .collect::<HashSet<_>>()
            .len(),
        60
    );
    let both: Vec<_> = client
        .search_customers("email~'even' AND metadata['cohort']:'0'")
        .try_collect()
        .await
        .unwrap();
    assert_eq!(both.len(), 20);
    let exact: Vec<_> = client
        .search_customers("email:'user7@odd.example'")
        .try_collect()
        .await
        .unwrap();
    assert_eq!(exact[0].name.as_deref(), Some("User 7"));
    let err = client
        .search_customers("colour:'red'")
        .next()
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(&err, StripeError::InvalidRequest { param: Some(p), message } if p == "query" && message.contains("not supported")),
        "{err:?}"
    );

    // New data becomes searchable only after the configured delay; lists have none.
    sb.control("settings", json!({"search_delay_secs": 60}))
        .await;
    client
        .create_customer(&params("late@even.example", "Late"), "late")
        .await
        .unwrap();
    let found: Vec<_> = client
        .search_customers("email:'late@even.example'")
        .try_collect()
        .await
        .unwrap();
    assert!(found.is_empty());
    sb.control("clock", json!({"advance_secs": 61})).await;
    let found: Vec<_> = client
        .search_customers("email:'late@even.example'")
        .try_collect()
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_say_what_to_do() {
    let t = TestDb::sqlite().await;
    let sb = SandboxServer::start(&t).await;
    let (account, client) = sb.account().await;

    let bad = StripeClient::new(&sb.base, "sk_test_doesnotexist1234");
    assert_eq!(bad.account().await.unwrap_err(), StripeError::InvalidKey);
    let res = sb
        .raw(
            reqwest::Method::GET,
            "/v1/customers",
            "sk_test_doesnotexist1234",
            "",
            None,
        )
        .await;
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "Invalid API Key provided: sk_test_****1234"
    );

    let read_only = sb.restricted(&account, &["rak_customer_read"]).await;
    assert!(read_only
        .list_customers(ListFilter::default())
        .try_collect::<Vec<_>>()
        .await
        .is_ok());
    let err = read_only
        .create_customer(&params("x@example.com", "X"), "ro")
        .await
        .unwrap_err();
    assert_eq!(
        err,
        StripeError::MissingPermission {
            permission: "rak_customer_write".into(),
            label: "Customers: Write".into()
        }
    );
    let no_events = sb.restricted(&account, &["rak_customer_write"]).await;
    let err = no_events
        .list_events(ListFilter::default())
        .next()
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(err, StripeError::MissingPermission { ref permission, .. } if permission == "rak_event_read"),
        "{err:?}"
    );

    let secret = sb.control("accounts", json!({})).await["secret_key"]
        .as_str()
        .unwrap()
        .to_string();
    let res = sb
        .raw(
            reqwest::Method::POST,
            "/v1/customers",
            &secret,
            "colour=red",
            None,
        )
        .await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["param"], "colour");
    assert_eq!(
        body["error"]["message"],
        "Received unknown parameter: colour"
    );

    let long = CustomerParams {
        phone: Some("1".repeat(21)),
        ..Default::default()
    };
    let err = client
        .create_customer(&long, "long-phone")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StripeError::InvalidRequest { param: Some(p), .. } if p == "phone"),
        "{err:?}"
    );
    let mut too_many = CustomerParams::default();
    for i in 0..51 {
        too_many.metadata.insert(format!("k{i}"), "v".into());
    }
    let err = client
        .create_customer(&too_many, "many-keys")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("at most 50 metadata keys"),
        "{err}"
    );
    let err = client.retrieve_customer("cus_nope").await.unwrap_err();
    assert_eq!(
        err,
        StripeError::NotFound {
            message: "No such customer: 'cus_nope'".into()
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_keys_replay_the_first_answer() {
    let t = TestDb::sqlite().await;
    let sb = SandboxServer::start(&t).await;
    let created = sb.control("accounts", json!({})).await;
    let key = created["secret_key"].as_str().unwrap();
    let first = sb
        .raw(
            reqwest::Method::POST,
            "/v1/customers",
            key,
            "email=a%40b.co",
            Some("join-42"),
        )
        .await;
    assert_eq!(first.status(), 200);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();
    let again = sb
        .raw(
            reqwest::Method::POST,
            "/v1/customers",
            key,
            "email=a%40b.co",
            Some("join-42"),
        )
        .await;
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(first["id"], again["id"]);
    let other = sb
        .raw(
            reqwest::Method::POST,
            "/v1/customers",
            key,
            "email=c%40d.co",
            Some("join-42"),
        )
        .await;
    assert_eq!(other.status(), 400);
    let other: Value = other.json().await.unwrap();
    assert_eq!(other["error"]["type"], "idempotency_error");
    // An error is replayed too.
    let bad = sb
        .raw(
            reqwest::Method::POST,
            "/v1/customers",
            key,
            "colour=red",
            Some("bad-1"),
        )
        .await;
    assert_eq!(bad.status(), 400);
    let bad_again = sb
        .raw(
            reqwest::Method::POST,
            "/v1/customers",
            key,
            "colour=red",
            Some("bad-1"),
        )
        .await;
    assert_eq!(bad_again.status(), 400);
    assert_eq!(bad_again.headers()["idempotent-replayed"], "true");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_answers_429_and_the_shared_limiter_avoids_it() {
    let t = TestDb::sqlite().await;
    let sb = SandboxServer::start(&t).await;
    let (_, client) = sb.account().await;
    sb.control("settings", json!({"rate_limit": 10.0})).await;
    // Twenty requests at once: the sandbox refuses what is over 10/s, the client retries.
    let no_retry = client.clone().with_retry(RetryPolicy {
        max_attempts: 1,
        ..Default::default()
    });
    let results = futures::future::join_all((0..20).map(|_| no_retry.account())).await;
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(StripeError::RateLimited)))
        .count();
    assert!(refused >= 5, "{refused} refused");
    let with_limiter = client.with_limiter(std::sync::Arc::new(TokenBucket::new(9.0)));
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let no_retry = with_limiter.with_retry(RetryPolicy {
        max_attempts: 1,
        ..Default::default()
    });
    let results = futures::future::join_all((0..15).map(|_| no_retry.account())).await;
    assert!(
        results.iter().all(Result::is_ok),
        "the client's bucket kept under the sandbox's limit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_twenty_percent_injected_failures_1000_creations_make_exactly_1000_customers() {
    let t = TestDb::sqlite().await;
    let sb = SandboxServer::start(&t).await;
    let (_, client) = sb.account().await;
    sb.control(
        "settings",
        json!({"rate_limit": null, "error_rate": 0.1, "rate_limit_error_rate": 0.1}),
    )
    .await;
    let client = client.with_retry(RetryPolicy {
        max_attempts: 20,
        base_delay: std::time::Duration::from_millis(2),
        max_delay: std::time::Duration::from_millis(50),
    });
    let ids: Vec<String> = futures::stream::iter(0..1000)
        .map(|i| {
            let client = client.clone();
            async move {
                // The key names the participant and the action, so a retry cannot repeat it.
                client
                    .create_customer(
                        &params(&format!("p{i}@example.com"), "P"),
                        &format!("participant-{i}-create"),
                    )
                    .await
                    .map(|c| c.id)
            }
        })
        .buffer_unordered(16)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 1000);
    sb.control(
        "settings",
        json!({"error_rate": 0.0, "rate_limit_error_rate": 0.0}),
    )
    .await;
    let listed: Vec<_> = client
        .list_customers(ListFilter::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1000, "exactly 1000 customers, no duplicate");
    let emails: HashSet<_> = listed.iter().map(|c| c.email.clone().unwrap()).collect();
    assert_eq!(emails.len(), 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_state_survives_a_restart() {
    let t = TestDb::sqlite().await;
    let first = SandboxServer::start(&t).await;
    let key = first.control("accounts", json!({})).await["secret_key"]
        .as_str()
        .unwrap()
        .to_string();
    let jane = StripeClient::new(&first.base, &key)
        .create_customer(&params("jane@example.com", "Jane"), "jane")
        .await
        .unwrap();
    drop(first);
    // A new sandbox over the same database, as after the process restarts.
    let again = SandboxServer::start(&t).await;
    let client = StripeClient::new(&again.base, &key);
    assert_eq!(
        client.retrieve_customer(&jane.id).await.unwrap(),
        jane,
        "the key and the customer survive"
    );
    let events: Vec<_> = client
        .list_events(ListFilter::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(events.len(), 1, "and so do the events");
}
