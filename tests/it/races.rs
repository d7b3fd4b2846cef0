//! Promises that hold when requests arrive at the same moment: sign-in throttling under a
//! flood, the sign-up policy and its per-address limit, the account's participant limit and a
//! referrer's cap. (Milestone rewards under concurrent qualification: `qualification.rs`.)

use refloop::{
    accounts,
    campaigns::{self, join, people},
    domain::{campaigns::CampaignSetup, team::SignUpPolicy},
    error::AppError,
};

use crate::{
    accounts::owner,
    campaigns::{join_ok, live_campaign, request},
    support::TestDb,
};

crate::on_both_backends!(
    a_flood_of_wrong_passwords_checks_at_most_the_limit,
    sign_up_follows_the_policy_and_the_address_limit,
    fifty_joins_at_the_last_free_place_let_exactly_one_in,
    joins_through_one_referrer_at_the_cap_stop_at_the_cap,
);

/// Fifty joins at once, through `code` when given; how many got in.
async fn join_at_once(t: &TestDb, code: Option<&str>, prefix: &str) -> usize {
    let joins: Vec<_> = (0..50)
        .map(|i| {
            let (db, code, email) = (
                t.db.clone(),
                code.map(str::to_string),
                format!("{prefix}{i}@x.test"),
            );
            tokio::spawn(async move {
                join::join(
                    &db,
                    1_000_000,
                    request("spring", &email, "Someone", code.as_deref()),
                )
                .await
            })
        })
        .collect();
    let mut joined = 0;
    for j in joins {
        match j.await.unwrap() {
            Ok(_) => joined += 1,
            Err(AppError::Conflict(_)) => {}
            Err(e) => panic!("unexpected: {e:?}"),
        }
    }
    joined
}

async fn fifty_joins_at_the_last_free_place_let_exactly_one_in(t: &TestDb) {
    let (alice, _) = owner(&t.db, "Acme", "alice@acme.test").await;
    let campaign = live_campaign(&t.db, &alice, "spring").await;
    join_ok(&t.db, request("spring", "first@x.test", "First", None)).await;
    people::set_limit(&t.db, &alice, "2").await.unwrap();
    assert_eq!(join_at_once(t, None, "late").await, 1);
    let everyone = people::list(&t.db, &alice, &campaign, &Default::default())
        .await
        .unwrap();
    assert_eq!(everyone.total, 2);
}

async fn joins_through_one_referrer_at_the_cap_stop_at_the_cap(t: &TestDb) {
    let (alice, _) = owner(&t.db, "Acme", "alice@acme.test").await;
    let campaign = live_campaign(&t.db, &alice, "spring").await;
    let ann = join_ok(&t.db, request("spring", "ann@x.test", "Ann", None)).await;
    let c = campaigns::detail(&t.db, &alice, "http://x", &campaign)
        .await
        .unwrap();
    campaigns::save_setup(
        &t.db,
        &alice,
        &campaign,
        CampaignSetup {
            name: c.name.clone(),
            slug: c.slug.clone(),
            referral_cap: "3".into(),
            ..Default::default()
        },
        false,
    )
    .await
    .unwrap();
    assert_eq!(join_at_once(t, Some(&ann), "friend").await, 3);
    let ann = refloop::db::participants::by_email(t.db.pool(), &campaign, "ann@x.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ann.referrals, 3);
}

async fn a_flood_of_wrong_passwords_checks_at_most_the_limit(t: &TestDb) {
    owner(&t.db, "Acme", "alice@acme.test").await;
    let guesses: Vec<_> = (0..200)
        .map(|i| {
            let db = t.db.clone();
            tokio::spawn(async move {
                // From many addresses, as a botnet would: only the email's limit applies.
                accounts::sign_in(
                    &db,
                    "alice@acme.test",
                    "wrong password",
                    &format!("9.9.{}.{}", i / 250, i % 250),
                )
                .await
            })
        })
        .collect();
    let (mut checked, mut waited) = (0, 0);
    for g in guesses {
        match g.await.unwrap() {
            Err(AppError::Invalid(_)) => checked += 1,
            Err(AppError::TooManyRequests(_)) => waited += 1,
            other => panic!("unexpected: {other:?}"),
        }
    }
    assert!(
        checked <= accounts::MAX_FAILURES_PER_EMAIL,
        "{checked} passwords were checked"
    );
    assert_eq!(checked + waited, 200);
    // Even the right password waits now.
    let right =
        accounts::sign_in(&t.db, "alice@acme.test", "correct horse battery", "8.8.8.8").await;
    assert!(
        matches!(right, Err(AppError::TooManyRequests(_))),
        "{right:?}"
    );
}

async fn sign_up_follows_the_policy_and_the_address_limit(t: &TestDb) {
    // The first account may always be made (by whoever installed Refloop); then it closes.
    accounts::may_sign_up(&t.db, SignUpPolicy::First, 10, "1.1.1.1")
        .await
        .unwrap();
    owner(&t.db, "Acme", "alice@acme.test").await;
    let closed = accounts::may_sign_up(&t.db, SignUpPolicy::First, 10, "1.1.1.2")
        .await
        .unwrap_err();
    assert!(matches!(closed, AppError::Forbidden(_)), "{closed:?}");
    assert!(closed.to_string().contains("Sign-up is closed"), "{closed}");
    assert!(matches!(
        accounts::may_sign_up(&t.db, SignUpPolicy::Closed, 10, "1.1.1.3").await,
        Err(AppError::Forbidden(_))
    ));
    // Open: at most the limit from one address an hour, all at once or not.
    let tries: Vec<_> = (0..12)
        .map(|_| {
            let db = t.db.clone();
            tokio::spawn(async move {
                accounts::may_sign_up(&db, SignUpPolicy::Open, 3, "7.7.7.7").await
            })
        })
        .collect();
    let mut allowed = 0;
    for t in tries {
        match t.await.unwrap() {
            Ok(()) => allowed += 1,
            Err(AppError::TooManyRequests(_)) => {}
            other => panic!("unexpected: {other:?}"),
        }
    }
    assert_eq!(allowed, 3);
    // Another address is not affected.
    accounts::may_sign_up(&t.db, SignUpPolicy::Open, 3, "7.7.7.8")
        .await
        .unwrap();
}
