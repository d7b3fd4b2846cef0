//! What the benchmarks share. Each uses some of it.
#![allow(dead_code)]

use std::time::Duration;

use refloop::{
    accounts::{self, SignUp},
    auth::{caller_from, session, Ctx},
    db::Db,
    stripe_sandbox::{Access, Sandbox},
};
use sqlx::{Connection, Executor};

/// Signs up a new account and returns its owner, as a server function would see them.
pub async fn owner(db: &Db) -> Ctx {
    let token = accounts::sign_up(
        db,
        SignUp {
            company: "Bench".into(),
            name: "Bench Owner".into(),
            email: "owner@bench.test".into(),
            password: "correct horse battery".into(),
        },
        "127.0.0.1",
    )
    .await
    .unwrap();
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(
        axum::http::header::COOKIE,
        format!("{}={token}", session::COOKIE).parse().unwrap(),
    );
    caller_from(db, &headers, "127.0.0.1".into())
        .await
        .unwrap()
        .unwrap()
}

/// A live campaign "Bench" at `/j/bench`, of `ctx`'s account; its id.
pub async fn live_campaign(db: &Db, ctx: &Ctx) -> String {
    let id = refloop::campaigns::create(db, ctx, "Bench", "bench")
        .await
        .unwrap();
    refloop::campaigns::set_status(
        db,
        ctx,
        &id,
        refloop::domain::campaigns::CampaignStatus::Live,
    )
    .await
    .unwrap();
    id
}

/// A throwaway PostgreSQL database on the server at `TEST_DATABASE_URL`: created empty (after
/// dropping one left by an earlier run), dropped by `drop`.
pub struct Postgres {
    admin: sqlx::PgConnection,
    name: String,
    pub url: String,
}

impl Postgres {
    pub async fn create(name: &str) -> Postgres {
        let admin_url = std::env::var("TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".into());
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("PostgreSQL at TEST_DATABASE_URL");
        admin
            .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
            .await
            .unwrap();
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        let url = match admin_url.rfind('/') {
            Some(i) => format!("{}/{name}", &admin_url[..i]),
            None => admin_url.clone(),
        };
        Postgres {
            admin,
            name: name.to_string(),
            url,
        }
    }

    pub async fn drop(mut self) {
        self.admin
            .execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
            .await
            .unwrap();
    }
}

/// The release binary the benchmarks run as other processes (`cargo leptos build --release`).
pub fn release_binary() -> std::path::PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    std::path::Path::new(&target)
        .join("release")
        .join("refloop")
}

/// A free port on the loopback address.
pub async fn free_port() -> u16 {
    tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until `url` answers at all.
pub async fn answering(url: &str) {
    let http = reqwest::Client::new();
    while http.get(url).send().await.is_err() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The sandbox standing in for Stripe: its address, and its database (the benchmarks read its
/// delivery log). Its process, when it has one of its own, ends with it.
pub struct StripeSide {
    pub url: String,
    pub db: Db,
    _process: Option<tokio::process::Child>,
}

impl StripeSide {
    /// A sandbox keeping its data in `file`, in its own process unless `BENCH_SANDBOX=inline`.
    pub async fn start(file: &std::path::Path) -> StripeSide {
        let url = format!("sqlite://{}", file.display());
        let db = Db::connect(&url).await.unwrap();
        let port = free_port().await;
        let address = format!("http://127.0.0.1:{port}");
        if std::env::var("BENCH_SANDBOX").as_deref() == Ok("inline") {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .unwrap();
            let sandbox = Sandbox::start(db.clone(), Access::Controls);
            tokio::spawn(async move { axum::serve(listener, sandbox.router()).await.unwrap() });
            return StripeSide {
                url: address,
                db,
                _process: None,
            };
        }
        let binary = release_binary();
        let process = tokio::process::Command::new(&binary)
            .args(["stripe-sandbox", "--port", &port.to_string()])
            .env("DATABASE_URL", &url)
            .env("RUST_LOG", "warn")
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{} (build it with `cargo leptos build --release`, or set BENCH_SANDBOX=inline): {e}",
                    binary.display()
                )
            });
        answering(&format!("{address}/_sandbox/settings")).await;
        StripeSide {
            url: address,
            db,
            _process: Some(process),
        }
    }
}
