//! Accounts, sign-in, teammates and the activity log, on both backends.

use refloop::{
    accounts::{self, SignUp},
    auth::{caller_from, session, Ctx},
    db::{accounts as users, Db},
    domain::permissions::{Permission, Role},
    error::AppError,
    mail::Mailer,
};
use sqlx::Row;

use crate::support::TestDb;

crate::on_both_backends!(
    sign_up_creates_the_account_its_owner_and_a_session,
    sign_up_reports_every_bad_field_and_creates_nothing,
    a_taken_email_is_refused_and_nothing_is_half_created,
    sign_in_says_what_is_wrong_and_throttles_guessing,
    an_invitation_joins_once_with_its_role,
    expired_revoked_and_replaced_invitations_are_refused_precisely,
    two_simultaneous_uses_of_one_invitation_create_one_teammate,
    the_last_owner_cannot_be_demoted_or_removed,
    ownership_can_be_transferred,
    single_permissions_are_for_owners_to_grant,
    removing_a_teammate_ends_their_sessions,
    the_activity_log_records_who_did_what_and_filters,
);

pub async fn owner(db: &Db, company: &str, email: &str) -> (Ctx, String) {
    let token = accounts::sign_up(
        db,
        SignUp {
            company: company.into(),
            name: format!("{company} Owner"),
            email: email.into(),
            password: "correct horse battery".into(),
        },
        "10.0.0.1",
    )
    .await
    .expect("sign-up");
    (ctx_of(db, &token).await, token)
}

pub async fn ctx_of(db: &Db, token: &str) -> Ctx {
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(
        axum::http::header::COOKIE,
        format!("{}={token}", session::COOKIE).parse().unwrap(),
    );
    caller_from(db, &headers, "10.0.0.2".into())
        .await
        .unwrap()
        .expect("a live session")
}

/// Invites `email` as `role` and accepts; returns the new teammate's context and token.
pub async fn teammate(db: &Db, inviter: &Ctx, email: &str, role: Role) -> (Ctx, String) {
    let sent = accounts::invite(
        db,
        &refloop::secrets::Sealer::random(),
        &Mailer::disabled(),
        "http://refloop.test",
        inviter,
        email,
        role,
    )
    .await
    .expect("invite");
    let token = sent.link.rsplit('/').next().unwrap().to_string();
    let session = accounts::accept_invitation(
        db,
        &token,
        &format!("Mate {email}"),
        "correct horse battery",
        "10.0.0.3",
    )
    .await
    .expect("accept");
    (ctx_of(db, &session).await, session)
}

fn invitation_token(link: &str) -> String {
    link.rsplit('/').next().unwrap().to_string()
}

async fn count(db: &Db, table: &str) -> i64 {
    sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
        .fetch_one(db.pool())
        .await
        .unwrap()
        .get("n")
}

async fn sign_up_creates_the_account_its_owner_and_a_session(t: &TestDb) {
    let (ctx, _) = owner(&t.db, "Acme", " Alice@Example.com ").await;
    assert_eq!(ctx.email, "alice@example.com");
    assert_eq!(ctx.role, Role::Owner);
    assert!(ctx.can(Permission::ManageIntegrations));
    let me = accounts::current_user(&t.db, &ctx).await.unwrap();
    assert_eq!(me.account_name, "Acme");
    assert_eq!(me.helpers.len(), 1);
}

async fn sign_up_reports_every_bad_field_and_creates_nothing(t: &TestDb) {
    let err = accounts::sign_up(
        &t.db,
        SignUp {
            company: " ".into(),
            name: "Al".into(),
            email: "not-an-email".into(),
            password: "short".into(),
        },
        "ip",
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.field_message("company"),
        Some("Enter your company's name.")
    );
    assert!(err.field_message("email").unwrap().contains("has no @"));
    assert!(err
        .field_message("password")
        .unwrap()
        .contains("at least 10"));
    assert_eq!(err.field_message("name"), None);
    assert_eq!(count(&t.db, "accounts").await, 0);
}

async fn a_taken_email_is_refused_and_nothing_is_half_created(t: &TestDb) {
    owner(&t.db, "Acme", "alice@example.com").await;
    let err = accounts::sign_up(
        &t.db,
        SignUp {
            company: "Other".into(),
            name: "Alice Again".into(),
            email: "ALICE@example.com".into(),
            password: "correct horse battery".into(),
        },
        "ip",
    )
    .await
    .unwrap_err();
    assert!(err
        .field_message("email")
        .unwrap()
        .contains("already has a Refloop account"));
    assert_eq!(count(&t.db, "accounts").await, 1);
    assert_eq!(count(&t.db, "users").await, 1);
}

async fn sign_in_says_what_is_wrong_and_throttles_guessing(t: &TestDb) {
    owner(&t.db, "Acme", "alice@example.com").await;
    let err = accounts::sign_in(&t.db, "bob@example.com", "whatever", "1.1.1.1")
        .await
        .unwrap_err();
    assert!(err
        .field_message("email")
        .unwrap()
        .contains("No Refloop account uses bob@example.com"));

    let err = accounts::sign_in(&t.db, "alice@example.com", "wrong password", "1.1.1.1")
        .await
        .unwrap_err();
    assert!(
        err.field_message("password")
            .unwrap()
            .contains("4 more tries"),
        "{err}"
    );
    for _ in 0..4 {
        let _ = accounts::sign_in(&t.db, "alice@example.com", "wrong password", "1.1.1.1").await;
    }
    // Now even the right password waits.
    let err = accounts::sign_in(
        &t.db,
        "alice@example.com",
        "correct horse battery",
        "1.1.1.1",
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AppError::TooManyRequests(_)), "{err:?}");
    assert!(err.to_string().contains("Wait 15 minutes"));

    // Another email from another address is not affected.
    owner(&t.db, "Beta", "bea@example.com").await;
    assert!(
        accounts::sign_in(&t.db, "bea@example.com", "correct horse battery", "2.2.2.2")
            .await
            .is_ok()
    );
}

async fn an_invitation_joins_once_with_its_role(t: &TestDb) {
    let (alice, _) = owner(&t.db, "Acme", "alice@example.com").await;
    let sent = accounts::invite(
        &t.db,
        &refloop::secrets::Sealer::random(),
        &Mailer::disabled(),
        "http://refloop.test/",
        &alice,
        "Bob@Example.com",
        Role::Viewer,
    )
    .await
    .unwrap();
    assert!(sent.link.starts_with("http://refloop.test/invite/"));
    assert!(!sent.emailed);
    let token = invitation_token(&sent.link);
    let preview = accounts::preview_invitation(&t.db, &token).await.unwrap();
    assert_eq!(
        (
            preview.account_name.as_str(),
            preview.email.as_str(),
            preview.role
        ),
        ("Acme", "bob@example.com", Role::Viewer)
    );
    assert_eq!(
        accounts::list_invitations(&t.db, &alice)
            .await
            .unwrap()
            .len(),
        1
    );

    // A weak password is refused and the invitation stays usable.
    let err = accounts::accept_invitation(&t.db, &token, "Bob", "bob", "ip")
        .await
        .unwrap_err();
    assert!(err.field_message("password").is_some());
    let session =
        accounts::accept_invitation(&t.db, &token, "Bob Example", "correct horse battery", "ip")
            .await
            .unwrap();
    let bob = ctx_of(&t.db, &session).await;
    assert_eq!(
        (bob.role, bob.account_id.as_str()),
        (Role::Viewer, alice.account_id.as_str())
    );
    assert_eq!(
        bob.permissions.iter().copied().collect::<Vec<_>>(),
        vec![Permission::ViewParticipants]
    );

    let err =
        accounts::accept_invitation(&t.db, &token, "Bob Again", "correct horse battery", "ip")
            .await
            .unwrap_err();
    assert!(err.to_string().contains("already been used"), "{err}");
    assert!(accounts::list_invitations(&t.db, &alice)
        .await
        .unwrap()
        .is_empty());

    // Inviting someone already on the team says so.
    let err = accounts::invite(
        &t.db,
        &refloop::secrets::Sealer::random(),
        &Mailer::disabled(),
        "http://x",
        &alice,
        "bob@example.com",
        Role::Manager,
    )
    .await
    .unwrap_err();
    assert!(err
        .field_message("email")
        .unwrap()
        .contains("already on your team"));
}

async fn expired_revoked_and_replaced_invitations_are_refused_precisely(t: &TestDb) {
    let (alice, _) = owner(&t.db, "Acme", "alice@example.com").await;
    let mailer = Mailer::disabled();
    let first = accounts::invite(
        &t.db,
        &refloop::secrets::Sealer::random(),
        &mailer,
        "http://x",
        &alice,
        "bob@example.com",
        Role::Viewer,
    )
    .await
    .unwrap();
    let second = accounts::invite(
        &t.db,
        &refloop::secrets::Sealer::random(),
        &mailer,
        "http://x",
        &alice,
        "bob@example.com",
        Role::Manager,
    )
    .await
    .unwrap();
    let err = accounts::preview_invitation(&t.db, &invitation_token(&first.link))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("withdrawn or replaced"), "{err}");
    assert_eq!(
        accounts::preview_invitation(&t.db, &invitation_token(&second.link))
            .await
            .unwrap()
            .role,
        Role::Manager
    );

    sqlx::query("UPDATE invitations SET expires_at = 0 WHERE email = 'bob@example.com' AND revoked_at IS NULL")
        .execute(t.db.pool())
        .await
        .unwrap();
    let err = accounts::accept_invitation(
        &t.db,
        &invitation_token(&second.link),
        "Bob",
        "correct horse battery",
        "ip",
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("expired"), "{err}");
    assert!(
        err.to_string().contains("Acme Owner"),
        "names who to ask: {err}"
    );

    let third = accounts::invite(
        &t.db,
        &refloop::secrets::Sealer::random(),
        &mailer,
        "http://x",
        &alice,
        "carol@example.com",
        Role::Viewer,
    )
    .await
    .unwrap();
    let pending = accounts::list_invitations(&t.db, &alice).await.unwrap();
    accounts::revoke_invitation(&t.db, &alice, &pending[0].id)
        .await
        .unwrap();
    let err = accounts::preview_invitation(&t.db, &invitation_token(&third.link))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("withdrawn"));
    let err = accounts::preview_invitation(&t.db, "no-such-token")
        .await
        .unwrap_err();
    assert_eq!(err, AppError::NotFound("Invitation".into()));
    assert_eq!(count(&t.db, "users").await, 1);
}

async fn two_simultaneous_uses_of_one_invitation_create_one_teammate(t: &TestDb) {
    let (alice, _) = owner(&t.db, "Acme", "alice@example.com").await;
    let sent = accounts::invite(
        &t.db,
        &refloop::secrets::Sealer::random(),
        &Mailer::disabled(),
        "http://x",
        &alice,
        "bob@example.com",
        Role::Viewer,
    )
    .await
    .unwrap();
    let token = invitation_token(&sent.link);
    let tries: Vec<_> = (0..4)
        .map(|i| {
            let (db, token) = (t.db.clone(), token.clone());
            tokio::spawn(async move {
                accounts::accept_invitation(
                    &db,
                    &token,
                    &format!("Bob {i}"),
                    "correct horse battery",
                    "ip",
                )
                .await
            })
        })
        .collect();
    let mut ok = 0;
    for t in tries {
        if t.await.unwrap().is_ok() {
            ok += 1;
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(count(&t.db, "users").await, 2);
}

async fn the_last_owner_cannot_be_demoted_or_removed(t: &TestDb) {
    let (alice, _) = owner(&t.db, "Acme", "alice@example.com").await;
    let (bob, _) = teammate(&t.db, &alice, "bob@example.com", Role::Viewer).await;
    accounts::set_role(&t.db, &alice, &bob.user_id, Role::Admin)
        .await
        .unwrap();
    let bob = ctx_of_user(&t.db, &bob).await;
    // An admin cannot touch the owner at all.
    let err = accounts::set_role(&t.db, &bob, &alice.user_id, Role::Viewer)
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Forbidden(_)), "{err:?}");
    let err = accounts::remove_member(&t.db, &bob, &alice.user_id)
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Forbidden(_)), "{err:?}");
    // The owner cannot demote or remove the last owner (themselves).
    let err = accounts::set_role(&t.db, &alice, &alice.user_id, Role::Admin)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("only owner"), "{err}");
    let err = accounts::remove_member(&t.db, &alice, &alice.user_id)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("only owner"), "{err}");
    // With a second owner, one can step down.
    accounts::set_role(&t.db, &alice, &bob.user_id, Role::Owner)
        .await
        .unwrap();
    accounts::set_role(&t.db, &alice, &alice.user_id, Role::Manager)
        .await
        .unwrap();
    let alice_row = users::user_in_account(t.db.pool(), &alice.account_id, &alice.user_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(alice_row.role, Role::Manager);
}

async fn ctx_of_user(db: &Db, ctx: &Ctx) -> Ctx {
    let row = users::user_in_account(db.pool(), &ctx.account_id, &ctx.user_id)
        .await
        .unwrap()
        .unwrap();
    Ctx::from_user(row, ctx.ip.clone())
}

async fn ownership_can_be_transferred(t: &TestDb) {
    let (alice, _) = owner(&t.db, "Acme", "alice@example.com").await;
    let (bob, _) = teammate(&t.db, &alice, "bob@example.com", Role::Manager).await;
    let err = accounts::transfer_ownership(&t.db, &bob, &bob.user_id)
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Forbidden(_)));
    accounts::transfer_ownership(&t.db, &alice, &bob.user_id)
        .await
        .unwrap();
    assert_eq!(ctx_of_user(&t.db, &bob).await.role, Role::Owner);
    assert_eq!(ctx_of_user(&t.db, &alice).await.role, Role::Admin);
    let helpers = refloop::auth::helpers(&t.db, &alice.account_id)
        .await
        .unwrap();
    assert_eq!(
        helpers[0].email, "bob@example.com",
        "the new owner is asked first"
    );
}

async fn single_permissions_are_for_owners_to_grant(t: &TestDb) {
    let (alice, _) = owner(&t.db, "Acme", "alice@example.com").await;
    let (viewer, _) = teammate(&t.db, &alice, "vic@example.com", Role::Viewer).await;
    let (admin, _) = teammate(&t.db, &alice, "ada@example.com", Role::Manager).await;
    accounts::set_role(&t.db, &alice, &admin.user_id, Role::Admin)
        .await
        .unwrap();
    let admin = ctx_of_user(&t.db, &admin).await;

    let err = accounts::set_permission(
        &t.db,
        &admin,
        &viewer.user_id,
        Permission::ManageIntegrations,
        true,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AppError::Forbidden(_)));
    accounts::set_permission(
        &t.db,
        &alice,
        &viewer.user_id,
        Permission::ManageIntegrations,
        true,
    )
    .await
    .unwrap();
    let viewer = ctx_of_user(&t.db, &viewer).await;
    assert!(viewer.can(Permission::ManageIntegrations));
    accounts::set_permission(
        &t.db,
        &alice,
        &viewer.user_id,
        Permission::ViewParticipants,
        false,
    )
    .await
    .unwrap();
    let viewer = ctx_of_user(&t.db, &viewer).await;
    assert!(!viewer.can(Permission::ViewParticipants));
    let err =
        accounts::set_permission(&t.db, &alice, &alice.user_id, Permission::ManageTeam, false)
            .await
            .unwrap_err();
    assert!(matches!(err, AppError::Conflict(_)));
    // A new role starts from its defaults.
    accounts::set_role(&t.db, &alice, &viewer.user_id, Role::Manager)
        .await
        .unwrap();
    let viewer = ctx_of_user(&t.db, &viewer).await;
    assert!(
        !viewer.can(Permission::ManageIntegrations) && viewer.can(Permission::ViewParticipants)
    );
}

async fn removing_a_teammate_ends_their_sessions(t: &TestDb) {
    let (alice, _) = owner(&t.db, "Acme", "alice@example.com").await;
    let (bob, bob_session) = teammate(&t.db, &alice, "bob@example.com", Role::Manager).await;
    accounts::remove_member(&t.db, &alice, &bob.user_id)
        .await
        .unwrap();
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(
        axum::http::header::COOKIE,
        format!("refloop_session={bob_session}").parse().unwrap(),
    );
    assert!(caller_from(&t.db, &headers, "ip".into())
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        count(&t.db, "sessions").await,
        1,
        "alice's sign-up session and nothing of bob's"
    );
}

async fn the_activity_log_records_who_did_what_and_filters(t: &TestDb) {
    let (alice, _) = owner(&t.db, "Acme", "alice@example.com").await;
    let (bob, _) = teammate(&t.db, &alice, "bob@example.com", Role::Viewer).await;
    accounts::set_role(&t.db, &alice, &bob.user_id, Role::Manager)
        .await
        .unwrap();
    let all = accounts::list_activity(&t.db, &alice, None, None, None)
        .await
        .unwrap();
    let kinds: Vec<&str> = all.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "team.role_changed",
            "team.joined",
            "team.invited",
            "account.created"
        ]
    );
    assert_eq!(
        all[0].summary,
        "Changed Mate bob@example.com's role from Viewer to Manager"
    );
    assert_eq!(all[0].actor_name, "Acme Owner");
    assert_eq!(all[0].ip, "10.0.0.2");

    let bobs = accounts::list_activity(&t.db, &alice, Some(&bob.user_id), None, None)
        .await
        .unwrap();
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0].kind, "team.joined");
    let invites = accounts::list_activity(&t.db, &alice, None, Some("team.invited"), None)
        .await
        .unwrap();
    assert_eq!(invites.len(), 1);
    let err = accounts::list_activity(&t.db, &alice, None, Some("bogus"), None)
        .await
        .unwrap_err();
    assert!(err.field_message("kind").is_some());
    let older = accounts::list_activity(&t.db, &alice, None, None, Some(&all[1].id))
        .await
        .unwrap();
    assert_eq!(older.len(), 2);

    // Another account sees none of it.
    let (other, _) = owner(&t.db, "Other", "olga@example.com").await;
    let theirs = accounts::list_activity(&t.db, &other, None, None, None)
        .await
        .unwrap();
    assert_eq!(theirs.len(), 1);
}
