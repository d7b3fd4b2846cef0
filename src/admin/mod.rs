//! The operator's commands (`refloop admin …`), run on the server without a browser: each a
//! plain function over the configuration and the database that returns what to print.

pub mod backup;
pub mod check;
pub mod secret_key;

use std::path::{Path, PathBuf};

use crate::{
    accounts,
    config::{self, AdminCommand, Config},
    db::Db,
    domain::time::format_utc,
    secrets::Sealer,
};

/// What a command prints, and whether it succeeded (the exit status).
#[derive(Debug)]
pub struct Report {
    pub text: String,
    pub ok: bool,
}

impl From<String> for Report {
    fn from(text: String) -> Report {
        Report { text, ok: true }
    }
}

/// Runs `command`; `Err` is a message for standard error.
pub async fn run(config: &Config, command: AdminCommand) -> Result<Report, String> {
    let public_url = config.public_url();
    match command {
        AdminCommand::ResetPassword { email } => {
            let db = open(config).await?;
            let link = accounts::passwords::reset_link(
                &db,
                &public_url,
                &email,
                accounts::passwords::OPERATOR_LINK_SECS,
            )
            .await;
            db.close().await;
            let link = link.map_err(|e| e.to_string())?;
            Ok(
                format!("{email} chooses a new password here (once, within 7 days):\n{link}")
                    .into(),
            )
        }
        AdminCommand::CreateAccount {
            company,
            name,
            email,
        } => {
            let db = open(config).await?;
            let link = accounts::create_account(&db, &public_url, &company, &name, &email).await;
            db.close().await;
            let link = link.map_err(|e| e.to_string())?;
            Ok(format!("Created {company} with {name} ({email}) as its Owner, who chooses a password here (once, within 7 days):\n{link}").into())
        }
        AdminCommand::Backup { file } => {
            let db = open(config).await?;
            let sealer = existing_key(config)?.ok_or(
                "there is no secret key (REFLOOP_SECRET_KEY or REFLOOP_SECRET_KEY_FILE): start Refloop once first",
            )?;
            let started = std::time::Instant::now();
            let done = backup::backup(&db, &sealer, &file).await;
            db.close().await;
            let manifest = done?;
            Ok(format!(
                "Backed up {} participants ({}, schema {}) to {} ({}) in {:.1} s; its manifest is {}.\n\
                 Keep the secret key with it (fingerprint {}): the Stripe keys inside open only with that key.",
                manifest.participants,
                manifest.backend,
                manifest.schema_version,
                file.display(),
                size(manifest.bytes),
                started.elapsed().as_secs_f64(),
                backup::manifest_path(&file).display(),
                manifest.secret_key_fingerprint,
            )
            .into())
        }
        AdminCommand::Restore { file } => {
            let sealer = existing_key(config)?;
            let restored = backup::restore(&config.database_url, sealer.as_ref(), &file).await?;
            let mut text = format!(
                "Restored {} ({} participants, backed up {}) into {}.",
                file.display(),
                restored.manifest.participants,
                format_utc(restored.manifest.created_at),
                config::redact_url(&config.database_url)
            );
            if let Some(aside) = restored.moved_aside {
                text += &format!(
                    "\nThe database that was there is kept as {}.",
                    aside.display()
                );
            }
            if !restored.migrated.is_empty() {
                text += &format!("\nMigrated it: {}.", restored.migrated.join(", "));
            }
            Ok(text.into())
        }
        AdminCommand::Migrate => {
            let db = Db::open(&config.database_url)
                .await
                .map_err(|e| open_error(config, e))?;
            let applied = db.migrate().await;
            let version = db.schema_version().await;
            db.close().await;
            let applied = applied.map_err(|e| format!("the migration failed: {e}"))?;
            let version = version.map_err(|e| e.to_string())?;
            Ok(if applied.is_empty() {
                format!("Nothing to apply: the schema is current (version {version}).")
            } else {
                format!(
                    "Applied {} migration(s): {}. The schema is at version {version}.",
                    applied.len(),
                    applied.join(", ")
                )
            }
            .into())
        }
        AdminCommand::Prune => {
            let db = open(config).await?;
            let pruned = crate::housekeeping::prune(&db, config.job_retention_days).await;
            db.close().await;
            let p = pruned.map_err(|e| format!("pruning failed: {e}"))?;
            Ok(format!(
                "Pruned {} finished jobs (older than {} days), {} expired sessions, {} throttles, {} join attempts, \
                 {} click records, {} password-reset links, {} records of where people joined from, \
                 {} sandbox idempotency keys and {} API idempotency keys.",
                p.jobs,
                config.job_retention_days,
                p.sessions,
                p.throttles,
                p.join_attempts,
                p.clicks,
                p.password_resets,
                p.sightings,
                p.sandbox_idempotency,
                p.api_idempotency
            )
            .into())
        }
        AdminCommand::Check => {
            let lines = check::check(config).await;
            Ok(Report {
                ok: lines.iter().all(|l| l.status != check::Status::Fail),
                text: lines
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n"),
            })
        }
        AdminCommand::RotateSecretKey { new_key } => {
            let db = open(config).await?;
            let rotated =
                secret_key::rotate(&db, config, new_key.as_ref().map(|k| k.0.as_str())).await;
            db.close().await;
            let r = rotated?;
            let mut text = format!(
                "Re-sealed {} secret(s) under the new key (fingerprint {}, was {}).",
                r.resealed, r.new_fingerprint, r.old_fingerprint
            );
            if let Some(kept) = r.old_key_file {
                text += &format!(
                    "\nThe new key is in {}; the old one is kept as {}: backups made before now need it.",
                    config.secret_key_file.display(),
                    kept.display()
                );
            }
            if let Some(key) = r.new_key {
                text += &format!(
                    "\nThe new key (set REFLOOP_SECRET_KEY to it on every process):\n{key}"
                );
            } else if config.secret_key.is_some() {
                text += "\nSet REFLOOP_SECRET_KEY to the new key on every process; keep the old one for the backups made before now.";
            }
            text += "\nUnsubscribe links in emails already sent stop working; start every process with the new key.";
            Ok(text.into())
        }
    }
}

/// The database, migrated (what a running Refloop sees).
async fn open(config: &Config) -> Result<Db, String> {
    Db::connect(&config.database_url)
        .await
        .map_err(|e| open_error(config, e))
}

fn open_error(config: &Config, e: sqlx::Error) -> String {
    format!(
        "could not open the database named by DATABASE_URL ({}): {e}",
        config::redact_url(&config.database_url)
    )
}

/// The configured secret key, never a new one.
fn existing_key(config: &Config) -> Result<Option<Sealer>, String> {
    Sealer::load_existing(
        config.secret_key.as_ref().map(|k| k.0.as_str()),
        &config.secret_key_file,
    )
}

/// `path` with `suffix` added to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn size(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MB", bytes as f64 / (1 << 20) as f64)
    } else {
        format!("{:.1} KB", bytes as f64 / 1024.0)
    }
}
