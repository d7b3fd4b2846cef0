//! Behind a real reverse proxy (Debian's `caddy`, started here): the client's address comes
//! from the proxy's `X-Forwarded-For` only when the proxy is trusted (`--trusted-proxies`), so
//! per-address limits hold per visitor, not for the whole instance, and nobody else can claim
//! another address by writing the header.

use std::{
    net::{IpAddr, TcpListener},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use refloop::{config::Config, domain::team::SignUpPolicy};

use crate::{
    accounts::owner,
    campaigns::live_campaign,
    support::{Served, TestDb},
};

/// A caddy reverse proxy on a free loopback port in front of `upstream`, stopped when dropped.
struct Caddy {
    port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Caddy {
    async fn start(upstream: &str) -> Caddy {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = format!(
            "{{\n\tadmin off\n\tauto_https off\n}}\n\
             :{port} {{\n\tbind 127.0.0.1\n\treverse_proxy {}\n}}\n",
            upstream.trim_start_matches("http://")
        );
        let caddyfile = dir.path().join("Caddyfile");
        std::fs::write(&caddyfile, config).unwrap();
        let binary = std::env::var("CADDY").unwrap_or_else(|_| "caddy".into());
        let child = Command::new(&binary)
            .args(["run", "--adapter", "caddyfile", "--config"])
            .arg(&caddyfile)
            .env("HOME", dir.path())
            .env("XDG_CONFIG_HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("caddy could not be started ({binary}: {e}); scripts/setup installs it")
            });
        let mut caddy = Caddy {
            port,
            child,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = caddy.child.try_wait().unwrap() {
                let mut said = String::new();
                if let Some(mut err) = caddy.child.stderr.take() {
                    std::io::Read::read_to_string(&mut err, &mut said).unwrap();
                }
                panic!("caddy exited with {status}: {said}");
            }
            assert!(Instant::now() < deadline, "caddy did not start listening");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        caddy
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Caddy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser on this machine whose connections come from `from` (a loopback address of its own).
fn visitor(from: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(from.parse::<IpAddr>().unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Joins the campaign `spring` at `base` as `email`: joined (true), or refused for too many
/// joins from the address (false).
async fn join(client: &reqwest::Client, base: &str, email: &str, forged: Option<&str>) -> bool {
    let mut req = client
        .post(format!("{base}/api/join_campaign"))
        .header("accept", "application/json")
        .header("sec-fetch-site", "same-origin")
        .form(&[
            ("slug", "spring"),
            ("code", ""),
            ("website", ""),
            ("values[first_name]", "Someone"),
            ("values[email]", email),
        ]);
    if let Some(ip) = forged {
        req = req.header("x-forwarded-for", ip);
    }
    let res = req.send().await.unwrap();
    match res.status().as_u16() {
        429 => false,
        s if s < 400 => true,
        s => panic!("{email}: {s} {}", res.text().await.unwrap()),
    }
}

/// The address the activity log recorded for the sign-up of `email`'s account.
async fn signed_up_from(t: &TestDb, client: &reqwest::Client, base: &str, email: &str) -> String {
    let res = client
        .post(format!("{base}/api/sign_up"))
        .header("accept", "application/json")
        .header("sec-fetch-site", "same-origin")
        .header("x-forwarded-for", "9.9.9.9")
        .form(&[
            ("company", "Via proxy"),
            ("name", "Vera"),
            ("email", email),
            ("password", "correct horse battery"),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_redirection() || res.status().is_success(),
        "{}",
        res.status()
    );
    sqlx::query_scalar(
        "SELECT a.ip FROM activity a JOIN users u ON u.account_id = a.account_id \
         WHERE u.email = $1 AND a.kind = 'account.created'",
    )
    .bind(email)
    .fetch_one(t.db.pool())
    .await
    .unwrap()
}

/// Refloop (trusting `trusted`, two joins an hour per address, sign-up open) with a live
/// campaign `spring`, behind caddy.
async fn behind_caddy(t: &TestDb, trusted: &str) -> (Served, Caddy) {
    let app = Served::start(
        t,
        Config {
            trusted_proxies: trusted.parse().unwrap(),
            join_limit: 2,
            signup: SignUpPolicy::Open,
            ..Config::defaults()
        },
    )
    .await;
    let caddy = Caddy::start(&app.base).await;
    let (alice, _) = owner(&t.db, "Acme", "alice@acme.test").await;
    live_campaign(&t.db, &alice, "spring").await;
    (app, caddy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_each_visitor_has_their_own_address() {
    let t = TestDb::sqlite().await;
    let (app, caddy) = behind_caddy(&t, "127.0.0.1").await;

    // Two visitors through the proxy: each has their own join limit.
    let (ann, bob) = (visitor("127.0.0.5"), visitor("127.0.0.6"));
    for i in 0..2 {
        assert!(join(&ann, &caddy.url(), &format!("ann{i}@x.test"), None).await);
    }
    assert!(!join(&ann, &caddy.url(), "ann2@x.test", None).await);
    assert!(join(&bob, &caddy.url(), "bob@x.test", None).await);
    // A header the visitor writes themselves changes nothing: the proxy says who it saw.
    assert!(!join(&ann, &caddy.url(), "ann3@x.test", Some("8.8.8.8")).await);

    // The activity log names the visitor, whatever they wrote in the header.
    assert_eq!(
        signed_up_from(&t, &bob, &caddy.url(), "vera@x.test").await,
        "127.0.0.6"
    );
    // Someone reaching Refloop directly cannot claim another address.
    let direct = visitor("127.0.0.7");
    assert_eq!(
        signed_up_from(&t, &direct, &app.base, "dan@x.test").await,
        "127.0.0.7"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_trusted_proxies_every_visitor_is_the_proxy() {
    let t = TestDb::sqlite().await;
    let (_app, caddy) = behind_caddy(&t, "").await;
    let (ann, bob) = (visitor("127.0.0.5"), visitor("127.0.0.6"));
    for i in 0..2 {
        assert!(join(&ann, &caddy.url(), &format!("ann{i}@x.test"), None).await);
    }
    // The proxy's one address used the instance's limit up: the reason for --trusted-proxies.
    assert!(!join(&bob, &caddy.url(), "bob@x.test", None).await);
    assert_eq!(
        signed_up_from(&t, &bob, &caddy.url(), "vera@x.test").await,
        "127.0.0.1"
    );
}
