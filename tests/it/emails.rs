//! Campaign emails to participants, over a real SMTP conversation with a mail sink on
//! loopback and the real job queue: each kind arrives once with both parts and the one-click
//! unsubscribe headers; an unsubscribed person gets no more; retries never send twice; the
//! sending rate holds.

use std::time::{Duration, Instant};

use refloop::{
    auth::Ctx,
    campaigns,
    db::{participants, Db},
    domain::{
        emails::{EmailForm, EmailKind},
        participants::TimelineEntry,
    },
    error::AppError,
    jobs::Queue,
    mail::Mailer,
    notifications,
    workflows::StripeAccess,
};
use tokio::sync::mpsc;

use crate::{
    accounts::owner,
    campaigns::{join_ok, live_campaign, request},
    mail::{mail_sink, workers},
    qualification::{credit, Qualifying},
    support::TestDb,
};

crate::on_both_backends!(
    welcome_and_friend_joined_arrive_once_with_both_parts_and_unsubscribe_headers,
    an_unsubscribed_person_gets_no_more_campaign_emails,
    a_failed_attempt_is_retried_and_a_refusal_recorded_and_nothing_goes_twice,
    emails_wait_their_turn_at_the_sending_rate,
    without_a_mail_server_or_switched_off_nothing_is_sent_and_the_timeline_says_why,
    the_reminder_goes_once_to_people_who_referred_nobody,
    qualified_and_reward_emails_follow_a_payment,
    the_emails_step_names_each_wrong_field,
    why_says_what_became_of_each_email,
    email_me_my_link_answers_the_same_for_anyone_and_is_rate_limited,
    the_preview_fills_in_a_real_participant_and_a_test_goes_to_the_teammate,
    the_health_check_says_when_switched_on_emails_cannot_go,
);

const SLUG: &str = "mail";
const PUBLIC: &str = "https://refer.acme.test";

fn sink_mailer(port: u16) -> Mailer {
    Mailer::new(
        Some(&format!("smtp://127.0.0.1:{port}")),
        "Refloop <hello@refloop.test>",
    )
    .unwrap()
}

/// A live campaign with `on` switched on (and a reply-to), and workers sending through
/// `mailer`.
struct Emailing {
    alice: Ctx,
    campaign: String,
    access: StripeAccess,
    queue: Queue,
    inbox: mpsc::UnboundedReceiver<String>,
    stops: Vec<tokio::sync::watch::Sender<bool>>,
}

impl Emailing {
    async fn start(t: &TestDb, on: &[EmailKind], script: Vec<&'static str>, rate: f64) -> Self {
        let (port, inbox) = mail_sink(script).await;
        Self::with_mailer(t, on, sink_mailer(port).with_rate(rate), inbox).await
    }

    async fn with_mailer(
        t: &TestDb,
        on: &[EmailKind],
        mailer: Mailer,
        inbox: mpsc::UnboundedReceiver<String>,
    ) -> Self {
        let access = StripeAccess {
            public_url: PUBLIC.into(),
            ..Default::default()
        };
        let (alice, _) = owner(&t.db, "Acme", "alice@acme.test").await;
        let campaign = live_campaign(&t.db, &alice, SLUG).await;
        switch_on(&t.db, &alice, &campaign, on).await;
        let queue = Queue::new(t.db.clone());
        let stop = workers(&queue, &access, mailer);
        Emailing {
            alice,
            campaign,
            access,
            queue,
            inbox,
            stops: vec![stop],
        }
    }

    /// Another process's workers on the same database, sending through `mailer`.
    fn add_process(&mut self, mailer: Mailer) {
        self.stops.push(workers(&self.queue, &self.access, mailer));
    }

    /// The next message the sink accepted (within 10 s).
    async fn next(&mut self) -> String {
        tokio::time::timeout(Duration::from_secs(10), self.inbox.recv())
            .await
            .expect("an email within 10 s")
            .unwrap()
    }

    /// The next `n` messages, by recipient.
    async fn take(&mut self, n: usize) -> Vec<(String, String)> {
        let mut got = Vec::new();
        for _ in 0..n {
            let m = self.next().await;
            got.push((to(&m), m));
        }
        got.sort();
        got
    }
}

async fn switch_on(db: &Db, ctx: &Ctx, campaign: &str, on: &[EmailKind]) {
    let mut form = campaigns::emails::settings(db, ctx, campaign)
        .await
        .unwrap()
        .to_form();
    for template in &mut form.templates {
        template.enabled = on.contains(&template.kind);
    }
    form.reply_to = "team@acme.test".into();
    campaigns::emails::save(db, ctx, campaign, form)
        .await
        .unwrap();
}

fn to(message: &str) -> String {
    message
        .lines()
        .find_map(|l| l.strip_prefix("To: "))
        .expect("a To header")
        .to_string()
}

fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
}

async fn participant(t: &TestDb, campaign: &str, email: &str) -> participants::ParticipantRow {
    participants::by_email(t.db.pool(), campaign, email)
        .await
        .unwrap()
        .unwrap()
}

/// Waits (up to 10 s) for the participant's timeline to have an email entry containing `text`.
async fn timeline_says(t: &TestDb, p: &participants::ParticipantRow, text: &str) -> TimelineEntry {
    for _ in 0..500 {
        let entries = participants::timeline(t.db.pool(), &p.account_id, &p.id)
            .await
            .unwrap();
        if let Some(e) = entries
            .into_iter()
            .find(|e| e.kind == "emailed" && e.detail.contains(text))
        {
            return e;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let entries = participants::timeline(t.db.pool(), &p.account_id, &p.id)
        .await
        .unwrap();
    panic!("{}'s timeline never said “{text}”: {entries:?}", p.email);
}

/// Waits until no email job is queued or running.
async fn settled(t: &TestDb) {
    for _ in 0..500 {
        let busy: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM jobs WHERE kind = 'email.send' AND status IN ('queued', 'running')",
        )
        .fetch_one(t.db.pool())
        .await
        .unwrap();
        if busy == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("email jobs never finished");
}

async fn welcome_and_friend_joined_arrive_once_with_both_parts_and_unsubscribe_headers(t: &TestDb) {
    let mut e = Emailing::start(
        t,
        &[EmailKind::Welcome, EmailKind::FriendJoined],
        vec![],
        100.0,
    )
    .await;
    let code = join_ok(&t.db, request(SLUG, "ann@x.test", "Ann", None)).await;
    let welcome = e.next().await;
    assert_eq!(to(&welcome), "ann@x.test");
    assert_eq!(
        header(&welcome, "Subject"),
        Some("Your referral link for Spring referrals")
    );
    let from = header(&welcome, "From").unwrap();
    assert!(
        from.contains("Spring referrals") && from.ends_with("<hello@refloop.test>"),
        "{from}"
    );
    assert_eq!(header(&welcome, "Reply-To"), Some("team@acme.test"));
    let ann = participant(t, &e.campaign, "ann@x.test").await;
    let unsubscribe = header(&welcome, "List-Unsubscribe").unwrap();
    assert!(
        unsubscribe.starts_with(&format!("<{PUBLIC}/unsubscribe/{}/", ann.id)),
        "{unsubscribe}"
    );
    assert_eq!(
        header(&welcome, "List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    assert!(welcome.contains("multipart/alternative"), "{welcome}");
    assert!(welcome.contains("Content-Type: text/plain"), "{welcome}");
    assert!(welcome.contains("Content-Type: text/html"), "{welcome}");
    assert!(
        welcome.contains(&format!("{PUBLIC}/r/{code}")),
        "the referral link: {welcome}"
    );
    assert!(welcome.contains(&format!("{PUBLIC}/p/{}", ann.page_token)));
    timeline_says(t, &ann, "Email “Welcome”: Sent to ann@x.test").await;

    join_ok(&t.db, request(SLUG, "bob@x.test", "Bob", Some(&code))).await;
    let got = e.take(2).await;
    assert_eq!(got[0].0, "ann@x.test");
    assert_eq!(
        header(&got[0].1, "Subject"),
        Some("Bob joined through your link")
    );
    assert_eq!(got[1].0, "bob@x.test");
    assert_eq!(
        header(&got[1].1, "Subject"),
        Some("Your referral link for Spring referrals")
    );
    settled(t).await;
    assert!(e.inbox.try_recv().is_err(), "nothing more, nothing twice");
    let sent: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM participant_emails WHERE account_id = $1 AND status = 'sent'",
    )
    .bind(&e.alice.account_id)
    .fetch_one(t.db.pool())
    .await
    .unwrap();
    assert_eq!(sent, 3);
}

async fn an_unsubscribed_person_gets_no_more_campaign_emails(t: &TestDb) {
    let mut e = Emailing::start(
        t,
        &[EmailKind::Welcome, EmailKind::FriendJoined],
        vec![],
        100.0,
    )
    .await;
    let code = join_ok(&t.db, request(SLUG, "ann@x.test", "Ann", None)).await;
    let welcome = e.next().await;
    let link = header(&welcome, "List-Unsubscribe")
        .unwrap()
        .trim_matches(['<', '>']);
    let mut parts = link.rsplit('/');
    let (token, id) = (parts.next().unwrap(), parts.next().unwrap());

    let sealer = &e.access.sealer;
    let forged = "0".repeat(token.len());
    assert!(
        notifications::unsubscribe_subject(&t.db, sealer, id, &forged)
            .await
            .unwrap()
            .is_none()
    );
    let other = participant(t, &e.campaign, "ann@x.test").await;
    assert!(
        notifications::unsubscribe_subject(&t.db, sealer, "par_someone_else", token)
            .await
            .unwrap()
            .is_none(),
        "a token is good for its own participant only"
    );
    let (ann, campaign, at) = notifications::unsubscribe_subject(&t.db, sealer, id, token)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (ann.id.as_str(), campaign.as_str(), at),
        (other.id.as_str(), "Spring referrals", None)
    );
    assert!(notifications::unsubscribe(&t.db, &ann).await.unwrap());
    assert!(!notifications::unsubscribe(&t.db, &ann).await.unwrap());

    join_ok(&t.db, request(SLUG, "bob@x.test", "Bob", Some(&code))).await;
    assert_eq!(to(&e.next().await), "bob@x.test");
    timeline_says(
        t,
        &ann,
        "Email “A friend joined through your link” not sent: they unsubscribed",
    )
    .await;
    settled(t).await;
    assert!(e.inbox.try_recv().is_err(), "Ann got nothing more");
}

async fn a_failed_attempt_is_retried_and_a_refusal_recorded_and_nothing_goes_twice(t: &TestDb) {
    let mut e = Emailing::start(
        t,
        &[EmailKind::Welcome],
        vec![
            "451 4.3.0 try again later",
            "250 queued",
            "550 5.1.1 no such mailbox",
        ],
        100.0,
    )
    .await;
    join_ok(&t.db, request(SLUG, "ann@x.test", "Ann", None)).await;
    assert_eq!(to(&e.next().await), "ann@x.test");
    let ann = participant(t, &e.campaign, "ann@x.test").await;
    timeline_says(t, &ann, "Sent to ann@x.test").await;
    let attempts: i64 = sqlx::query_scalar(
        "SELECT attempts FROM jobs WHERE kind = 'email.send' AND payload LIKE $1",
    )
    .bind(format!("%{}%", ann.id))
    .fetch_one(t.db.pool())
    .await
    .unwrap();
    assert_eq!(attempts, 2, "sent on the second attempt");

    join_ok(&t.db, request(SLUG, "cy@x.test", "Cy", None)).await;
    let cy = participant(t, &e.campaign, "cy@x.test").await;
    timeline_says(
        t,
        &cy,
        "Email “Welcome” not sent: the mail server refused it",
    )
    .await;

    // The same email again (a second worker, a replay): it has gone, it does not go again.
    e.queue
        .push(&notifications::send_job(
            &ann.account_id,
            &ann.id,
            EmailKind::Welcome,
            "joined",
        ))
        .await
        .unwrap();
    // An attempt that stopped half-way may have sent it: it is not sent again either.
    let mut conn = t.db.pool().acquire().await.unwrap();
    assert!(refloop::db::emails::claim(
        &mut conn,
        &ann.account_id,
        &ann.id,
        EmailKind::Welcome,
        "again",
        1
    )
    .await
    .unwrap());
    drop(conn);
    e.queue
        .push(&notifications::send_job(
            &ann.account_id,
            &ann.id,
            EmailKind::Welcome,
            "again",
        ))
        .await
        .unwrap();
    timeline_says(t, &ann, "stopped half-way; it is not sent again").await;
    settled(t).await;
    assert!(e.inbox.try_recv().is_err(), "nothing went twice");
}

async fn emails_wait_their_turn_at_the_sending_rate(t: &TestDb) {
    let (port, inbox) = mail_sink(vec![]).await;
    let mut e = Emailing::with_mailer(
        t,
        &[EmailKind::Welcome],
        sink_mailer(port).with_rate(2.0),
        inbox,
    )
    .await;
    // A second process on the same database: the rate is the instance's, not each one's.
    e.add_process(sink_mailer(port).with_rate(2.0));
    let started = Instant::now();
    for n in 0..6 {
        join_ok(&t.db, request(SLUG, &format!("p{n}@x.test"), "P", None)).await;
    }
    let got = e.take(6).await;
    let elapsed = started.elapsed();
    let recipients: Vec<&str> = got.iter().map(|(to, _)| to.as_str()).collect();
    assert_eq!(
        recipients,
        [
            "p0@x.test",
            "p1@x.test",
            "p2@x.test",
            "p3@x.test",
            "p4@x.test",
            "p5@x.test"
        ]
    );
    // Two at once (a second's worth), then one every half second: four more take 2 s
    // (two processes each sending at 2/s would have taken 1 s).
    assert!(
        elapsed >= Duration::from_millis(1_500),
        "6 emails at 2/s took only {elapsed:?}"
    );
}

async fn without_a_mail_server_or_switched_off_nothing_is_sent_and_the_timeline_says_why(
    t: &TestDb,
) {
    let (_, inbox) = mail_sink(vec![]).await;
    let e = Emailing::with_mailer(t, &[EmailKind::Welcome], Mailer::disabled(), inbox).await;
    let code = join_ok(&t.db, request(SLUG, "ann@x.test", "Ann", None)).await;
    let ann = participant(t, &e.campaign, "ann@x.test").await;
    timeline_says(
        t,
        &ann,
        "Email “Welcome” not sent: no mail server is configured (REFLOOP_SMTP_URL)",
    )
    .await;
    // "A friend joined" is switched off: no job at all.
    join_ok(&t.db, request(SLUG, "bob@x.test", "Bob", Some(&code))).await;
    settled(t).await;
    let friend_joined: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM jobs WHERE kind = 'email.send' AND payload LIKE '%friend_joined%'",
    )
    .fetch_one(t.db.pool())
    .await
    .unwrap();
    assert_eq!(friend_joined, 0);
}

async fn the_reminder_goes_once_to_people_who_referred_nobody(t: &TestDb) {
    let mut e = Emailing::start(t, &[EmailKind::Reminder], vec![], 100.0).await;
    let code = join_ok(&t.db, request(SLUG, "ann@x.test", "Ann", None)).await;
    join_ok(&t.db, request(SLUG, "cy@x.test", "Cy", None)).await;
    join_ok(&t.db, request(SLUG, "bob@x.test", "Bob", Some(&code))).await;
    // Dee referred nobody either, but unsubscribed.
    join_ok(&t.db, request(SLUG, "dee@x.test", "Dee", None)).await;
    let dee = participant(t, &e.campaign, "dee@x.test").await;
    assert!(notifications::unsubscribe(&t.db, &dee).await.unwrap());
    // Eight days ago (the reminder goes after 7).
    sqlx::query("UPDATE participants SET created_at = created_at - 8 * 86400")
        .execute(t.db.pool())
        .await
        .unwrap();
    for _ in 0..2 {
        e.queue
            .push(&refloop::jobs::NewJob::new(
                notifications::REMINDERS,
                serde_json::json!({}),
            ))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        settled(t).await;
    }
    let reminded = e.next().await;
    assert_eq!(
        to(&reminded),
        "cy@x.test",
        "Ann referred Bob; Bob was invited; Dee unsubscribed"
    );
    assert_eq!(
        header(&reminded, "Subject"),
        Some("Your friends are waiting for your link")
    );
    assert!(e.inbox.try_recv().is_err(), "one reminder, once");
}

async fn qualified_and_reward_emails_follow_a_payment(t: &TestDb) {
    let (port, mut inbox) = mail_sink(vec![]).await;
    let q = Qualifying::start_mailing(t, credit("10.00", true, false), sink_mailer(port)).await;
    switch_on(
        &t.db,
        &q.alice,
        &q.campaign,
        &[EmailKind::FriendQualified, EmailKind::RewardEarned],
    )
    .await;
    let customer = q.pair(t, "ann@x.test", "bob@x.test").await;
    q.pay(t, &customer, 6_000).await;
    let mut got = Vec::new();
    for _ in 0..2 {
        let m = tokio::time::timeout(Duration::from_secs(20), inbox.recv())
            .await
            .expect("an email")
            .unwrap();
        got.push((
            header(&m, "Subject").unwrap_or_default().to_string(),
            to(&m),
        ));
    }
    got.sort();
    assert_eq!(
        got[0],
        ("Bob's referral qualified".into(), "ann@x.test".into())
    );
    assert_eq!(got[1].1, "ann@x.test");
    assert!(
        got[1].0.starts_with("You earned a reward: 10.00 USD"),
        "{}",
        got[1].0
    );
}

async fn the_emails_step_names_each_wrong_field(t: &TestDb) {
    let (alice, _) = owner(&t.db, "Acme", "alice@acme.test").await;
    let campaign = live_campaign(&t.db, &alice, SLUG).await;
    let mut form: EmailForm = campaigns::emails::settings(&t.db, &alice, &campaign)
        .await
        .unwrap()
        .to_form();
    form.templates[0].subject = "Hi {{nme}}".into();
    form.reply_to = "nope".into();
    match campaigns::emails::save(&t.db, &alice, &campaign, form.clone()).await {
        Err(AppError::Invalid(errors)) => {
            let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
            assert_eq!(fields, ["reply_to", "welcome.subject"]);
            assert!(errors[1].message.contains("{{nme}} is not a placeholder"));
        }
        other => panic!("expected the fields named, got {other:?}"),
    }
    // Another account's campaign is not found.
    let (mallory, _) = owner(&t.db, "Other", "mallory@other.test").await;
    form.templates[0].subject = "Hi".into();
    form.reply_to = String::new();
    assert!(matches!(
        campaigns::emails::save(&t.db, &mallory, &campaign, form).await,
        Err(AppError::NotFound(_))
    ));
}

async fn email_me_my_link_answers_the_same_for_anyone_and_is_rate_limited(t: &TestDb) {
    let mut e = Emailing::start(t, &[EmailKind::YourLink], vec![], 100.0).await;
    join_ok(&t.db, request(SLUG, "ann@x.test", "Ann", None)).await;
    let ann = participant(t, &e.campaign, "ann@x.test").await;
    // Unsubscribed from the campaign's news, she still gets the link she asks for.
    notifications::unsubscribe(&t.db, &ann).await.unwrap();

    let ask = |email: &str, ip: &'static str| {
        let (db, email) = (t.db.clone(), email.to_string());
        async move { notifications::email_my_link(&db, SLUG, &email, ip).await }
    };
    assert_eq!(ask(" Ann@X.test ", "198.51.100.1").await, Ok(()));
    assert_eq!(
        ask("nobody@x.test", "198.51.100.1").await,
        Ok(()),
        "the same answer"
    );
    let link = e.next().await;
    assert_eq!(to(&link), "ann@x.test");
    assert_eq!(
        header(&link, "Subject"),
        Some("Your link for Spring referrals")
    );
    assert!(
        link.contains(&format!("{PUBLIC}/p/{}", ann.page_token)),
        "{link}"
    );
    assert_eq!(header(&link, "List-Unsubscribe"), None, "not campaign news");
    settled(t).await;
    assert!(
        e.inbox.try_recv().is_err(),
        "nothing for an address not in the campaign"
    );

    match ask("not an address", "198.51.100.1").await {
        Err(AppError::Invalid(errors)) => assert_eq!(errors[0].field, "email"),
        other => panic!("expected the email field named, got {other:?}"),
    }
    // Three requests an hour for one address, whoever asks.
    assert_eq!(ask("ann@x.test", "198.51.100.2").await, Ok(()));
    assert_eq!(ask("ann@x.test", "198.51.100.3").await, Ok(()));
    assert!(matches!(
        ask("ann@x.test", "198.51.100.4").await,
        Err(AppError::TooManyRequests(_))
    ));
    // Ten an hour from one network, whatever the addresses.
    for n in 0..8 {
        let email = format!("someone{n}@x.test");
        assert_eq!(ask(&email, "198.51.100.1").await, Ok(()));
    }
    assert!(matches!(
        ask("else@x.test", "198.51.100.1").await,
        Err(AppError::TooManyRequests(_))
    ));
}

async fn why_says_what_became_of_each_email(t: &TestDb) {
    let mut e = Emailing::start(t, &[EmailKind::Welcome], vec![], 100.0).await;
    join_ok(&t.db, request(SLUG, "ann@x.test", "Ann", None)).await;
    e.next().await;
    let ann = participant(t, &e.campaign, "ann@x.test").await;
    timeline_says(t, &ann, "Sent to ann@x.test").await;
    notifications::unsubscribe(&t.db, &ann).await.unwrap();
    let w = refloop::health::why::why(&t.db, &e.alice, &e.campaign, &ann.id)
        .await
        .unwrap();
    assert!(w.emails.starts_with("Unsubscribed on "), "{}", w.emails);
    assert!(
        w.emails.contains(
            "Welcome: Sent — Sent to ann@x.test: “Your referral link for Spring referrals”"
        ),
        "{}",
        w.emails
    );
    assert!(
        w.emails.contains(
            "A friend joined through your link: switched off in the campaign's Emails step"
        ),
        "{}",
        w.emails
    );
    assert!(
        w.steps
            .iter()
            .any(|s| s.text.starts_with("Email “Welcome”: Sent to ann@x.test")),
        "the timeline's entry is a step: {:?}",
        w.steps
    );
}

async fn the_preview_fills_in_a_real_participant_and_a_test_goes_to_the_teammate(t: &TestDb) {
    let e = Emailing::start(t, &[], vec![], 100.0).await;
    let (port, mut inbox) = mail_sink(vec![]).await;
    let mailer = sink_mailer(port);
    let welcome = EmailKind::Welcome.default_template();
    let (db, campaign, alice) = (&t.db, &e.campaign, &e.alice);
    let preview_as = |ctx: &Ctx, template: refloop::domain::emails::EmailTemplate| {
        let ctx = ctx.clone();
        let mailer = mailer.clone();
        async move {
            campaigns::emails::preview(
                db,
                &mailer,
                PUBLIC,
                &ctx,
                campaign,
                "Spring <team>",
                template,
            )
            .await
        }
    };
    let preview = |template| preview_as(alice, template);
    let edited = refloop::domain::emails::EmailTemplate {
        subject: "Hi {{first_name}}, your code is {{code}}".into(),
        ..welcome.clone()
    };
    let send_test = |mailer: Mailer| {
        let edited = edited.clone();
        async move {
            campaigns::emails::send_test(db, &mailer, PUBLIC, alice, campaign, "Spring", edited)
                .await
        }
    };
    let p = preview(welcome.clone()).await.unwrap();
    assert_eq!(
        p.reader,
        "Nobody has joined yet, so the values are examples."
    );
    assert!(
        p.text.contains("https://refer.acme.test/r/EXAMPLE"),
        "{}",
        p.text
    );

    join_ok(db, request(SLUG, "ann@x.test", "<Ann>", None)).await;
    let ann = participant(t, &e.campaign, "ann@x.test").await;
    let p = preview(edited.clone()).await.unwrap();
    assert_eq!(
        p.reader,
        "Filled in with the data of <Ann> <ann@x.test>, who joined last."
    );
    assert_eq!(p.subject, format!("Hi <Ann>, your code is {}", ann.code));
    assert_eq!(p.from, "Spring <team> <hello@refloop.test>");
    assert!(p
        .text
        .contains(&format!("https://refer.acme.test/r/{}", ann.code)));
    assert!(p.html.contains("Hi &lt;Ann&gt;"), "{}", p.html);
    assert!(!p.html.contains("<Ann>"));
    // A teammate who may not see participants previews with examples.
    let mut blind = e.alice.clone();
    blind
        .permissions
        .remove(&refloop::domain::permissions::Permission::ViewParticipants);
    let p = preview_as(&blind, edited.clone()).await.unwrap();
    assert_eq!(
        p.reader,
        "The values are examples: seeing a participant's data needs View participants."
    );
    assert_eq!(p.subject, "Hi Ann, your code is EXAMPLE");
    assert!(!p.text.contains(&ann.code), "{}", p.text);

    // A placeholder the email does not have is named, and nothing is previewed.
    let wrong = refloop::domain::emails::EmailTemplate {
        body: "Hello {{firstname}}".into(),
        ..welcome.clone()
    };
    match preview(wrong).await {
        Err(AppError::Invalid(errors)) => {
            assert_eq!(errors[0].field, "welcome.body");
            assert!(errors[0].message.contains("{{firstname}}"), "{errors:?}");
        }
        other => panic!("expected the placeholder named, got {other:?}"),
    }

    // Send me a test: to the teammate, marked, its unsubscribe link an example that
    // unsubscribes nobody.
    let sent = send_test(mailer.clone()).await.unwrap();
    assert_eq!(
        sent,
        format!(
            "A test of “[Test] Hi <Ann>, your code is {}” went to alice@acme.test.",
            ann.code
        )
    );
    let m = tokio::time::timeout(Duration::from_secs(10), inbox.recv())
        .await
        .expect("the test email")
        .unwrap();
    assert_eq!(to(&m), "alice@acme.test");
    assert!(header(&m, "Subject").unwrap().starts_with("[Test] Hi"));
    assert_eq!(
        header(&m, "List-Unsubscribe"),
        Some("<https://refer.acme.test/unsubscribe/example/test>")
    );
    assert_eq!(
        refloop::db::emails::unsubscribed_at(t.db.pool(), &ann.account_id, &ann.id)
            .await
            .unwrap(),
        None
    );

    // Without a mail server it says so.
    let none = send_test(Mailer::disabled()).await.unwrap_err();
    assert!(
        none.to_string().contains("No mail server is configured"),
        "{none}"
    );

    // Twenty tests an hour, then a clear refusal.
    for _ in 1..20 {
        send_test(mailer.clone()).await.unwrap();
    }
    let more = send_test(mailer.clone()).await.unwrap_err();
    assert!(matches!(more, AppError::TooManyRequests(_)), "{more:?}");
}

async fn the_health_check_says_when_switched_on_emails_cannot_go(t: &TestDb) {
    use refloop::{
        domain::health::{CheckId, CheckState},
        health::{self, Depth},
    };
    let (port, inbox) = mail_sink(vec!["550 5.1.1 no such mailbox"]).await;
    let mailer = sink_mailer(port);
    let e = Emailing::with_mailer(t, &[], mailer.clone(), inbox).await;
    let check = |mailer: Mailer| {
        let (access, alice) = (e.access.clone(), e.alice.clone());
        async move {
            health::run(&t.db, &access, &mailer, &alice, Depth::Quick)
                .await
                .unwrap()
                .check(CheckId::Emails)
                .unwrap()
                .clone()
        }
    };
    let c = check(Mailer::disabled()).await;
    assert_eq!(c.state, CheckState::Pass, "nothing switched on: {c:?}");

    switch_on(
        &t.db,
        &e.alice,
        &e.campaign,
        &[EmailKind::Welcome, EmailKind::Reminder],
    )
    .await;
    let c = check(Mailer::disabled()).await;
    assert_eq!(c.state, CheckState::Fail, "{c:?}");
    assert!(
        c.summary
            .contains("no mail server is configured (REFLOOP_SMTP_URL)"),
        "{}",
        c.summary
    );
    assert_eq!(
        c.evidence,
        vec!["“Spring referrals”: Welcome, Reminder to share".to_string()]
    );
    let c = check(mailer.clone()).await;
    assert_eq!(c.state, CheckState::Pass, "{c:?}");
    assert_eq!(
        c.summary,
        "1 campaign sends emails, and the mail server takes them: 0 sent in the last 7 days."
    );

    // The mail server refuses Ann's welcome: a warning naming her and why.
    join_ok(&t.db, request(SLUG, "ann@x.test", "Ann", None)).await;
    let ann = participant(t, &e.campaign, "ann@x.test").await;
    timeline_says(t, &ann, "not sent: the mail server refused it").await;
    let c = check(mailer).await;
    assert_eq!(c.state, CheckState::Warn, "{c:?}");
    assert!(
        c.summary
            .starts_with("1 email could not be sent in the last 7 days (0 sent)"),
        "{}",
        c.summary
    );
    assert!(
        c.evidence[0].starts_with("ann@x.test, “Welcome”, "),
        "{:?}",
        c.evidence
    );
    assert!(
        c.evidence[0].contains("no such mailbox"),
        "{:?}",
        c.evidence
    );
}
