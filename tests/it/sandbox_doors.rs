//! The built-in Stripe sandbox is a test tool, never a door: inside a Refloop, its dashboard and
//! controls answer only members of the Refloop account that owns a sandbox account; its
//! instance-wide controls exist only with `--sandbox-controls`; `--sandbox off` removes it; what
//! it shows is escaped; it delivers webhooks only to Refloop's own route; several processes on
//! one database deliver each event once.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{routing::post, Router};
use refloop::{
    config::{Config, SandboxMode},
    db::stripe_connections,
    domain::integrations::StripeMode,
    integrations,
    stripe_sandbox::{Access, Sandbox},
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::{
    accounts::{owner, teammate},
    support::{Served, TestDb},
};

crate::on_both_backends!(
    the_sandbox_answers_only_members_of_the_account_that_owns_it,
    what_the_dashboard_shows_is_escaped_and_currencies_are_checked,
    webhooks_go_only_to_this_refloops_own_route,
    several_processes_deliver_each_event_once,
    another_accounts_clocks_subscriptions_and_invoices_are_not_found,
);

/// Refloop with its sandbox as production runs it, and Acme connected to the sandbox.
struct Acme {
    app: Served,
    owner: String,
    viewer: String,
    stranger: String,
    /// Acme's sandbox account and its secret key.
    account: String,
    key: String,
}

impl Acme {
    async fn start(t: &TestDb) -> Acme {
        let app = Served::start(t, Config::defaults()).await;
        let (alice, owner) = owner(&t.db, "Acme", "alice@acme.test").await;
        let (_, viewer) = teammate(
            &t.db,
            &alice,
            "val@acme.test",
            refloop::domain::permissions::Role::Viewer,
        )
        .await;
        let (_, stranger) = crate::accounts::owner(&t.db, "Other", "olga@other.test").await;
        integrations::connect_stripe(&t.db, &app.state.stripe, &alice, StripeMode::Sandbox, "")
            .await
            .expect("the sandbox connects, provisioned over HTTP with this instance's token");
        let row = stripe_connections::get(t.db.pool(), &alice.account_id)
            .await
            .unwrap()
            .unwrap();
        let key = app
            .state
            .stripe
            .sealer
            .open(row.sealed_key.as_deref().unwrap())
            .unwrap();
        Acme {
            app,
            owner,
            viewer,
            stranger,
            account: row.stripe_account_id.unwrap(),
            key,
        }
    }

    async fn get(&self, path: &str, session: Option<&str>) -> (StatusCode, String) {
        let res = self
            .app
            .request(Method::GET, path, session)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let location = res
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_string());
        let body = res.text().await.unwrap();
        (status, location.unwrap_or(body))
    }

    async fn control(
        &self,
        action: &str,
        session: Option<&str>,
        body: Value,
    ) -> (StatusCode, Value) {
        let res = self
            .app
            .request(
                Method::POST,
                &format!("/sandbox/stripe/_sandbox/{action}"),
                session,
            )
            .json(&body)
            .send()
            .await
            .unwrap();
        (res.status(), res.json().await.unwrap_or(Value::Null))
    }

    async fn api(
        &self,
        method: Method,
        path: &str,
        key: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let res = self
            .app
            .http
            .request(
                method,
                format!("{}/sandbox/stripe/v1/{path}", self.app.base),
            )
            .bearer_auth(key)
            .form(form)
            .send()
            .await
            .unwrap();
        (res.status(), res.json().await.unwrap())
    }

    async fn customer(&self, email: &str, name: &str) -> String {
        let (status, c) = self
            .api(
                Method::POST,
                "customers",
                &self.key.clone(),
                &[("email", email), ("name", name)],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{c}");
        c["id"].as_str().unwrap().to_string()
    }
}

async fn the_sandbox_answers_only_members_of_the_account_that_owns_it(t: &TestDb) {
    let acme = Acme::start(t).await;
    let customer = acme.customer("ann@acme.test", "Ann").await;
    let dashboard = format!("/sandbox/stripe/?account={}", acme.account);

    // A visitor: the dashboard sends them to sign in; the controls answer 401 and show nothing.
    let (status, location) = acme.get(&dashboard, None).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/signin")
    );
    let (status, location) = acme.get("/sandbox/stripe/", None).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/signin")
    );
    let pay = json!({ "account": acme.account, "customer": customer, "amount": 5000 });
    for (action, body) in [
        ("payment", pay.clone()),
        (
            "keys",
            json!({ "account": acme.account, "permissions": [] }),
        ),
        ("deliveries", json!({ "account": acme.account })),
        (
            "accounts",
            json!({ "name": "Mine", "owner": "acct_anyone" }),
        ),
    ] {
        let (status, answer) = acme.control(action, None, body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{action}: {answer}");
        assert!(!answer.to_string().contains("ann@acme.test"));
    }
    // A forged provisioning token is nobody.
    let res = acme
        .app
        .request(Method::POST, "/sandbox/stripe/_sandbox/accounts", None)
        .bearer_auth("0".repeat(64))
        .json(&json!({ "name": "Mine", "owner": "acct_x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // A dashboard button without a session.
    let res = acme
        .app
        .request(Method::POST, "/sandbox/stripe/dashboard/payment", None)
        .form(&[
            ("account", acme.account.as_str()),
            ("customer", &customer),
            ("amount", "50.00"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    // The instance-wide controls do not exist, for anyone.
    for action in ["reset", "settings", "clock"] {
        let (status, _) = acme
            .control(action, Some(&acme.owner), json!({ "advance_secs": 1 }))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{action}");
    }

    // A member of another account: not found, and none of Acme's data.
    let (status, body) = acme.get(&dashboard, Some(&acme.stranger)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!body.contains("ann@acme.test"), "{body}");
    let (status, body) = acme.get("/sandbox/stripe/", Some(&acme.stranger)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !body.contains(&acme.account) && !body.contains("ann@acme.test"),
        "{body}"
    );
    for (action, body) in [
        ("payment", pay.clone()),
        (
            "keys",
            json!({ "account": acme.account, "permissions": [] }),
        ),
        ("deliveries", json!({ "account": acme.account })),
        (
            "refund",
            json!({ "account": acme.account, "charge": "ch_x" }),
        ),
    ] {
        let (status, answer) = acme.control(action, Some(&acme.stranger), body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{action}: {answer}");
    }
    let (status, _) = acme
        .control(
            "revoke_key",
            Some(&acme.stranger),
            json!({ "key": acme.key }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "another account's key is no such key"
    );

    // A Viewer of Acme sees the dashboard and the deliveries, but may not pay or mint keys.
    let (status, body) = acme.get(&dashboard, Some(&acme.viewer)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("ann@acme.test"), "{body}");
    let (status, _) = acme
        .control(
            "deliveries",
            Some(&acme.viewer),
            json!({ "account": acme.account }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, answer) = acme
        .control("payment", Some(&acme.viewer), pay.clone())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(answer["error"]
        .as_str()
        .unwrap()
        .contains("Manage integrations"));
    let res = acme
        .app
        .request(
            Method::POST,
            "/sandbox/stripe/dashboard/payment",
            Some(&acme.viewer),
        )
        .form(&[
            ("account", acme.account.as_str()),
            ("customer", &customer),
            ("amount", "50.00"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // Acme's Owner plays the merchant.
    let (status, charge) = acme.control("payment", Some(&acme.owner), pay).await;
    assert_eq!(status, StatusCode::OK, "{charge}");
    let (status, opened) = acme
        .control(
            "accounts",
            Some(&acme.owner),
            json!({ "name": "Second", "owner": "acct_other" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{opened}");
    let (status, body) = acme.get("/sandbox/stripe/", Some(&acme.owner)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains(opened["account"].as_str().unwrap()),
        "an account opened with a session belongs to the member's account, whatever the body says"
    );

    // Keys carry well over 128 random bits; a malformed key is refused, not a panic.
    assert!(acme.key.len() >= "sk_test_".len() + 40, "{}", acme.key);
    for key in ["sk_test_ééx", "éx", "_é_éx", ""] {
        for res in [
            acme.app
                .http
                .get(format!("{}/sandbox/stripe/v1/customers", acme.app.base))
                .basic_auth(key, None::<&str>),
            acme.app
                .http
                .get(format!("{}/sandbox/stripe/v1/customers", acme.app.base))
                .bearer_auth(key),
        ] {
            let res = res.send().await.unwrap();
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{key}");
        }
    }
}

async fn what_the_dashboard_shows_is_escaped_and_currencies_are_checked(t: &TestDb) {
    let acme = Acme::start(t).await;
    let script = "<img src=x onerror=alert(1)>";
    let customer = acme.customer("x@acme.test", script).await;
    // Metadata too, as Refloop writes it.
    let (status, _) = acme
        .api(
            Method::POST,
            &format!("customers/{customer}"),
            &acme.key.clone(),
            &[(
                "metadata[<script>k</script>]",
                "\"><script>alert(2)</script>",
            )],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, answer) = acme
        .control(
            "payment",
            Some(&acme.owner),
            json!({ "account": acme.account, "customer": customer, "amount": 100, "currency": "usd\"><img src=x onerror=alert(3)>" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(answer["error"]
        .as_str()
        .unwrap()
        .contains("Invalid currency"));
    let (status, answer) = acme
        .api(
            Method::POST,
            "payment_intents",
            &acme.key.clone(),
            &[
                ("amount", "100"),
                ("currency", "xyz"),
                ("customer", &customer),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");

    let res = acme
        .app
        .request(
            Method::GET,
            &format!(
                "/sandbox/stripe/?account={}&notice=%3Cscript%3Ealert(4)%3C/script%3E",
                acme.account
            ),
            Some(&acme.owner),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    let body = res.text().await.unwrap();
    assert!(
        body.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{body}"
    );
    for raw in ["<img", "<script>"] {
        assert!(!body.contains(raw), "{raw} reached the page: {body}");
    }
}

async fn webhooks_go_only_to_this_refloops_own_route(t: &TestDb) {
    let acme = Acme::start(t).await;
    let key = acme.key.clone();
    for url in [
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://127.0.0.1:5432/",
        &format!("{}/webhooks/stripe/x/../../admin", acme.app.base),
    ] {
        let (status, answer) = acme
            .api(
                Method::POST,
                "webhook_endpoints",
                &key,
                &[("url", url), ("enabled_events[]", "*")],
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {answer}");
        assert_eq!(answer["error"]["param"], "url");
    }
    let own = format!("{}/webhooks/stripe/wh_test", acme.app.base);
    let (status, endpoint) = acme
        .api(
            Method::POST,
            "webhook_endpoints",
            &key,
            &[("url", &own), ("enabled_events[]", "*")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{endpoint}");
    assert!(endpoint["secret"].as_str().unwrap().len() >= "whsec_".len() + 40);
    let (status, _) = acme
        .api(
            Method::POST,
            &format!("webhook_endpoints/{}", endpoint["id"].as_str().unwrap()),
            &key,
            &[("url", "http://10.0.0.1/hook")],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "nor can an endpoint be moved elsewhere"
    );
}

/// A receiver on loopback that counts each event id it is sent.
async fn receiver() -> (String, Arc<Mutex<HashMap<String, u32>>>) {
    let seen: Arc<Mutex<HashMap<String, u32>>> = Default::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let counter = seen.clone();
    let app = Router::new().route(
        "/hook",
        post(move |body: String| {
            let counter = counter.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let event: Value = serde_json::from_str(&body).unwrap();
                *counter
                    .lock()
                    .unwrap()
                    .entry(event["id"].as_str().unwrap().to_string())
                    .or_default() += 1;
                "ok"
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

async fn several_processes_deliver_each_event_once(t: &TestDb) {
    // Three sandboxes on one database, as three `serve` processes on one PostgreSQL would run.
    let sandboxes: Vec<Sandbox> = (0..3)
        .map(|_| Sandbox::start(t.db.clone(), Access::Controls))
        .collect();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = sandboxes[0].clone().router();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::new();
    let control = |action: &'static str, body: Value| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            let res = http
                .post(format!("{base}/_sandbox/{action}"))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert!(res.status().is_success());
            res.json::<Value>().await.unwrap()
        }
    };
    // Deliveries fall due a little later, when every process's deliverer looks for them.
    control(
        "settings",
        json!({ "rate_limit": null, "webhook_delay_ms": 300 }),
    )
    .await;
    let opened = control("accounts", json!({ "name": "Shared" })).await;
    let key = opened["secret_key"].as_str().unwrap().to_string();
    let (hook, seen) = receiver().await;
    let res = http
        .post(format!("{base}/v1/webhook_endpoints"))
        .bearer_auth(&key)
        .form(&[
            ("url", hook.as_str()),
            ("enabled_events[]", "customer.created"),
        ])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    const EVENTS: usize = 60;
    for i in 0..EVENTS {
        let res = http
            .post(format!("{base}/v1/customers"))
            .bearer_auth(&key)
            .form(&[("email", format!("c{i}@x.test"))])
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let delivered = seen.lock().unwrap().len();
        if delivered == EVENTS || tokio::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Long enough for a second copy to arrive, if one were sent.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), EVENTS, "every event delivered");
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    drop(sandboxes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_sandbox_off_its_routes_are_gone() {
    let t = TestDb::sqlite().await;
    let app = Served::start(
        &t,
        Config {
            sandbox: SandboxMode::Off,
            ..Config::defaults()
        },
    )
    .await;
    for path in ["/sandbox/stripe/", "/sandbox/stripe/v1/account"] {
        let res = app.request(Method::GET, path, None).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let res = app
        .request(Method::POST, "/sandbox/stripe/_sandbox/reset", None)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // Connecting it says why it cannot.
    let (_, session) = owner(&t.db, "Acme", "alice@acme.test").await;
    let res = app
        .request(Method::POST, "/api/connect_stripe", Some(&session))
        .header("accept", "application/json")
        .form(&[("mode", "sandbox")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("switched off"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_test_controls_on_they_answer_anyone_but_deliver_only_to_loopback() {
    let t = TestDb::sqlite().await;
    let app = Served::start(
        &t,
        Config {
            sandbox_controls: true,
            ..Config::defaults()
        },
    )
    .await;
    let res = app
        .request(Method::POST, "/sandbox/stripe/_sandbox/accounts", None)
        .json(&json!({ "name": "Test" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let key = res.json::<Value>().await.unwrap()["secret_key"]
        .as_str()
        .unwrap()
        .to_string();
    let res = app
        .request(Method::POST, "/sandbox/stripe/_sandbox/clock", None)
        .json(&json!({ "advance_secs": 60 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    for (url, ok) in [
        ("http://10.0.0.1/hook", false),
        ("http://example.com/hook", false),
        ("http://127.0.0.1:9/hook", true),
        ("http://localhost:9/hook", true),
        ("http://[::1]:9/hook", true),
    ] {
        let res = app
            .http
            .post(format!("{}/sandbox/stripe/v1/webhook_endpoints", app.base))
            .bearer_auth(&key)
            .form(&[("url", url), ("enabled_events[]", "*")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().is_success(), ok, "{url}");
    }
}

async fn another_accounts_clocks_subscriptions_and_invoices_are_not_found(t: &TestDb) {
    let acme = Acme::start(t).await;
    let key = acme.key.clone();
    let (_, clock) = acme
        .api(
            Method::POST,
            "test_helpers/test_clocks",
            &key,
            &[("frozen_time", "1767225600")],
        )
        .await;
    let clock = clock["id"].as_str().unwrap().to_string();
    let (_, customer) = acme
        .api(
            Method::POST,
            "customers",
            &key,
            &[("email", "ann@acme.test"), ("test_clock", &clock)],
        )
        .await;
    let (_, price) = acme
        .api(
            Method::POST,
            "prices",
            &key,
            &[
                ("currency", "usd"),
                ("unit_amount", "4900"),
                ("product_data[name]", "Plan"),
                ("recurring[interval]", "month"),
            ],
        )
        .await;
    let (status, sub) = acme
        .api(
            Method::POST,
            "subscriptions",
            &key,
            &[
                ("customer", customer["id"].as_str().unwrap()),
                ("items[0][price]", price["id"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sub}");
    let sub_id = sub["id"].as_str().unwrap().to_string();
    let invoice = sub["latest_invoice"].as_str().unwrap().to_string();

    // Another Refloop account's own sandbox account, with its own key.
    let (status, other) = acme
        .control(
            "accounts",
            Some(&acme.stranger),
            json!({ "name": "Other's sandbox" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{other}");
    let other_key = other["secret_key"].as_str().unwrap().to_string();
    let advance = format!("test_helpers/test_clocks/{clock}/advance");
    for (method, path, form) in [
        (
            Method::GET,
            format!("test_helpers/test_clocks/{clock}"),
            vec![],
        ),
        (Method::POST, advance, vec![("frozen_time", "1769904000")]),
        (Method::GET, format!("subscriptions/{sub_id}"), vec![]),
        (
            Method::POST,
            format!("subscriptions/{sub_id}"),
            vec![("items[0][price]", price["id"].as_str().unwrap())],
        ),
        (Method::DELETE, format!("subscriptions/{sub_id}"), vec![]),
        (Method::GET, format!("invoices/{invoice}"), vec![]),
    ] {
        let (status, answer) = acme.api(method.clone(), &path, &other_key, &form).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {answer}");
        assert_eq!(answer["error"]["type"], "invalid_request_error", "{answer}");
        assert!(!answer.to_string().contains("ann@acme.test"), "{answer}");
    }
    // Nor may a customer of theirs join Acme's clock.
    let (status, answer) = acme
        .api(
            Method::POST,
            "customers",
            &other_key,
            &[("email", "olga@other.test"), ("test_clock", &clock)],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["error"]["param"], "test_clock", "{answer}");

    // Acme's own key still finds them all, untouched: the clock where it was, the
    // subscription active.
    let (status, found) = acme
        .api(
            Method::GET,
            &format!("test_helpers/test_clocks/{clock}"),
            &key,
            &[],
        )
        .await;
    assert_eq!(
        (status, found["frozen_time"].as_i64()),
        (StatusCode::OK, Some(1767225600))
    );
    let (status, found) = acme
        .api(Method::GET, &format!("subscriptions/{sub_id}"), &key, &[])
        .await;
    assert_eq!(
        (status, found["status"].as_str()),
        (StatusCode::OK, Some("active"))
    );
}
