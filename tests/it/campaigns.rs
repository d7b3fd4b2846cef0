//! Campaigns, joining and the Users tab, through the services, on both backends.

use std::collections::HashMap;

use refloop::{
    auth::Ctx,
    campaigns::{
        self,
        join::{self, JoinRequest},
        people,
    },
    db::Db,
    domain::{
        campaigns::{CampaignStatus, FieldKind, FormField, PromoteToggle},
        participants::{
            EventKind, ParticipantKind, ParticipantQuery, ParticipantSort, Qualification,
        },
        permissions::Role,
    },
    error::AppError,
};

use crate::{
    accounts::{owner, teammate},
    support::TestDb,
};

crate::on_both_backends!(
    the_builder_validates_and_guards_live_campaigns,
    toggles_save_and_explain_what_blocks_them,
    people_join_and_refer_by_the_rules,
    every_refusal_is_recorded_and_explained,
    the_users_tab_searches_filters_sorts_and_pages,
    csv_export_and_import_with_a_report,
    the_dashboard_counts_by_day
);

/// A live campaign with the standard forms; returns its id.
pub async fn live_campaign(db: &Db, ctx: &Ctx, slug: &str) -> String {
    let id = campaigns::create(db, ctx, "Spring referrals", slug)
        .await
        .unwrap();
    campaigns::set_status(db, ctx, &id, CampaignStatus::Live)
        .await
        .unwrap();
    id
}

fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub fn request(slug: &str, email: &str, name: &str, code: Option<&str>) -> JoinRequest {
    JoinRequest {
        slug: slug.into(),
        values: form(&[("email", email), ("first_name", name)]),
        referral_code: code.map(String::from),
        honeypot: String::new(),
        ip: "203.0.113.7".into(),
        sighting: Default::default(),
    }
}

/// Joins and returns the new participant's referral code.
pub async fn join_ok(db: &Db, req: JoinRequest) -> String {
    let token = join::join(db, 1000, req).await.expect("joins");
    join::personal_page(db, "http://refloop.test", &token)
        .await
        .unwrap()
        .code
}

fn conflict(result: Result<String, AppError>) -> String {
    match result {
        Err(AppError::Conflict(m)) => m,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn the_builder_validates_and_guards_live_campaigns(t: &TestDb) {
    let (alice, _) = owner(&t.db, "Acme", "alice@acme.test").await;
    let (olga, _) = owner(&t.db, "Other", "olga@other.test").await;
    let Err(AppError::Invalid(errors)) = campaigns::create(&t.db, &alice, " ", "a b").await else {
        panic!("a blank name and a bad slug are refused");
    };
    assert_eq!(
        errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
        ["name", "slug"]
    );
    let id = campaigns::create(&t.db, &alice, "Spring", "Spring-Offer")
        .await
        .unwrap();
    let err = campaigns::create(&t.db, &olga, "Mine", "spring-offer")
        .await
        .unwrap_err();
    assert!(
        err.field_message("slug").unwrap().contains("already taken"),
        "{err:?}"
    );
    assert!(matches!(
        campaigns::detail(&t.db, &olga, "http://x", &id).await,
        Err(AppError::NotFound(_))
    ));

    let setup = |slug: &str, cap: &str, ends: &str| refloop::domain::campaigns::CampaignSetup {
        name: "Spring".into(),
        slug: slug.into(),
        starts_on: "2026-03-01".into(),
        ends_on: ends.into(),
        referral_cap: cap.into(),
        share_text: "Get 20% off".into(),
        landing_url: String::new(),
    };
    let Err(AppError::Invalid(errors)) = campaigns::save_setup(
        &t.db,
        &alice,
        &id,
        setup("spring-offer", "zero", "2026-02-01"),
        false,
    )
    .await
    else {
        panic!("a bad cap and an end before the start are refused");
    };
    assert_eq!(
        errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
        ["ends_on", "referral_cap"]
    );
    campaigns::save_setup(
        &t.db,
        &alice,
        &id,
        setup("spring-offer", "3", "2026-03-31"),
        false,
    )
    .await
    .unwrap();
    let c = campaigns::detail(&t.db, &alice, "http://refloop.test", &id)
        .await
        .unwrap();
    assert_eq!(c.referral_cap, Some(3));
    assert_eq!(c.join_link, "http://refloop.test/j/spring-offer");
    assert_eq!(c.ends_at, Some(1_775_001_600), "the end date is inclusive");

    // Forms: every field is checked, and the email field cannot go.
    let mut fields = c.referrer_form.clone();
    fields.push(FormField {
        key: String::new(),
        label: "Company size".into(),
        kind: FieldKind::Select(vec!["1-10".into(), "11+".into()]),
        required: true,
    });
    let without_email: Vec<FormField> = fields
        .iter()
        .filter(|f| f.kind != FieldKind::Email)
        .cloned()
        .collect();
    let Err(AppError::Invalid(errors)) = campaigns::save_forms(
        &t.db,
        &alice,
        &id,
        without_email,
        c.friend_form.clone(),
        false,
    )
    .await
    else {
        panic!("a form without email is refused");
    };
    assert_eq!(errors[0].field, "referrer.form");
    campaigns::save_forms(&t.db, &alice, &id, fields, c.friend_form.clone(), false)
        .await
        .unwrap();
    let c = campaigns::detail(&t.db, &alice, "http://x", &id)
        .await
        .unwrap();
    assert_eq!(c.referrer_form[3].key, "company_size");

    // Live: changes that would break something are named and need confirming.
    campaigns::set_status(&t.db, &alice, &id, CampaignStatus::Live)
        .await
        .unwrap();
    let shorter: Vec<FormField> = c.referrer_form[..3].to_vec();
    let err = campaigns::save_forms(
        &t.db,
        &alice,
        &id,
        shorter.clone(),
        c.friend_form.clone(),
        false,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, AppError::Conflict(m) if m.contains("Removing “Company size”")),
        "{err:?}"
    );
    let err = campaigns::save_setup(&t.db, &alice, &id, setup("summer-offer", "3", ""), false)
        .await
        .unwrap_err();
    assert!(err
        .to_string()
        .contains("links already shared stop working"));
    campaigns::save_forms(&t.db, &alice, &id, shorter, c.friend_form.clone(), true)
        .await
        .unwrap();
    campaigns::set_status(&t.db, &alice, &id, CampaignStatus::Ended)
        .await
        .unwrap();
    assert!(
        campaigns::set_status(&t.db, &alice, &id, CampaignStatus::Live)
            .await
            .unwrap_err()
            .to_string()
            .contains("cannot be reopened")
    );
    let list = campaigns::list(&t.db, &alice).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].status, CampaignStatus::Ended);
    assert!(campaigns::list(&t.db, &olga).await.unwrap().is_empty());
}

async fn toggles_save_and_explain_what_blocks_them(t: &TestDb) {
    let (alice, _) = owner(&t.db, "Acme", "alice@acme.test").await;
    let (vera, _) = teammate(&t.db, &alice, "vera@acme.test", Role::Viewer).await;
    let id = live_campaign(&t.db, &alice, "spring").await;
    let state = |c: &refloop::domain::campaigns::CampaignDetail, t: PromoteToggle| {
        c.toggles.iter().find(|s| s.toggle == t).unwrap().clone()
    };
    let c = campaigns::detail(&t.db, &alice, "http://x", &id)
        .await
        .unwrap();
    let blocked = state(&c, PromoteToggle::SendReferrers);
    assert!(!blocked.on);
    assert_eq!(blocked.blocker.unwrap().fix_href, "/app/integrations");
    let err = campaigns::set_toggle(
        &t.db,
        &Default::default(),
        &alice,
        &id,
        PromoteToggle::SendReferrers,
        true,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("Stripe is not connected"), "{err}");

    let sb = crate::stripe_client::SandboxServer::start(t).await;
    let access = sb.access();
    refloop::integrations::connect_stripe(
        &t.db,
        &access,
        &alice,
        refloop::domain::integrations::StripeMode::Sandbox,
        "",
    )
    .await
    .unwrap();
    // The ongoing sync needs its settings first, and says where to set them.
    let c = campaigns::detail(&t.db, &alice, "http://x", &id)
        .await
        .unwrap();
    let sync_blocker = state(&c, PromoteToggle::OngoingSync).blocker.unwrap();
    assert_eq!(sync_blocker.fix_href, format!("/app/campaigns/{id}/sync"));
    refloop::campaigns::sync::save_settings(&t.db, &alice, &id, Default::default())
        .await
        .unwrap();
    for toggle in PromoteToggle::ALL {
        let s = campaigns::set_toggle(&t.db, &access, &alice, &id, toggle, true)
            .await
            .unwrap();
        assert!(s.on && s.blocker.is_none(), "{toggle:?}");
    }
    let c = campaigns::detail(&t.db, &alice, "http://x", &id)
        .await
        .unwrap();
    assert!(c.toggles.iter().all(|s| s.on), "the toggles are stored");
    // A Viewer sees them, disabled, with the reason.
    let seen = campaigns::detail(&t.db, &vera, "http://x", &id)
        .await
        .unwrap();
    let reason = state(&seen, PromoteToggle::SendFriends).blocker.unwrap();
    assert!(reason.reason.contains("Edit campaigns"), "{reason:?}");
    campaigns::set_toggle(
        &t.db,
        &Default::default(),
        &alice,
        &id,
        PromoteToggle::OngoingSync,
        false,
    )
    .await
    .unwrap();
    let c = campaigns::detail(&t.db, &alice, "http://x", &id)
        .await
        .unwrap();
    assert!(!state(&c, PromoteToggle::OngoingSync).on);
}

async fn people_join_and_refer_by_the_rules(t: &TestDb) {
    let (alice, _) = owner(&t.db, "Acme", "alice@acme.test").await;
    let id = live_campaign(&t.db, &alice, "spring").await;
    let ann = join_ok(&t.db, request("spring", " Ann@Example.com ", "Ann", None)).await;
    // The landing counts the click and offers the friend form.
    let landing = join::open_referral(&t.db, &ann, &join::Visitor("first".into()))
        .await
        .unwrap();
    assert_eq!(landing.referrer_name.as_deref(), Some("Ann"));
    assert_eq!(landing.referral_code.as_deref(), Some(ann.as_str()));
    let bob = join_ok(
        &t.db,
        request("spring", "bob@example.com", "Bob", Some(&ann)),
    )
    .await;
    // A remembered code of this campaign makes /j/ the friend form too.
    let page = join::public_campaign(&t.db, "spring", Some(&ann))
        .await
        .unwrap();
    assert_eq!(page.referrer_name.as_deref(), Some("Ann"));

    let all = people::list(&t.db, &alice, &id, &ParticipantQuery::default())
        .await
        .unwrap();
    assert_eq!(all.total, 2);
    let ann_row = all.rows.iter().find(|r| r.code == ann).unwrap();
    let bob_row = all.rows.iter().find(|r| r.code == bob).unwrap();
    assert_eq!(ann_row.email, "ann@example.com", "emails are normalised");
    assert_eq!(ann_row.kind, ParticipantKind::Referring);
    assert_eq!(ann_row.referrals, 1);
    assert_eq!(bob_row.kind, ParticipantKind::Invited);
    assert_eq!(bob_row.qualification, Qualification::Pending);

    let detail = people::detail(&t.db, &alice, "http://refloop.test", &id, &ann_row.id)
        .await
        .unwrap();
    assert_eq!(detail.referred.len(), 1);
    assert_eq!(detail.referral_link, format!("http://refloop.test/r/{ann}"));
    let kinds: Vec<&str> = detail.timeline.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            EventKind::Referred.key(),
            EventKind::Clicked.key(),
            EventKind::Joined.key()
        ]
    );
    let bob_detail = people::detail(&t.db, &alice, "http://x", &id, &bob_row.id)
        .await
        .unwrap();
    assert_eq!(bob_detail.referrer.unwrap().code, ann);
    assert!(bob_detail.timeline[0]
        .detail
        .contains("referral link of ann@example.com"));

    // The personal page counts friends.
    let token = join::join(
        &t.db,
        1000,
        request("spring", "cid@example.com", "Cid", None),
    )
    .await
    .unwrap();
    let me = join::personal_page(&t.db, "http://refloop.test", &token)
        .await
        .unwrap();
    assert_eq!(me.friends_joined, 0);
    assert!(me.referral_link.starts_with("http://refloop.test/r/"));
    let ann_page = join::public_campaign(&t.db, "spring", None).await.unwrap();
    assert!(ann_page.closed.is_none());
    // Field errors name the field.
    let Err(AppError::Invalid(errors)) =
        join::join(&t.db, 1000, request("spring", "not-an-email", "", None)).await
    else {
        panic!("bad fields are refused");
    };
    assert_eq!(
        errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
        ["first_name", "email"]
    );
}

async fn every_refusal_is_recorded_and_explained(t: &TestDb) {
    let (alice, _) = owner(&t.db, "Acme", "alice@acme.test").await;
    let id = live_campaign(&t.db, &alice, "spring").await;
    let ann = join_ok(&t.db, request("spring", "ann@example.com", "Ann", None)).await;
    let again = join::join(&t.db, 1000, request("spring", "ANN@example.com", "A", None)).await;
    assert!(conflict(again).contains("already joined"));
    let own = join::join(
        &t.db,
        1000,
        request("spring", "ann@example.com", "Ann", Some(&ann)),
    )
    .await;
    assert!(conflict(own).contains("your own referral link"));
    let bot = JoinRequest {
        honeypot: "http://spam.example".into(),
        ..request("spring", "bot@example.com", "Bot", None)
    };
    assert!(conflict(join::join(&t.db, 1000, bot).await).contains("automatically"));

    // A referral cap.
    let c = campaigns::detail(&t.db, &alice, "http://x", &id)
        .await
        .unwrap();
    campaigns::save_setup(
        &t.db,
        &alice,
        &id,
        refloop::domain::campaigns::CampaignSetup {
            name: c.name.clone(),
            slug: c.slug.clone(),
            referral_cap: "1".into(),
            ..Default::default()
        },
        false,
    )
    .await
    .unwrap();
    join_ok(
        &t.db,
        request("spring", "bob@example.com", "Bob", Some(&ann)),
    )
    .await;
    let capped = join::join(
        &t.db,
        1000,
        request("spring", "cid@example.com", "Cid", Some(&ann)),
    )
    .await;
    assert!(conflict(capped).contains("limit of 1 referrals"));

    // The account's limit, set by the Owner only.
    let (max, _) = teammate(&t.db, &alice, "max@acme.test", Role::Admin).await;
    assert!(matches!(
        people::set_limit(&t.db, &max, "2").await,
        Err(AppError::Forbidden(_))
    ));
    assert!(people::set_limit(&t.db, &alice, "0").await.is_err());
    assert_eq!(
        people::limit_banner(&t.db, &alice.account_id)
            .await
            .unwrap(),
        None
    );
    people::set_limit(&t.db, &alice, "2").await.unwrap();
    let full = join::join(
        &t.db,
        1000,
        request("spring", "dan@example.com", "Dan", None),
    )
    .await;
    assert!(conflict(full).contains("full right now"));
    assert!(people::limit_banner(&t.db, &alice.account_id)
        .await
        .unwrap()
        .unwrap()
        .contains("reached its limit of 2"));

    // Paused: the page says so, and joining is refused.
    campaigns::set_status(&t.db, &alice, &id, CampaignStatus::Paused)
        .await
        .unwrap();
    let page = join::public_campaign(&t.db, "spring", None).await.unwrap();
    assert!(page.closed.unwrap().contains("paused"));
    let paused = join::join(
        &t.db,
        1000,
        request("spring", "eve@example.com", "Eve", None),
    )
    .await;
    assert!(conflict(paused).contains("paused"));

    let stats = people::stats(&t.db, &alice, &id).await.unwrap();
    let reasons: HashMap<String, i64> = stats.refusals.into_iter().collect();
    for reason in [
        "Already joined",
        "Own referral link",
        "Automated submission (honeypot)",
        "Referrer at their cap",
        "Account participant limit reached",
        "Campaign not open",
    ] {
        assert_eq!(reasons.get(reason), Some(&1), "{reason}: {reasons:?}");
    }

    // Too many submissions from one address are turned away before anything else.
    for n in 0..3 {
        let _ = join::join(
            &t.db,
            3,
            JoinRequest {
                ip: "198.51.100.9".into(),
                ..request("spring", &format!("x{n}@example.com"), "X", None)
            },
        )
        .await;
    }
    let throttled = join::join(
        &t.db,
        3,
        JoinRequest {
            ip: "198.51.100.9".into(),
            ..request("spring", "y@example.com", "Y", None)
        },
    )
    .await;
    assert!(matches!(throttled, Err(AppError::TooManyRequests(_))));
    assert!(matches!(
        join::join(&t.db, 1000, request("nope", "z@example.com", "Z", None)).await,
        Err(AppError::NotFound(_))
    ));
}

async fn the_users_tab_searches_filters_sorts_and_pages(t: &TestDb) {
    let (alice, _) = owner(&t.db, "Acme", "alice@acme.test").await;
    let (olga, _) = owner(&t.db, "Other", "olga@other.test").await;
    let id = live_campaign(&t.db, &alice, "spring").await;
    let mut first_code = String::new();
    for n in 0..60 {
        let code = join_ok(
            &t.db,
            request(
                "spring",
                &format!("person{n:02}@example.com"),
                &format!("Person{n:02}"),
                (n % 2 == 1).then_some(first_code.as_str()),
            ),
        )
        .await;
        if n == 0 {
            first_code = code;
        }
    }
    let q = |f: &dyn Fn(&mut ParticipantQuery)| {
        let mut q = ParticipantQuery::default();
        f(&mut q);
        q
    };
    let page1 = people::list(&t.db, &alice, &id, &ParticipantQuery::default())
        .await
        .unwrap();
    assert_eq!((page1.total, page1.pages, page1.rows.len()), (60, 2, 50));
    let page2 = people::list(&t.db, &alice, &id, &q(&|q| q.page = 2))
        .await
        .unwrap();
    assert_eq!(page2.rows.len(), 10);
    let found = people::list(&t.db, &alice, &id, &q(&|q| q.search = "PERSON07".into()))
        .await
        .unwrap();
    assert_eq!(found.total, 1);
    assert_eq!(found.rows[0].email, "person07@example.com");
    let by_code = people::list(&t.db, &alice, &id, &q(&|q| q.search = first_code.clone()))
        .await
        .unwrap();
    assert_eq!(by_code.rows[0].email, "person00@example.com");
    let literal = people::list(&t.db, &alice, &id, &q(&|q| q.search = "%".into()))
        .await
        .unwrap();
    assert_eq!(literal.total, 0, "a % is searched for, not a wildcard");
    let invited = people::list(
        &t.db,
        &alice,
        &id,
        &q(&|q| q.kind = Some(ParticipantKind::Invited)),
    )
    .await
    .unwrap();
    assert_eq!(invited.total, 30);
    let pending = people::list(
        &t.db,
        &alice,
        &id,
        &q(&|q| q.qualification = Some(Qualification::Pending)),
    )
    .await
    .unwrap();
    assert_eq!(pending.total, 30);
    let top = people::list(
        &t.db,
        &alice,
        &id,
        &q(&|q| q.sort = ParticipantSort::Referrals),
    )
    .await
    .unwrap();
    assert_eq!(top.rows[0].referrals, 30);
    let by_email = people::list(&t.db, &alice, &id, &q(&|q| q.sort = ParticipantSort::Email))
        .await
        .unwrap();
    assert_eq!(by_email.rows[0].email, "person00@example.com");
    assert_eq!(by_email.rows[1].email, "person01@example.com");
    assert!(matches!(
        people::list(&t.db, &olga, &id, &ParticipantQuery::default()).await,
        Err(AppError::NotFound(_))
    ));
}

async fn csv_export_and_import_with_a_report(t: &TestDb) {
    let (alice, _) = owner(&t.db, "Acme", "alice@acme.test").await;
    let id = live_campaign(&t.db, &alice, "spring").await;
    join_ok(&t.db, request("spring", "ann@example.com", "Ann", None)).await;
    let csv = "email,first_name,last_name,referrer_email\n\
               bob@example.com,Bob,\"Lee, Jr\",ann@example.com\n\
               not-an-email,X,,\n\
               ann@example.com,Ann,,\n\
               cid@example.com,Cid,,nobody@example.com\n\
               \"=cmd@example.com\",Evil,,\n";
    let report = people::import_csv(&t.db, &alice, &id, csv).await.unwrap();
    assert_eq!((report.added, report.refused), (2, 3));
    let outcome: Vec<(u32, bool)> = report
        .rows
        .iter()
        .map(|r| (r.line, r.refusal.is_none()))
        .collect();
    assert_eq!(
        outcome,
        [(2, true), (3, false), (4, false), (5, false), (6, true)]
    );
    assert!(report.rows[2]
        .refusal
        .as_deref()
        .unwrap()
        .contains("already joined"));
    assert!(report.rows[3]
        .refusal
        .as_deref()
        .unwrap()
        .contains("not in this campaign"));
    assert!(people::import_csv(&t.db, &alice, &id, "name\nx")
        .await
        .unwrap_err()
        .field_message("csv")
        .unwrap()
        .contains("no `email` column"));

    let (file, text) = people::export_csv(&t.db, &alice, &id).await.unwrap();
    assert_eq!(file, "spring-participants.csv");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4);
    assert!(lines[0].starts_with("email,first_name,last_name,code,kind,referrer_email"));
    assert!(
        lines[2].starts_with("bob@example.com,Bob,\"Lee, Jr\","),
        "{}",
        lines[2]
    );
    assert!(lines[2].contains(",invited,ann@example.com,pending,"));
    // A spreadsheet shows a value that looks like a formula instead of running it.
    assert!(
        lines[3].starts_with("'=cmd@example.com,Evil,"),
        "{}",
        lines[3]
    );
    let bob = people::list(
        &t.db,
        &alice,
        &id,
        &ParticipantQuery {
            search: "bob".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let detail = people::detail(&t.db, &alice, "http://x", &id, &bob.rows[0].id)
        .await
        .unwrap();
    assert_eq!(detail.timeline[0].kind, EventKind::Imported.key());
}

async fn the_dashboard_counts_by_day(t: &TestDb) {
    let (alice, _) = owner(&t.db, "Acme", "alice@acme.test").await;
    let id = live_campaign(&t.db, &alice, "spring").await;
    let ann = join_ok(&t.db, request("spring", "ann@example.com", "Ann", None)).await;
    // Two visitors; the first comes back the same day (with the cookie it was given): two
    // clicks.
    for visitor in ["one", "two", "one"] {
        join::open_referral(&t.db, &ann, &join::Visitor(visitor.into()))
            .await
            .unwrap();
    }
    join_ok(
        &t.db,
        request("spring", "bob@example.com", "Bob", Some(&ann)),
    )
    .await;
    let stats = people::stats(&t.db, &alice, &id).await.unwrap();
    assert_eq!(
        (
            stats.totals.clicks,
            stats.totals.joins,
            stats.totals.invited
        ),
        (2, 2, 1)
    );
    assert_eq!(stats.days.len(), 30);
    let today = stats.days.last().unwrap();
    assert_eq!((today.clicks, today.joins, today.invited), (2, 2, 1));
    assert!(stats.days[..29].iter().all(|d| d.joins == 0));
}

/// The public pages work as plain HTML forms: no script, just GETs, a POST and redirects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_pages_work_without_javascript() {
    use axum::{
        body::Body,
        http::{header, Request, StatusCode},
    };
    use refloop::{config::Config, state::AppState};

    use crate::support::{answer, router};

    let t = TestDb::sqlite().await;
    let app = router(AppState::new(Config::defaults(), t.db.clone()).unwrap()).await;
    let (alice, _) = owner(&t.db, "Acme", "alice@acme.test").await;
    live_campaign(&t.db, &alice, "spring").await;
    let ann = join_ok(&t.db, request("spring", "ann@example.com", "Ann", None)).await;
    let send = |req: Request<Body>| answer(&app, req);

    let (res, html) = send(Request::get("/j/spring").body(Body::empty()).unwrap()).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(html.contains(r#"name="values[email]""#), "{html}");
    assert!(html.contains(r#"name="website""#), "the honeypot is there");

    let (res, html) = send(
        Request::get(format!("/r/{ann}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(
        html.contains("Ann invited you to join Spring referrals"),
        "{html}"
    );
    let cookies: Vec<&str> = res
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|c| c.to_str().unwrap())
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with(&format!("refloop_ref={ann};"))),
        "{cookies:?}"
    );
    // And a visitor cookie, so that coming back today is not another click.
    assert!(
        cookies.iter().any(|c| c.starts_with("refloop_visitor=")),
        "{cookies:?}"
    );

    // The friend comes back later to /j/spring: the cookie still links them to Ann.
    let post = |email: &str| {
        Request::post("/api/join_campaign")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "text/html")
            .header(header::REFERER, "http://localhost/j/spring")
            .header(header::COOKIE, format!("refloop_ref={ann}"))
            .body(Body::from(format!(
                "slug=spring&code=&website=&values%5Bfirst_name%5D=Bob&values%5Bemail%5D={email}"
            )))
            .unwrap()
    };
    let (res, _) = send(post("bob%40example.com")).await;
    assert!(res.status.is_redirection(), "{:?}", res.status);
    let location = res.headers[header::LOCATION].to_str().unwrap().to_string();
    assert!(location.starts_with("/p/"), "{location}");
    let (_, html) = send(Request::get(&location).body(Body::empty()).unwrap()).await;
    assert!(html.contains("You're in, Bob!"), "{html}");
    assert!(html.contains("You were invited by Ann."), "{html}");

    // A refusal goes back to the form with its message.
    let (res, _) = send(post("bob%40example.com")).await;
    let back = res.headers[header::LOCATION].to_str().unwrap().to_string();
    assert!(back.starts_with("http://localhost/j/spring"), "{back}");
    let (_, html) = send(
        Request::get(back.trim_start_matches("http://localhost"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(
        html.contains("You have already joined with this email"),
        "{html}"
    );
}

/// The CSV export is a download for those allowed to export, and nothing for anyone else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_csv_export_is_a_download_for_those_allowed() {
    use axum::{
        body::Body,
        http::{header, Request, StatusCode},
    };
    use refloop::{config::Config, state::AppState};

    use crate::support::{answer, router};

    let t = TestDb::sqlite().await;
    let app = router(AppState::new(Config::defaults(), t.db.clone()).unwrap()).await;
    let (alice, alice_session) = owner(&t.db, "Acme", "alice@acme.test").await;
    let (_, vera_session) = teammate(&t.db, &alice, "vera@acme.test", Role::Viewer).await;
    let (_, olga_session) = owner(&t.db, "Other", "olga@other.test").await;
    let id = live_campaign(&t.db, &alice, "spring").await;
    join_ok(&t.db, request("spring", "ann@example.com", "Ann", None)).await;
    let export = |session: Option<&str>| {
        let mut req = Request::get(format!("/export/campaigns/{id}/participants.csv"));
        if let Some(s) = session {
            req = req.header(header::COOKIE, format!("refloop_session={s}"));
        }
        answer(&app, req.body(Body::empty()).unwrap())
    };
    let (res, csv) = export(Some(&alice_session)).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert_eq!(
        res.headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"spring-participants.csv\""
    );
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .starts_with("ann@example.com,Ann,"),
        "{csv}"
    );
    let (res, body) = export(Some(&vera_session)).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(body.contains("You need Export participants"), "{body}");
    assert_eq!(
        export(Some(&olga_session)).await.0.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(export(None).await.0.status, StatusCode::UNAUTHORIZED);
}
