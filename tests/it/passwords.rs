//! Passwords after sign-up: changing one ends the other sessions, signing out everywhere ends
//! them all, and a forgotten one is replaced through a one-time link (emailed, or from the
//! operator).

use refloop::{
    accounts::{self, passwords},
    auth::session,
    db::sessions,
    error::AppError,
    mail::Mailer,
};

use crate::{
    accounts::{ctx_of, owner},
    support::TestDb,
};

crate::on_both_backends!(
    changing_a_password_ends_the_other_sessions,
    signing_out_everywhere_ends_every_session,
    a_reset_link_works_once_and_signs_in,
);

const PASSWORD: &str = "correct horse battery";
const NEW: &str = "a brand new passphrase";

async fn live(t: &TestDb, token: &str) -> bool {
    sessions::user(t.db.pool(), &session::hash(token), refloop::db::unix_now())
        .await
        .unwrap()
        .is_some()
}

async fn changing_a_password_ends_the_other_sessions(t: &TestDb) {
    let (alice, here) = owner(&t.db, "Acme", "alice@acme.test").await;
    let elsewhere = accounts::sign_in(&t.db, "alice@acme.test", PASSWORD, "2.2.2.2")
        .await
        .unwrap();
    let wrong = passwords::change_password(&t.db, &alice, &session::hash(&here), "guess", NEW)
        .await
        .unwrap_err();
    assert_eq!(
        wrong.field_message("current_password"),
        Some("That is not your current password.")
    );
    let weak = passwords::change_password(&t.db, &alice, &session::hash(&here), PASSWORD, "short")
        .await
        .unwrap_err();
    assert!(weak.field_message("new_password").is_some(), "{weak:?}");
    passwords::change_password(&t.db, &alice, &session::hash(&here), PASSWORD, NEW)
        .await
        .unwrap();
    assert!(live(t, &here).await, "this session stays");
    assert!(!live(t, &elsewhere).await, "the other one ends");
    assert!(
        accounts::sign_in(&t.db, "alice@acme.test", PASSWORD, "3.3.3.3")
            .await
            .is_err()
    );
    accounts::sign_in(&t.db, "alice@acme.test", NEW, "3.3.3.3")
        .await
        .unwrap();
}

async fn signing_out_everywhere_ends_every_session(t: &TestDb) {
    let (alice, here) = owner(&t.db, "Acme", "alice@acme.test").await;
    let phone = accounts::sign_in(&t.db, "alice@acme.test", PASSWORD, "2.2.2.2")
        .await
        .unwrap();
    let (_, bob) = owner(&t.db, "Beta", "bob@beta.test").await;
    assert_eq!(
        passwords::sign_out_everywhere(&t.db, &alice).await.unwrap(),
        2
    );
    assert!(!live(t, &here).await && !live(t, &phone).await);
    assert!(live(t, &bob).await, "nobody else is signed out");
}

async fn a_reset_link_works_once_and_signs_in(t: &TestDb) {
    let (_, old) = owner(&t.db, "Acme", "alice@acme.test").await;
    let link = passwords::reset_link(&t.db, "https://refloop.test", "Alice@Acme.test", 3600)
        .await
        .unwrap();
    let token = link
        .strip_prefix("https://refloop.test/reset-password/")
        .expect("a link to the reset page")
        .to_string();
    assert_eq!(
        passwords::reset_preview(&t.db, &token).await.unwrap(),
        "alice@acme.test"
    );
    let weak = passwords::reset_password(&t.db, &token, "alice@acme.test!", "1.1.1.1")
        .await
        .unwrap_err();
    assert!(weak.field_message("password").is_some(), "{weak:?}");
    let fresh = passwords::reset_password(&t.db, &token, NEW, "1.1.1.1")
        .await
        .unwrap();
    assert!(live(t, &fresh).await);
    assert!(!live(t, &old).await, "every earlier session ends");
    let ctx = ctx_of(&t.db, &fresh).await;
    assert_eq!(ctx.email, "alice@acme.test");
    // Once only.
    assert!(matches!(
        passwords::reset_password(&t.db, &token, "another long passphrase", "1.1.1.1").await,
        Err(AppError::NotFound(_))
    ));
    assert!(passwords::reset_preview(&t.db, &token).await.is_err());
    // An expired link does nothing; an unknown email is named to the operator.
    let expired = passwords::reset_link(&t.db, "http://x", "alice@acme.test", -1)
        .await
        .unwrap();
    let expired = expired.rsplit('/').next().unwrap();
    assert!(
        passwords::reset_password(&t.db, expired, "yet another passphrase", "1.1.1.1")
            .await
            .is_err()
    );
    assert!(matches!(
        passwords::reset_link(&t.db, "http://x", "nobody@acme.test", 3600).await,
        Err(AppError::NotFound(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgotten_password_is_emailed_a_link_without_telling_who_has_an_account() {
    let t = TestDb::sqlite().await;
    let (port, mut inbox) = crate::mail::mail_sink(vec![]).await;
    let mailer = Mailer::new(
        Some(&format!("smtp://127.0.0.1:{port}")),
        "Refloop <team@refloop.test>",
    )
    .unwrap();
    owner(&t.db, "Acme", "alice@acme.test").await;
    let access = refloop::workflows::StripeAccess::default();
    let _workers = crate::mail::workers(
        &refloop::jobs::Queue::new(t.db.clone()),
        &access,
        mailer.clone(),
    );
    passwords::request_reset(
        &t.db,
        &access.sealer,
        &mailer,
        "https://refloop.test",
        "alice@acme.test",
        "1.1.1.1",
    )
    .await
    .unwrap();
    let message = tokio::time::timeout(std::time::Duration::from_secs(10), inbox.recv())
        .await
        .expect("the reset email within 10 s")
        .unwrap();
    assert!(message.contains("To: alice@acme.test"), "{message}");
    assert!(
        message.contains("https://refloop.test/reset-password/"),
        "{message}"
    );
    // Nobody: the same answer, and no email.
    passwords::request_reset(
        &t.db,
        &access.sealer,
        &mailer,
        "https://refloop.test",
        "nobody@acme.test",
        "1.1.1.1",
    )
    .await
    .unwrap();
    // A few emails an hour at most, then quietly none.
    for _ in 0..5 {
        passwords::request_reset(
            &t.db,
            &access.sealer,
            &mailer,
            "https://refloop.test",
            "alice@acme.test",
            "1.1.1.1",
        )
        .await
        .unwrap();
    }
    let mut more = 0;
    while let Ok(Some(_)) =
        tokio::time::timeout(std::time::Duration::from_millis(300), inbox.recv()).await
    {
        more += 1;
    }
    assert_eq!(more, 2, "three emails in all for one address in an hour");
    // Without a mail server, the page says who can help.
    let err = passwords::request_reset(
        &t.db,
        &access.sealer,
        &Mailer::disabled(),
        "http://x",
        "alice@acme.test",
        "1.1.1.1",
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("refloop admin reset-password"),
        "{err}"
    );
}
