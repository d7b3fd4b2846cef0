//! Every protected server function, called over HTTP as each role: allowed, or 403 naming the
//! permission. Without a session: 401. With another account's ids: 404, and nothing changes.

use crate::{
    accounts::{owner, teammate},
    support::{answer, router, TestDb},
};
use axum::{
    body::Body,
    http::{Request, StatusCode},
    Router,
};
use refloop::{
    accounts,
    auth::Ctx,
    config::Config,
    domain::{integrations::StripeMode, permissions::Role},
    mail::Mailer,
    state::AppState,
};

struct Team {
    owner: (Ctx, String),
    admin: (Ctx, String),
    manager: (Ctx, String),
    viewer: (Ctx, String),
}

impl Team {
    async fn new(t: &TestDb, company: &str) -> Team {
        let domain = company.to_lowercase();
        let owner = owner(&t.db, company, &format!("owner@{domain}.test")).await;
        let admin = teammate(
            &t.db,
            &owner.0,
            &format!("admin@{domain}.test"),
            Role::Manager,
        )
        .await;
        accounts::set_role(&t.db, &owner.0, &admin.0.user_id, Role::Admin)
            .await
            .unwrap();
        let manager = teammate(
            &t.db,
            &owner.0,
            &format!("manager@{domain}.test"),
            Role::Manager,
        )
        .await;
        let viewer = teammate(
            &t.db,
            &owner.0,
            &format!("viewer@{domain}.test"),
            Role::Viewer,
        )
        .await;
        Team {
            owner,
            admin,
            manager,
            viewer,
        }
    }

    fn session(&self, role: Role) -> &str {
        match role {
            Role::Owner => &self.owner.1,
            Role::Admin => &self.admin.1,
            Role::Manager => &self.manager.1,
            Role::Viewer => &self.viewer.1,
        }
    }
}

async fn call(
    app: &Router,
    endpoint: &str,
    session: Option<&str>,
    form: &[(&str, &str)],
) -> (StatusCode, String) {
    let body = form
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut req = Request::post(format!("/api/{endpoint}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json");
    if let Some(s) = session {
        req = req.header("cookie", format!("refloop_session={s}"));
    }
    let (res, text) = answer(app, req.body(Body::from(body)).unwrap()).await;
    (res.status, text)
}

fn urlencode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn app(t: &TestDb) -> Router {
    router(AppState::new(Config::defaults(), t.db.clone()).unwrap()).await
}

/// Fresh objects for one call, made by the owner through the services.
async fn fresh_viewer(t: &TestDb, team: &Team, n: &mut u32) -> String {
    *n += 1;
    teammate(
        &t.db,
        &team.owner.0,
        &format!("target{n}@targets.test"),
        Role::Viewer,
    )
    .await
    .0
    .user_id
}

/// A job of the account that failed for good.
async fn dead_job(t: &TestDb, account_id: &str) -> String {
    let id = refloop::db::new_id("job");
    sqlx::query("INSERT INTO jobs (id, kind, payload, account_id, status, attempts, max_attempts, run_at_ms, created_ms, last_error) VALUES ($1, 'queue.probe', '{}', $2, 'dead', 3, 3, 0, 0, 'boom')")
        .bind(&id)
        .bind(account_id)
        .execute(t.db.pool())
        .await
        .unwrap();
    id
}

async fn fresh_invitation(t: &TestDb, team: &Team, n: &mut u32) -> String {
    *n += 1;
    accounts::invite(
        &t.db,
        &refloop::secrets::Sealer::random(),
        &Mailer::disabled(),
        "http://x",
        &team.owner.0,
        &format!("invitee{n}@targets.test"),
        Role::Viewer,
    )
    .await
    .unwrap();
    accounts::list_invitations(&t.db, &team.owner.0)
        .await
        .unwrap()[0]
        .id
        .clone()
}

use Role::*;

/// Server functions taking form fields: (endpoint, the roles allowed); every other role gets
/// 403 and nobody signed in 401.
const FORM_MATRIX: [(&str, &[Role]); 46] = [
    ("current_user", &[Owner, Admin, Manager, Viewer]),
    ("team", &[Owner, Admin, Manager, Viewer]),
    ("stripe_connection", &[Owner, Admin, Manager, Viewer]),
    ("activity", &[Owner, Admin, Manager]),
    ("operations", &[Owner, Admin, Manager]),
    ("retry_job", &[Owner, Admin]),
    ("invite_teammate", &[Owner, Admin]),
    ("revoke_invitation", &[Owner, Admin]),
    ("set_member_role", &[Owner, Admin]),
    ("remove_member", &[Owner, Admin]),
    ("set_member_permission", &[Owner]),
    ("connect_stripe", &[Owner, Admin]),
    ("disconnect_stripe", &[Owner, Admin]),
    ("api_keys", &[Owner, Admin]),
    ("create_api_key", &[Owner, Admin]),
    ("revoke_api_key", &[Owner, Admin]),
    ("api_reference", &[Owner, Admin, Manager, Viewer]),
    ("webhook_endpoints", &[Owner, Admin]),
    ("create_webhook_endpoint", &[Owner, Admin]),
    ("enable_webhook_endpoint", &[Owner, Admin]),
    ("replay_webhook", &[Owner, Admin]),
    ("delete_webhook_endpoint", &[Owner, Admin]),
    ("campaigns", &[Owner, Admin, Manager, Viewer]),
    ("campaign", &[Owner, Admin, Manager, Viewer]),
    ("create_campaign", &[Owner, Admin, Manager]),
    ("save_campaign_setup", &[Owner, Admin, Manager]),
    ("set_campaign_status", &[Owner, Admin, Manager]),
    ("set_promote_toggle", &[Owner, Admin, Manager]),
    ("campaign_sending", &[Owner, Admin, Manager, Viewer]),
    ("sending_switches", &[Owner, Admin, Manager, Viewer]),
    ("campaign_qualification", &[Owner, Admin, Manager, Viewer]),
    ("campaign_rewards", &[Owner, Admin, Manager, Viewer]),
    ("campaign_emails", &[Owner, Admin, Manager, Viewer]),
    ("campaign_sync", &[Owner, Admin, Manager, Viewer]),
    ("sync_skipped", &[Owner, Admin, Manager, Viewer]),
    ("participant", &[Owner, Admin, Manager, Viewer]),
    ("why_participant", &[Owner, Admin, Manager, Viewer]),
    ("campaign_stats", &[Owner, Admin, Manager, Viewer]),
    ("dashboard", &[Owner, Admin, Manager, Viewer]),
    ("integration_health", &[Owner, Admin, Manager, Viewer]),
    ("participant_usage", &[Owner, Admin, Manager, Viewer]),
    ("import_participants", &[Owner, Admin, Manager]),
    ("set_participant_limit", &[Owner]),
    ("change_password", &[Owner, Admin, Manager, Viewer]),
    // It makes the Admin the Owner.
    ("transfer_ownership", &[Owner]),
    // Last: it ends each caller's session.
    ("sign_out_everywhere", &[Owner, Admin, Manager, Viewer]),
];

/// Server functions anyone may call: the public pages, signing in and choosing a forgotten
/// password (each has its own credential: a slug, a code, a secret token, a password), and the
/// layout's banners, which are empty for nobody signed in. "Email me my link" answers the same
/// whoever asks (tests/it/emails.rs).
const PUBLIC: [&str; 16] = [
    "accept_invitation",
    "email_my_link",
    "invitation",
    "instance_info",
    "join_campaign",
    "open_referral",
    "personal_page",
    "public_campaign",
    "sign_in",
    "sign_out",
    "sign_up",
    "health_banner",
    "limit_banner",
    "request_password_reset",
    "password_reset",
    "reset_password",
];

#[test]
fn every_server_function_is_in_a_permission_matrix_or_public() {
    // Registering happens when the router is first built.
    let _ = refloop::app::App;
    let covered: Vec<&str> = FORM_MATRIX
        .iter()
        .map(|(e, _)| *e)
        .chain(JSON_MATRIX.iter().map(|(e, _, _)| *e))
        .chain(PUBLIC)
        .collect();
    let registered: Vec<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.trim_start_matches("/api/").to_string())
        .collect();
    assert!(registered.len() > 50, "{registered:?}");
    let unchecked: Vec<&String> = registered
        .iter()
        .filter(|e| !covered.contains(&e.as_str()))
        .collect();
    assert!(
        unchecked.is_empty(),
        "server functions no matrix checks: {unchecked:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_may_call_exactly_what_its_permissions_allow() {
    let t = TestDb::sqlite().await;
    // Connecting the built-in sandbox opens an account in it: this one.
    let sb = crate::stripe_client::SandboxServer::start(&t).await;
    let app = router(
        AppState::new(
            Config {
                sandbox_url: Some(sb.base.clone()),
                ..Config::defaults()
            },
            t.db.clone(),
        )
        .unwrap(),
    )
    .await;
    let team = Team::new(&t, "Acme").await;
    let mut n = 0;

    // (endpoint, roles allowed): every other role gets 403.
    let campaign = crate::campaigns::live_campaign(&t.db, &team.owner.0, "matrix").await;
    refloop::campaigns::people::import_csv(&t.db, &team.owner.0, &campaign, "email\nann@x.test\n")
        .await
        .unwrap();
    let participant =
        refloop::campaigns::people::list(&t.db, &team.owner.0, &campaign, &Default::default())
            .await
            .unwrap()
            .rows[0]
            .id
            .clone();
    let matrix = FORM_MATRIX;
    for (endpoint, allowed) in matrix {
        for role in [Viewer, Manager, Admin, Owner] {
            n += 1;
            let email = format!("new{n}@acme.test");
            let form: Vec<(&str, String)> = match endpoint {
                "invite_teammate" => vec![("email", email), ("role", "viewer".into())],
                "revoke_invitation" => {
                    vec![("invitation_id", fresh_invitation(&t, &team, &mut n).await)]
                }
                "set_member_role" => vec![
                    ("member_id", fresh_viewer(&t, &team, &mut n).await),
                    ("role", "manager".into()),
                ],
                "remove_member" => vec![("member_id", fresh_viewer(&t, &team, &mut n).await)],
                "set_member_permission" => vec![
                    ("member_id", fresh_viewer(&t, &team, &mut n).await),
                    ("permission", "view_activity".into()),
                    ("allowed", "true".into()),
                ],
                "connect_stripe" => vec![("mode", "sandbox".into())],
                "disconnect_stripe" => {
                    let _ = refloop::db::stripe_connections::insert(
                        t.db.pool(),
                        &refloop::db::stripe_connections::ConnectionRow {
                            account_id: team.owner.0.account_id.clone(),
                            mode: StripeMode::Sandbox,
                            sealed_key: None,
                            key_hint: None,
                            livemode: false,
                            stripe_account_id: None,
                            stripe_account_name: None,
                            connected_by: "Olga".into(),
                            connected_at: 0,
                            alert: None,
                            alert_at: None,
                        },
                    )
                    .await;
                    vec![]
                }
                "transfer_ownership" => vec![("member_id", team.admin.0.user_id.clone())],
                "create_api_key" => vec![("name", format!("Key {n}")), ("scope", "read".into())],
                "revoke_api_key" => vec![(
                    "id",
                    refloop::rest::keys::create(&t.db, &team.owner.0, "Matrix", "read", vec![])
                        .await
                        .unwrap()
                        .key
                        .id,
                )],
                "create_webhook_endpoint" => vec![
                    ("url", "https://93.184.216.34/hooks".into()),
                    ("events[participant.joined]", "on".into()),
                ],
                "enable_webhook_endpoint" | "delete_webhook_endpoint" => {
                    vec![("id", fresh_endpoint(&t, &team.owner.0).await)]
                }
                "replay_webhook" => vec![("id", fresh_message(&t, &team.owner.0).await)],
                "retry_job" => vec![("job_id", dead_job(&t, &team.owner.0.account_id).await)],
                "campaign" => vec![("id", campaign.clone())],
                "campaign_sending"
                | "campaign_qualification"
                | "campaign_rewards"
                | "campaign_emails"
                | "campaign_sync" => {
                    vec![("campaign_id", campaign.clone())]
                }
                "campaign_stats" => vec![("campaign_id", campaign.clone())],
                "dashboard" => vec![
                    ("campaign", campaign.clone()),
                    ("period", "90d".into()),
                    ("from", String::new()),
                    ("to", String::new()),
                ],
                "sync_skipped" => vec![
                    ("campaign_id", campaign.clone()),
                    ("run_id", "run_none".into()),
                ],
                "why_participant" => vec![
                    ("campaign_id", campaign.clone()),
                    ("participant_id", participant.clone()),
                ],
                "create_campaign" => vec![("name", "New".into()), ("slug", format!("new-{n}"))],
                "save_campaign_setup" => vec![
                    ("id", campaign.clone()),
                    ("setup[name]", "Matrix".into()),
                    ("setup[slug]", "matrix".into()),
                    ("setup[starts_on]", String::new()),
                    ("setup[ends_on]", String::new()),
                    ("setup[referral_cap]", String::new()),
                    ("setup[share_text]", String::new()),
                ],
                "set_campaign_status" => vec![("id", campaign.clone()), ("status", "live".into())],
                "set_promote_toggle" => vec![
                    ("id", campaign.clone()),
                    ("toggle", "send_referrers".into()),
                    ("on", "false".into()),
                ],
                "participant" => vec![
                    ("campaign_id", campaign.clone()),
                    ("id", participant.clone()),
                ],
                "import_participants" => vec![
                    ("campaign_id", campaign.clone()),
                    ("csv", format!("email\nimported{n}@x.test\n")),
                ],
                "set_participant_limit" => vec![("limit", "5000".into())],
                "change_password" => vec![
                    ("current_password", "correct horse battery".into()),
                    ("new_password", format!("another long passphrase {n}")),
                ],
                _ => vec![],
            };
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (status, body) = call(&app, endpoint, Some(team.session(role)), &form).await;
            if allowed.contains(&role) {
                // create_campaign answers by sending the browser to the builder; there is no
                // sync run to report on.
                assert!(
                    status == StatusCode::OK
                        || status == StatusCode::FOUND
                        || (endpoint == "sync_skipped" && status == StatusCode::NOT_FOUND),
                    "{endpoint} as {role}: {status} {body}"
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{endpoint} as {role}: {body}"
                );
                assert!(
                    body.contains("You need") || body.contains("Only an account owner"),
                    "{endpoint} as {role}: {body}"
                );
            }
            if endpoint == "connect_stripe" && status == StatusCode::OK {
                refloop::integrations::disconnect_stripe(&t.db, &team.owner.0)
                    .await
                    .unwrap();
            }
            // Without a session, nothing but the public answer of current_user.
            let (status, _) = call(&app, endpoint, None, &form).await;
            let expected = if endpoint == "current_user" {
                StatusCode::OK
            } else {
                StatusCode::UNAUTHORIZED
            };
            assert_eq!(status, expected, "{endpoint} signed out");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_403_says_which_permission_and_who_can_grant_it() {
    let t = TestDb::sqlite().await;
    let app = app(&t).await;
    let team = Team::new(&t, "Acme").await;
    let (status, body) = call(
        &app,
        "connect_stripe",
        Some(team.session(Role::Viewer)),
        &[("mode", "sandbox")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        body.contains("You need Manage integrations. Ask Acme Owner (owner@acme.test), the account owner or Mate admin@acme.test (admin@acme.test), an admin."),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_accounts_ids_are_not_found_and_stay_untouched() {
    let t = TestDb::sqlite().await;
    let app = app(&t).await;
    let acme = Team::new(&t, "Acme").await;
    let beta = Team::new(&t, "Beta").await;
    let mut n = 0;
    let acme_invitation = fresh_invitation(&t, &acme, &mut n).await;
    let acme_viewer = acme.viewer.0.user_id.clone();
    let attempts: [(&str, Vec<(&str, &str)>); 5] = [
        (
            "set_member_role",
            vec![("member_id", &acme_viewer), ("role", "admin")],
        ),
        (
            "set_member_permission",
            vec![
                ("member_id", &acme_viewer),
                ("permission", "manage_team"),
                ("allowed", "true"),
            ],
        ),
        ("remove_member", vec![("member_id", &acme_viewer)]),
        ("transfer_ownership", vec![("member_id", &acme_viewer)]),
        (
            "revoke_invitation",
            vec![("invitation_id", &acme_invitation)],
        ),
    ];
    for (endpoint, form) in attempts {
        let (status, body) = call(&app, endpoint, Some(beta.session(Role::Owner)), &form).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{endpoint}: {body}");
        assert!(body.contains("NotFound"), "{body}");
    }
    let members = accounts::list_members(&t.db, &acme.owner.0).await.unwrap();
    let viewer = members
        .iter()
        .find(|m| m.id == acme_viewer)
        .expect("still there");
    assert_eq!(viewer.role, Role::Viewer);
    assert!(viewer.overrides.granted.is_empty());
    assert_eq!(
        accounts::list_invitations(&t.db, &acme.owner.0)
            .await
            .unwrap()
            .len(),
        1
    );
    // And Beta's team lists only Beta's people.
    let (_, body) = call(&app, "team", Some(beta.session(Role::Viewer)), &[]).await;
    assert!(!body.contains("acme.test"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_site_post_is_refused_before_it_runs() {
    let t = TestDb::sqlite().await;
    let app = app(&t).await;
    let req = Request::post("/api/sign_up")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "cross-site")
        .body(Body::from(
            "company=Evil&name=E&email=e%40evil.test&password=correct+horse+battery",
        ))
        .unwrap();
    let (res, _) = answer(&app, req).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(
        refloop::db::accounts::user_by_email(t.db.pool(), "e@evil.test")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_sets_an_http_only_cookie_that_opens_the_app() {
    let t = TestDb::sqlite().await;
    let app = app(&t).await;
    owner(&t.db, "Acme", "alice@acme.test").await;
    let req = Request::post("/api/sign_in")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(
            "email=alice%40acme.test&password=correct+horse+battery",
        ))
        .unwrap();
    let (res, _) = answer(&app, req).await;
    assert_eq!(res.status, StatusCode::OK);
    let cookie = res.headers["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.starts_with("refloop_session=")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
    );
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("refloop_session=");
    let (status, body) = call(&app, "current_user", Some(token), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("alice@acme.test"), "{body}");
    // The dashboard renders for the session, and sends others to sign in.
    let page = |cookie: Option<String>| {
        let mut req = Request::get("/app").header("accept", "text/html");
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        answer(&app, req.body(Body::empty()).unwrap())
    };
    let (res, html) = page(Some(format!("refloop_session={token}"))).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(html.contains("Welcome, Acme Owner"), "{html}");
    let (res, _) = page(None).await;
    assert_eq!(res.status, StatusCode::FOUND);
    assert_eq!(res.headers["location"], "/signin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_post_without_javascript_returns_to_the_page_with_the_error() {
    let t = TestDb::sqlite().await;
    let app = app(&t).await;
    let req = Request::post("/api/sign_in")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "text/html")
        .header("referer", "http://127.0.0.1:3000/signin")
        .header("sec-fetch-site", "same-origin")
        .body(Body::from("email=nobody%40acme.test&password=x"))
        .unwrap();
    let (res, _) = answer(&app, req).await;
    assert_eq!(res.status, StatusCode::FOUND);
    let location = res.headers["location"].to_str().unwrap().to_string();
    assert!(
        location.starts_with("http://127.0.0.1:3000/signin?") && location.contains("__err="),
        "{location}"
    );
    let path = &location["http://127.0.0.1:3000".len()..];
    let (_, html) = answer(&app, Request::get(path).body(Body::empty()).unwrap()).await;
    assert!(
        html.contains("No Refloop account uses nobody@acme.test"),
        "{html}"
    );
}

/// Server functions taking JSON (the browser's editors): (endpoint, the roles allowed, the
/// permission a refusal names).
const JSON_MATRIX: [(&str, &[Role], &str); 18] = [
    ("participants", &[Owner, Admin, Manager, Viewer], ""),
    (
        "save_send_settings",
        &[Owner, Admin, Manager],
        "Edit campaigns",
    ),
    (
        "preview_send_existing",
        &[Owner, Admin, Manager],
        "Edit campaigns",
    ),
    (
        "send_existing_participants",
        &[Owner, Admin, Manager],
        "Edit campaigns",
    ),
    (
        "save_campaign_forms",
        &[Owner, Admin, Manager],
        "Edit campaigns",
    ),
    (
        "save_qualification",
        &[Owner, Admin, Manager],
        "Edit campaigns",
    ),
    ("save_rewards", &[Owner, Admin, Manager], "Edit campaigns"),
    ("save_emails", &[Owner, Admin, Manager], "Edit campaigns"),
    ("preview_email", &[Owner, Admin, Manager, Viewer], "member"),
    (
        "send_test_email",
        &[Owner, Admin, Manager],
        "Edit campaigns",
    ),
    ("decide_reward", &[Owner, Admin, Manager], "Manage rewards"),
    ("reconcile_now", &[Owner, Admin, Manager], "Edit campaigns"),
    (
        "save_sync_settings",
        &[Owner, Admin, Manager],
        "Edit campaigns",
    ),
    ("preview_sync", &[Owner, Admin, Manager], "Edit campaigns"),
    ("start_sync", &[Owner, Admin, Manager], "Edit campaigns"),
    (
        "start_ongoing_sync",
        &[Owner, Admin, Manager],
        "Edit campaigns",
    ),
    ("repair_webhook", &[Owner, Admin], "Manage integrations"),
    ("fix_health", &[Owner, Admin], "Manage integrations"),
];

/// A JSON call as `session` (none: nobody signed in): its status and body.
async fn call_json(
    app: &Router,
    endpoint: &str,
    session: Option<&str>,
    body: &serde_json::Value,
) -> (StatusCode, String) {
    let mut req = Request::post(format!("/api/{endpoint}"))
        .header("content-type", "application/json")
        .header("accept", "application/json");
    if let Some(s) = session {
        req = req.header("cookie", format!("refloop_session={s}"));
    }
    let (res, text) = answer(app, req.body(Body::from(body.to_string())).unwrap()).await;
    (res.status, text)
}

/// Server functions that take JSON (the browser's editors) check permissions like the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_endpoints_check_permissions_too() {
    use refloop::domain::{
        campaigns::default_form, participants::ParticipantQuery, qualification::QualificationForm,
        sending::SendSettings,
    };
    use serde_json::json;
    let t = TestDb::sqlite().await;
    let app = app(&t).await;
    let team = Team::new(&t, "Acme").await;
    let campaign = crate::campaigns::live_campaign(&t.db, &team.owner.0, "json").await;
    let settings = serde_json::to_value(SendSettings::default_for(&default_form())).unwrap();
    let sync = serde_json::to_value(refloop::domain::sync::SyncSettings::default()).unwrap();
    let form = serde_json::to_value(default_form()).unwrap();
    for (endpoint, allowed, permission) in JSON_MATRIX {
        let body = match endpoint {
            "participants" => {
                json!({"campaign_id": campaign, "query": ParticipantQuery::default()})
            }
            "save_send_settings" => {
                json!({"campaign_id": campaign, "audience": "Referring", "settings": settings})
            }
            "preview_send_existing" | "send_existing_participants" => {
                json!({"campaign_id": campaign, "audience": "Invited"})
            }
            "save_campaign_forms" => json!({
                "id": campaign, "referrer_form": form, "friend_form": form, "confirm": true
            }),
            "save_qualification" => {
                json!({"campaign_id": campaign, "form": QualificationForm::default()})
            }
            "save_rewards" => {
                json!({"campaign_id": campaign, "form": {"auto_issue": true, "rules": []}})
            }
            "save_emails" => json!({
                "campaign_id": campaign,
                "form": refloop::domain::emails::EmailSettings::defaults("Spring").to_form()
            }),
            "preview_email" | "send_test_email" => json!({
                "campaign_id": campaign,
                "sender_name": "Spring",
                "template": refloop::domain::emails::EmailKind::Welcome.default_template()
            }),
            "decide_reward" => json!({"reward_id": "rwd_nobody", "decision": "Approve"}),
            "save_sync_settings" | "preview_sync" | "start_sync" | "start_ongoing_sync" => {
                json!({"campaign_id": campaign, "settings": sync})
            }
            "fix_health" => json!({"action": "RepairWebhook"}),
            _ => json!({}),
        };
        for role in [Viewer, Manager, Admin, Owner] {
            let (status, text) = call_json(&app, endpoint, Some(team.session(role)), &body).await;
            if !allowed.contains(&role) {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{endpoint} as {role:?}: {text}"
                );
                assert!(text.contains(permission), "{endpoint}: {text}");
            } else {
                // Allowed: whatever the answer (Stripe is not connected here), not a refusal.
                for refused in [
                    StatusCode::FORBIDDEN,
                    StatusCode::UNAUTHORIZED,
                    StatusCode::BAD_REQUEST,
                ] {
                    assert_ne!(status, refused, "{endpoint} as {role:?}: {text}");
                }
            }
        }
        let (status, text) = call_json(&app, endpoint, None, &body).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{endpoint} signed out: {text}"
        );
    }
}

/// What names people needs View participants, not only a place on the team: a Manager whose
/// View participants was taken away sees none of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_about_people_needs_view_participants() {
    let t = TestDb::sqlite().await;
    let app = app(&t).await;
    let team = Team::new(&t, "Acme").await;
    let campaign = crate::campaigns::live_campaign(&t.db, &team.owner.0, "people").await;
    accounts::set_permission(
        &t.db,
        &team.owner.0,
        &team.manager.0.user_id,
        refloop::domain::permissions::Permission::ViewParticipants,
        false,
    )
    .await
    .unwrap();
    let manager = team.session(Role::Manager);
    for (endpoint, form) in [
        ("campaign_rewards", vec![("campaign_id", campaign.as_str())]),
        (
            "sync_skipped",
            vec![("campaign_id", campaign.as_str()), ("run_id", "run_x")],
        ),
        (
            "participant",
            vec![("campaign_id", campaign.as_str()), ("id", "par_x")],
        ),
        (
            "why_participant",
            vec![
                ("campaign_id", campaign.as_str()),
                ("participant_id", "par_x"),
            ],
        ),
        ("integration_health", vec![]),
    ] {
        let (status, body) = call(&app, endpoint, Some(manager), &form).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{endpoint}: {body}");
        assert!(body.contains("View participants"), "{endpoint}: {body}");
    }
    let (status, body) = call_json(
        &app,
        "participants",
        Some(manager),
        &serde_json::json!({"campaign_id": campaign, "query": refloop::domain::participants::ParticipantQuery::default()}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

/// Roles mean the same however they are given: an Admin cannot make an Admin by promotion any
/// more than by invitation, nor change or remove one; nobody raises their own role; single
/// permissions never include Manage account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_mean_the_same_by_invitation_promotion_or_removal() {
    let t = TestDb::sqlite().await;
    let app = app(&t).await;
    let team = Team::new(&t, "Acme").await;
    let mut n = 0;
    let admin = team.session(Role::Admin);
    let viewer_id = fresh_viewer(&t, &team, &mut n).await;
    for (endpoint, form) in [
        (
            "set_member_role",
            vec![("member_id", viewer_id.as_str()), ("role", "admin")],
        ),
        (
            "invite_teammate",
            vec![("email", "new-admin@acme.test"), ("role", "admin")],
        ),
        (
            "set_member_role",
            vec![
                ("member_id", team.admin.0.user_id.as_str()),
                ("role", "viewer"),
            ],
        ),
        (
            "remove_member",
            vec![("member_id", team.admin.0.user_id.as_str())],
        ),
    ] {
        let (status, body) = call(&app, endpoint, Some(admin), &form).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{endpoint} {form:?}: {body}");
        assert!(body.contains("Only an account owner"), "{body}");
    }
    // A Manager trusted with Manage team may invite and change Managers and Viewers, but not
    // raise their own role.
    accounts::set_permission(
        &t.db,
        &team.owner.0,
        &team.manager.0.user_id,
        refloop::domain::permissions::Permission::ManageTeam,
        true,
    )
    .await
    .unwrap();
    let manager = team.session(Role::Manager);
    let (status, body) = call(
        &app,
        "set_member_role",
        Some(manager),
        &[("member_id", &viewer_id), ("role", "manager")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = call(
        &app,
        "set_member_role",
        Some(manager),
        &[("member_id", &team.manager.0.user_id), ("role", "admin")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let raised = refloop::db::accounts::user_in_account(
        t.db.pool(),
        &team.owner.0.account_id,
        &team.manager.0.user_id,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(raised.role, Role::Manager);
    // The owner may not hand out Manage account as a single permission.
    let (status, body) = call(
        &app,
        "set_member_permission",
        Some(team.session(Role::Owner)),
        &[
            ("member_id", &team.admin.0.user_id),
            ("permission", "manage_account"),
            ("allowed", "true"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // And the owner does all of it.
    let (status, body) = call(
        &app,
        "set_member_role",
        Some(team.session(Role::Owner)),
        &[("member_id", &viewer_id), ("role", "admin")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// The payout run's download needs Manage rewards, a session, and a campaign of the caller's
/// own account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_payouts_download_needs_manage_rewards_and_the_account_s_own_campaign() {
    let t = TestDb::sqlite().await;
    let app = app(&t).await;
    let team = Team::new(&t, "Acme").await;
    let other = Team::new(&t, "Other").await;
    let campaign = crate::campaigns::live_campaign(&t.db, &team.owner.0, "payouts").await;
    let get = |session: Option<&str>| {
        let mut req = Request::get(format!("/export/campaigns/{campaign}/payouts.csv"));
        if let Some(s) = session {
            req = req.header("cookie", format!("refloop_session={s}"));
        }
        let app = app.clone();
        async move {
            let (res, text) = answer(&app, req.body(Body::empty()).unwrap()).await;
            (res.status, text)
        }
    };
    for role in [Role::Owner, Role::Admin, Role::Manager] {
        let (status, body) = get(Some(team.session(role))).await;
        assert_eq!(status, StatusCode::OK, "{role:?}: {body}");
        assert!(body.starts_with("reward_id,recipient_email,"), "{body}");
    }
    let (status, body) = get(Some(team.session(Role::Viewer))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("Manage rewards"), "{body}");
    assert_eq!(get(None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        get(Some(other.session(Role::Owner))).await.0,
        StatusCode::NOT_FOUND
    );
}

/// A webhook endpoint of the account (at a public address).
async fn fresh_endpoint(t: &TestDb, owner: &Ctx) -> String {
    let events = ["participant.joined".to_string()];
    refloop::rest::webhooks::create(
        &t.db,
        &refloop::secrets::Sealer::random(),
        false,
        owner,
        "https://93.184.216.34/hooks",
        &events,
    )
    .await
    .unwrap()
    .endpoint
    .id
}

/// A message to a fresh endpoint of the account.
async fn fresh_message(t: &TestDb, owner: &Ctx) -> String {
    use refloop::{
        db::webhooks,
        domain::webhooks::{DeliveryStatus, WebhookEvent},
    };
    let endpoint = fresh_endpoint(t, owner).await;
    let d = webhooks::DeliveryRow {
        id: refloop::db::new_id("msg"),
        account_id: owner.account_id.clone(),
        endpoint_id: endpoint,
        event: WebhookEvent::ParticipantJoined,
        payload: "{}".into(),
        status: DeliveryStatus::Failed,
        attempts: 10,
        response_status: Some(500),
        response_body: String::new(),
        created_at: 0,
        last_attempt_at: Some(0),
        next_attempt_at: None,
    };
    webhooks::insert_delivery(t.db.pool(), &d).await.unwrap();
    d.id
}
