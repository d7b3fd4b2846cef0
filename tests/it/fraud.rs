//! Self-referrals by email, end to end: a friend who is the referrer's own mailbox (a +tag,
//! Gmail's dots) is flagged, qualifies as usual, and their referral's reward waits for review
//! with the evidence; approving issues it, rejecting cancels it and the referral's later
//! rewards. Set to refuse, the join is refused with a neutral message and the reason kept for
//! the team. Colleagues sharing a company domain are left alone.

use refloop::{
    campaigns::join,
    db::{fraud, participants},
    domain::{
        commissions::CommissionForm,
        fraud::{Finding, FraudSettings, Response, ReviewState, Signal},
        health::{CheckId, CheckState},
        participants::FlagCount,
        rewards::{RewardDecision, RewardStatus},
    },
    error::AppError,
    health::{self, Depth},
    workflows::rewards::decide,
};

use crate::{
    campaigns::{join_ok, request},
    qualification::{credit, Qualifying},
    support::TestDb,
};

crate::on_both_backends!(
    a_friend_on_the_referrers_mailbox_waits_for_review_and_approval_issues_the_reward,
    a_rejected_referral_gets_nothing_more,
    set_to_refuse_the_join_is_refused_neutrally_and_the_reason_kept,
    colleagues_sharing_a_company_domain_are_not_flagged,
    a_friend_on_a_disposable_domain_is_flagged_or_refused,
    the_eleventh_friend_within_an_hour_is_flagged,
    a_friend_in_the_referrers_browser_is_flagged_and_their_own_phone_is_not,
    a_friend_on_the_referrers_address_is_flagged_unless_others_use_it,
    a_friend_paying_with_the_referrers_card_waits_for_review,
);

/// A join of `email` through `code` from the browser with `cookie` at `ip`.
fn from(email: &str, code: Option<&str>, cookie: &str, ip: &str) -> join::JoinRequest {
    join::JoinRequest {
        sighting: join::Sighting::of(&SEALER, cookie, ip),
        ip: ip.into(),
        ..request("spend", email, &name_of(email), code)
    }
}

/// "Ann" for ann@….
fn name_of(email: &str) -> String {
    let local = email.split('@').next().unwrap_or_default();
    local[..1].to_uppercase() + &local[1..]
}

static SEALER: std::sync::LazyLock<refloop::secrets::Sealer> =
    std::sync::LazyLock::new(refloop::secrets::Sealer::random);

/// The signs of the friend `email`'s review, if flagged.
async fn signs(q: &Qualifying, t: &TestDb, email: &str) -> Vec<Signal> {
    review(q, t, email)
        .await
        .map(|r| r.findings.iter().map(|f| f.signal).collect())
        .unwrap_or_default()
}

/// The friend `email`'s review, if flagged.
async fn review(q: &Qualifying, t: &TestDb, email: &str) -> Option<fraud::Review> {
    let p = participants::by_email(t.db.pool(), &q.campaign, email)
        .await
        .unwrap()
        .unwrap();
    fraud::review_of(t.db.pool(), &q.alice.account_id, &p.id)
        .await
        .unwrap()
}

async fn a_friend_on_the_referrers_mailbox_waits_for_review_and_approval_issues_the_reward(
    t: &TestDb,
) {
    let q = Qualifying::start(t, credit("10.00", true, false)).await;
    let friend = q.pair(t, "ann@gmail.com", "a.nn+2@googlemail.com").await;
    let flagged = review(&q, t, "a.nn+2@googlemail.com").await.unwrap();
    assert_eq!(flagged.state, ReviewState::Waiting);
    let evidence = "a.nn+2@googlemail.com and Ann's ann@gmail.com both reach the mailbox ann@gmail.com (a +tag, dots Gmail ignores, googlemail.com for gmail.com)";
    assert_eq!(flagged.findings[0].evidence, evidence);
    for (who, says) in [
        (
            "a.nn+2@googlemail.com",
            "Flagged for review: their rewards wait for it.",
        ),
        (
            "ann@gmail.com",
            "Their friend a.nn+2@googlemail.com was flagged for review",
        ),
    ] {
        let timeline = q.timeline(t, who).await;
        assert!(
            timeline
                .iter()
                .any(|e| e.starts_with(says) && e.contains(evidence)),
            "{who}: {timeline:?}"
        );
    }

    // The campaign's overview counts it; the health check warns once it has waited a week.
    let stats = refloop::campaigns::people::stats(&t.db, &q.alice, &q.campaign)
        .await
        .unwrap();
    assert_eq!(
        stats.flags,
        vec![FlagCount {
            signal: "Same person by email".into(),
            waiting: 1,
            approved: 0,
            rejected: 0
        }]
    );
    let check = || async {
        health::run(
            &t.db,
            &q.access,
            &refloop::mail::Mailer::disabled(),
            &q.alice,
            Depth::Quick,
        )
        .await
        .unwrap()
        .check(CheckId::Reviews)
        .unwrap()
        .clone()
    };
    assert_eq!(check().await.state, CheckState::Pass);
    sqlx::query("UPDATE referral_reviews SET created_at = created_at - $1")
        .bind(8 * 86_400)
        .execute(t.db.pool())
        .await
        .unwrap();
    let late = check().await;
    assert_eq!(late.state, CheckState::Warn);
    assert!(
        late.summary
            .starts_with("1 referral flagged as a self-referral has waited more than 7 days"),
        "{}",
        late.summary
    );
    assert!(
        late.evidence[0].starts_with("a.nn+2@googlemail.com in "),
        "{:?}",
        late.evidence
    );

    // The friend qualifies as usual; Ann's reward waits for review with the evidence.
    q.pay(t, &friend, 6_000).await;
    let waiting = q
        .until_reward(t, "ann@gmail.com", RewardStatus::AwaitingApproval)
        .await;
    assert_eq!(
        waiting.note,
        format!(
            "Waiting for review, as its referral was flagged: Same person by email: {evidence}"
        )
    );
    let ann = q.customer(t, "ann@gmail.com").await;
    assert_eq!(q.balance(t, &ann).await, 0);

    // Approving issues it, and the review is decided.
    decide(
        &t.db,
        &q.alice.account_id,
        &waiting.id,
        RewardDecision::Approve,
        "alice@acme.test",
        "",
    )
    .await
    .unwrap();
    q.until_reward(t, "ann@gmail.com", RewardStatus::Issued)
        .await;
    assert_eq!(q.balance(t, &ann).await, -1_000);
    let decided = review(&q, t, "a.nn+2@googlemail.com").await.unwrap();
    assert_eq!(
        (decided.state, decided.decided_by.as_deref()),
        (ReviewState::Approved, Some("alice@acme.test"))
    );
    assert!(q
        .timeline(t, "ann@gmail.com")
        .await
        .iter()
        .any(|e| e == "Referral review: approved by alice@acme.test"));
    // "Why?" says it, with each step on the friend's timeline.
    let bob = participants::by_email(t.db.pool(), &q.campaign, "a.nn+2@googlemail.com")
        .await
        .unwrap()
        .unwrap();
    let why = health::why::why(&t.db, &q.alice, &q.campaign, &bob.id)
        .await
        .unwrap();
    assert!(
        why.rewards.starts_with(&format!(
            "Their referral was flagged as a likely self-referral (Same person by email: {evidence}); its review: approved by alice@acme.test. "
        )),
        "{}",
        why.rewards
    );
    assert!(why.steps.iter().any(|s| s
        .text
        .starts_with("Flagged for review: their rewards wait for it.")));
}

async fn a_rejected_referral_gets_nothing_more(t: &TestDb) {
    // Three rules: Ann's 10.00, the friend's own 5.00, and Ann's 20% of every payment.
    let mut three = credit("10.00", true, false);
    let mut friends = three.rules[0].clone();
    friends.recipient = "friend".into();
    friends.amount = "5.00".into();
    let mut commission = three.rules[0].clone();
    commission.amount = String::new();
    commission.commission = CommissionForm {
        percent: "20".into(),
        span: "always".into(),
        ..Default::default()
    };
    three.rules.extend([friends, commission]);
    let q = Qualifying::start(t, three).await;
    let friend = q.pair(t, "ann@x.test", "ann+bob@x.test").await;
    q.pay(t, &friend, 6_000).await;
    let waiting = q
        .until_reward(t, "ann@x.test", RewardStatus::AwaitingApproval)
        .await;
    let waiting = q
        .rewards_of(t, "ann@x.test")
        .await
        .into_iter()
        .find(|r| !r.is_commission())
        .unwrap_or(waiting);
    decide(
        &t.db,
        &q.alice.account_id,
        &waiting.id,
        RewardDecision::Reject,
        "alice@acme.test",
        "",
    )
    .await
    .unwrap();
    let decided = review(&q, t, "ann+bob@x.test").await.unwrap();
    assert_eq!(decided.state, ReviewState::Rejected);
    assert_eq!(
        q.rewards_of(t, "ann@x.test")
            .await
            .iter()
            .find(|r| r.id == waiting.id)
            .unwrap()
            .status,
        RewardStatus::Rejected
    );
    // A later payment's commission is cancelled at once, with the reason.
    let later = q.pay(t, &friend, 3_000).await;
    let mut cancelled = None;
    for _ in 0..1_000 {
        cancelled = q
            .rewards_of(t, "ann@x.test")
            .await
            .into_iter()
            .find(|r| r.charge_id == later);
        if cancelled.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let cancelled = cancelled.expect("the later payment's commission is in the ledger");
    assert_eq!(
        (cancelled.status, cancelled.note.as_str()),
        (
            RewardStatus::Cancelled,
            "Cancelled: its referral was rejected in review by alice@acme.test"
        )
    );
    // The friend's own reward waits for review too, and stays there for its own decision.
    let own = q
        .until_reward(t, "ann+bob@x.test", RewardStatus::AwaitingApproval)
        .await;
    assert!(own.note.starts_with("Waiting for review"), "{}", own.note);
}

async fn set_to_refuse_the_join_is_refused_neutrally_and_the_reason_kept(t: &TestDb) {
    let mut refuse = credit("10.00", true, false);
    refuse.fraud = FraudSettings {
        same_email: Response::Refuse,
        ..FraudSettings::default()
    };
    let q = Qualifying::start(t, refuse).await;
    let code = join_ok(&t.db, request("spend", "ann@gmail.com", "Ann", None)).await;
    join_ok(&t.db, request("spend", "bob@acme.test", "Bob", Some(&code))).await;
    for (email, name) in [("a.n.n@gmail.com", "Annie"), ("bob+2@acme.test", "Bobby")] {
        let refused = join::join(&t.db, 1000, request("spend", email, name, Some(&code))).await;
        match refused {
            Err(AppError::Conflict(m)) => assert_eq!(
                m,
                "We could not add you to this referral program. If you think this is a mistake, contact the company that invited you."
            ),
            other => panic!("{email}: expected a refusal, got {other:?}"),
        }
        assert!(participants::by_email(t.db.pool(), &q.campaign, email)
            .await
            .unwrap()
            .is_none());
    }
    let reasons = participants::refusal_counts(t.db.pool(), &q.alice.account_id, &q.campaign)
        .await
        .unwrap();
    assert_eq!(reasons, vec![("suspected_same_email".to_string(), 2)]);
    assert_eq!(
        refloop::domain::campaigns::JoinRefusal::reason_label("suspected_same_email"),
        "Likely self-referral: same person by email"
    );
}

async fn colleagues_sharing_a_company_domain_are_not_flagged(t: &TestDb) {
    let q = Qualifying::start(t, credit("10.00", true, false)).await;
    let code = join_ok(&t.db, request("spend", "ann@acme.test", "Ann", None)).await;
    for (email, name) in [
        ("bob@acme.test", "Bob"),
        ("carol@acme.test", "Carol"),
        ("a.nn@acme.test", "Annette"),
    ] {
        join_ok(&t.db, request("spend", email, name, Some(&code))).await;
        assert_eq!(review(&q, t, email).await, None, "{email}");
    }
    // And with the sign off, even the referrer's own +tag passes.
    let mut off = credit("10.00", true, false);
    off.fraud.same_email = Response::Off;
    refloop::campaigns::rewards::save(&t.db, &q.alice, &q.campaign, off)
        .await
        .unwrap();
    join_ok(
        &t.db,
        request("spend", "ann+x@acme.test", "Ann", Some(&code)),
    )
    .await;
    assert_eq!(review(&q, t, "ann+x@acme.test").await, None);
}

async fn a_friend_on_a_disposable_domain_is_flagged_or_refused(t: &TestDb) {
    // Off until chosen; here flagged.
    assert_eq!(FraudSettings::default().disposable_email, Response::Off);
    let mut flag = credit("10.00", true, false);
    flag.fraud.disposable_email = Response::Flag;
    let q = Qualifying::start(t, flag).await;
    // Someone referring on a throwaway inbox is no referral to flag.
    let code = join_ok(&t.db, request("spend", "ann@mailinator.com", "Ann", None)).await;
    let ann = participants::by_email(t.db.pool(), &q.campaign, "ann@mailinator.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        fraud::review_of(t.db.pool(), &q.alice.account_id, &ann.id)
            .await
            .unwrap(),
        None
    );
    join_ok(
        &t.db,
        request("spend", "bob@guerrillamail.com", "Bob", Some(&code)),
    )
    .await;
    let flagged = review(&q, t, "bob@guerrillamail.com").await.unwrap();
    assert_eq!(
        flagged.findings,
        vec![Finding {
            signal: Signal::DisposableEmail,
            evidence: "bob@guerrillamail.com is at guerrillamail.com, a disposable email domain (the community list github.com/disposable/disposable)".into(),
        }]
    );
    // An ordinary mailbox is not.
    join_ok(
        &t.db,
        request("spend", "carol@gmail.com", "Carol", Some(&code)),
    )
    .await;
    assert_eq!(review(&q, t, "carol@gmail.com").await, None);

    let mut refuse = credit("10.00", true, false);
    refuse.fraud.disposable_email = Response::Refuse;
    refloop::campaigns::rewards::save(&t.db, &q.alice, &q.campaign, refuse)
        .await
        .unwrap();
    let refused = join::join(
        &t.db,
        1000,
        request("spend", "dan@mailinator.com", "Dan", Some(&code)),
    )
    .await;
    assert!(matches!(refused, Err(AppError::Conflict(_))), "{refused:?}");
    let reasons = participants::refusal_counts(t.db.pool(), &q.alice.account_id, &q.campaign)
        .await
        .unwrap();
    assert_eq!(reasons, vec![("suspected_disposable_email".to_string(), 1)]);
}

async fn the_eleventh_friend_within_an_hour_is_flagged(t: &TestDb) {
    let q = Qualifying::start(t, credit("10.00", true, false)).await;
    let code = join_ok(&t.db, request("spend", "ann@acme.test", "Ann", None)).await;
    for n in 1..=11 {
        let email = format!("friend{n}@acme.test");
        join_ok(&t.db, request("spend", &email, "F", Some(&code))).await;
        let flagged = review(&q, t, &email).await;
        if n <= 10 {
            assert_eq!(flagged, None, "{email}");
        } else {
            let flagged = flagged.expect("the 11th is flagged");
            assert_eq!(flagged.findings[0].signal, Signal::Velocity);
            assert_eq!(
                flagged.findings[0].evidence,
                "friend11@acme.test is the 11th friend of Ann's (ann@acme.test) to join within an hour; more than 10 is rare for a person sharing their link"
            );
        }
    }
    // An hour on, the pace is ordinary again.
    sqlx::query("UPDATE participants SET created_at = created_at - 3700")
        .execute(t.db.pool())
        .await
        .unwrap();
    join_ok(
        &t.db,
        request("spend", "friend12@acme.test", "F", Some(&code)),
    )
    .await;
    assert_eq!(review(&q, t, "friend12@acme.test").await, None);
}

async fn a_friend_in_the_referrers_browser_is_flagged_and_their_own_phone_is_not(t: &TestDb) {
    let q = Qualifying::start(t, credit("10.00", true, false)).await;
    let code = join_ok(
        &t.db,
        from("ann@example.com", None, "ann-laptop", "198.51.100.1"),
    )
    .await;
    // A friend who opened Ann's link in Ann's browser, from a phone's address.
    join_ok(
        &t.db,
        from("bob@example.org", Some(&code), "ann-laptop", "192.0.2.77"),
    )
    .await;
    let flagged = review(&q, t, "bob@example.org").await.unwrap();
    assert_eq!(flagged.findings.len(), 1, "{:?}", flagged.findings);
    assert_eq!(flagged.findings[0].signal, Signal::SameDevice);
    assert!(
        flagged.findings[0].evidence.starts_with(
            "bob@example.org joined in the browser Ann (ann@example.com) joined in at "
        ),
        "{}",
        flagged.findings[0].evidence
    );
    // A second fake in a third browser, on the first fake's browser.
    join_ok(
        &t.db,
        from("carl@example.net", Some(&code), "ann-laptop", "192.0.2.78"),
    )
    .await;
    assert_eq!(signs(&q, t, "carl@example.net").await, [Signal::SameDevice]);
    // A friend on their own phone, and one whose browser keeps no cookie: nothing.
    join_ok(
        &t.db,
        from("dana@example.org", Some(&code), "dana-phone", "192.0.2.80"),
    )
    .await;
    join_ok(
        &t.db,
        from("erin@example.org", Some(&code), "", "192.0.2.81"),
    )
    .await;
    assert_eq!(review(&q, t, "dana@example.org").await, None);
    assert_eq!(review(&q, t, "erin@example.org").await, None);

    // Kept hashed, neither cookie nor address, and only for the campaign's window.
    let kept: Vec<(Option<String>, Option<String>, i64, i64)> =
        sqlx::query_as("SELECT device, network, at, keep_until FROM join_sightings")
            .fetch_all(t.db.pool())
            .await
            .unwrap();
    assert_eq!(kept.len(), 5);
    for (device, network, at, keep_until) in &kept {
        for secret in [device, network].into_iter().flatten() {
            assert!(
                !secret.contains("ann") && !secret.contains("198.51") && !secret.contains("192.0")
            );
        }
        assert_eq!(
            keep_until - at,
            30 * 86_400,
            "the window of target_50_in_30_days"
        );
    }
    let pruned = refloop::housekeeping::prune(&t.db, 14).await.unwrap();
    assert_eq!(pruned.sightings, 0);
    sqlx::query("UPDATE join_sightings SET keep_until = at - 1 WHERE device IS NOT NULL")
        .execute(t.db.pool())
        .await
        .unwrap();
    let pruned = refloop::housekeeping::prune(&t.db, 14).await.unwrap();
    assert_eq!(pruned.sightings, 4);
    // Once forgotten, the browser is no evidence.
    join_ok(
        &t.db,
        from("fay@example.org", Some(&code), "ann-laptop", "192.0.2.82"),
    )
    .await;
    assert_eq!(review(&q, t, "fay@example.org").await, None);
}

async fn a_friend_on_the_referrers_address_is_flagged_unless_others_use_it(t: &TestDb) {
    // Off until chosen: a household or a small office shares one address.
    assert_eq!(FraudSettings::default().same_network, Response::Off);
    let mut watched = credit("10.00", true, false);
    watched.fraud.same_network = Response::Flag;
    let q = Qualifying::start(t, watched).await;
    let home = "198.51.100.1";
    let code = join_ok(&t.db, from("ann@example.com", None, "ann-laptop", home)).await;
    // Another browser at Ann's address (a private window, a second laptop).
    join_ok(
        &t.db,
        from("bob@example.org", Some(&code), "private-window", home),
    )
    .await;
    let flagged = review(&q, t, "bob@example.org").await.unwrap();
    assert_eq!(flagged.findings[0].signal, Signal::SameNetwork);
    assert!(
        flagged.findings[0]
            .evidence
            .ends_with("which no one else joined from within 7 days"),
        "{}",
        flagged.findings[0].evidence
    );
    // IPv6: one /64 is one household.
    let code6 = join_ok(
        &t.db,
        from("gus@example.com", None, "gus-laptop", "2001:db8:1:2::10"),
    )
    .await;
    join_ok(
        &t.db,
        from(
            "hal@example.org",
            Some(&code6),
            "hal-window",
            "2001:db8:1:2::99",
        ),
    )
    .await;
    assert_eq!(signs(&q, t, "hal@example.org").await, [Signal::SameNetwork]);

    // A café: people unconnected to each other join from it, and a pair of friends there is
    // not a sign.
    let cafe = "203.0.113.50";
    let carl = join_ok(&t.db, from("carl@example.com", None, "carl-phone", cafe)).await;
    join_ok(&t.db, from("dana@example.com", None, "dana-phone", cafe)).await;
    join_ok(
        &t.db,
        from("erin@example.org", Some(&carl), "erin-phone", cafe),
    )
    .await;
    assert_eq!(review(&q, t, "erin@example.org").await, None);

    // More than 10 joins from one address within an hour is a sign of its own.
    for n in 0..9 {
        join_ok(
            &t.db,
            from(&format!("p{n}@example.com"), None, &format!("d{n}"), cafe),
        )
        .await;
    }
    join_ok(
        &t.db,
        from("fay@example.org", Some(&carl), "fay-phone", cafe),
    )
    .await;
    let busy = review(&q, t, "fay@example.org").await.unwrap();
    assert_eq!(busy.findings[0].signal, Signal::Velocity);
    assert_eq!(
        busy.findings[0].evidence,
        "fay@example.org is the 13th join from one internet address within an hour; more than 10 is rare but for a script or one person"
    );

    // Set to refuse, the join is refused with the neutral message and the reason kept.
    let mut refuse = credit("10.00", true, false);
    refuse.fraud.same_network = Response::Refuse;
    refloop::campaigns::rewards::save(&t.db, &q.alice, &q.campaign, refuse)
        .await
        .unwrap();
    let refused = join::join(
        &t.db,
        1000,
        from("ivy@example.org", Some(&code), "ivy-window", home),
    )
    .await;
    assert!(matches!(refused, Err(AppError::Conflict(_))), "{refused:?}");
    let reasons = participants::refusal_counts(t.db.pool(), &q.alice.account_id, &q.campaign)
        .await
        .unwrap();
    assert_eq!(reasons, vec![("suspected_same_network".to_string(), 1)]);
}

async fn a_friend_paying_with_the_referrers_card_waits_for_review(t: &TestDb) {
    let q = Qualifying::start(t, credit("10.00", true, false)).await;
    let pay = |customer: String, method: &'static str| {
        let q = &q;
        async move {
            let key = refloop::db::new_id("k");
            q.stripe(t)
                .await
                .pay(&customer, 6_000, "usd", method, &key)
                .await
                .unwrap()
        }
    };
    // Ann pays with her Visa; Bob, her friend, with a Mastercard: an honest pair.
    let bob = q.pair(t, "ann@example.com", "bob@example.org").await;
    let ann = q.customer(t, "ann@example.com").await;
    pay(ann.clone(), "pm_card_visa").await;
    pay(bob, "pm_card_mastercard").await;
    q.until_reward(t, "ann@example.com", RewardStatus::Issued)
        .await;
    assert_eq!(review(&q, t, "bob@example.org").await, None);

    // Carl, another friend of Ann's, pays with Ann's Visa.
    let code = participants::by_email(t.db.pool(), &q.campaign, "ann@example.com")
        .await
        .unwrap()
        .unwrap()
        .code;
    join_ok(
        &t.db,
        request("spend", "carl@example.net", "Carl", Some(&code)),
    )
    .await;
    let carl = q.customer(t, "carl@example.net").await;
    let charge = pay(carl, "pm_card_visa").await.latest_charge.unwrap();
    let waiting = q
        .until_reward(t, "ann@example.com", RewardStatus::AwaitingApproval)
        .await;
    let flagged = review(&q, t, "carl@example.net").await.unwrap();
    assert_eq!(flagged.state, ReviewState::Waiting);
    assert_eq!(flagged.findings[0].signal, Signal::SameCard);
    let evidence = &flagged.findings[0].evidence;
    assert!(
        evidence.starts_with("carl@example.net's card visa ••4242 (fingerprint ")
            && evidence.contains(&format!(") paid {charge} on "))
            && evidence.contains(&format!("and Ann paid with it as customer {ann} on ")),
        "{evidence}"
    );
    assert_eq!(
        waiting.note,
        format!("Waiting for review, as its referral was flagged: Same card: {evidence}")
    );
    assert!(q.timeline(t, "ann@example.com").await.iter().any(|e| e
        .starts_with("Their friend carl@example.net was flagged for review")
        && e.contains(evidence.as_str())));
    // Approving issues it; Ann holds both credits.
    decide(
        &t.db,
        &q.alice.account_id,
        &waiting.id,
        RewardDecision::Approve,
        "alice@acme.test",
        "",
    )
    .await
    .unwrap();
    let issued = || async {
        q.rewards_of(t, "ann@example.com")
            .await
            .iter()
            .filter(|r| r.status == RewardStatus::Issued)
            .count()
    };
    for _ in 0..100 {
        if issued().await == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(issued().await, 2);
    assert_eq!(q.balance(t, &ann).await, -2_000);

    // Turned off, a card says nothing.
    let mut off = credit("10.00", true, false);
    off.fraud.same_card = Response::Off;
    refloop::campaigns::rewards::save(&t.db, &q.alice, &q.campaign, off.clone())
        .await
        .unwrap();
    join_ok(
        &t.db,
        request("spend", "dan@example.net", "Dan", Some(&code)),
    )
    .await;
    let dan = q.customer(t, "dan@example.net").await;
    pay(dan, "pm_card_visa").await;
    q.until(t, "dan@example.net", "qualified", |p| {
        p.qualification == refloop::domain::participants::Qualification::Qualified
    })
    .await;
    assert_eq!(review(&q, t, "dan@example.net").await, None);
    // And it cannot refuse a join: the card is seen only when the friend pays.
    off.fraud.same_card = Response::Refuse;
    let Err(AppError::Invalid(errors)) =
        refloop::campaigns::rewards::save(&t.db, &q.alice, &q.campaign, off).await
    else {
        panic!("refusing on a card is refused");
    };
    assert_eq!(errors[0].field, "same_card");
    assert_eq!(
        errors[0].message,
        "Same card is seen when the friend pays, after they joined: flag it for review or turn it off."
    );
}
