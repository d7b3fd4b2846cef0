//! The dashboard after the standard journey (two friends of one person referring, one paying
//! past the target and one below): revenue, cost, return, funnel, top referrers and time to
//! qualify come out right, follow refunds, stay inside the account, and download as CSV.

use axum::{
    body::Body,
    http::{header, Request, StatusCode},
};
use refloop::{
    campaigns::dashboard::{csv_file, dashboard},
    config::Config,
    db::unix_now,
    domain::{
        dashboard::{Cost, Funnel, Period},
        participants::Qualification,
        permissions::Role,
        rewards::RewardStatus,
    },
    error::AppError,
    state::AppState,
};

use crate::{
    accounts::{owner, teammate},
    campaigns::{join_ok, request},
    qualification::{credit, Qualifying},
    support::{answer, router, TestDb},
};

crate::on_both_backends!(
    the_dashboard_adds_up_the_journey_and_follows_refunds,
    the_dashboard_is_the_callers_own_and_downloads_as_csv,
);

fn period(key: &str) -> Period {
    Period::parse(key, "", "", unix_now()).unwrap()
}

/// Ann refers Bob and Cara; Bob pays 60.00 (past the 50.00 target), Cara 20.00 (her charge id
/// is returned beside the harness).
async fn journey(t: &TestDb) -> (Qualifying, String) {
    let q = Qualifying::start(t, credit("10.00", true, false)).await;
    let code = join_ok(&t.db, request("spend", "ann@x.test", "Ann", None)).await;
    join_ok(&t.db, request("spend", "bob@x.test", "Bob", Some(&code))).await;
    join_ok(&t.db, request("spend", "cara@x.test", "Cara", Some(&code))).await;
    let bob = q.customer(t, "bob@x.test").await;
    let cara = q.customer(t, "cara@x.test").await;
    q.pay(t, &bob, 6_000).await;
    let cara_charge = q.pay(t, &cara, 2_000).await;
    q.until(t, "bob@x.test", "qualified", |p| {
        p.qualification == Qualification::Qualified
    })
    .await;
    q.until(t, "cara@x.test", "counted her payment", |p| {
        p.spent == 2_000
    })
    .await;
    q.until_reward(t, "ann@x.test", RewardStatus::Issued).await;
    (q, cara_charge)
}

async fn the_dashboard_adds_up_the_journey_and_follows_refunds(t: &TestDb) {
    let (q, cara_charge) = journey(t).await;
    let d = dashboard(&t.db, &q.alice, "", period("30d")).await.unwrap();
    assert_eq!(d.revenue.len(), 1, "{:?}", d.revenue);
    assert_eq!(
        (d.revenue[0].currency.as_str(), d.revenue[0].amount),
        ("usd", 8_000)
    );
    assert_eq!(d.revenue[0].previous, Some(0));
    assert_eq!(d.revenue[0].change().as_deref(), Some("new"));
    assert_eq!(
        d.cost,
        vec![Cost {
            currency: "usd".into(),
            issued: 1_000,
            held: 0,
            pending_approval: 0,
        }]
    );
    assert_eq!(d.returns(), vec![("usd".to_string(), "8.0×".to_string())]);
    assert_eq!(
        d.funnel,
        Funnel {
            clicks: 0,
            joined: 3,
            invited: 2,
            paying: 2,
            qualified: 1,
        }
    );
    let top = &d.top_referrers;
    assert_eq!(top.len(), 1, "{top:?}");
    assert_eq!(
        (
            top[0].email.as_str(),
            top[0].name.as_str(),
            top[0].friends,
            top[0].paying
        ),
        ("ann@x.test", "Ann", 2, 2)
    );
    assert_eq!(
        (top[0].revenue[0].amount, top[0].rewards[0].amount),
        (8_000, 1_000)
    );
    let ttq = d.time_to_qualify.unwrap();
    assert_eq!(ttq.friends, 1);
    assert!(ttq.median >= 0 && ttq.median < 120, "{ttq:?}");
    assert_eq!(d.days.iter().map(|d| d.amount).sum::<i64>(), 8_000);

    // The campaign's Overview shows the same; all time too.
    let c = dashboard(&t.db, &q.alice, &q.campaign, period("all"))
        .await
        .unwrap();
    assert_eq!((c.revenue[0].amount, c.revenue[0].previous), (8_000, None));
    assert_eq!(c.funnel, d.funnel);

    // A refund lowers the revenue where it was counted; Cara stops paying once refunded in full.
    let stripe = q.stripe(t).await;
    stripe
        .refund(&cara_charge, None, "refund-cara")
        .await
        .unwrap();
    q.until(t, "cara@x.test", "counted the refund", |p| p.spent == 0)
        .await;
    let d = dashboard(&t.db, &q.alice, "", period("7d")).await.unwrap();
    assert_eq!(d.revenue[0].amount, 6_000);
    assert_eq!((d.funnel.paying, d.top_referrers[0].paying), (1, 1));
    assert_eq!(d.top_referrers[0].revenue[0].amount, 6_000);

    // A period before anyone joined is empty, and says so.
    let past = Period::parse("custom", "2020-01-01", "2020-01-31", unix_now()).unwrap();
    let d = dashboard(&t.db, &q.alice, "", past).await.unwrap();
    assert!(d.is_empty(), "{d:?}");
    assert!(d.top_referrers.is_empty() && d.time_to_qualify.is_none());
}

async fn the_dashboard_is_the_callers_own_and_downloads_as_csv(t: &TestDb) {
    let (q, _) = journey(t).await;
    // Another account sees nothing of it, and not its campaign at all.
    let (olga, olga_session) = owner(&t.db, "Other", "olga@other.test").await;
    let theirs = dashboard(&t.db, &olga, "", period("all")).await.unwrap();
    assert!(
        theirs.is_empty() && theirs.top_referrers.is_empty(),
        "{theirs:?}"
    );
    assert!(matches!(
        dashboard(&t.db, &olga, &q.campaign, period("all")).await,
        Err(AppError::NotFound(_))
    ));

    let (file, csv) = csv_file(&t.db, &q.alice, "", period("30d"), "referrers")
        .await
        .unwrap();
    assert!(file.starts_with("refloop-account-referrers-"), "{file}");
    assert_eq!(
        csv.lines().collect::<Vec<_>>(),
        vec![
            "email,name,friends,paying_friends,revenue,rewards",
            "ann@x.test,Ann,2,2,80.00 USD,10.00 USD",
        ]
    );
    let (_, funnel) = csv_file(&t.db, &q.alice, &q.campaign, period("30d"), "funnel")
        .await
        .unwrap();
    assert!(
        funnel.contains("\nFriends invited,2,67%\nPaying,2,100%\nQualified,1,50%\n"),
        "{funnel}"
    );
    let err = csv_file(&t.db, &q.alice, "", period("30d"), "people")
        .await
        .unwrap_err();
    assert_eq!(
        err.field_message("table"),
        Some("There is no table “people”: choose revenue, funnel or referrers.")
    );

    // Over HTTP: the owner downloads; a viewer may not export; another account gets nothing
    // of this campaign; nobody signed in gets 401; a bad period says what is wrong.
    let app = router(AppState::new(Config::defaults(), t.db.clone()).unwrap()).await;
    let alice_session = q.alice_session.clone();
    let (_, vera_session) = teammate(&t.db, &q.alice, "vera@acme.test", Role::Viewer).await;
    let get = |query: String, session: Option<String>| {
        let mut req = Request::get(format!("/export/dashboard.csv?{query}"));
        if let Some(s) = session {
            req = req.header(header::COOKIE, format!("refloop_session={s}"));
        }
        answer(&app, req.body(Body::empty()).unwrap())
    };
    let (res, body) = get(
        "table=revenue&period=7d".into(),
        Some(alice_session.clone()),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{body}");
    assert_eq!(res.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert!(
        body.starts_with("day,currency,revenue\n") && body.contains(",usd,80.00\n"),
        "{body}"
    );
    let (res, body) = get("table=revenue".into(), Some(vera_session)).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(body.contains("You need Export participants"), "{body}");
    let theirs = format!("table=referrers&campaign={}", q.campaign);
    assert_eq!(
        get(theirs.clone(), Some(olga_session)).await.0.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(get(theirs, None).await.0.status, StatusCode::UNAUTHORIZED);
    let (res, body) = get(
        "table=funnel&period=custom&from=2026-02-30&to=2026-03-01".into(),
        Some(alice_session),
    )
    .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.contains("The start date “2026-02-30” is not a date"),
        "{body}"
    );
}
