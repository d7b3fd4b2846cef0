//! `refloop admin check`: configuration, database, migrations, secret key, Stripe and the mail
//! server, one line each, for the operator and for monitoring (the exit status fails when a
//! line does).

use std::time::{Duration, Instant};

use crate::{
    config::{self, Config, SandboxMode},
    db::{self, Db},
    secrets::Sealer,
    stripe::StripeClient,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// Works, but not as production should be.
    Warn,
    Fail,
}

/// One line of the report.
#[derive(Debug, Clone)]
pub struct Line {
    pub status: Status,
    pub what: &'static str,
    pub detail: String,
}

impl Line {
    fn new(status: Status, what: &'static str, detail: impl Into<String>) -> Line {
        Line {
            status,
            what,
            detail: detail.into(),
        }
    }
}

impl std::fmt::Display for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = match self.status {
            Status::Ok => "ok  ",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        };
        write!(f, "{status}  {:<13} {}", self.what, self.detail)
    }
}

/// Every check, in order; later ones are skipped (failed) when the database cannot be opened.
pub async fn check(config: &Config) -> Vec<Line> {
    let mut lines = vec![configuration(config)];
    let started = Instant::now();
    let db = match Db::open(&config.database_url).await {
        Ok(db) => db,
        Err(e) => {
            lines.push(Line::new(
                Status::Fail,
                "database",
                format!(
                    "{} cannot be opened: {e}",
                    config::redact_url(&config.database_url)
                ),
            ));
            lines.push(Line::new(
                Status::Fail,
                "migrations",
                "not checked: no database",
            ));
            lines.push(Line::new(
                Status::Fail,
                "secret key",
                "not checked: no database",
            ));
            lines.extend(reachability(config).await);
            return lines;
        }
    };
    lines.push(match db.ping().await {
        Ok(()) => Line::new(
            Status::Ok,
            "database",
            format!(
                "{} answers ({} ms)",
                config::redact_url(&config.database_url),
                started.elapsed().as_millis()
            ),
        ),
        Err(e) => Line::new(Status::Fail, "database", format!("does not answer: {e}")),
    });
    let migrations = migrations(&db).await;
    let migrated = migrations.status == Status::Ok;
    lines.push(migrations);
    lines.push(if migrated {
        secret_key(config, &db).await
    } else {
        Line::new(
            Status::Fail,
            "secret key",
            "not checked: the schema is not current",
        )
    });
    db.close().await;
    lines.extend(reachability(config).await);
    lines
}

fn configuration(config: &Config) -> Line {
    let public_url = config.public_url();
    let mut warnings = Vec::new();
    if config.sandbox_controls {
        warnings.push("REFLOOP_SANDBOX_CONTROLS is on: the sandbox is open to anyone");
    }
    if !public_url.starts_with("https://") {
        warnings.push("REFLOOP_PUBLIC_URL is not https://: session cookies are not Secure");
    }
    let summary = format!(
        "public URL {public_url}, {} database, sandbox {}, {} workers",
        config
            .database_url
            .parse::<db::Backend>()
            .map_or("unknown", |b| b.name()),
        match config.sandbox {
            SandboxMode::On => "on",
            SandboxMode::Off => "off",
        },
        config.workers
    );
    if warnings.is_empty() {
        Line::new(Status::Ok, "configuration", summary)
    } else {
        Line::new(
            Status::Warn,
            "configuration",
            format!("{summary}; {}", warnings.join("; ")),
        )
    }
}

async fn migrations(db: &Db) -> Line {
    let (pending, version) = match (db.pending_migrations().await, db.schema_version().await) {
        (Ok(pending), Ok(version)) => (pending, version),
        (Err(e), _) | (_, Err(e)) => {
            return Line::new(Status::Fail, "migrations", format!("cannot be read: {e}"))
        }
    };
    let latest = db.latest_version();
    if version > latest {
        Line::new(
            Status::Fail,
            "migrations",
            format!("the schema ({version}) is newer than this Refloop knows ({latest}): run the newer version"),
        )
    } else if pending.is_empty() {
        Line::new(
            Status::Ok,
            "migrations",
            format!("the schema is current (version {version})"),
        )
    } else {
        Line::new(
            Status::Fail,
            "migrations",
            format!(
                "{} pending ({}): run `refloop admin migrate`, or start Refloop",
                pending.len(),
                pending.join(", ")
            ),
        )
    }
}

async fn secret_key(config: &Config, db: &Db) -> Line {
    let stored = match db::settings::get(db, "secret_key_fingerprint").await {
        Ok(stored) => stored,
        Err(e) => return Line::new(Status::Fail, "secret key", format!("cannot be read: {e}")),
    };
    let sealer = Sealer::load_existing(
        config.secret_key.as_ref().map(|k| k.0.as_str()),
        &config.secret_key_file,
    );
    match (sealer, stored) {
        (Err(e), _) => Line::new(Status::Fail, "secret key", e),
        (Ok(None), None) => Line::new(
            Status::Ok,
            "secret key",
            format!(
                "none yet: the first start generates {}",
                config.secret_key_file.display()
            ),
        ),
        (Ok(None), Some(stored)) => Line::new(
            Status::Fail,
            "secret key",
            format!(
                "missing: the database's secrets are sealed with the key whose fingerprint is {stored}; set REFLOOP_SECRET_KEY or restore {}",
                config.secret_key_file.display()
            ),
        ),
        (Ok(Some(sealer)), Some(stored)) if sealer.fingerprint() != stored => Line::new(
            Status::Fail,
            "secret key",
            format!(
                "fingerprint {} is not the database's ({stored}): this key cannot open its secrets",
                sealer.fingerprint()
            ),
        ),
        (Ok(Some(sealer)), _) => Line::new(
            Status::Ok,
            "secret key",
            format!("fingerprint {} opens the database's secrets", sealer.fingerprint()),
        ),
    }
}

/// Stripe's API and, when one is configured, the mail server.
async fn reachability(config: &Config) -> Vec<Line> {
    let mut lines = vec![stripe(config).await];
    if config.smtp_url.is_some() {
        lines.push(match crate::state::mailer(config) {
            Err(e) => Line::new(Status::Fail, "mail server", e),
            Ok(mailer) => match mailer.test_connection().await {
                Ok(()) => Line::new(
                    Status::Ok,
                    "mail server",
                    "accepts connections (REFLOOP_SMTP_URL)",
                ),
                Err(e) => Line::new(Status::Fail, "mail server", e),
            },
        });
    }
    lines
}

async fn stripe(config: &Config) -> Line {
    let url = format!("{}/v1/account", config.stripe_api_url.trim_end_matches('/'));
    let started = Instant::now();
    let request = StripeClient::http_client()
        .get(&url)
        .timeout(Duration::from_secs(10));
    match request.send().await {
        Ok(res) => Line::new(
            Status::Ok,
            "stripe",
            format!(
                "{} answers (HTTP {} without a key, {} ms)",
                config.stripe_api_url,
                res.status().as_u16(),
                started.elapsed().as_millis()
            ),
        ),
        Err(e) => Line::new(
            Status::Fail,
            "stripe",
            format!(
                "{} cannot be reached (REFLOOP_STRIPE_API_URL): {e}",
                config.stripe_api_url
            ),
        ),
    }
}
