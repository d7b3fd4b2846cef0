//! Syncing Stripe customers into a campaign, against the sandbox over real HTTP with the real
//! job queue: every skip reason, the participant limit, a run killed half-way resuming from its
//! checkpoint, a run longer than one job through Stripe's errors, the ongoing sync through the webhook and through the sweep, and switching it off.

use std::time::Duration;

use axum::{routing::post, Router};
use futures::StreamExt;
use refloop::{
    auth::Ctx,
    campaigns::{self, sync},
    db::{self, participants, sync as runs},
    domain::{
        campaigns::PromoteToggle,
        integrations::StripeMode,
        participants::StripeStatus,
        sync::{RunStatus, SkipReason, SyncProgress, SyncSettings},
    },
    integrations,
    jobs::{Queue, Worker, WorkerConfig},
    state::Webhooks,
    stripe::{types::CustomerParams, StripeClient},
    stripe_sandbox::Sandbox,
    workflows::{self, sync as workflow, StripeAccess},
};
use serde_json::{json, Value};

use crate::{
    accounts::owner,
    campaigns::{join_ok, live_campaign, request},
    support::TestDb,
};

crate::on_both_backends!(
    a_one_time_sync_enrols_every_customer_or_says_why_not,
    the_user_limit_stops_the_sync_and_says_who_was_not_added,
    a_killed_run_resumes_from_its_checkpoint_without_duplicates,
    a_run_of_several_jobs_through_stripe_errors_enrols_everyone_once,
    ongoing_sync_enrols_from_the_webhook_and_the_sweep_until_switched_off,
);

const SLUG: &str = "sync";

/// Refloop's webhook route and the sandbox on one address, an account connected to the
/// sandbox with a live campaign. Workers are started by each test.
pub(crate) struct Syncing {
    pub(crate) base: String,
    pub(crate) queue: Queue,
    pub(crate) access: StripeAccess,
    pub(crate) alice: Ctx,
    pub(crate) campaign: String,
    pub(crate) http: reqwest::Client,
}

impl Syncing {
    pub(crate) async fn start(t: &TestDb) -> Syncing {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let access = StripeAccess {
            sealer: refloop::secrets::Sealer::random(),
            api_url: format!("{base}/sandbox"),
            sandbox_url: format!("{base}/sandbox"),
            limiters: refloop::stripe::rate_limit::RateLimiters::new(1_000.0, 1_000.0),
            public_url: base.clone(),
            ..Default::default()
        };
        let queue = Queue::new(t.db.clone());
        let app = Router::new()
            .route(
                "/webhooks/stripe/{id}",
                post(refloop::server::webhooks::stripe),
            )
            .with_state(Webhooks {
                db: t.db.clone(),
                sealer: access.sealer.clone(),
                queue: queue.clone(),
            })
            .nest_service(
                "/sandbox",
                Sandbox::start(t.db.clone(), refloop::stripe_sandbox::Access::Controls).router(),
            );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let (alice, _) = owner(&t.db, "Acme", "alice@acme.test").await;
        integrations::connect_stripe(&t.db, &access, &alice, StripeMode::Sandbox, "")
            .await
            .unwrap();
        let campaign = live_campaign(&t.db, &alice, SLUG).await;
        let s = Syncing {
            base,
            queue,
            access,
            alice,
            campaign,
            http: reqwest::Client::new(),
        };
        s.control("settings", json!({ "rate_limit": null })).await;
        s
    }

    pub(crate) fn workers(&self, lease_ms: i64) -> tokio::task::JoinHandle<()> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let config = WorkerConfig {
            concurrency: 4,
            poll_ms: 20,
            retry_base_ms: 20,
            lease_ms,
            ..Default::default()
        };
        let worker = Worker::new(
            self.queue.clone(),
            workflows::registry(self.access.clone()),
            config,
        );
        tokio::spawn(async move {
            let _keep = stop;
            worker.run(stopped).await;
        })
    }

    pub(crate) async fn control(&self, action: &str, body: Value) -> Value {
        let res = self
            .http
            .post(format!("{}/sandbox/_sandbox/{action}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{}", res.text().await.unwrap());
        res.json().await.unwrap()
    }

    pub(crate) async fn stripe(&self, t: &TestDb) -> StripeClient {
        self.access
            .connect(&t.db, &self.alice.account_id)
            .await
            .unwrap()
            .unwrap()
            .client
    }

    /// A customer in the sandbox; its id.
    pub(crate) async fn customer(
        &self,
        t: &TestDb,
        email: Option<&str>,
        name: Option<&str>,
    ) -> String {
        let params = CustomerParams {
            email: email.map(str::to_string),
            name: name.map(str::to_string),
            ..Default::default()
        };
        let key = db::new_id("cus-key");
        self.stripe(t)
            .await
            .create_customer(&params, &key)
            .await
            .unwrap()
            .id
    }

    /// Polls (up to 20 s) until the latest one-time sync is finished; its progress.
    pub(crate) async fn finished(&self, t: &TestDb) -> SyncProgress {
        for _ in 0..1_000 {
            let s = sync::overview(&t.db, &self.alice, &self.campaign)
                .await
                .unwrap();
            if let Some(p) = s.runs.first().filter(|p| !p.status.active()) {
                return p.clone();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the sync never finished");
    }

    pub(crate) async fn person(
        &self,
        t: &TestDb,
        email: &str,
    ) -> Option<participants::ParticipantRow> {
        participants::by_email(t.db.pool(), &self.campaign, email)
            .await
            .unwrap()
    }

    /// Polls (up to 10 s) for someone to be in the campaign.
    pub(crate) async fn until_in(&self, t: &TestDb, email: &str) -> participants::ParticipantRow {
        for _ in 0..500 {
            if let Some(p) = self.person(t, email).await {
                return p;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{email} was never enrolled");
    }
}

fn count(p: &SyncProgress, reason: SkipReason) -> i64 {
    p.skipped
        .iter()
        .find(|(r, _)| *r == reason)
        .map(|(_, n)| *n)
        .unwrap_or(0)
}

async fn a_one_time_sync_enrols_every_customer_or_says_why_not(t: &TestDb) {
    let s = Syncing::start(t).await;
    let _workers = s.workers(30_000);
    // Cid joined the campaign before the sync.
    join_ok(&t.db, request(SLUG, "cid@x.test", "Cid", None)).await;
    // A second customer with Ann's email, on the same page of Stripe's list (older, so after
    // her): she is enrolled once and this one is linked to her.
    let twin = s.customer(t, Some("ann@x.test"), Some("Ann Lee")).await;
    let ann = s
        .customer(t, Some("Ann@X.test"), Some("Ann Marie Lee"))
        .await;
    let no_email = s.customer(t, None, Some("Nobody")).await;
    let no_name = s.customer(t, Some("nameless@x.test"), None).await;
    let cid = s.customer(t, Some("cid@x.test"), Some("Cid Smith")).await;

    let settings = SyncSettings {
        link_key: "ref_link".into(),
        ..Default::default()
    };
    // The preview says what would happen and changes nothing.
    let preview = sync::preview(&t.db, &s.access, &s.alice, &s.campaign, settings.clone())
        .await
        .unwrap();
    let said = |id: &str| {
        preview
            .iter()
            .find(|r| r.customer_id == id)
            .unwrap()
            .outcome
            .clone()
    };
    assert_eq!(said(&ann), "Would enrol Ann Marie Lee <ann@x.test>");
    assert_eq!(said(&no_email), "Would skip: Email is blank in Stripe");
    assert!(
        said(&cid).contains("already in the campaign"),
        "{}",
        said(&cid)
    );
    assert!(s.person(t, "ann@x.test").await.is_none());

    // Bad settings are refused by field.
    let bad = SyncSettings {
        link_key: "has [brackets]".into(),
        ..Default::default()
    };
    let err = sync::start(&t.db, &s.queue, &s.alice, &s.campaign, bad)
        .await
        .unwrap_err();
    assert!(err.field_message("link_key").is_some(), "{err}");

    sync::start(&t.db, &s.queue, &s.alice, &s.campaign, settings)
        .await
        .unwrap();
    let p = s.finished(t).await;
    assert_eq!(p.status, RunStatus::Done, "{p:?}");
    assert_eq!((p.read, p.enrolled), (5, 1));
    assert_eq!(count(&p, SkipReason::BlankField), 2);
    assert_eq!(count(&p, SkipReason::AlreadyParticipant), 2);
    assert_eq!((p.to_write, p.written, p.write_failed), (1, 1, 0));

    // Ann is a person referring, linked to her customer, with the link written back.
    let person = s.person(t, "ann@x.test").await.unwrap();
    assert_eq!(
        (person.first_name.as_str(), person.last_name.as_str()),
        ("Ann", "Marie Lee")
    );
    assert_eq!(person.stripe_status, StripeStatus::Sent);
    assert_eq!(person.stripe_customer_id.as_deref(), Some(ann.as_str()));
    let customer = s.stripe(t).await.retrieve_customer(&ann).await.unwrap();
    assert_eq!(
        customer.metadata.get("ref_link"),
        Some(&format!("{}/r/{}", s.base, person.code))
    );
    assert_eq!(customer.metadata.get("referral_code"), Some(&person.code));
    let timeline = participants::timeline(t.db.pool(), &s.alice.account_id, &person.id)
        .await
        .unwrap();
    let enrolled = timeline.iter().find(|e| e.kind == "synced").unwrap();
    assert!(
        enrolled
            .detail
            .starts_with(&format!("Enrolled from Stripe customer {ann} by sync on "))
            && enrolled
                .detail
                .contains("referral link written to metadata.ref_link"),
        "{}",
        enrolled.detail
    );
    assert!(timeline.iter().any(|e| e.kind == "sync_written"));

    // Cid was linked instead of enrolled twice.
    let cid_person = s.person(t, "cid@x.test").await.unwrap();
    assert_eq!(cid_person.stripe_customer_id.as_deref(), Some(cid.as_str()));
    assert_eq!(
        participants::count_in_campaign(t.db.pool(), &s.campaign)
            .await
            .unwrap(),
        2
    );

    // The report accounts for every skipped customer, and its CSV says the same.
    let skipped = sync::skipped(&t.db, &s.alice, &s.campaign, &p.run_id)
        .await
        .unwrap();
    let reason_of = |id: &str| skipped.iter().find(|r| r.customer_id == id).unwrap();
    assert_eq!(reason_of(&no_email).reason, SkipReason::BlankField);
    assert_eq!(
        reason_of(&no_name).detail,
        "First name (from the customer's name) is blank in Stripe"
    );
    assert_eq!(reason_of(&cid).reason, SkipReason::AlreadyParticipant);
    assert!(
        reason_of(&twin)
            .detail
            .starts_with("Already in the campaign (ann@x.test, joined "),
        "{:?}",
        reason_of(&twin)
    );
    let anns = db::sending::customers_of(t.db.pool(), &s.alice.account_id, &person.id)
        .await
        .unwrap();
    assert!(anns.contains(&ann) && anns.contains(&twin), "{anns:?}");
    let (_, csv) = sync::skipped_csv_file(&t.db, &s.alice, &s.campaign, &p.run_id)
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
    assert!(
        csv.contains(&format!(
            "{no_email},,A mapped field is blank in Stripe,Email is blank in Stripe"
        )),
        "{csv}"
    );

    // A second run finds everyone there already and enrols nobody twice.
    sync::start(
        &t.db,
        &s.queue,
        &s.alice,
        &s.campaign,
        SyncSettings::default(),
    )
    .await
    .unwrap();
    let again = s.finished(t).await;
    assert_eq!((again.read, again.enrolled), (5, 0));
    assert_eq!(count(&again, SkipReason::AlreadyParticipant), 3);
}

async fn the_user_limit_stops_the_sync_and_says_who_was_not_added(t: &TestDb) {
    let s = Syncing::start(t).await;
    let _workers = s.workers(30_000);
    join_ok(&t.db, request(SLUG, "first@x.test", "First", None)).await;
    db::campaigns::set_participant_limit(t.db.pool(), &s.alice.account_id, 3)
        .await
        .unwrap();
    for i in 0..5 {
        s.customer(t, Some(&format!("c{i}@x.test")), Some("Cus Tomer"))
            .await;
    }
    let no_write = SyncSettings {
        link_key: String::new(),
        code_key: String::new(),
        ..Default::default()
    };
    sync::start(&t.db, &s.queue, &s.alice, &s.campaign, no_write)
        .await
        .unwrap();
    let p = s.finished(t).await;
    assert_eq!((p.read, p.enrolled, p.to_write), (5, 2, 0));
    assert_eq!(count(&p, SkipReason::UserLimit), 3);
    assert!(p.note.contains("3 customers were not added"), "{}", p.note);
    let skipped = sync::skipped(&t.db, &s.alice, &s.campaign, &p.run_id)
        .await
        .unwrap();
    assert_eq!(skipped.len(), 3);
    assert!(skipped.iter().all(|r| r.reason == SkipReason::UserLimit));
    assert_eq!(
        participants::count_in_account(t.db.pool(), &s.alice.account_id)
            .await
            .unwrap(),
        3
    );
}

async fn a_killed_run_resumes_from_its_checkpoint_without_duplicates(t: &TestDb) {
    let s = Syncing::start(t).await;
    const N: usize = 350;
    for i in 0..N {
        s.customer(t, Some(&format!("p{i}@x.test")), Some("Pat Doe"))
            .await;
    }
    // Slow pages, so the kill lands in the middle of the run.
    s.control("settings", json!({ "latency_ms": 40 })).await;
    let progress = sync::start(
        &t.db,
        &s.queue,
        &s.alice,
        &s.campaign,
        SyncSettings::default(),
    )
    .await
    .unwrap();
    let first = s.workers(400);
    loop {
        let r = runs::run(t.db.pool(), &s.alice.account_id, &progress.run_id)
            .await
            .unwrap()
            .unwrap();
        if r.cursor.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.abort();
    let _ = first.await;
    let cut = runs::run(t.db.pool(), &s.alice.account_id, &progress.run_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cut.status, RunStatus::Reading, "killed before the end");
    assert!(cut.tally.read < N as i64);

    // Another process takes over once the dead worker's lease expires.
    let _second = s.workers(400);
    let p = s.finished(t).await;
    assert_eq!(p.status, RunStatus::Done, "{p:?}");
    assert_eq!((p.read, p.enrolled), (N as i64, N as i64));
    assert_eq!(p.written, N as i64);
    assert_eq!(
        participants::count_in_campaign(t.db.pool(), &s.campaign)
            .await
            .unwrap(),
        N as i64
    );
    let events: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM participant_events WHERE account_id = $1 AND kind = 'synced'",
    )
    .bind(&s.alice.account_id)
    .fetch_one(t.db.pool())
    .await
    .unwrap();
    assert_eq!(events, N as i64, "one enrolment each");
}

async fn a_run_of_several_jobs_through_stripe_errors_enrols_everyone_once(t: &TestDb) {
    let s = Syncing::start(t).await;
    // More pages than one job reads (20 of 100), created in no particular order; one customer
    // in a hundred has the email of another, wherever the list puts the two.
    const N: usize = 2_150;
    const TWINS: usize = N / 100;
    let client = s.stripe(t).await;
    futures::stream::iter(0..N)
        .map(|i| {
            let client = client.clone();
            let params = CustomerParams {
                email: Some(format!("p{}@x.test", if i % 100 == 99 { i - 1 } else { i })),
                name: Some("Pat Doe".into()),
                ..Default::default()
            };
            async move { client.create_customer(&params, &format!("seed-{i}")).await }
        })
        .buffer_unordered(16)
        .for_each(|created| async move {
            created.unwrap();
        })
        .await;
    // One request in five fails: Stripe's client and the job's retries must carry the run.
    s.control("settings", json!({ "error_rate": 0.2 })).await;
    let settings = SyncSettings {
        link_key: String::new(),
        code_key: String::new(),
        ..Default::default()
    };
    sync::start(&t.db, &s.queue, &s.alice, &s.campaign, settings)
        .await
        .unwrap();
    let _workers = s.workers(30_000);
    let p = s.finished(t).await;
    assert_eq!(p.status, RunStatus::Done, "{p:?}");
    assert_eq!((p.read, p.enrolled), (N as i64, (N - TWINS) as i64));
    assert_eq!(count(&p, SkipReason::AlreadyParticipant), TWINS as i64);
    assert_eq!(
        participants::count_in_campaign(t.db.pool(), &s.campaign)
            .await
            .unwrap(),
        (N - TWINS) as i64
    );
    let (events, links): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM participant_events WHERE account_id = $1 AND kind = 'synced'), \
                (SELECT COUNT(DISTINCT customer_id) FROM participant_customers WHERE account_id = $1)",
    )
    .bind(&s.alice.account_id)
    .fetch_one(t.db.pool())
    .await
    .unwrap();
    assert_eq!(events, (N - TWINS) as i64, "one enrolment each");
    assert_eq!(links, N as i64, "every customer linked to its person");
}

async fn ongoing_sync_enrols_from_the_webhook_and_the_sweep_until_switched_off(t: &TestDb) {
    let s = Syncing::start(t).await;
    let _workers = s.workers(30_000);
    // Blocked until the sync is set up.
    let err = campaigns::set_toggle(
        &t.db,
        &s.access,
        &s.alice,
        &s.campaign,
        PromoteToggle::OngoingSync,
        true,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("Set up the sync"), "{err}");
    sync::save_settings(&t.db, &s.alice, &s.campaign, SyncSettings::default())
        .await
        .unwrap();
    let on = campaigns::set_toggle(
        &t.db,
        &s.access,
        &s.alice,
        &s.campaign,
        PromoteToggle::OngoingSync,
        true,
    )
    .await
    .unwrap();
    assert!(on.on);

    // Through the webhook, within seconds.
    let dee = s.customer(t, Some("dee@x.test"), Some("Dee Lane")).await;
    let person = s.until_in(t, "dee@x.test").await;
    assert_eq!(person.stripe_customer_id.as_deref(), Some(dee.as_str()));
    for _ in 0..500 {
        let c = s.stripe(t).await.retrieve_customer(&dee).await.unwrap();
        if c.metadata.contains_key("referral_link") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let c = s.stripe(t).await.retrieve_customer(&dee).await.unwrap();
    assert_eq!(
        c.metadata.get("referral_link"),
        Some(&format!("{}/r/{}", s.base, person.code))
    );

    // A delivery that never arrives: the sweep finds the customer.
    s.control("settings", json!({ "webhook_drop_rate": 1.0 }))
        .await;
    s.customer(t, Some("eve@x.test"), Some("Eve Stone")).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(s.person(t, "eve@x.test").await.is_none(), "no webhook came");
    s.queue
        .push(&workflow::sweep_job(&s.alice.account_id))
        .await
        .unwrap();
    s.queue.wake();
    s.until_in(t, "eve@x.test").await;

    // A customer deleted before their event arrives is skipped, and says so.
    s.control(
        "settings",
        json!({ "webhook_drop_rate": 0.0, "webhook_delay_ms": 1500 }),
    )
    .await;
    let gone = s.customer(t, Some("gone@x.test"), Some("Gus Gone")).await;
    s.stripe(t).await.delete_customer(&gone).await.unwrap();
    let ongoing = sync::overview(&t.db, &s.alice, &s.campaign)
        .await
        .unwrap()
        .runs
        .into_iter()
        .find(|r| r.status == RunStatus::Watching)
        .unwrap();
    let mut skipped = Vec::new();
    for _ in 0..500 {
        skipped = sync::skipped(&t.db, &s.alice, &s.campaign, &ongoing.run_id)
            .await
            .unwrap();
        if !skipped.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(
        (skipped[0].customer_id.as_str(), skipped[0].reason),
        (gone.as_str(), SkipReason::Deleted)
    );
    assert!(s.person(t, "gone@x.test").await.is_none());

    // Switched off: nothing more is enrolled, by the webhook or the sweep.
    s.control("settings", json!({ "webhook_delay_ms": 0 }))
        .await;
    campaigns::set_toggle(
        &t.db,
        &s.access,
        &s.alice,
        &s.campaign,
        PromoteToggle::OngoingSync,
        false,
    )
    .await
    .unwrap();
    s.customer(t, Some("fay@x.test"), Some("Fay Late")).await;
    s.queue
        .push(&workflow::sweep_job(&s.alice.account_id))
        .await
        .unwrap();
    s.queue.wake();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(
        s.person(t, "fay@x.test").await.is_none(),
        "enrolled while off"
    );
    let progress = sync::overview(&t.db, &s.alice, &s.campaign).await.unwrap();
    assert!(!progress.ongoing);
    let off = progress
        .runs
        .iter()
        .find(|r| r.run_id == ongoing.run_id)
        .unwrap();
    assert_eq!(off.status, RunStatus::Off);
    assert_eq!(off.enrolled, 2);
}
