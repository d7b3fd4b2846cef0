//! Payments, refunds, disputes, rewards and signed webhook deliveries in the sandbox, through
//! the client over real HTTP.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{body::Bytes, http::HeaderMap, routing::post, Router};
use futures::TryStreamExt;
use refloop::stripe::{
    signature,
    types::{CustomerParams, ListFilter},
    StripeClient, StripeError,
};
use serde_json::{json, Value};

use crate::{stripe_client::SandboxServer, support::TestDb};

async fn customer(client: &StripeClient, email: &str) -> String {
    client
        .create_customer(
            &CustomerParams {
                email: Some(email.into()),
                ..Default::default()
            },
            &format!("cus-{email}"),
        )
        .await
        .unwrap()
        .id
}

crate::on_both_backends!(payments_refunds_and_disputes_change_charges_and_emit_events);

async fn payments_refunds_and_disputes_change_charges_and_emit_events(t: &TestDb) {
    let sb = SandboxServer::start(t).await;
    sb.control("settings", json!({"rate_limit": null})).await;
    let (account, client) = sb.account().await;
    let jane = customer(&client, "jane@example.com").await;

    let paid = client
        .pay(&jane, 2000, "usd", "pm_card_visa", "pay-1")
        .await
        .unwrap();
    assert_eq!(paid.status, "succeeded");
    let charge = client
        .retrieve_charge(paid.latest_charge.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(
        (charge.amount_captured, charge.status.as_str()),
        (2000, "succeeded")
    );
    assert_eq!(
        charge.billing_details.unwrap().email.as_deref(),
        Some("jane@example.com")
    );

    let err = client
        .pay(&jane, 500, "usd", "pm_card_chargeDeclined", "pay-2")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StripeError::Card { code: Some(c), .. } if c == "card_declined"),
        "{err:?}"
    );

    // ISK is two-decimal in the API, but Stripe charges whole krónur only.
    let err = client
        .pay(&jane, 1050, "isk", "pm_card_visa", "pay-isk-1")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StripeError::InvalidRequest { param: Some(p), message } if p == "amount" && message.contains("evenly divisible by 100")),
        "{err:?}"
    );
    let whole = client
        .pay(&jane, 1000, "isk", "pm_card_visa", "pay-isk-2")
        .await
        .unwrap();
    assert_eq!(whole.status, "succeeded");

    // A payment in the past, as the merchant's side of the story.
    let earlier = sb.control("payment", json!({"account": account, "customer": jane, "amount": 1500, "currency": "usd", "created": 1_700_000_000})).await;
    assert_eq!(earlier["created"], 1_700_000_000);
    let charges: Vec<_> = client
        .list_charges(&jane, ListFilter::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        charges.len(),
        4,
        "succeeded, declined, whole krónur, simulated"
    );

    // Partial refunds add up; `refunded` turns true only at the full amount.
    client
        .refund(&charge.id, Some(500), "refund-1")
        .await
        .unwrap();
    let after = client.retrieve_charge(&charge.id).await.unwrap();
    assert_eq!((after.amount_refunded, after.refunded), (500, false));
    client.refund(&charge.id, None, "refund-2").await.unwrap();
    let after = client.retrieve_charge(&charge.id).await.unwrap();
    assert_eq!((after.amount_refunded, after.refunded), (2000, true));
    let err = client
        .refund(&charge.id, Some(1), "refund-3")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already been refunded"), "{err}");

    let dispute = sb
        .control(
            "dispute",
            json!({"account": account, "charge": earlier["id"]}),
        )
        .await;
    sb.control(
        "close_dispute",
        json!({"account": account, "dispute": dispute["id"], "won": true}),
    )
    .await;
    let kinds: Vec<String> = client
        .list_events(ListFilter::default())
        .map_ok(|e| e.kind)
        .try_collect()
        .await
        .unwrap();
    for expected in [
        "charge.succeeded",
        "charge.failed",
        "payment_intent.payment_failed",
        "charge.refunded",
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.funds_reinstated",
        "charge.dispute.closed",
    ] {
        assert!(
            kinds.iter().any(|k| k == expected),
            "{expected} missing from {kinds:?}"
        );
    }
    let refunds: Vec<_> = client
        .list_events(ListFilter {
            types: vec!["charge.refunded".into()],
            ..Default::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert_eq!(refunds.len(), 2);
    assert_eq!(refunds[0].data.object["amount_refunded"], 2000);
    assert_eq!(
        refunds[0].data.previous_attributes.as_ref().unwrap()["amount_refunded"],
        500
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_settle_in_usd_at_the_sandbox_s_exchange_rates() {
    let t = TestDb::sqlite().await;
    let sb = SandboxServer::start(&t).await;
    let (_, client) = sb.account().await;
    let jane = customer(&client, "jane@example.com").await;
    let settled = |key: &'static str, amount: i64, currency: &'static str| {
        let client = client.clone();
        let jane = jane.clone();
        async move {
            let paid = client
                .pay(&jane, amount, currency, "pm_card_visa", key)
                .await
                .unwrap();
            let charge = client
                .retrieve_charge(paid.latest_charge.as_deref().unwrap())
                .await
                .unwrap();
            let txn = client
                .retrieve_balance_transaction(charge.balance_transaction.as_deref().unwrap())
                .await
                .unwrap();
            assert_eq!(txn.source.as_deref(), Some(charge.id.as_str()));
            assert_eq!(
                (txn.kind.as_str(), txn.fee, txn.net),
                ("charge", 0, txn.amount)
            );
            (charge.id, txn.amount, txn.currency, txn.exchange_rate)
        }
    };

    // USD stays as it is; 45.00 EUR is 48.60 USD at the sandbox's 1.08; 1000 JPY (no
    // decimals) is 6.70 USD at 0.0067 a yen.
    let (_, amount, currency, rate) = settled("usd", 2000, "usd").await;
    assert_eq!((amount, currency.as_str(), rate), (2000, "usd", None));
    let (eur, amount, currency, rate) = settled("eur", 4500, "eur").await;
    assert_eq!((amount, currency.as_str(), rate), (4860, "usd", Some(1.08)));
    let (_, amount, _, rate) = settled("jpy", 1000, "jpy").await;
    assert_eq!((amount, rate), (670, Some(0.0067)));

    // A refund goes back at its charge's rate, even after the rate moved.
    let rates = sb
        .control("settings", json!({"exchange_rates": {"EUR": 1.1}}))
        .await;
    assert_eq!(rates["exchange_rates"]["eur"], 1.1);
    let refund = client.refund(&eur, Some(2250), "refund-eur").await.unwrap();
    let back = client
        .retrieve_balance_transaction(refund.balance_transaction.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(
        (back.kind.as_str(), back.amount, back.exchange_rate),
        ("refund", -2430, Some(1.08))
    );
    let (_, amount, _, rate) = settled("eur-later", 4500, "eur").await;
    assert_eq!((amount, rate), (4950, Some(1.1)));

    // Another account's balance transaction is not found; a rate must be a positive number
    // for a currency Stripe supports.
    let (_, other) = sb.account().await;
    let err = other
        .retrieve_balance_transaction(back.id.as_str())
        .await
        .unwrap_err();
    assert!(matches!(err, StripeError::NotFound { .. }), "{err:?}");
    for bad in [
        json!({"xyz": 1.0}),
        json!({"eur": 0.0}),
        json!({"eur": -1.0}),
    ] {
        let res = reqwest::Client::new()
            .post(format!("{}/_sandbox/settings", sb.base))
            .json(&json!({ "exchange_rates": bad }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{bad}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credits_coupons_and_promotion_codes() {
    let t = TestDb::sqlite().await;
    let sb = SandboxServer::start(&t).await;
    let (_, client) = sb.account().await;
    let jane = customer(&client, "jane@example.com").await;

    let txn = client
        .create_balance_transaction(&jane, -1000, "usd", "Referral reward", "credit-1")
        .await
        .unwrap();
    assert_eq!(txn.ending_balance, -1000);
    assert!(txn.id.starts_with("cbtxn_"));
    let again = client
        .create_balance_transaction(&jane, -1000, "usd", "Referral reward", "credit-1")
        .await
        .unwrap();
    assert_eq!(again.id, txn.id, "the same idempotency key credits once");
    assert_eq!(
        client.retrieve_customer(&jane).await.unwrap().balance,
        -1000
    );
    let err = client
        .create_balance_transaction(&jane, -100, "eur", "x", "credit-eur")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StripeError::InvalidRequest { param: Some(p), .. } if p == "currency"),
        "{err:?}"
    );

    let coupon = client.create_coupon(&json!({"amount_off": "1000", "currency": "usd", "duration": "once", "name": "Friend reward"}), "coupon-1").await.unwrap();
    assert_eq!(coupon.amount_off, Some(1000));
    let err = client
        .create_coupon(&json!({"duration": "once"}), "coupon-bad")
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("exactly one of percent_off or amount_off"),
        "{err}"
    );
    let promo = client
        .create_promotion_code(&coupon.id, Some("JANE-THANKS"), Some(&jane), "promo-1")
        .await
        .unwrap();
    assert_eq!(
        (promo.code.as_str(), promo.customer.as_deref()),
        ("JANE-THANKS", Some(jane.as_str()))
    );
    assert_eq!(
        client.list_promotion_codes(&jane).await.unwrap(),
        vec![promo]
    );
    let err = client
        .create_promotion_code(&coupon.id, Some("JANE-THANKS"), None, "promo-2")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
}

/// A webhook receiver on loopback that records what arrives, and can fail the first tries.
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
}

async fn receiver(fail_first: usize) -> Receiver {
    let received: Arc<Mutex<Vec<(HeaderMap, Bytes)>>> = Arc::default();
    let failures = Arc::new(Mutex::new(fail_first));
    let app = Router::new().route(
        "/hook",
        post({
            let received = received.clone();
            move |headers: HeaderMap, body: Bytes| {
                let received = received.clone();
                let failures = failures.clone();
                async move {
                    let mut left = failures.lock().unwrap();
                    if *left > 0 {
                        *left -= 1;
                        return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                    }
                    received.lock().unwrap().push((headers, body));
                    axum::http::StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver { url, received }
}

async fn wait_for(received: &Arc<Mutex<Vec<(HeaderMap, Bytes)>>>, n: usize) -> Vec<Value> {
    for _ in 0..200 {
        if received.lock().unwrap().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    received
        .lock()
        .unwrap()
        .iter()
        .map(|(_, b)| serde_json::from_slice(b).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_delivered_signed_and_retried() {
    let t = TestDb::sqlite().await;
    let sb = SandboxServer::start(&t).await;
    sb.control("settings", json!({"webhook_retry_base_ms": 50}))
        .await;
    let (account, client) = sb.account().await;
    let hook = receiver(2).await;
    let endpoint = client
        .create_webhook_endpoint(
            &hook.url,
            &["customer.created", "charge.succeeded"],
            &[("refloop", "connection-1")],
            "we-1",
        )
        .await
        .unwrap();
    let secret = endpoint
        .secret
        .clone()
        .expect("the secret is shown once, at creation");
    assert!(secret.starts_with("whsec_"));
    assert_eq!(
        client
            .retrieve_webhook_endpoint(&endpoint.id)
            .await
            .unwrap()
            .secret,
        None
    );
    assert_eq!(
        client.list_webhook_endpoints().await.unwrap()[0].metadata["refloop"],
        "connection-1"
    );

    let jane = customer(&client, "jane@example.com").await;
    client
        .update_customer(
            &jane,
            &CustomerParams {
                name: Some("Jane".into()),
                ..Default::default()
            },
            "upd",
        )
        .await
        .unwrap();
    let events = wait_for(&hook.received, 1).await;
    assert_eq!(events.len(), 1, "customer.updated is not subscribed");
    assert_eq!(events[0]["type"], "customer.created");
    let (headers, body) = hook.received.lock().unwrap()[0].clone();
    let header = headers["stripe-signature"].to_str().unwrap();
    assert!(signature::verify(header, &body, &secret, refloop::db::unix_now()).is_ok());
    assert!(signature::verify(header, &body, "whsec_other", refloop::db::unix_now()).is_err());

    let log = sb.control("deliveries", json!({"account": account})).await;
    let first = &log["data"][0];
    assert_eq!(
        (first["status"].as_str(), first["attempts"].as_i64()),
        (Some("delivered"), Some(3)),
        "{log}"
    );

    // Disabled endpoints receive nothing; deleted ones are gone.
    client
        .update_webhook_endpoint(&endpoint.id, None, Some(true), "disable")
        .await
        .unwrap();
    sb.control(
        "payment",
        json!({"account": account, "customer": jane, "amount": 100}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(hook.received.lock().unwrap().len(), 1);
    assert!(
        client
            .delete_webhook_endpoint(&endpoint.id)
            .await
            .unwrap()
            .deleted
    );
    assert!(client.list_webhook_endpoints().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_faults_drop_duplicate_and_reorder_and_the_events_api_shows_what_was_missed() {
    let t = TestDb::sqlite().await;
    let sb = SandboxServer::start(&t).await;
    sb.control("settings", json!({"rate_limit": null})).await;
    let (_, client) = sb.account().await;
    let hook = receiver(0).await;
    client
        .create_webhook_endpoint(&hook.url, &["*"], &[], "we")
        .await
        .unwrap();

    sb.control("settings", json!({"webhook_duplicate_rate": 1.0}))
        .await;
    customer(&client, "dup@example.com").await;
    let got = wait_for(&hook.received, 2).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["id"], got[1]["id"], "the same event twice");

    sb.control(
        "settings",
        json!({"webhook_duplicate_rate": 0.0, "webhook_drop_rate": 1.0}),
    )
    .await;
    let dropped = customer(&client, "dropped@example.com").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        hook.received.lock().unwrap().len(),
        2,
        "nothing more arrived"
    );
    let missed: Vec<_> = client
        .list_events(ListFilter {
            undelivered: true,
            ..Default::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        missed.len(),
        1,
        "the Events API lists what was not delivered"
    );
    assert_eq!(missed[0].data.object["id"], json!(dropped));

    sb.control(
        "settings",
        json!({"webhook_drop_rate": 0.0, "webhook_reorder_ms": 300}),
    )
    .await;
    for i in 0..6 {
        customer(&client, &format!("order{i}@example.com")).await;
    }
    let got = wait_for(&hook.received, 8).await;
    assert_eq!(got.len(), 8);
    let created: Vec<i64> = got[2..]
        .iter()
        .map(|e| {
            e["data"]["object"]["email"].as_str().unwrap()[5..6]
                .parse()
                .unwrap()
        })
        .collect();
    let mut sorted = created.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        vec![0, 1, 2, 3, 4, 5],
        "every event arrives once, in whatever order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_customers_and_simulates_payments_and_refunds() {
    let t = TestDb::sqlite().await;
    let sb = SandboxServer::start(&t).await;
    let (account, client) = sb.account().await;
    let mut p = CustomerParams {
        email: Some("jane@example.com".into()),
        ..Default::default()
    };
    p.metadata.insert(
        "referral_link".into(),
        "https://refloop.test/r/JANE1".into(),
    );
    let jane = client.create_customer(&p, "jane").await.unwrap().id;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let page = http
        .get(format!("{}/?account={account}", sb.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("jane@example.com")
            && page.contains("referral_link")
            && page.contains("https://refloop.test/r/JANE1"),
        "{page}"
    );

    let res = http
        .post(format!("{}/dashboard/payment", sb.base))
        .form(&[
            ("account", account.as_str()),
            ("customer", jane.as_str()),
            ("amount", "20.50"),
            ("currency", "usd"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.contains("Payment+of+20.50+USD")
            || location.contains("Payment%20of%2020.50%20USD"),
        "{location}"
    );
    let charges: Vec<_> = client
        .list_charges(&jane, ListFilter::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(charges[0].amount_captured, 2050);

    let res = http
        .post(format!("{}/dashboard/refund", sb.base))
        .form(&[
            ("account", account.as_str()),
            ("charge", charges[0].id.as_str()),
            ("amount", "5"),
            ("currency", "usd"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        client
            .retrieve_charge(&charges[0].id)
            .await
            .unwrap()
            .amount_refunded,
        500
    );

    let res = http
        .post(format!("{}/dashboard/payment", sb.base))
        .form(&[
            ("account", account.as_str()),
            ("customer", jane.as_str()),
            ("amount", "-3"),
            ("currency", "usd"),
        ])
        .send()
        .await
        .unwrap();
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .contains("greater%20than%20zero"));
}
