//! Storage over SQLite (the embedded default) or PostgreSQL, with one SQL dialect.
//!
//! Statements go through sqlx's `Any` driver and are written once for both backends: `$1`
//! placeholders, ids as text, times as integer Unix seconds, money as integer minor units,
//! every integer column `BIGINT` on PostgreSQL. Only the DDL in `migrations/{sqlite,postgres}`
//! and the few statements that really differ are written per backend.

pub mod accounts;
pub mod activity;
pub mod api_keys;
pub mod attribution;
mod campaign_json;
pub mod campaigns;
pub mod dashboard;
pub mod emails;
pub mod fraud;
pub mod health;
pub mod invitations;
pub mod offers;
pub mod participants;
pub mod password_resets;
pub mod qualification;
pub mod rewards;
pub mod sealed;
pub mod sending;
pub mod sessions;
pub mod settings;
pub mod stripe_connections;
pub mod sync;
pub mod throttles;
pub mod webhooks;

use std::{path::Path, str::FromStr, sync::Once, time::Duration};

use sqlx::{
    any::{AnyPoolOptions, AnyRow},
    migrate::Migrator,
    Any, AnyPool, Executor, Transaction,
};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database a `DATABASE_URL` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }

    /// The database a connection talks to.
    pub fn of(conn: &sqlx::AnyConnection) -> Backend {
        if conn.backend_name() == <sqlx::Postgres as sqlx::Database>::NAME {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

impl FromStr for Backend {
    type Err = String;

    /// Accepts `sqlite:…` and `postgres://…` (or `postgresql://…`).
    fn from_str(url: &str) -> Result<Self, Self::Err> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(format!(
                "`{url}` is not a database URL Refloop can use: start it with `sqlite://` \
                 (for example sqlite://data/refloop.db) or `postgres://` \
                 (for example postgres://user:password@localhost/refloop)"
            ))
        }
    }
}

/// A connection pool to a migrated database. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    url: std::sync::Arc<str>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password.
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Db {
    /// Connects (creating the SQLite file and its folder if needed) and applies the migrations.
    pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
        let db = Db::open(url).await?;
        db.migrate().await?;
        Ok(db)
    }

    /// Connects (creating the SQLite file and its folder if needed) without touching the
    /// schema: for the operator's commands that report on it before changing it.
    pub async fn open(url: &str) -> Result<Db, sqlx::Error> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(sqlx::any::install_default_drivers);

        let backend = Backend::from_str(url).map_err(|m| sqlx::Error::Configuration(m.into()))?;
        let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        let pool = match backend {
            Backend::Sqlite => {
                let url = prepare_sqlite_url(url)?;
                options
                    .max_connections(if url.contains(":memory:") { 1 } else { 8 })
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await?
            }
            Backend::Postgres => options.max_connections(16).connect(url).await?,
        };
        Ok(Db {
            pool,
            backend,
            url: url.into(),
        })
    }

    /// Applies the migrations not applied yet (safely when several processes start at once)
    /// and names them.
    pub async fn migrate(&self) -> Result<Vec<String>, sqlx::Error> {
        let pending = self.pending_migrations().await?;
        self.migrator().run(&self.pool).await?;
        Ok(pending)
    }

    /// The migrations this build knows that the database has not applied, by name
    /// (`0018_dashboard`), oldest first.
    pub async fn pending_migrations(&self) -> Result<Vec<String>, sqlx::Error> {
        let applied = self.applied_versions().await?;
        Ok(self
            .migrator()
            .iter()
            .filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version))
            .map(|m| format!("{:04}_{}", m.version, m.description.replace(' ', "_")))
            .collect())
    }

    /// The newest migration applied (its version number), or 0 on an empty database.
    pub async fn schema_version(&self) -> Result<i64, sqlx::Error> {
        Ok(self
            .applied_versions()
            .await?
            .into_iter()
            .max()
            .unwrap_or(0))
    }

    /// The newest migration this build knows.
    pub fn latest_version(&self) -> i64 {
        self.migrator().iter().map(|m| m.version).max().unwrap_or(0)
    }

    async fn applied_versions(&self) -> Result<Vec<i64>, sqlx::Error> {
        let exists = match self.backend {
            Backend::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
            }
            Backend::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'"
            }
        };
        let (tables,): (i64,) = sqlx::query_as(exists).fetch_one(&self.pool).await?;
        if tables == 0 {
            return Ok(Vec::new());
        }
        let rows: Vec<(i64,)> =
            sqlx::query_as("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(v,)| v).collect())
    }

    fn migrator(&self) -> &'static Migrator {
        match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL it was opened with (for connections of its own, such as `LISTEN`).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`): a
    /// transaction that reads and then writes could otherwise fail with "database is locked"
    /// when another connection wrote in between, instead of waiting its turn.
    pub async fn begin(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// Proves the database answers a query.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        let _: AnyRow = sqlx::query("SELECT 1").fetch_one(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The file a `sqlite://PATH` URL names (`None` for another backend or an in-memory database).
pub fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite:")?.trim_start_matches("//");
    let path = rest.split_once('?').map_or(rest, |(path, _)| path);
    (!path.is_empty() && path != ":memory:").then(|| path.into())
}

/// Makes sure the folder of a SQLite file exists and that sqlx may create the file.
fn prepare_sqlite_url(url: &str) -> Result<String, sqlx::Error> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() {
        return Err(sqlx::Error::Configuration(
            "DATABASE_URL names no SQLite file: use e.g. sqlite://data/refloop.db".into(),
        ));
    }
    if path != ":memory:" {
        if let Some(dir) = Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir)?;
        }
    }
    Ok(if query.contains("mode=") {
        url.to_string()
    } else if query.is_empty() {
        format!("{url}?mode=rwc")
    } else {
        format!("{url}&mode=rwc")
    })
}

/// A new id: a prefix naming the kind, then hex digits that sort by creation time
/// (milliseconds) and end in 40 random bits, e.g. `usr_0193a5c2b1f0c8e1d2a3b4`.
/// Within one process ids are strictly increasing: an id made in the same millisecond as the
/// last one takes the last one's random part plus one, so "newest first" never depends on luck.
pub fn new_id(prefix: &str) -> String {
    use rand::Rng;
    use std::sync::Mutex;
    const RANDOM_BITS: u64 = 0xff_ffff_ffff;
    static LAST: Mutex<(u64, u64)> = Mutex::new((0, 0));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    let (millis, random) = {
        let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
        *last = if now > last.0 {
            (now, rand::thread_rng().gen::<u64>() & RANDOM_BITS)
        } else if last.1 < RANDOM_BITS {
            (last.0, last.1 + 1)
        } else {
            (last.0 + 1, 0)
        };
        *last
    };
    format!("{prefix}_{millis:011x}{random:010x}")
}

/// How many rows of `cols` values one multi-row statement carries: a page of a hundred
/// participants in one, well below SQLite's limit of 32,766 parameters a statement.
pub(crate) fn rows_per_statement(cols: usize) -> usize {
    (2400 / cols).max(1)
}

/// The placeholders of a multi-row `VALUES` list on `conn`'s backend: `rows` tuples of `cols`
/// (`($1, $2), ($3, $4)`), the statement's only parameters. SQLite gets plain `?`, which it
/// numbers in the same order: it finds a `$n` by walking the list of them, so binding
/// thousands of those costs the square of their number.
pub(crate) fn value_rows(conn: &sqlx::AnyConnection, rows: usize, cols: usize) -> String {
    let sqlite = conn.backend_name() == Backend::Sqlite.name();
    (0..rows)
        .map(|r| {
            let row: Vec<String> = (1..=cols)
                .map(|c| {
                    if sqlite {
                        "?".to_string()
                    } else {
                        format!("${}", r * cols + c)
                    }
                })
                .collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The placeholders of an `IN (…)` list of `n` values numbered from `$first`.
pub(crate) fn in_list(first: usize, n: usize) -> String {
    let items: Vec<String> = (first..first + n).map(|i| format!("${i}")).collect();
    format!("({})", items.join(", "))
}

/// Seconds since the Unix epoch: how every time is stored.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_made_one_after_another_sort_in_that_order() {
        let ids: Vec<String> = (0..10_000).map(|_| new_id("act")).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids out of order");
        assert!(ids.iter().all(|id| id.len() == "act_".len() + 21));
    }

    #[test]
    fn in_lists_number_their_values_from_the_first() {
        assert_eq!(in_list(3, 2), "($3, $4)");
        assert_eq!(in_list(1, 1), "($1)");
    }

    #[test]
    fn backend_is_read_from_the_url() {
        assert_eq!("sqlite://data/refloop.db".parse(), Ok(Backend::Sqlite));
        assert_eq!("sqlite::memory:".parse(), Ok(Backend::Sqlite));
        assert_eq!("postgres://u@h/db".parse(), Ok(Backend::Postgres));
        assert_eq!("postgresql://u@h/db".parse(), Ok(Backend::Postgres));
        let err = "mysql://u@h/db".parse::<Backend>().unwrap_err();
        assert!(err.contains("sqlite://"), "{err}");
    }

    #[test]
    fn sqlite_urls_may_create_their_file() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/nested/refloop.db", dir.path().display());
        assert_eq!(prepare_sqlite_url(&url).unwrap(), format!("{url}?mode=rwc"));
        assert!(dir.path().join("nested").is_dir());
        assert_eq!(
            prepare_sqlite_url("sqlite::memory:?cache=shared").unwrap(),
            "sqlite::memory:?cache=shared&mode=rwc"
        );
        assert!(prepare_sqlite_url("sqlite://").is_err());
    }
}
