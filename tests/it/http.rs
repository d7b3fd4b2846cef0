//! The router answered in-process (tower's `oneshot`), against a real SQLite database.

use axum::{
    body::Body,
    http::{Request, StatusCode},
    response::Response,
    Router,
};
use refloop::{config::Config, state::AppState};

use crate::support::{answer, router, TestDb};

async fn app() -> (Router, TestDb) {
    let t = TestDb::sqlite().await;
    let state = AppState::new(Config::defaults(), t.db.clone()).unwrap();
    (router(state).await, t)
}

async fn send(app: &Router, request: Request<Body>) -> (Response, String) {
    let (parts, text) = answer(app, request).await;
    (Response::from_parts(parts, Body::empty()), text)
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn health_reports_the_database() {
    let (app, _t) = app().await;
    let (res, body) = send(&app, get("/healthz")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["status"], "ok");
    assert_eq!(json["database"], "SQLite");
}

#[tokio::test]
async fn the_snippet_is_served_to_any_site_as_script() {
    let (app, _t) = app().await;
    let (res, body) = send(&app, get("/refloop.js")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["content-type"],
        "application/javascript; charset=utf-8"
    );
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    assert_eq!(res.headers()["cache-control"], "public, max-age=3600");
    // It keeps the code in the site's own storage and sets no cookie.
    assert!(body.contains("client_reference_id") && body.contains("localStorage"));
    assert!(!body.contains("document.cookie"));
    assert!(res.headers().get("set-cookie").is_none());
}

#[tokio::test]
async fn health_fails_when_the_database_is_gone() {
    let (app, t) = app().await;
    t.db.close().await;
    let (res, body) = send(&app, get("/healthz")).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("unavailable"), "{body}");
}

#[tokio::test]
async fn the_welcome_page_is_rendered_on_the_server_with_security_headers() {
    let (app, _t) = app().await;
    let (res, body) = send(&app, get("/")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(body.contains("Referral programs that run on your Stripe data"));
    // The instance facts are rendered in the first response, not left to the browser.
    assert!(body.contains("storing its data in"), "{body}");
    assert!(body.contains("<strong>SQLite</strong>"), "{body}");
    let headers = res.headers();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(headers.contains_key("referrer-policy"));
    assert!(headers.contains_key("x-request-id"));
    // The page's script policy allows only this origin and this response's nonce.
    let csp_start = body
        .find("Content-Security-Policy")
        .expect("a CSP meta tag");
    let csp = &body[csp_start..body[csp_start..].find('>').unwrap() + csp_start];
    assert!(csp.contains("script-src 'self' 'nonce-"), "{csp}");
}

#[tokio::test]
async fn unknown_pages_are_404_with_a_way_back() {
    let (app, _t) = app().await;
    let (res, body) = send(&app, get("/no/such/page")).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(body.contains("Page not found"));
    assert!(body.contains("href=\"/\""));
}

#[tokio::test]
async fn server_functions_answer_with_shared_types() {
    let (app, _t) = app().await;
    let req = Request::post("/api/instance_info")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::empty())
        .unwrap();
    let (res, body) = send(&app, req).await;
    assert_eq!(res.status(), StatusCode::OK, "{body}");
    let info: refloop::api::instance::InstanceInfo = serde_json::from_str(&body).unwrap();
    assert_eq!(info.database, "SQLite");
    assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn responses_are_compressed_for_browsers_that_ask() {
    let (app, _t) = app().await;
    let req = Request::get("/")
        .header("accept-encoding", "gzip")
        .body(Body::empty())
        .unwrap();
    let (res, _) = send(&app, req).await;
    assert_eq!(res.headers()["content-encoding"], "gzip");
}

#[tokio::test]
async fn metrics_are_prometheus_text_for_the_token_or_the_private_address() {
    let t = TestDb::sqlite().await;
    let config = Config {
        metrics_token: Some(refloop::config::Redacted("s3cret-scrape".into())),
        ..Config::defaults()
    };
    let state = AppState::new(config, t.db.clone()).unwrap();
    let app = router(state.clone()).await;
    refloop::jobs::Queue::new(t.db.clone())
        .push(&refloop::jobs::probe::new("metrics", 0))
        .await
        .unwrap();
    let with = |token: &str| {
        Request::get("/metrics")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    let (res, body) = send(&app, with("s3cret-scrape")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert!(
        body.contains("refloop_jobs{kind=\"queue.probe\",status=\"queued\"} 1"),
        "{body}"
    );
    for refused in [
        send(&app, with("guess")).await,
        send(&app, get("/metrics")).await,
    ] {
        assert_eq!(
            refused.0.status(),
            StatusCode::UNAUTHORIZED,
            "{}",
            refused.1
        );
        assert!(!refused.1.contains("refloop_jobs"));
    }
    // The separate address serves it without a token; it is on a private network.
    let (res, body) = send(
        &refloop::server::router::metrics_router(state),
        get("/metrics"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(body.contains("refloop_jobs"), "{body}");
}

#[tokio::test]
async fn without_a_metrics_token_the_public_address_has_no_metrics() {
    let (app, _t) = app().await;
    let (res, body) = send(&app, get("/metrics")).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(!body.contains("refloop_jobs"));
}

#[tokio::test]
async fn public_referral_pages_load_no_wasm_and_app_pages_do() {
    let site = site(&BUNDLE, true);
    let (app, _t) = app_serving(&site).await;
    for path in ["/j/spring", "/r/ANN123", "/p/some-token"] {
        let (res, body) = send(&app, get(path)).await;
        assert!(
            res.status().is_success() || res.status() == StatusCode::NOT_FOUND,
            "{path}: {}",
            res.status()
        );
        assert!(
            body.contains("/pkg/refloop.c55.css"),
            "{path} has its stylesheet: {body}"
        );
        assert!(!body.contains(".wasm"), "{path} loads no WASM: {body}");
        assert!(
            !body.contains("/pkg/refloop.j55.js"),
            "{path} loads no script: {body}"
        );
    }
    for path in ["/", "/signin"] {
        let (_, body) = send(&app, get(path)).await;
        assert!(
            body.contains("/pkg/refloop.w55.wasm")
                && body.contains("import('/pkg/refloop.j55.js')"),
            "{path} hydrates: {body}"
        );
    }
}

/// A built front end: stylesheet, script and bundle, with the build's brotli copy of the
/// stylesheet, and a public file.
const BUNDLE: [(&str, &[u8]); 5] = [
    ("pkg/refloop.css", b"body { color: black }"),
    ("pkg/refloop.css.br", b"precompressed by the build"),
    ("pkg/refloop.js", b"export default function () {}"),
    ("pkg/refloop_bg.wasm", b"\0asm"),
    ("favicon.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
];

/// A site root holding `files`, their names content-hashed as a release build's are or not.
fn site(files: &[(&str, &[u8])], hashed: bool) -> tempfile::TempDir {
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir(site.path().join("pkg")).unwrap();
    for (name, content) in files {
        let name = if hashed {
            name.replace("refloop.css", "refloop.c55.css")
                .replace("refloop.js", "refloop.j55.js")
                .replace("refloop_bg.wasm", "refloop.w55.wasm")
        } else {
            name.to_string()
        };
        std::fs::write(site.path().join(name), content).unwrap();
    }
    site
}

/// The router serving the front end in `site` (`--site-root`).
async fn app_serving(site: &tempfile::TempDir) -> (Router, TestDb) {
    let t = TestDb::sqlite().await;
    let config = Config {
        site_root: Some(site.path().to_path_buf()),
        ..Config::defaults()
    };
    let state = AppState::new(config, t.db.clone()).unwrap();
    (router(state).await, t)
}

#[tokio::test]
async fn the_front_end_is_served_from_the_builds_compressed_copies() {
    let site = site(&BUNDLE, false);
    let (app, _t) = app_serving(&site).await;
    let request = Request::get("/pkg/refloop.css")
        .header("accept-encoding", "gzip, br")
        .body(Body::empty())
        .unwrap();
    let (res, body) = send(&app, request).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-encoding"], "br");
    assert_eq!(
        body, "precompressed by the build",
        "served as built, not compressed again"
    );
    assert_eq!(res.headers()["content-type"], "text/css; charset=utf-8");
    // Unhashed names (a development build) are checked again on every use.
    assert_eq!(res.headers()["cache-control"], "no-cache");
    let (res, body) = send(&app, get("/pkg/refloop.css")).await;
    assert_eq!(
        body, "body { color: black }",
        "a browser without brotli gets the file"
    );
    assert!(res.headers().get("content-encoding").is_none());
    // Asked again with its ETag: not modified, no body.
    let etag = res.headers()["etag"].clone();
    let request = Request::get("/pkg/refloop.css")
        .header("if-none-match", etag)
        .body(Body::empty())
        .unwrap();
    let (res, body) = send(&app, request).await;
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    let (res, body) = send(&app, get("/favicon.svg")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/svg+xml");
    assert!(body.starts_with("<svg"));
    for missing in [
        "/pkg/missing.js",
        "/pkg/../favicon.svg",
        "/pkg//refloop.css",
    ] {
        let (res, _) = send(&app, get(missing)).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{missing}");
        assert_eq!(
            res.headers()["cache-control"],
            "no-store",
            "a miss is not cached"
        );
    }
}

#[tokio::test]
async fn hashed_front_end_files_are_cached_for_a_year_and_pages_not_at_all() {
    let site = site(&BUNDLE, true);
    let (app, _t) = app_serving(&site).await;
    let (res, _) = send(&app, get("/pkg/refloop.c55.css")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let (res, _) = send(&app, get("/signin")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn the_unsubscribe_link_shows_one_button_and_a_post_unsubscribes() {
    use refloop::{db::participants, notifications};

    use crate::{
        accounts::owner,
        campaigns::{join_ok, live_campaign, request},
    };

    let t = TestDb::sqlite().await;
    let state = AppState::new(Config::defaults(), t.db.clone()).unwrap();
    let sealer = state.stripe.sealer.clone();
    let app = router(state).await;
    let (alice, _) = owner(&t.db, "Acme", "alice@acme.test").await;
    let campaign = live_campaign(&t.db, &alice, "unsub").await;
    join_ok(&t.db, request("unsub", "ann@x.test", "Ann", None)).await;
    let ann = participants::by_email(t.db.pool(), &campaign, "ann@x.test")
        .await
        .unwrap()
        .unwrap();
    let link = notifications::compose::unsubscribe_link("", &sealer, &ann.id);
    let forged = format!("/unsubscribe/{}/{}", ann.id, "0".repeat(32));
    let unsubscribed = || async {
        refloop::db::emails::unsubscribed_at(t.db.pool(), &ann.account_id, &ann.id)
            .await
            .unwrap()
    };

    // A visit (a person, or a link scanner) shows one button and changes nothing.
    let (res, body) = send(&app, get(&link)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        body.contains(&format!(r#"<form method="post" action="{link}">"#)),
        "{body}"
    );
    assert!(body.contains("ann@x.test") && body.contains("Spring referrals"));
    assert!(res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    assert_eq!(unsubscribed().await, None);

    for path in [
        &forged,
        &format!("/unsubscribe/par_nobody/{}", "0".repeat(32)),
    ] {
        let (res, body) = send(&app, get(path)).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert!(body.contains("This link is not valid"), "{body}");
        let post = Request::post(path.as_str()).body(Body::empty()).unwrap();
        assert_eq!(send(&app, post).await.0.status(), StatusCode::NOT_FOUND);
    }
    assert_eq!(unsubscribed().await, None);

    // The mail client's one click (RFC 8058): a POST with no cookie and no browser headers.
    let one_click = Request::post(link.as_str())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("List-Unsubscribe=One-Click"))
        .unwrap();
    let (res, body) = send(&app, one_click).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(body.contains("You are unsubscribed"), "{body}");
    assert!(unsubscribed().await.is_some());
    let (_, body) = send(&app, get(&link)).await;
    assert!(body.contains("You are unsubscribed"), "{body}");
}
