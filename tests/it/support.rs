//! Real databases for tests: a SQLite file in a temporary folder, and a throwaway PostgreSQL
//! database created through `TEST_DATABASE_URL` and dropped when the test ends (even when it
//! fails). An unreachable PostgreSQL fails the test: it never skips.

use std::sync::atomic::{AtomicU32, Ordering};

use refloop::db::Db;
use sqlx::{Connection, Executor, PgConnection};

pub const DEFAULT_POSTGRES: &str = "postgres://postgres:postgres@127.0.0.1:5432/postgres";

pub struct TestDb {
    pub db: Db,
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let t = TestDb::sqlite_unmigrated().await;
        t.db.migrate().await.expect("SQLite migrates");
        t
    }

    pub async fn postgres() -> TestDb {
        let t = TestDb::postgres_unmigrated().await;
        t.db.migrate().await.expect("PostgreSQL migrates");
        t
    }

    /// An empty SQLite database, no migration applied.
    pub async fn sqlite_unmigrated() -> TestDb {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let url = format!("sqlite://{}/refloop.db", dir.path().display());
        let db = Db::open(&url).await.expect("SQLite opens");
        TestDb {
            db,
            url,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    /// An empty PostgreSQL database, no migration applied.
    pub async fn postgres_unmigrated() -> TestDb {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let admin_url =
            std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_POSTGRES.to_string());
        let name = format!(
            "refloop_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            rand_suffix()
        );
        let mut admin = PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is not reachable at TEST_DATABASE_URL={admin_url}: {e}. \
                 Start it (scripts/setup does) or point TEST_DATABASE_URL at a server."
            )
        });
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create the test database");
        admin.close().await.ok();
        let url = replace_database(&admin_url, &name);
        let db = Db::open(&url).await.expect("PostgreSQL opens");
        TestDb {
            db,
            url,
            cleanup: Cleanup::Postgres { admin_url, name },
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop may run inside a runtime (or during a panic): use a thread with its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime");
                rt.block_on(async {
                    if let Ok(mut admin) = PgConnection::connect(&admin_url).await {
                        let _ = admin
                            .execute(
                                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str(),
                            )
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match base.rfind('/') {
        Some(i) if i > "postgres://".len() => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

fn rand_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{nanos:x}")
}

/// Declares each listed `async fn(&TestDb)` as two tests, `sqlite::name` and `postgres::name`,
/// so that every repository behaviour is checked on both backends.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let t = $crate::support::TestDb::sqlite().await;
                    super::$name(&t).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let t = $crate::support::TestDb::postgres().await;
                    super::$name(&t).await;
                }
            )*
        }
    };
}

/// Building a router renders the app once to list its pages (`generate_route_list`). While that
/// ran in one test, a page rendering in another test now and then never finished (the suite then
/// hung until CI gave up): something Leptos keeps for the whole process is shared between the two.
/// A server builds its router once, before it serves (one process answered 15,000 page requests,
/// 24 at a time, without a miss), so only tests meet it: they build routers one at a time, and
/// never while one of theirs renders a page.
static ROUTE_LISTING: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Refloop's router for `state`, built while no test renders a page.
pub async fn router(state: refloop::state::AppState) -> axum::Router {
    let _listing = ROUTE_LISTING.write().await;
    refloop::server::router::router(state)
}

/// `app`'s answer to `request`, in-process: the head, and the body read to the end as text.
pub async fn answer(
    app: &axum::Router,
    request: axum::http::Request<axum::body::Body>,
) -> (axum::http::response::Parts, String) {
    use tower::ServiceExt;
    let _rendering = ROUTE_LISTING.read().await;
    let (parts, body) = app.clone().oneshot(request).await.unwrap().into_parts();
    let bytes = axum::body::to_bytes(body, 16 << 20).await.unwrap();
    (parts, String::from_utf8_lossy(&bytes).into_owned())
}

/// A request's whole answer, its body included, made while no test builds a router (see
/// `ROUTE_LISTING`). The built-in sandbox and the webhook route render no page, and are left
/// out: a page's server function may call the sandbox on this same server while it renders.
async fn rendered_apart(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let path = request.uri().path();
    if path.starts_with("/sandbox/") || path.starts_with("/webhooks/") {
        return next.run(request).await;
    }
    let _rendering = ROUTE_LISTING.read().await;
    let (parts, body) = next.run(request).await.into_parts();
    let body = match axum::body::to_bytes(body, 16 << 20).await {
        Ok(bytes) => axum::body::Body::from(bytes),
        Err(e) => axum::body::Body::from(format!("the body could not be read: {e}")),
    };
    axum::response::Response::from_parts(parts, body)
}

/// The whole Refloop served on a free loopback port, as `refloop serve` would (no workers):
/// real HTTP between it and its built-in sandbox.
pub struct Served {
    pub base: String,
    pub state: refloop::state::AppState,
    pub http: reqwest::Client,
}

impl Served {
    pub async fn start(t: &TestDb, config: refloop::config::Config) -> Served {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let config = refloop::config::Config {
            addr,
            workers: 0,
            ..config
        };
        let state = refloop::state::AppState::new(config, t.db.clone()).unwrap();
        let app = router(state.clone())
            .await
            .layer(axum::middleware::from_fn(rendered_apart));
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
            .unwrap()
        });
        Served {
            base: format!("http://{addr}"),
            state,
            // Redirects are looked at, not followed.
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    /// A request to this Refloop as a browser on one of its own pages, signed in with
    /// `session` when given.
    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        session: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("sec-fetch-site", "same-origin");
        match session {
            Some(s) => req.header("cookie", format!("refloop_session={s}")),
            None => req,
        }
    }
}
