//! Outbound webhooks over real HTTP: a receiver on a loopback port (the operator allows private
//! addresses for it) gets each event it subscribed to, signed as the Standard Webhooks
//! specification says — checked with its reference implementation (the `standardwebhooks`
//! crate) — tried again until delivered, the endpoint disabled after its whole schedule failed,
//! enabled and replayed; private addresses refused when the operator does not allow them.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{body::Bytes, extract::State, http::HeaderMap, routing::post, Router};
use refloop::{
    auth::Ctx,
    config::Config,
    db::webhooks,
    domain::{
        health::{CheckId, CheckState},
        webhooks::{DeliveryStatus, RETRY_DELAYS},
    },
    jobs::{Worker, WorkerConfig},
    rest::{keys, webhooks as endpoints},
};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::{
    accounts::owner,
    campaigns::live_campaign,
    support::{Served, TestDb},
};

crate::on_both_backends!(
    events_arrive_signed_and_a_failed_message_is_tried_again_with_its_id,
    an_endpoint_failing_its_whole_schedule_is_disabled_then_enabled_and_replayed,
    private_addresses_are_refused_unless_the_operator_allows_them,
);

/// What the receiver got: each request's headers and body.
pub(crate) type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A receiver on a free loopback port answering with the statuses queued in `answers` (200 once
/// they run out); its address and what it received.
pub(crate) async fn receiver(answers: Vec<u16>) -> (String, Received) {
    let got: Received = Arc::default();
    let answers = Arc::new(Mutex::new(VecDeque::from(answers)));
    let app = Router::new()
        .route(
            "/hooks",
            post(
                |State((got, answers)): State<(Received, Arc<Mutex<VecDeque<u16>>>)>,
                 headers: HeaderMap,
                 body: Bytes| async move {
                    got.lock().unwrap().push((headers, body));
                    let status = answers.lock().unwrap().pop_front().unwrap_or(200);
                    (
                        StatusCode::from_u16(status).unwrap(),
                        format!("answered {status}"),
                    )
                },
            ),
        )
        .with_state((got.clone(), answers));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

/// Refloop served with workers, private endpoints allowed as `allow_private`; Acme's owner, a
/// live campaign "spring" and a read-write API key.
async fn acme(
    t: &TestDb,
    allow_private: bool,
) -> (Served, Ctx, String, tokio::sync::watch::Sender<bool>) {
    let config = Config {
        webhooks_allow_private: allow_private,
        ..Config::defaults()
    };
    let s = Served::start(t, config).await;
    let (alice, _) = owner(&t.db, "Acme", "alice@acme.test").await;
    live_campaign(&t.db, &alice, "spring").await;
    let key = keys::create(&t.db, &alice, "Signup backend", "read_write", vec![])
        .await
        .unwrap()
        .secret;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let registry = refloop::server::job_registry(
        &s.state.config,
        s.state.stripe.clone(),
        s.state.mailer.clone(),
    );
    let worker = WorkerConfig {
        concurrency: 2,
        poll_ms: 20,
        retry_base_ms: 20,
        ..Default::default()
    };
    tokio::spawn(Worker::new(s.state.queue.clone(), registry, worker).run(stopped));
    (s, alice, key, stop)
}

async fn enrol(s: &Served, key: &str, email: &str) -> Value {
    let res = s
        .http
        .post(format!("{}/api/v1/participants", s.base))
        .bearer_auth(key)
        .json(&json!({ "campaign": "spring", "first_name": "Pat", "email": email }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

/// Polls (up to 10 s) until `done` holds for the receiver's requests.
pub(crate) async fn until(
    got: &Received,
    what: &str,
    done: impl Fn(&[(HeaderMap, Bytes)]) -> bool,
) {
    for _ in 0..500 {
        if done(&got.lock().unwrap()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("waited for {what}: received {}", got.lock().unwrap().len());
}

/// Makes the next attempts due now rather than in seconds, minutes or hours.
async fn due_now(t: &TestDb) {
    sqlx::query(
        "UPDATE jobs SET run_at_ms = 0 WHERE kind = 'webhooks.deliver' AND status = 'queued'",
    )
    .execute(t.db.pool())
    .await
    .unwrap();
}

/// Polls (up to 10 s) until the newest message is as `done` says.
async fn delivery_when(
    t: &TestDb,
    alice: &Ctx,
    done: impl Fn(&webhooks::DeliveryRow) -> bool,
) -> webhooks::DeliveryRow {
    for _ in 0..500 {
        let d = the_delivery(t, alice).await;
        if done(&d) {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    the_delivery(t, alice).await
}

async fn the_delivery(t: &TestDb, alice: &Ctx) -> webhooks::DeliveryRow {
    let id: String =
        sqlx::query_scalar("SELECT id FROM webhook_deliveries ORDER BY created_at DESC, id DESC")
            .fetch_one(t.db.pool())
            .await
            .unwrap();
    webhooks::delivery(t.db.pool(), &alice.account_id, &id)
        .await
        .unwrap()
        .unwrap()
}

async fn events_arrive_signed_and_a_failed_message_is_tried_again_with_its_id(t: &TestDb) {
    let (s, alice, key, stop) = acme(t, true).await;
    let (url, got) = receiver(vec![500]).await;
    let events = vec![
        "participant.joined".to_string(),
        "reward.issued".to_string(),
    ];
    let made = endpoints::create(&t.db, &s.state.stripe.sealer, true, &alice, &url, &events)
        .await
        .unwrap();
    assert!(made.secret.starts_with("whsec_"), "{}", made.secret);
    // The secret is kept sealed, never as given.
    let stored: String = sqlx::query_scalar("SELECT sealed_secret FROM webhook_endpoints")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    assert!(!stored.contains(&made.secret[6..]));

    let ann = enrol(&s, &key, "ann@example.com").await;
    until(&got, "the first attempt", |r| r.len() == 1).await;
    // The worker records the answer once the receiver has given it.
    let first = delivery_when(t, &alice, |d| d.attempts == 1).await;
    assert_eq!(
        (first.status, first.attempts, first.response_status),
        (DeliveryStatus::Pending, 1, Some(500))
    );
    assert_eq!(first.response_body, "answered 500");
    let wait = first.next_attempt_at.unwrap() - first.last_attempt_at.unwrap();
    assert_eq!(wait, RETRY_DELAYS[0]);

    due_now(t).await;
    until(&got, "the second attempt", |r| r.len() == 2).await;
    let requests = got.lock().unwrap().clone();
    let verifier = standardwebhooks::Webhook::new(&made.secret).unwrap();
    for (headers, body) in &requests {
        verifier
            .verify(body, headers)
            .expect("signed as Standard Webhooks say");
        assert_eq!(headers["content-type"], "application/json");
    }
    // Both attempts carry one id, so the receiver can tell a retry from a new message.
    assert_eq!(requests[0].0["webhook-id"], requests[1].0["webhook-id"]);
    assert_eq!(requests[0].0["webhook-id"].to_str().unwrap(), first.id);
    let message: Value = serde_json::from_slice(&requests[1].1).unwrap();
    assert_eq!(message["type"], "participant.joined");
    assert_eq!(message["data"]["participant"]["id"], ann["id"]);
    assert_eq!(message["data"]["participant"]["email"], "ann@example.com");
    assert!(
        message["timestamp"].as_str().unwrap().ends_with('Z'),
        "{message}"
    );
    // A body changed on the way fails the check.
    let mut tampered = requests[1].1.to_vec();
    tampered[2] ^= 1;
    assert!(verifier.verify(&tampered, &requests[1].0).is_err());

    delivery_when(t, &alice, |d| d.status == DeliveryStatus::Delivered).await;
    let delivered = the_delivery(t, &alice).await;
    assert_eq!(
        (
            delivered.status,
            delivered.attempts,
            delivered.response_status
        ),
        (DeliveryStatus::Delivered, 2, Some(200))
    );
    let listed = endpoints::list(&t.db, &alice).await.unwrap();
    assert_eq!(listed[0].deliveries[0].status, DeliveryStatus::Delivered);

    // Another account sees none of it and cannot replay it.
    let (olga, _) = owner(&t.db, "Other", "olga@other.test").await;
    assert!(endpoints::list(&t.db, &olga).await.unwrap().is_empty());
    assert!(endpoints::replay(&t.db, &olga, &delivered.id)
        .await
        .is_err());
    assert!(endpoints::delete(&t.db, &olga, &listed[0].id)
        .await
        .is_err());
    stop.send(true).unwrap();
}

async fn an_endpoint_failing_its_whole_schedule_is_disabled_then_enabled_and_replayed(t: &TestDb) {
    let (s, alice, key, stop) = acme(t, true).await;
    let attempts = RETRY_DELAYS.len() + 1;
    let (url, got) = receiver(vec![503; attempts]).await;
    let events = vec!["participant.joined".to_string()];
    let endpoint = endpoints::create(&t.db, &s.state.stripe.sealer, true, &alice, &url, &events)
        .await
        .unwrap()
        .endpoint;
    enrol(&s, &key, "ann@example.com").await;
    for n in 1..=attempts {
        until(&got, &format!("attempt {n}"), |r| r.len() == n).await;
        // Each wait follows the schedule before the next attempt is made due.
        let d = delivery_when(t, &alice, |d| d.attempts == n as i64).await;
        assert_eq!(d.attempts, n as i64);
        if let Some(delay) = RETRY_DELAYS.get(n - 1) {
            assert_eq!(
                d.next_attempt_at.unwrap() - d.last_attempt_at.unwrap(),
                *delay
            );
        }
        due_now(t).await;
    }
    let mut listed = endpoints::list(&t.db, &alice).await.unwrap();
    for _ in 0..500 {
        if !listed[0].enabled {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        listed = endpoints::list(&t.db, &alice).await.unwrap();
    }
    let failed = the_delivery(t, &alice).await;
    assert_eq!(
        (failed.status, failed.attempts),
        (DeliveryStatus::Failed, attempts as i64)
    );
    assert!(!listed[0].enabled);
    let reason = listed[0].disabled_reason.clone().unwrap();
    assert!(
        reason.contains("HTTP 503") && reason.contains(&failed.id),
        "{reason}"
    );
    // The integration health check says so, with the reason.
    let health = refloop::health::run(
        &t.db,
        &s.state.stripe,
        &s.state.mailer,
        &alice,
        refloop::health::Depth::Quick,
    )
    .await
    .unwrap();
    let check = health.check(CheckId::OutboundWebhooks).unwrap();
    assert_eq!(check.state, CheckState::Fail);
    assert!(
        check.evidence[0].contains(&url) && check.evidence[0].contains("HTTP 503"),
        "{check:?}"
    );

    // Disabled, it is sent nothing new, and a replay waits for it to be enabled.
    enrol(&s, &key, "bob@example.com").await;
    let messages: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    assert_eq!(messages, 1);
    assert!(endpoints::replay(&t.db, &alice, &failed.id).await.is_err());
    endpoints::enable(&t.db, &alice, &endpoint.id)
        .await
        .unwrap();
    endpoints::replay(&t.db, &alice, &failed.id).await.unwrap();
    until(&got, "the replay", |r| r.len() == attempts + 1).await;
    let requests = got.lock().unwrap().clone();
    assert_eq!(
        requests[attempts].0["webhook-id"].to_str().unwrap(),
        failed.id
    );
    delivery_when(t, &alice, |d| d.status == DeliveryStatus::Delivered).await;
    assert_eq!(
        the_delivery(t, &alice).await.status,
        DeliveryStatus::Delivered
    );
    assert!(endpoints::list(&t.db, &alice).await.unwrap()[0].enabled);
    let health = refloop::health::run(
        &t.db,
        &s.state.stripe,
        &s.state.mailer,
        &alice,
        refloop::health::Depth::Quick,
    )
    .await
    .unwrap();
    assert_eq!(
        health.check(CheckId::OutboundWebhooks).unwrap().state,
        CheckState::Pass
    );
    stop.send(true).unwrap();
}

async fn private_addresses_are_refused_unless_the_operator_allows_them(t: &TestDb) {
    let (s, alice, key, stop) = acme(t, false).await;
    let events = vec!["participant.joined".to_string()];
    for url in [
        "http://127.0.0.1:9/hooks",
        "http://localhost/hooks",
        "http://[::1]/hooks",
        "http://169.254.169.254/latest",
        "http://10.0.0.8/x",
    ] {
        let e = endpoints::create(&t.db, &s.state.stripe.sealer, false, &alice, url, &events)
            .await
            .unwrap_err();
        let text = e.to_string();
        assert!(text.contains("private address"), "{url}: {text}");
    }
    let e = endpoints::create(
        &t.db,
        &s.state.stripe.sealer,
        false,
        &alice,
        "ftp://example.com/x",
        &events,
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("https://"), "{e}");

    // An endpoint made where they were allowed is still never sent to by a server that does
    // not allow them: at the address written, or at what its name resolves to.
    let (url, got) = receiver(vec![]).await;
    let by_name = url.replace("127.0.0.1", "localhost");
    for u in [&url, &by_name] {
        endpoints::create(&t.db, &s.state.stripe.sealer, true, &alice, u, &events)
            .await
            .unwrap();
    }
    enrol(&s, &key, "ann@example.com").await;
    for _ in 0..500 {
        let tried: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE attempts > 0")
                .fetch_one(t.db.pool())
                .await
                .unwrap();
        if tried == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let said: Vec<String> =
        sqlx::query_scalar("SELECT response_body FROM webhook_deliveries ORDER BY response_body")
            .fetch_all(t.db.pool())
            .await
            .unwrap();
    assert_eq!(said.len(), 2);
    assert!(
        said.iter()
            .any(|b| b.contains("Not sent: 127.0.0.1 is a private address")),
        "{said:?}"
    );
    assert!(
        said.iter()
            .any(|b| b.contains("localhost resolves only to private addresses")),
        "{said:?}"
    );
    assert!(got.lock().unwrap().is_empty());
    stop.send(true).unwrap();
}
