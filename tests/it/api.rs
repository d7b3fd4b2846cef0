//! The developer API over real HTTP: keys (shown once, kept hashed, scoped, revocable, their
//! last use), enrolling with the public join's rules, look-ups, cursor pagination, typed
//! errors, idempotent POSTs, another account's data out of reach, and the rate limit.

use std::time::Duration;

use refloop::{
    campaigns::{qualification, rewards as reward_rules},
    config::Config,
    db::participants,
    domain::{
        integrations::StripeMode,
        rewards::{RewardForm, RewardRuleForm},
    },
    integrations,
    jobs::{Worker, WorkerConfig},
    rest::{
        auth::REQUESTS_PER_MINUTE,
        keys,
        widget::{token_for, WidgetHolder, TOKEN_SECONDS},
    },
    stripe::types::CustomerParams,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::{
    accounts::owner,
    campaigns::live_campaign,
    outbound_webhooks::{receiver, until},
    qualification::target_50_in_30_days,
    support::{Served, TestDb},
};

crate::on_both_backends!(
    a_key_is_shown_once_kept_hashed_and_stops_working_when_revoked,
    enrolling_follows_the_join_rules_and_answers_refusals_with_their_code,
    a_retried_post_with_its_idempotency_key_enrols_once,
    lists_page_by_cursor_and_filter_by_email_and_code,
    a_key_reaches_only_its_account_its_campaigns_and_its_scope,
    details_change_as_the_form_allows_and_only_people_without_history_are_removed,
    an_attributed_customer_s_payments_qualify_the_friend_and_the_reward_is_fulfilled,
    a_widget_token_shows_one_person_to_any_origin_for_an_hour,
);

/// `method path` with `key` (and a JSON body); the status and the JSON answer.
async fn call(
    s: &Served,
    key: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
    idempotency: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = s
        .http
        .request(method, format!("{}{path}", s.base))
        .header("authorization", format!("Bearer {key}"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    if let Some(k) = idempotency {
        req = req.header("idempotency-key", k);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn get(s: &Served, key: &str, path: &str) -> (StatusCode, Value) {
    call(s, key, Method::GET, path, None, None).await
}

async fn post(s: &Served, key: &str, body: Value) -> (StatusCode, Value) {
    call(
        s,
        key,
        Method::POST,
        "/api/v1/participants",
        Some(body),
        None,
    )
    .await
}

/// Acme with a live campaign "spring" and a read-write key; the key.
async fn acme(t: &TestDb) -> (Served, refloop::auth::Ctx, String, String) {
    // Private webhook endpoints allowed: the test's receiver is on a loopback port.
    let config = Config {
        webhooks_allow_private: true,
        ..Config::defaults()
    };
    let s = Served::start(t, config).await;
    let (alice, _) = owner(&t.db, "Acme", "alice@acme.test").await;
    let campaign = live_campaign(&t.db, &alice, "spring").await;
    let key = keys::create(&t.db, &alice, "Signup backend", "read_write", vec![])
        .await
        .unwrap()
        .secret;
    (s, alice, campaign, key)
}

async fn a_key_is_shown_once_kept_hashed_and_stops_working_when_revoked(t: &TestDb) {
    let (s, alice, _, key) = acme(t).await;
    assert!(key.starts_with("rfk_") && key.len() > 40, "{key}");
    // Only its hash and first characters are kept.
    let stored: Vec<(String, String)> = sqlx::query_as("SELECT prefix, secret_hash FROM api_keys")
        .fetch_all(t.db.pool())
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].0, format!("{}…", &key[..12]));
    assert!(!stored[0].1.contains(&key[4..]));
    let listed = keys::list(&t.db, &alice).await.unwrap();
    assert_eq!(
        (listed[0].name.as_str(), listed[0].last_used_at),
        ("Signup backend", None)
    );

    let (status, page) = get(&s, &key, "/api/v1/participants").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["object"], "list");
    assert!(keys::list(&t.db, &alice).await.unwrap()[0]
        .last_used_at
        .is_some());

    // No key, a malformed header, a wrong key: 401 with the envelope.
    let res = s
        .http
        .get(format!("{}/api/v1/participants", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["type"], "authentication_error");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Authorization: Bearer rfk_"));
    let (status, body) = get(&s, "rfk_not-a-key", "/api/v1/participants").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body["error"]["message"],
        "This API key is wrong or has been revoked."
    );

    keys::revoke(&t.db, &alice, &listed[0].id).await.unwrap();
    let (status, _) = get(&s, &key, "/api/v1/participants").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(keys::list(&t.db, &alice).await.unwrap()[0]
        .revoked_at
        .is_some());
    // An unknown route answers in the API's own shape.
    let (status, body) = get(&s, &key, "/api/v1/nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["type"], "invalid_request_error");
}

async fn enrolling_follows_the_join_rules_and_answers_refusals_with_their_code(t: &TestDb) {
    let (s, _, campaign, key) = acme(t).await;
    let (status, ann) = post(
        &s,
        &key,
        json!({ "campaign": "spring", "email": " Ann@Example.com ", "first_name": "Ann" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{ann}");
    assert_eq!(ann["object"], "participant");
    assert_eq!(ann["email"], "ann@example.com");
    assert_eq!(ann["campaign"], json!({ "id": campaign, "slug": "spring" }));
    let code = ann["referral_code"].as_str().unwrap();
    assert!(ann["referral_link"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/r/{code}")));
    assert!(ann["personal_page"].as_str().unwrap().contains("/p/"));

    // A friend by the referrer's email, another by the code.
    let (status, bob) = post(
        &s,
        &key,
        json!({ "campaign": campaign, "first_name": "Pat", "email": "bob@example.org", "referrer_email": "ann@example.com" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{bob}");
    assert_eq!(bob["referred_by"], ann["id"]);
    assert_eq!(bob["qualification"], "pending");
    let (_, carl) = post(
        &s,
        &key,
        json!({ "campaign": "spring", "first_name": "Pat", "email": "carl@example.org", "referral_code": code }),
    )
    .await;
    assert_eq!(carl["referred_by"], ann["id"]);
    let (_, ann_now) = get(
        &s,
        &key,
        &format!("/api/v1/participants/{}", ann["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(ann_now["referrals"], 2);

    // The join's refusals, typed with their code.
    for (body, code_expected) in [
        (
            json!({ "campaign": "spring", "first_name": "Pat", "email": "ann@example.com" }),
            "already_joined",
        ),
        (
            json!({ "campaign": "spring", "first_name": "Pat", "email": "ann@example.com", "referral_code": code }),
            "self_referral",
        ),
    ] {
        let (status, e) = post(&s, &key, body).await;
        assert_eq!(status, StatusCode::CONFLICT, "{e}");
        assert_eq!(e["error"]["type"], "join_refused");
        assert_eq!(e["error"]["code"], code_expected);
    }
    // Wrong input names its field.
    for (body, field) in [
        // The campaign's form asks for a first name.
        (
            json!({ "campaign": "spring", "email": "dan@example.org" }),
            "first_name",
        ),
        (
            json!({ "campaign": "spring", "first_name": "Pat", "email": "not an email" }),
            "email",
        ),
        (
            json!({ "campaign": "autumn", "first_name": "Pat", "email": "dan@example.org" }),
            "campaign",
        ),
        (
            json!({ "campaign": "spring", "first_name": "Pat", "email": "dan@example.org", "referral_code": "NOPE" }),
            "referral_code",
        ),
        (
            json!({ "campaign": "spring", "first_name": "Pat", "email": "dan@example.org", "referrer_email": "who@example.org" }),
            "referrer_email",
        ),
    ] {
        let (status, e) = post(&s, &key, body.clone()).await;
        assert!(status.is_client_error(), "{body}: {status} {e}");
        assert_eq!(e["error"]["field"], field, "{body}: {e}");
        assert!(!e["error"]["message"].as_str().unwrap().is_empty());
    }
    let (status, e) = post(
        &s,
        &key,
        json!({ "first_name": "Pat", "email": "dan@example.org" }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        e["error"]["message"].as_str().unwrap().contains("campaign"),
        "{e}"
    );
    assert!(
        participants::by_email(t.db.pool(), &campaign, "dan@example.org")
            .await
            .unwrap()
            .is_none()
    );
}

async fn a_retried_post_with_its_idempotency_key_enrols_once(t: &TestDb) {
    let (s, _, campaign, key) = acme(t).await;
    let body = json!({ "campaign": "spring", "first_name": "Pat", "email": "ann@example.com" });
    let send = |b: Value, k: &'static str| {
        let (s, key) = (&s, &key);
        async move {
            call(
                s,
                key,
                Method::POST,
                "/api/v1/participants",
                Some(b),
                Some(k),
            )
            .await
        }
    };
    let (first_status, first) = send(body.clone(), "enrol-ann-1").await;
    assert_eq!(first_status, StatusCode::CREATED);
    let (again_status, again) = send(body.clone(), "enrol-ann-1").await;
    assert_eq!((again_status, &again), (StatusCode::CREATED, &first));
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM participants WHERE campaign_id = $1")
        .bind(&campaign)
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    assert_eq!(count, 1);
    // The same key with another body is refused; a new key is a new request.
    let (status, e) = send(
        json!({ "campaign": "spring", "first_name": "Pat", "email": "bob@example.org" }),
        "enrol-ann-1",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["error"]["type"], "idempotency_error");
    let (status, e) = send(body, "enrol-ann-2").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(e["error"]["code"], "already_joined");
}

async fn lists_page_by_cursor_and_filter_by_email_and_code(t: &TestDb) {
    let (s, _, _, key) = acme(t).await;
    for n in 0..7 {
        let (status, _) = post(
            &s,
            &key,
            json!({ "campaign": "spring", "first_name": "Pat", "email": format!("p{n}@example.com") }),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/participants?limit=3".to_string();
    loop {
        let (status, page) = get(&s, &key, &path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let data = page["data"].as_array().unwrap();
        assert!(data.len() <= 3);
        seen.extend(
            data.iter()
                .map(|p| p["email"].as_str().unwrap().to_string()),
        );
        if page["has_more"] == false {
            break;
        }
        let last = data.last().unwrap()["id"].as_str().unwrap();
        path = format!("/api/v1/participants?limit=3&starting_after={last}");
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen.len(), 7, "every participant once: {seen:?}");
    assert_eq!(sorted.len(), 7);

    let (_, one) = get(&s, &key, "/api/v1/participants?email=P3@example.com").await;
    assert_eq!(one["data"].as_array().unwrap().len(), 1);
    let code = one["data"][0]["referral_code"].as_str().unwrap();
    let (_, by_code) = get(
        &s,
        &key,
        &format!("/api/v1/participants?referral_code={code}"),
    )
    .await;
    assert_eq!(by_code["data"][0]["email"], "p3@example.com");

    for (path, field) in [
        ("/api/v1/participants?limit=0", "limit"),
        ("/api/v1/participants?limit=101", "limit"),
        (
            "/api/v1/participants?starting_after=pt_nobody",
            "starting_after",
        ),
    ] {
        let (status, e) = get(&s, &key, path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(e["error"]["field"], field, "{path}");
    }
    let (status, e) = get(&s, &key, "/api/v1/participants?colour=red").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        e["error"]["message"].as_str().unwrap().contains("colour"),
        "{e}"
    );
}

async fn a_key_reaches_only_its_account_its_campaigns_and_its_scope(t: &TestDb) {
    let (s, alice, spring, key) = acme(t).await;
    let (_, ann) = post(
        &s,
        &key,
        json!({ "campaign": "spring", "first_name": "Pat", "email": "ann@example.com" }),
    )
    .await;
    let ann_id = ann["id"].as_str().unwrap().to_string();
    let autumn = live_campaign(&t.db, &alice, "autumn").await;

    // Another account's key sees none of it, by id, list or slug.
    let (olga, _) = owner(&t.db, "Other", "olga@other.test").await;
    let other = keys::create(&t.db, &olga, "Theirs", "read_write", vec![])
        .await
        .unwrap()
        .secret;
    let (status, _) = get(&s, &other, &format!("/api/v1/participants/{ann_id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = get(&s, &other, "/api/v1/participants").await;
    assert_eq!(list["data"], json!([]));
    let (status, e) = post(
        &s,
        &other,
        json!({ "campaign": "spring", "first_name": "Pat", "email": "x@example.com" }),
    )
    .await;
    assert_eq!(
        (status, e["error"]["field"].clone()),
        (StatusCode::NOT_FOUND, json!("campaign"))
    );
    // Nor can a key be made for another account's campaign.
    assert!(
        keys::create(&t.db, &olga, "Sneaky", "read", vec![spring.clone()])
            .await
            .is_err()
    );

    // A read-only key reads, and may not enrol.
    let reader = keys::create(&t.db, &alice, "Reports", "read", vec![])
        .await
        .unwrap()
        .secret;
    let (status, _) = get(&s, &reader, &format!("/api/v1/participants/{ann_id}")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, e) = post(
        &s,
        &reader,
        json!({ "campaign": "spring", "first_name": "Pat", "email": "y@example.com" }),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(e["error"]["type"], "permission_error");

    // A key for the autumn campaign only.
    let autumn_key = keys::create(&t.db, &alice, "Autumn", "read_write", vec![autumn.clone()])
        .await
        .unwrap()
        .secret;
    let (status, _) = get(&s, &autumn_key, &format!("/api/v1/participants/{ann_id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = get(&s, &autumn_key, "/api/v1/participants").await;
    assert_eq!(list["data"], json!([]));
    let (status, _) = post(
        &s,
        &autumn_key,
        json!({ "campaign": "spring", "first_name": "Pat", "email": "z@example.com" }),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = post(
        &s,
        &autumn_key,
        json!({ "campaign": "autumn", "first_name": "Pat", "email": "z@example.com" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    // Past its rate, a key is told to wait.
    sqlx::query("UPDATE throttles SET count = $1 WHERE key LIKE 'api:%'")
        .bind(REQUESTS_PER_MINUTE)
        .execute(t.db.pool())
        .await
        .unwrap();
    let res = s
        .http
        .get(format!("{}/api/v1/participants", s.base))
        .header("authorization", format!("Bearer {key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers()["retry-after"], "60");
    let e: Value = res.json().await.unwrap();
    assert_eq!(e["error"]["type"], "rate_limit_error");
}

async fn details_change_as_the_form_allows_and_only_people_without_history_are_removed(t: &TestDb) {
    let (s, alice, _, key) = acme(t).await;
    let enrol = |body: Value| post(&s, &key, body);
    let (_, ann) =
        enrol(json!({ "campaign": "spring", "first_name": "Ann", "email": "ann@example.com" }))
            .await;
    let code = ann["referral_code"].as_str().unwrap().to_string();
    let (_, bob) = enrol(json!({ "campaign": "spring", "first_name": "Bob", "email": "bob@example.com", "referral_code": code })).await;
    let ann_at = format!("/api/v1/participants/{}", ann["id"].as_str().unwrap());
    let bob_at = format!("/api/v1/participants/{}", bob["id"].as_str().unwrap());
    let change = |path: String, body: Value| {
        let (s, key) = (&s, &key);
        async move { call(s, key, Method::POST, &path, Some(body), None).await }
    };

    let (status, ann_now) = change(
        ann_at.clone(),
        json!({ "first_name": " Annie ", "last_name": "Smith" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{ann_now}");
    assert_eq!(
        (
            &ann_now["first_name"],
            &ann_now["last_name"],
            &ann_now["email"]
        ),
        (&json!("Annie"), &json!("Smith"), &json!("ann@example.com"))
    );
    let (_, read) = get(&s, &key, &ann_at).await;
    assert_eq!(read["first_name"], "Annie");
    let said: Vec<String> = sqlx::query_scalar(
        "SELECT detail FROM participant_events WHERE participant_id = $1 AND kind = 'details_changed'",
    )
    .bind(ann["id"].as_str().unwrap())
    .fetch_all(t.db.pool())
    .await
    .unwrap();
    assert_eq!(
        said,
        vec!["Details changed by the API key “Signup backend”: First name, Last name".to_string()]
    );

    // Each wrong value is named, and nothing changes.
    for (body, field, words) in [
        (
            json!({ "first_name": "" }),
            "first_name",
            "Fill in First name.",
        ),
        (
            json!({ "email": "new@example.com" }),
            "email",
            "The email cannot be changed",
        ),
        (
            json!({ "fields": { "company": "Acme" } }),
            "company",
            "has no field “company”",
        ),
    ] {
        let (status, e) = change(ann_at.clone(), body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {e}");
        assert_eq!(e["error"]["field"], field, "{e}");
        assert!(
            e["error"]["message"].as_str().unwrap().contains(words),
            "{e}"
        );
    }
    let (status, e) = change(ann_at.clone(), json!({ "nickname": "A" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `nickname`"),
        "{e}"
    );
    assert_eq!(get(&s, &key, &ann_at).await.1["first_name"], "Annie");

    // Ann has a friend: she is kept, and told why.
    let (status, e) = call(&s, &key, Method::DELETE, &ann_at, None, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("friends joined through their link"),
        "{e}"
    );
    // A read-only key and another account's key may not remove Bob.
    let reader = keys::create(&t.db, &alice, "Reports", "read", vec![])
        .await
        .unwrap()
        .secret;
    assert_eq!(
        call(&s, &reader, Method::DELETE, &bob_at, None, None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(
            &s,
            &reader,
            Method::POST,
            &bob_at,
            Some(json!({ "first_name": "B" })),
            None
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let (olga, _) = owner(&t.db, "Other", "olga@other.test").await;
    let other = keys::create(&t.db, &olga, "Theirs", "read_write", vec![])
        .await
        .unwrap()
        .secret;
    assert_eq!(
        call(&s, &other, Method::DELETE, &bob_at, None, None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(
            &s,
            &other,
            Method::POST,
            &bob_at,
            Some(json!({ "first_name": "B" })),
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );

    // Bob, with no history, is removed; Ann counts one friend fewer; he may join again.
    let (status, gone) = call(&s, &key, Method::DELETE, &bob_at, None, None).await;
    assert_eq!(status, StatusCode::OK, "{gone}");
    assert_eq!(
        gone,
        json!({ "id": bob["id"], "object": "participant", "deleted": true })
    );
    assert_eq!(get(&s, &key, &bob_at).await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(&s, &key, &ann_at).await.1["referrals"], 0);
    let left: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM participant_events WHERE participant_id = $1")
            .bind(bob["id"].as_str().unwrap())
            .fetch_one(t.db.pool())
            .await
            .unwrap();
    assert_eq!(left, 0);
    let (status, again) = enrol(json!({ "campaign": "spring", "first_name": "Bob", "email": "bob@example.com", "referral_code": code })).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_ne!(again["id"], bob["id"]);
}

async fn an_attributed_customer_s_payments_qualify_the_friend_and_the_reward_is_fulfilled(
    t: &TestDb,
) {
    let (s, alice, campaign, key) = acme(t).await;
    let state = &s.state;
    integrations::connect_stripe(&t.db, &state.stripe, &alice, StripeMode::Sandbox, "")
        .await
        .unwrap();
    qualification::save(
        &t.db,
        &state.stripe,
        &state.queue,
        &alice,
        &campaign,
        target_50_in_30_days(),
    )
    .await
    .unwrap();
    let gift = RewardForm {
        auto_issue: true,
        rules: vec![RewardRuleForm {
            recipient: "referrer".into(),
            kind: "manual".into(),
            description: "A 50 USD gift card".into(),
            every: "1".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    reward_rules::save(&t.db, &alice, &campaign, gift)
        .await
        .unwrap();
    // The merchant's backend takes the events of a referral.
    let (hooks, got) = receiver(vec![]).await;
    let events: Vec<String> = [
        "participant.sent_to_stripe",
        "referral.qualified",
        "reward.issued",
    ]
    .map(String::from)
    .to_vec();
    let endpoint =
        refloop::rest::webhooks::create(&t.db, &state.stripe.sealer, true, &alice, &hooks, &events)
            .await
            .unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let config = WorkerConfig {
        concurrency: 2,
        poll_ms: 20,
        retry_base_ms: 20,
        ..Default::default()
    };
    tokio::spawn(
        Worker::new(
            state.queue.clone(),
            refloop::server::job_registry(
                &state.config,
                state.stripe.clone(),
                state.mailer.clone(),
            ),
            config,
        )
        .run(stopped),
    );

    let (_, ann) = post(
        &s,
        &key,
        json!({ "campaign": "spring", "first_name": "Ann", "email": "ann@example.com" }),
    )
    .await;
    let code = ann["referral_code"].as_str().unwrap();
    let (_, bob) = post(&s, &key, json!({ "campaign": "spring", "first_name": "Bob", "email": "bob@example.com", "referral_code": code })).await;
    let (_, carl) = post(&s, &key, json!({ "campaign": "spring", "first_name": "Carl", "email": "carl@example.com", "referral_code": code })).await;
    // Bob pays as a customer his sign-up's email does not name: nothing ties him to it yet.
    let stripe = state
        .stripe
        .connected(&t.db, &alice.account_id)
        .await
        .unwrap()
        .client;
    let customer = stripe
        .create_customer(
            &CustomerParams {
                email: Some("billing@bobs-firm.example".into()),
                ..Default::default()
            },
            "api-test-customer",
        )
        .await
        .unwrap()
        .id;
    stripe
        .pay(&customer, 6_000, "usd", "pm_card_visa", "api-test-pay")
        .await
        .unwrap();

    let bob_customers = format!(
        "/api/v1/participants/{}/customers",
        bob["id"].as_str().unwrap()
    );
    let attribute = |path: String, k: String, body: Value| {
        let s = &s;
        async move { call(s, &k, Method::POST, &path, Some(body), None).await }
    };
    for (given, words) in [
        ("abc", "is not a Stripe customer id"),
        ("cus_nobody", "has no customer cus_nobody"),
    ] {
        let (status, e) = attribute(
            bob_customers.clone(),
            key.clone(),
            json!({ "customer": given }),
        )
        .await;
        assert_eq!(
            (status, &e["error"]["field"]),
            (StatusCode::BAD_REQUEST, &json!("customer")),
            "{e}"
        );
        assert!(
            e["error"]["message"].as_str().unwrap().contains(words),
            "{e}"
        );
    }
    let (status, linked) = attribute(
        bob_customers.clone(),
        key.clone(),
        json!({ "customer": customer }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{linked}");
    assert_eq!(linked["stripe"]["status"], "sent");
    assert_eq!(linked["stripe"]["customer"], json!(customer));
    // It counts for Bob alone in the campaign.
    let carl_customers = format!(
        "/api/v1/participants/{}/customers",
        carl["id"].as_str().unwrap()
    );
    let (status, e) = attribute(carl_customers, key.clone(), json!({ "customer": customer })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already counts for bob@example.com"),
        "{e}"
    );

    // His payment, made before, now qualifies him, and Ann's gift card waits to be given.
    let rewards_of_ann = format!(
        "/api/v1/rewards?participant={}",
        ann["id"].as_str().unwrap()
    );
    let mut page = Value::Null;
    for _ in 0..500 {
        page = get(&s, &key, &rewards_of_ann).await.1;
        if page["data"].as_array().is_some_and(|d| !d.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    let reward = page["data"][0].clone();
    assert_eq!(
        (
            &reward["object"],
            &reward["status"],
            &reward["description"],
            &reward["referral"]
        ),
        (
            &json!("reward"),
            &json!("to_fulfil"),
            &json!("A 50 USD gift card"),
            &bob["id"]
        ),
        "{page}"
    );
    let (_, bob_now) = get(
        &s,
        &key,
        &format!("/api/v1/participants/{}", bob["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(bob_now["qualification"], "qualified");
    let (_, ann_now) = get(
        &s,
        &key,
        &format!("/api/v1/participants/{}", ann["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(ann_now["rewards"][0]["id"], reward["id"]);

    // Listing filters by status and refuses an unknown one.
    let (_, waiting) = get(&s, &key, "/api/v1/rewards?status=to_fulfil").await;
    assert_eq!(waiting["data"].as_array().unwrap().len(), 1);
    let (_, given) = get(&s, &key, "/api/v1/rewards?status=fulfilled").await;
    assert_eq!(given["data"], json!([]));
    let (status, e) = get(&s, &key, "/api/v1/rewards?status=paid").await;
    assert_eq!(
        (status, &e["error"]["field"]),
        (StatusCode::BAD_REQUEST, &json!("status"))
    );

    // Fulfilling: not with a read-only key, not from another account, once with this one.
    let fulfil_at = format!("/api/v1/rewards/{}/fulfil", reward["id"].as_str().unwrap());
    let reader = keys::create(&t.db, &alice, "Reports", "read", vec![])
        .await
        .unwrap()
        .secret;
    assert_eq!(
        attribute(fulfil_at.clone(), reader, json!({})).await.0,
        StatusCode::FORBIDDEN
    );
    let (olga, _) = owner(&t.db, "Other", "olga@other.test").await;
    let other = keys::create(&t.db, &olga, "Theirs", "read_write", vec![])
        .await
        .unwrap()
        .secret;
    assert_eq!(
        attribute(fulfil_at.clone(), other.clone(), json!({}))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&s, &other, "/api/v1/rewards").await.1["data"],
        json!([])
    );
    let (status, done) = attribute(
        fulfil_at.clone(),
        key.clone(),
        json!({ "reference": "GC-1234" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(
        (&done["status"], &done["payout_reference"]),
        (&json!("fulfilled"), &json!("GC-1234"))
    );
    let (status, e) = attribute(fulfil_at, key.clone(), json!({})).await;
    assert_eq!(
        (status, &e["error"]["type"]),
        (StatusCode::CONFLICT, &json!("conflict_error")),
        "{e}"
    );

    // Each step reached the merchant's endpoint, signed, in order.
    until(&got, "three events", |r| r.len() == 3).await;
    let verifier = standardwebhooks::Webhook::new(&endpoint.secret).unwrap();
    let received: Vec<Value> = got
        .lock()
        .unwrap()
        .iter()
        .map(|(headers, body)| {
            verifier.verify(body, headers).unwrap();
            serde_json::from_slice(body).unwrap()
        })
        .collect();
    let types: Vec<&str> = received
        .iter()
        .map(|m| m["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "participant.sent_to_stripe",
            "referral.qualified",
            "reward.issued"
        ]
    );
    assert_eq!(
        received[0]["data"]["participant"]["stripe"]["customer"],
        json!(customer)
    );
    assert_eq!(received[1]["data"]["friend"]["id"], bob["id"]);
    assert_eq!(received[1]["data"]["referrer"]["id"], ann["id"]);
    assert_eq!(received[2]["data"]["reward"]["status"], "fulfilled");
    assert_eq!(received[2]["data"]["reward"]["payout_reference"], "GC-1234");
    stop.send(true).unwrap();
}

/// `GET /api/v1/widget` with a widget token, as the widget in the merchant's page asks it.
async fn widget(s: &Served, token: &str) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let res = s
        .http
        .get(format!("{}/api/v1/widget", s.base))
        .header("origin", "https://shop.example")
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    (status, res.json().await.unwrap_or(Value::Null), headers)
}

async fn a_widget_token_shows_one_person_to_any_origin_for_an_hour(t: &TestDb) {
    let (s, alice, _, key) = acme(t).await;
    let (_, ann) = post(
        &s,
        &key,
        json!({ "campaign": "spring", "first_name": "Ann", "email": "ann@example.com" }),
    )
    .await;
    let ann_id = ann["id"].as_str().unwrap().to_string();
    let (_, bob) = post(
        &s,
        &key,
        json!({ "campaign": "spring", "first_name": "Bob", "email": "bob@example.org", "referrer_email": "ann@example.com" }),
    )
    .await;

    // A read-only key may ask for a token: the token only reads.
    let reader = keys::create(&t.db, &alice, "Widget backend", "read", vec![])
        .await
        .unwrap()
        .secret;
    let path = format!("/api/v1/participants/{ann_id}/widget_tokens");
    let (status, minted) = call(&s, &reader, Method::POST, &path, None, None).await;
    assert_eq!(status, StatusCode::CREATED, "{minted}");
    assert_eq!(minted["object"], "widget_token");
    assert_eq!(minted["participant"], ann["id"]);
    let token = minted["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("rfw_"), "{token}");
    let expires = minted["expires_at"].as_i64().unwrap();
    let now = refloop::db::unix_now();
    assert!((now + TOKEN_SECONDS - 5..=now + TOKEN_SECONDS).contains(&expires));

    // The widget reads Ann's page with it, from any origin, without a cookie.
    let (status, view, headers) = widget(&s, &token).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert_eq!(view["object"], "widget");
    assert_eq!(view["first_name"], "Ann");
    assert_eq!(view["referral_link"], ann["referral_link"]);
    assert_eq!(view["referral_code"], ann["referral_code"]);
    assert_eq!(view["friends_joined"], 1);
    assert_eq!(
        view["friends"],
        json!([{ "name": "Bob", "status": "pending", "status_label": "Joined", "joined": bob["created"] }])
    );
    assert_eq!(view["rewards"], json!([]));
    // Bob's email is not shown to Ann.
    assert!(!view.to_string().contains("bob@example.org"));
    // The browser's preflight from the merchant's page is answered.
    let res = s
        .http
        .request(Method::OPTIONS, format!("{}/api/v1/widget", s.base))
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    assert_eq!(
        res.headers()["access-control-allow-headers"],
        "authorization"
    );

    // Another account's key, and a key for another campaign, get no token for Ann.
    let (olga, _) = owner(&t.db, "Other", "olga@other.test").await;
    let other = keys::create(&t.db, &olga, "Theirs", "read_write", vec![])
        .await
        .unwrap()
        .secret;
    let (status, _) = call(&s, &other, Method::POST, &path, None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let autumn = live_campaign(&t.db, &alice, "autumn").await;
    let autumn_key = keys::create(&t.db, &alice, "Autumn", "read", vec![autumn])
        .await
        .unwrap()
        .secret;
    let (status, _) = call(&s, &autumn_key, Method::POST, &path, None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&s, "", Method::POST, &path, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A token altered to name Bob, an expired one, an API key, nothing: refused.
    let bob_id = bob["id"].as_str().unwrap();
    let altered = token.replace(&ann_id, bob_id);
    let sealer = &s.state.stripe.sealer;
    let holder = WidgetHolder {
        account_id: alice.account_id.clone(),
        participant_id: ann_id.clone(),
    };
    let expired = token_for(sealer, &holder, now - 1);
    for (bad, said) in [
        (altered.as_str(), "not made by this Refloop"),
        (expired.as_str(), "expired"),
        (key.as_str(), "not a widget token"),
        ("", "No widget token"),
    ] {
        let (status, e, headers) = widget(&s, bad).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad}");
        assert_eq!(e["error"]["type"], "authentication_error");
        assert!(
            e["error"]["message"].as_str().unwrap().contains(said),
            "{e}"
        );
        assert_eq!(headers["access-control-allow-origin"], "*");
    }
    // Nor is a widget token an API key.
    let (status, _) = get(&s, &token, "/api/v1/participants").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Once Bob is removed from the campaign, his own token stops working.
    let bob_token = token_for(
        sealer,
        &WidgetHolder {
            account_id: alice.account_id.clone(),
            participant_id: bob_id.to_string(),
        },
        now + 60,
    );
    assert_eq!(widget(&s, &bob_token).await.0, StatusCode::OK);
    let (status, _) = call(
        &s,
        &key,
        Method::DELETE,
        &format!("/api/v1/participants/{bob_id}"),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, e, _) = widget(&s, &bob_token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .contains("no longer in the campaign"));

    // The widget's script is served to any page.
    let res = s
        .http
        .get(format!("{}/widget.js", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/javascript"));
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("customElements.define(\"refloop-referral\""));
}
