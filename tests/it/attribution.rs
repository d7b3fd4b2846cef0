//! Attribution at checkout (issue 23), end to end over real HTTP: a Payment Link or Checkout
//! Session in the sandbox, paid on the sandbox's hosted checkout page, its signed events
//! delivered to Refloop's endpoint and processed by the real job queue. Also the sandbox's
//! Checkout, Payment Links and promotion codes answering as Stripe does.

use refloop::{
    db::{attribution, offers, participants},
    domain::{
        health::{CheckId, CheckState},
        participants::Qualification,
        rewards::{OfferForm, RewardForm, RewardStatus},
    },
    stripe::StripeClient,
};
use reqwest::{redirect::Policy, Method};
use serde_json::{json, Value};

use crate::{
    campaigns::{join_ok, request},
    qualification::{credit, Qualifying},
    support::TestDb,
};

crate::on_both_backends!(
    a_payment_link_with_a_referral_code_makes_a_friend_paying_with_another_email,
    a_friends_own_reference_counts_whatever_email_they_pay_with,
    duplicated_and_reordered_checkout_events_change_nothing,
    the_strongest_evidence_decides_and_why_names_what_was_set_aside,
    evidence_that_counts_for_nobody_is_recorded_with_the_reason,
    the_sandboxs_checkout_answers_as_stripe_does,
    promotion_codes_apply_their_coupon_and_count_redemptions,
    a_referrers_promotion_code_makes_a_friend_of_whoever_redeems_it,
);

const SLUG: &str = "spend";

/// A browser that does not follow redirects (so the test sees where it is sent).
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

async fn api(stripe: &StripeClient, method: Method, path: &str, params: Value) -> Value {
    stripe
        .request(method, path, &params, None)
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A Payment Link selling one thing at `amount` cents.
async fn payment_link(stripe: &StripeClient, amount: i64, codes: bool) -> Value {
    api(
        stripe,
        Method::POST,
        "/v1/payment_links",
        json!({
            "line_items": [{
                "price_data": {
                    "currency": "usd", "unit_amount": amount.to_string(),
                    "product_data": { "name": "Annual plan" },
                },
                "quantity": "1",
            }],
            "allow_promotion_codes": codes.to_string(),
        }),
    )
    .await
}

/// Opens the link's URL with this query as a visitor would; the checkout page it sends them to.
async fn open_link(link: &Value, query: &str) -> String {
    let url = format!("{}?{query}", link["url"].as_str().unwrap());
    let res = browser().get(&url).send().await.unwrap();
    assert_eq!(res.status(), 303, "{url}");
    res.headers()["location"].to_str().unwrap().to_string()
}

/// Pays on the hosted checkout page; the page's answer (status, and Location or body).
async fn pay_page(page: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let url = page.split('?').next().unwrap();
    let res = browser().post(url).form(fields).send().await.unwrap();
    let status = res.status().as_u16();
    let answer = match res.headers().get("location") {
        Some(l) => l.to_str().unwrap().to_string(),
        None => res.text().await.unwrap(),
    };
    (status, answer)
}

fn session_id(page: &str) -> String {
    page.split("/checkout/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string()
}

async fn person(t: &TestDb, q: &Qualifying, email: &str) -> Option<participants::ParticipantRow> {
    participants::by_email(t.db.pool(), &q.campaign, email)
        .await
        .unwrap()
}

async fn until_person(t: &TestDb, q: &Qualifying, email: &str) {
    for _ in 0..1_000 {
        if person(t, q, email).await.is_some() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("{email} never joined");
}

async fn a_payment_link_with_a_referral_code_makes_a_friend_paying_with_another_email(t: &TestDb) {
    let q = Qualifying::start(t, credit("10.00", true, false)).await;
    let stripe = q.stripe(t).await;
    let ann_code = join_ok(&t.db, request(SLUG, "ann@x.test", "Ann", None)).await;
    let link = payment_link(&stripe, 6_000, false).await;
    assert_eq!(link["object"], "payment_link");

    // Bob never visits Refloop; the merchant's snippet carried Ann's code into the link.
    let page = open_link(
        &link,
        &format!("client_reference_id={ann_code}&prefilled_email=bob%40other.test"),
    )
    .await;
    assert!(page.contains("prefilled_email=bob%40other.test"), "{page}");
    let form = browser()
        .get(&page)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form.contains("value=\"bob@other.test\""), "{form}");
    assert!(form.contains("Pay 60.00"), "{form}");
    let cs = session_id(&page);
    let (status, body) = pay_page(
        &page,
        &[
            ("email", "bob@other.test"),
            ("name", "Bob Builder"),
            ("card", "4242 4242 4242 4242"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Paid 60.00"), "{body}");

    until_person(t, &q, "bob@other.test").await;
    let bob = q
        .until(t, "bob@other.test", "qualified", |p| {
            p.qualification == Qualification::Qualified
        })
        .await;
    let ann = person(t, &q, "ann@x.test").await.unwrap();
    assert_eq!(bob.referrer_id.as_deref(), Some(ann.id.as_str()));
    assert_eq!(
        (bob.first_name.as_str(), bob.last_name.as_str()),
        ("Bob", "Builder")
    );
    assert_eq!(bob.source, "checkout");
    assert_eq!(bob.spent, 6_000);
    let timeline = q.timeline(t, "bob@other.test").await.join("\n");
    assert!(
        timeline.contains(&format!(
            "Attributed by client_reference_id {ann_code} on checkout {cs}"
        )),
        "{timeline}"
    );
    let reward = q.until_reward(t, "ann@x.test", RewardStatus::Issued).await;
    assert_eq!(reward.amount, 1_000);
    let ann = person(t, &q, "ann@x.test").await.unwrap();
    assert_eq!((ann.referrals, ann.qualified_referrals), (1, 1));
    let why = refloop::health::why::why(&t.db, &q.alice, &q.campaign, &bob.id)
        .await
        .unwrap();
    assert!(
        why.qualification.contains("Payments counted: ch_"),
        "{why:?}"
    );
    assert!(
        why.qualification.contains(&format!(
            "by client_reference_id {ann_code} (checkout {cs})"
        )),
        "{why:?}"
    );
}

async fn a_friends_own_reference_counts_whatever_email_they_pay_with(t: &TestDb) {
    let q = Qualifying::start(t, credit("10.00", true, false)).await;
    let stripe = q.stripe(t).await;
    q.pair(t, "ann@x.test", "bob@x.test").await;
    let bob = person(t, &q, "bob@x.test").await.unwrap();
    // Bob pays at work, with another email, through a session that names him.
    let session = api(
        &stripe,
        Method::POST,
        "/v1/checkout/sessions",
        json!({
            "mode": "payment",
            "line_items": [{ "price_data": { "currency": "usd", "unit_amount": "6000", "product_data": { "name": "Plan" } }, "quantity": "1" }],
            "client_reference_id": bob.id,
            "customer_creation": "always",
            "success_url": "https://shop.example/thanks?session={CHECKOUT_SESSION_ID}",
        }),
    )
    .await;
    let page = session["url"].as_str().unwrap().to_string();
    let (status, to) = pay_page(
        &page,
        &[("email", "bob@work.test"), ("card", "4242424242424242")],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(
        to,
        format!(
            "https://shop.example/thanks?session={}",
            session["id"].as_str().unwrap()
        )
    );
    let bob = q
        .until(t, "bob@x.test", "qualified", |p| {
            p.qualification == Qualification::Qualified
        })
        .await;
    assert_eq!(bob.spent, 6_000);
    assert!(person(t, &q, "bob@work.test").await.is_none());
    // The new customer is Bob's now: later payments by it count too.
    let paid = api(
        &stripe,
        Method::GET,
        &format!("/v1/checkout/sessions/{}", session["id"].as_str().unwrap()),
        json!({}),
    )
    .await;
    let work_customer = paid["customer"].as_str().unwrap().to_string();
    assert_eq!(paid["customer_details"]["email"], "bob@work.test");
    q.pay(t, &work_customer, 1_500).await;
    q.until(t, "bob@x.test", "counted the later payment", |p| {
        p.spent == 7_500
    })
    .await;
    q.until_reward(t, "ann@x.test", RewardStatus::Issued).await;
    assert_eq!(q.rewards_of(t, "ann@x.test").await.len(), 1);
}

async fn duplicated_and_reordered_checkout_events_change_nothing(t: &TestDb) {
    let q = Qualifying::start(t, credit("10.00", true, false)).await;
    q.control(
        "settings",
        json!({ "webhook_duplicate_rate": 1.0, "webhook_reorder_ms": 300 }),
    )
    .await;
    let stripe = q.stripe(t).await;
    let ann_code = join_ok(&t.db, request(SLUG, "ann@x.test", "Ann", None)).await;
    let link = payment_link(&stripe, 3_000, false).await;
    for _ in 0..2 {
        let page = open_link(&link, &format!("client_reference_id={ann_code}")).await;
        let (status, body) = pay_page(
            &page,
            &[("email", "cy@x.test"), ("card", "4242 4242 4242 4242")],
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    until_person(t, &q, "cy@x.test").await;
    let cy = q
        .until(t, "cy@x.test", "qualified", |p| {
            p.qualification == Qualification::Qualified
        })
        .await;
    q.until_reward(t, "ann@x.test", RewardStatus::Issued).await;
    // Every delivery twice, in any order: one friend, both payments once, one reward.
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let cy_now = person(t, &q, "cy@x.test").await.unwrap();
    assert_eq!(cy_now.spent, 6_000);
    assert_eq!(cy_now.id, cy.id);
    let ann = person(t, &q, "ann@x.test").await.unwrap();
    assert_eq!((ann.referrals, ann.qualified_referrals), (1, 1));
    assert_eq!(q.rewards_of(t, "ann@x.test").await.len(), 1);
    let timeline = q.timeline(t, "cy@x.test").await;
    assert_eq!(
        timeline
            .iter()
            .filter(|l| l.starts_with("Attributed by client_reference_id"))
            .count(),
        2,
        "{timeline:?}"
    );
}

async fn the_strongest_evidence_decides_and_why_names_what_was_set_aside(t: &TestDb) {
    let q = Qualifying::start(t, credit("10.00", true, false)).await;
    let stripe = q.stripe(t).await;
    // Bob is Ann's friend, in Stripe as his own customer; Eve is Carl's friend.
    let bob_customer = q.pair(t, "ann@x.test", "bob@x.test").await;
    let carl_code = join_ok(&t.db, request(SLUG, "carl@x.test", "Carl", None)).await;
    join_ok(&t.db, request(SLUG, "eve@x.test", "Eve", Some(&carl_code))).await;
    let eve = person(t, &q, "eve@x.test").await.unwrap();
    // Bob's customer pays 30.00 through a checkout that names Eve: the client_reference_id
    // beats the linked customer, whichever of Stripe's events is processed first.
    let session = api(
        &stripe,
        Method::POST,
        "/v1/checkout/sessions",
        json!({
            "mode": "payment",
            "line_items": [{ "price_data": { "currency": "usd", "unit_amount": "3000", "product_data": { "name": "Gift" } }, "quantity": "1" }],
            "client_reference_id": eve.id,
            "customer": bob_customer,
        }),
    )
    .await;
    let form = browser()
        .get(session["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        form.contains("value=\"bob@x.test\" readonly"),
        "the customer's email: {form}"
    );
    let (status, body) = pay_page(
        session["url"].as_str().unwrap(),
        &[("card", "4242 4242 4242 4242")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    q.until(t, "eve@x.test", "counted the payment", |p| p.spent == 3_000)
        .await;
    // Bob may have counted it for a moment (the charge's event can come first); not for long.
    q.until(t, "bob@x.test", "gave the payment up", |p| p.spent == 0)
        .await;
    let bob = person(t, &q, "bob@x.test").await.unwrap();
    let why = refloop::health::why::why(&t.db, &q.alice, &q.campaign, &bob.id)
        .await
        .unwrap();
    let cs = session["id"].as_str().unwrap();
    assert!(
        why.qualification.contains(&format!(
            "counts for eve@x.test (client_reference_id {} (checkout {cs})), not by linked customer",
            eve.id
        )),
        "{why:?}"
    );
    let why_eve = refloop::health::why::why(&t.db, &q.alice, &q.campaign, &eve.id)
        .await
        .unwrap();
    assert!(
        why_eve.qualification.contains(&format!(
            "by client_reference_id {} (checkout {cs})",
            eve.id
        )),
        "{why_eve:?}"
    );
}

async fn evidence_that_counts_for_nobody_is_recorded_with_the_reason(t: &TestDb) {
    let q = Qualifying::start(t, credit("10.00", true, false)).await;
    let stripe = q.stripe(t).await;
    let ann_code = join_ok(&t.db, request(SLUG, "ann@x.test", "Ann", None)).await;
    let link = payment_link(&stripe, 6_000, false).await;
    // Ann with her own code; a code nobody has; Dee, who joined on her own first.
    join_ok(&t.db, request(SLUG, "dee@x.test", "Dee", None)).await;
    for (reference, email) in [
        (ann_code.as_str(), "ann@x.test"),
        ("nosuchcode", "zed@x.test"),
        (ann_code.as_str(), "dee@x.test"),
    ] {
        let page = open_link(&link, &format!("client_reference_id={reference}")).await;
        let (status, body) =
            pay_page(&page, &[("email", email), ("card", "4242 4242 4242 4242")]).await;
        assert_eq!(status, 200, "{body}");
    }
    let mut found = Vec::new();
    for _ in 0..1_000 {
        found = attribution::unattributed_since(t.db.pool(), &q.alice.account_id, 0, 10)
            .await
            .unwrap();
        if found.len() == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let outcomes: Vec<String> = found.iter().map(|r| r.outcome.clone()).collect();
    assert_eq!(outcomes.len(), 3, "{outcomes:?}");
    let said = |end: &str| outcomes.iter().any(|o| o.ends_with(end));
    assert!(
        said("was paid by ann@x.test, who is the person referring"),
        "{outcomes:?}"
    );
    assert!(
        said(
            "was paid by dee@x.test, who had joined on their own; a person counts for one referrer"
        ),
        "{outcomes:?}"
    );
    assert!(
        outcomes.iter().any(|o| o
            .starts_with("client_reference_id nosuchcode on checkout cs_test_")
            && o.ends_with("names nobody in Refloop")),
        "{outcomes:?}"
    );
    assert!(person(t, &q, "zed@x.test").await.is_none());
    let ann = person(t, &q, "ann@x.test").await.unwrap();
    assert_eq!(ann.referrals, 0);
    let timeline = q.timeline(t, "ann@x.test").await.join("\n");
    assert!(
        timeline.contains("who is the person referring"),
        "{timeline}"
    );
    // Integration health says so, with each payment's evidence.
    let health = refloop::health::run(
        &t.db,
        &q.access,
        &refloop::mail::Mailer::disabled(),
        &q.alice,
        refloop::health::Depth::Quick,
    )
    .await
    .unwrap();
    let check = health.check(CheckId::CheckoutAttribution).unwrap();
    assert_eq!(check.state, CheckState::Warn, "{check:?}");
    assert!(
        check.summary.starts_with("3 payments at checkout"),
        "{check:?}"
    );
    assert_eq!(check.evidence.len(), 3);
    assert!(
        check
            .evidence
            .iter()
            .any(|e| e.contains("zed@x.test: client_reference_id nosuchcode")),
        "{check:?}"
    );
}

async fn the_sandboxs_checkout_answers_as_stripe_does(t: &TestDb) {
    let q = Qualifying::start(t, credit("10.00", true, false)).await;
    let stripe = q.stripe(t).await;
    let refused = |params: Value| {
        let stripe = stripe.clone();
        async move {
            match stripe
                .request(Method::POST, "/v1/checkout/sessions", &params, None)
                .await
            {
                Err(e) => e.to_string(),
                Ok(v) => panic!("accepted {params}: {v}"),
            }
        }
    };
    let items = json!([{ "price_data": { "currency": "usd", "unit_amount": "500", "product_data": { "name": "Tea" } }, "quantity": "1" }]);
    let no_mode = refused(json!({ "line_items": items })).await;
    assert!(
        no_mode.contains("Missing required param: mode"),
        "{no_mode}"
    );
    let both = refused(json!({
        "mode": "payment", "line_items": items, "allow_promotion_codes": "true",
        "discounts": [{ "coupon": "nope" }],
    }))
    .await;
    assert!(both.contains("No such coupon: 'nope'"), "{both}");
    let bad_ref =
        refused(json!({ "mode": "payment", "line_items": items, "client_reference_id": "a b" }))
            .await;
    assert!(bad_ref.contains("client_reference_id"), "{bad_ref}");
    let no_quantity =
        refused(json!({ "mode": "payment", "line_items": [{ "price": "price_missing" }] })).await;
    assert!(
        no_quantity.contains("No such price: 'price_missing'"),
        "{no_quantity}"
    );
    let unknown = refused(json!({ "mode": "payment", "line_items": items, "colour": "red" })).await;
    assert!(
        unknown.contains("Received unknown parameter: colour"),
        "{unknown}"
    );

    // A price, a link over it, its items; a session from the link's URL drops a reference
    // that Stripe would not accept.
    let price = api(
        &stripe,
        Method::POST,
        "/v1/prices",
        json!({ "currency": "usd", "unit_amount": "2500", "product_data": { "name": "Mug" } }),
    )
    .await;
    assert_eq!(
        (price["object"].as_str(), price["type"].as_str()),
        (Some("price"), Some("one_time"))
    );
    let link = api(
        &stripe,
        Method::POST,
        "/v1/payment_links",
        json!({ "line_items": [{ "price": price["id"], "quantity": "2" }] }),
    )
    .await;
    let items = api(
        &stripe,
        Method::GET,
        &format!(
            "/v1/payment_links/{}/line_items",
            link["id"].as_str().unwrap()
        ),
        json!({}),
    )
    .await;
    assert_eq!(items["data"][0]["amount_total"], 5_000);
    let page = open_link(&link, "client_reference_id=has%20space").await;
    let cs = session_id(&page);
    let session = api(
        &stripe,
        Method::GET,
        &format!("/v1/checkout/sessions/{cs}"),
        json!({}),
    )
    .await;
    assert_eq!(session["client_reference_id"], Value::Null);
    assert_eq!(session["payment_link"], link["id"]);
    assert_eq!(
        (
            session["status"].as_str(),
            session["payment_status"].as_str()
        ),
        (Some("open"), Some("unpaid"))
    );

    // A declined card and a bad email leave the session open, saying why; then it is paid
    // once, and paying again is refused.
    let (status, body) = pay_page(
        &page,
        &[("email", "kim@x.test"), ("card", "4000 0000 0000 0002")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("Your card was declined."), "{body}");
    let (status, body) =
        pay_page(&page, &[("email", "kim"), ("card", "4242 4242 4242 4242")]).await;
    assert_eq!(status, 422);
    assert!(body.contains("is not an email address"), "{body}");
    let (status, _) = pay_page(
        &page,
        &[("email", "kim@x.test"), ("card", "4242 4242 4242 4242")],
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = pay_page(
        &page,
        &[("email", "kim@x.test"), ("card", "4242 4242 4242 4242")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("no longer open"), "{body}");
    let paid = api(
        &stripe,
        Method::GET,
        &format!("/v1/checkout/sessions/{cs}"),
        json!({}),
    )
    .await;
    assert_eq!(
        (paid["status"].as_str(), paid["payment_status"].as_str()),
        (Some("complete"), Some("paid"))
    );
    assert_eq!(paid["amount_total"], 5_000);
    assert_eq!(
        paid["customer"],
        Value::Null,
        "payment mode makes no customer unless asked"
    );
    let intent = paid["payment_intent"].as_str().unwrap();
    let charges = api(
        &stripe,
        Method::GET,
        "/v1/charges",
        json!({ "payment_intent": intent }),
    )
    .await;
    assert_eq!(charges["data"].as_array().unwrap().len(), 1);
    assert_eq!(charges["data"][0]["billing_details"]["email"], "kim@x.test");
    let listed = api(
        &stripe,
        Method::GET,
        "/v1/checkout/sessions",
        json!({ "payment_intent": intent }),
    )
    .await;
    assert_eq!(listed["data"][0]["id"], cs);
    let events = api(
        &stripe,
        Method::GET,
        "/v1/events",
        json!({ "type": "checkout.session.completed" }),
    )
    .await;
    assert_eq!(events["data"][0]["data"]["object"]["id"], cs);

    // What the merchant named is shown as text, never as markup.
    let hostile = api(
        &stripe,
        Method::POST,
        "/v1/checkout/sessions",
        json!({
            "mode": "payment",
            "line_items": [{ "price_data": { "currency": "usd", "unit_amount": "500", "product_data": { "name": "<script>alert(1)</script>" } }, "quantity": "1" }],
        }),
    )
    .await;
    let page = browser()
        .get(hostile["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert!(page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .starts_with("default-src 'none'"));
    let html = page.text().await.unwrap();
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt; × 1"),
        "{html}"
    );
    assert!(!html.contains("<script>alert"), "{html}");

    // An unknown link is a page that says so, not an error page of another account.
    let res = browser()
        .get(format!("{}/sandbox/pay/plink_nope", q.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

async fn promotion_codes_apply_their_coupon_and_count_redemptions(t: &TestDb) {
    let q = Qualifying::start(t, credit("10.00", true, false)).await;
    let stripe = q.stripe(t).await;
    let coupon = api(
        &stripe,
        Method::POST,
        "/v1/coupons",
        json!({ "percent_off": "20", "duration": "once" }),
    )
    .await;
    let promo = api(
        &stripe,
        Method::POST,
        "/v1/promotion_codes",
        json!({ "promotion": { "type": "coupon", "coupon": coupon["id"] }, "code": "ANN-7K2Q", "max_redemptions": "1" }),
    )
    .await;
    let link = payment_link(&stripe, 5_000, true).await;
    let page = open_link(&link, "prefilled_promo_code=ANN-7K2Q").await;
    let form = browser()
        .get(&page)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form.contains("value=\"ANN-7K2Q\""), "{form}");
    let (status, body) = pay_page(
        &page,
        &[
            ("email", "lu@x.test"),
            ("card", "4242 4242 4242 4242"),
            ("promotion_code", "nope-1"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        body.contains("nope-1 is not a valid promotion code."),
        "{body}"
    );
    let (status, body) = pay_page(
        &page,
        &[
            ("email", "lu@x.test"),
            ("card", "4242 4242 4242 4242"),
            ("promotion_code", "ann-7k2q"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Paid 40.00"), "{body}");
    let cs = session_id(&page);
    let paid = api(
        &stripe,
        Method::GET,
        &format!("/v1/checkout/sessions/{cs}"),
        json!({}),
    )
    .await;
    assert_eq!(paid["amount_total"], 4_000);
    assert_eq!(paid["total_details"]["amount_discount"], 1_000);
    assert_eq!(paid["discounts"][0]["promotion_code"], promo["id"]);
    let promo_now = api(
        &stripe,
        Method::GET,
        &format!("/v1/promotion_codes/{}", promo["id"].as_str().unwrap()),
        json!({}),
    )
    .await;
    assert_eq!(promo_now["times_redeemed"], 1);
    // Its one redemption is used: the next payer is told so.
    let again = open_link(&link, "").await;
    let (status, body) = pay_page(
        &again,
        &[
            ("email", "mo@x.test"),
            ("card", "4242 4242 4242 4242"),
            ("promotion_code", "ANN-7K2Q"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("ANN-7K2Q can no longer be used."), "{body}");
}

async fn a_referrers_promotion_code_makes_a_friend_of_whoever_redeems_it(t: &TestDb) {
    let offer = RewardForm {
        offer: OfferForm {
            kind: "percent".into(),
            value: "20".into(),
            ..Default::default()
        },
        ..credit("10.00", true, false)
    };
    let q = Qualifying::start(t, offer).await;
    let stripe = q.stripe(t).await;
    join_ok(&t.db, request(SLUG, "ann@x.test", "Ann", None)).await;
    let ann = person(t, &q, "ann@x.test").await.unwrap();
    let coupon = format!("refloop_offer_{}_p20", q.campaign);
    // Ann gets her own code for the campaign's coupon, on her timeline and her customer.
    let mut code = None;
    for _ in 0..1_000 {
        code = offers::code_for(t.db.pool(), &q.alice.account_id, &ann.id, &coupon)
            .await
            .unwrap();
        if code.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let code = code.expect("Ann's promotion code");
    assert!(code.starts_with("ANN-") && code.len() == 8, "{code}");
    let timeline = q.timeline(t, "ann@x.test").await.join("\n");
    assert!(
        timeline.contains(&format!(
            "Promotion code {code} for their friends (20% off)"
        )),
        "{timeline}"
    );
    let customer = q.customer(t, "ann@x.test").await;
    let mut metadata = Value::Null;
    for _ in 0..500 {
        metadata = api(
            &stripe,
            Method::GET,
            &format!("/v1/customers/{customer}"),
            json!({}),
        )
        .await["metadata"]
            .clone();
        if metadata["referral_promotion_code"] == code.as_str() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        metadata["referral_promotion_code"],
        code.as_str(),
        "{metadata}"
    );
    // Her emails may say it ({{friend_offer}}), as the preview with her data shows.
    let welcome = refloop::domain::emails::EmailTemplate {
        body: "Friends get {{friend_offer}}.".into(),
        ..refloop::domain::emails::EmailKind::Welcome.default_template()
    };
    let preview = refloop::campaigns::emails::preview(
        &t.db,
        &refloop::mail::Mailer::disabled(),
        "http://refloop.test",
        &q.alice,
        &q.campaign,
        "Spring",
        welcome,
    )
    .await
    .unwrap();
    assert_eq!(
        preview.text.lines().next(),
        Some(format!("Friends get 20% off at checkout with the code {code}.").as_str()),
        "{preview:?}"
    );
    let coupon_in_stripe = api(
        &stripe,
        Method::GET,
        &format!("/v1/coupons/{coupon}"),
        json!({}),
    )
    .await;
    assert_eq!(coupon_in_stripe["percent_off"], 20.0);

    // Carol never visits Refloop: she pays 70.00 with Ann's code (56.00 after 20% off).
    let link = payment_link(&stripe, 7_000, true).await;
    let page = open_link(&link, "").await;
    let (status, body) = pay_page(
        &page,
        &[
            ("email", "carol@x.test"),
            ("name", "Carol"),
            ("card", "4242 4242 4242 4242"),
            ("promotion_code", &code.to_lowercase()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Paid 56.00"), "{body}");
    until_person(t, &q, "carol@x.test").await;
    let carol = q
        .until(t, "carol@x.test", "qualified", |p| {
            p.qualification == Qualification::Qualified
        })
        .await;
    assert_eq!(carol.referrer_id.as_deref(), Some(ann.id.as_str()));
    assert_eq!(carol.spent, 5_600);
    let cs = session_id(&page);
    let timeline = q.timeline(t, "carol@x.test").await.join("\n");
    assert!(
        timeline.contains(&format!(
            "Attributed by promotion code {code} on checkout {cs}"
        )),
        "{timeline}"
    );
    q.until_reward(t, "ann@x.test", RewardStatus::Issued).await;

    // Her personal page shows the offer and the code.
    let page =
        refloop::campaigns::join::personal_page(&t.db, "http://refloop.test", &ann.page_token)
            .await
            .unwrap();
    assert_eq!(
        page.friend_offer.as_deref(),
        Some(format!("Your friends get 20% off at checkout with your code {code}.").as_str())
    );

    // A client_reference_id outranks a promotion code: Dee pays with Ann's code through a
    // link that names Carol, and the payment is Carol's.
    let page = open_link(&link, &format!("client_reference_id={}", carol.id)).await;
    let (status, body) = pay_page(
        &page,
        &[
            ("email", "dee@x.test"),
            ("card", "4242 4242 4242 4242"),
            ("promotion_code", &code),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    q.until(t, "carol@x.test", "counted the second payment", |p| {
        p.spent == 11_200
    })
    .await;
    assert!(person(t, &q, "dee@x.test").await.is_none());
}
