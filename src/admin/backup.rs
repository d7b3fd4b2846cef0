//! `refloop admin backup FILE` and `restore FILE`: a consistent copy of the database taken
//! while Refloop runs (SQLite's `VACUUM INTO`; PostgreSQL's `pg_dump`), with a manifest beside
//! it (`FILE.json`) naming the secret key its Stripe keys are sealed with, and putting one back.

use std::path::{Path, PathBuf};

use percent_encoding::percent_decode_str;
use serde::{Deserialize, Serialize};
use tokio::process::Command;

use super::with_suffix;
use crate::{
    db::{self, Backend, Db},
    secrets::Sealer,
    state::check_secret_key,
};

/// The manifest's format; a newer one is refused rather than misread.
const FORMAT: u32 = 1;

/// What `FILE.json` says about the backup `FILE`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub refloop_backup: u32,
    /// `sqlite` (FILE is a SQLite database) or `postgresql` (FILE is a `pg_dump` archive).
    pub backend: String,
    /// The newest migration applied in the copy.
    pub schema_version: i64,
    /// The fingerprint of the secret key the copy's secrets are sealed with (never the key).
    pub secret_key_fingerprint: String,
    pub created_at: i64,
    pub participants: i64,
    pub bytes: u64,
}

/// `FILE.json`.
pub fn manifest_path(file: &Path) -> PathBuf {
    with_suffix(file, ".json")
}

/// Copies the database to `file` (never over an existing file) and writes its manifest.
pub async fn backup(db: &Db, sealer: &Sealer, file: &Path) -> Result<Manifest, String> {
    let manifest_file = manifest_path(file);
    for existing in [file, manifest_file.as_path()] {
        if existing.exists() {
            return Err(format!(
                "{} already exists: name a new file (a backup never replaces another)",
                existing.display()
            ));
        }
    }
    check_secret_key(db, sealer).await?;
    let (participants,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM participants")
        .fetch_one(db.pool())
        .await
        .map_err(|e| format!("could not read the database: {e}"))?;
    let schema_version = db
        .schema_version()
        .await
        .map_err(|e| format!("could not read the database's schema version: {e}"))?;
    // Written under another name and renamed when whole: a FILE that exists is complete.
    let partial = with_suffix(file, ".partial");
    let _ = std::fs::remove_file(&partial);
    let copied = match db.backend() {
        Backend::Sqlite => sqlx::query("VACUUM INTO $1")
            .bind(partial.to_string_lossy().into_owned())
            .execute(db.pool())
            .await
            .map(|_| ())
            .map_err(|e| format!("could not copy the database to {}: {e}", partial.display())),
        Backend::Postgres => run(pg_tool("pg_dump", db.url())?
            .args(["--format=custom", "--no-owner", "--no-privileges", "--file"])
            .arg(&partial))
        .await
        .map_err(|e| format!("pg_dump failed: {e}")),
    };
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, file)
        .map_err(|e| format!("could not name the backup {}: {e}", file.display()))?;
    let manifest = Manifest {
        refloop_backup: FORMAT,
        backend: backend_name(db.backend()).into(),
        schema_version,
        secret_key_fingerprint: sealer.fingerprint(),
        created_at: db::unix_now(),
        participants,
        bytes: std::fs::metadata(file).map(|m| m.len()).unwrap_or(0),
    };
    let json = serde_json::to_string_pretty(&manifest).expect("a manifest serialises");
    std::fs::write(&manifest_file, json + "\n")
        .map_err(|e| format!("could not write {}: {e}", manifest_file.display()))?;
    Ok(manifest)
}

/// What `restore` did.
#[derive(Debug)]
pub struct Restored {
    pub manifest: Manifest,
    /// Where the SQLite database that was in the way was moved, if one was.
    pub moved_aside: Option<PathBuf>,
    /// Migrations applied after restoring (the backup was of an older Refloop).
    pub migrated: Vec<String>,
}

/// Puts the backup `file` back as the database `database_url` names, after checking that it is
/// whole, of this backend, not newer than this Refloop, and sealed with `sealer`'s key. A
/// SQLite database already there is moved aside, never deleted. Stop Refloop first.
pub async fn restore(
    database_url: &str,
    sealer: Option<&Sealer>,
    file: &Path,
) -> Result<Restored, String> {
    let manifest = read_manifest(file)?;
    let backend: Backend = database_url.parse()?;
    if manifest.backend != backend_name(backend) {
        return Err(format!(
            "{} is a backup of a {} database, and DATABASE_URL names a {} one",
            file.display(),
            manifest.backend,
            backend_name(backend)
        ));
    }
    let fingerprint = &manifest.secret_key_fingerprint;
    match sealer {
        None => {
            return Err(format!(
                "the backup's secrets are sealed with the secret key whose fingerprint is {fingerprint}, and there is no key here: \
                 set REFLOOP_SECRET_KEY to it, or put it in the file REFLOOP_SECRET_KEY_FILE names"
            ))
        }
        Some(sealer) if &sealer.fingerprint() != fingerprint => {
            return Err(format!(
                "the backup's secrets are sealed with the secret key whose fingerprint is {fingerprint}, and this key's is {}: \
                 set REFLOOP_SECRET_KEY (or REFLOOP_SECRET_KEY_FILE) to the key the backed-up Refloop used",
                sealer.fingerprint()
            ))
        }
        Some(_) => {}
    }
    let moved_aside = match backend {
        Backend::Sqlite => restore_sqlite(database_url, file, &manifest).await?,
        Backend::Postgres => {
            refuse_newer(
                &Db::open(database_url).await.map_err(open_error)?,
                &manifest,
            )?;
            run(pg_tool("pg_restore", database_url)?
                .args([
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--no-privileges",
                    "--single-transaction",
                ])
                .arg(file))
            .await
            .map_err(|e| format!("pg_restore failed: {e}"))?;
            None
        }
    };
    let db = Db::open(database_url).await.map_err(open_error)?;
    let migrated = db
        .migrate()
        .await
        .map_err(|e| format!("the restored database could not be migrated: {e}"));
    let checked = match migrated {
        Ok(migrated) => check_secret_key(&db, sealer.expect("checked above"))
            .await
            .map(|()| migrated),
        Err(e) => Err(e),
    };
    db.close().await;
    Ok(Restored {
        manifest,
        moved_aside,
        migrated: checked?,
    })
}

async fn restore_sqlite(
    database_url: &str,
    file: &Path,
    manifest: &Manifest,
) -> Result<Option<PathBuf>, String> {
    let target =
        db::sqlite_path(database_url).ok_or("DATABASE_URL names no SQLite file to restore into")?;
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("could not create {}: {e}", dir.display()))?;
    }
    // Checked on a copy beside the target (the backup itself stays untouched): a whole SQLite
    // database of a schema this Refloop knows.
    let copy = with_suffix(&target, ".restoring");
    std::fs::copy(file, &copy)
        .map_err(|e| format!("could not copy the backup to {}: {e}", copy.display()))?;
    let checked = check_copy(&copy, file, manifest).await;
    if let Err(e) = checked {
        let _ = std::fs::remove_file(&copy);
        return Err(e);
    }
    let moved_aside = if target.exists() {
        let aside = with_suffix(&target, &format!(".before-restore-{}", db::unix_now()));
        std::fs::rename(&target, &aside)
            .map_err(|e| format!("could not move {} aside: {e}", target.display()))?;
        for journal in ["-wal", "-shm"] {
            let _ = std::fs::rename(with_suffix(&target, journal), with_suffix(&aside, journal));
        }
        Some(aside)
    } else {
        None
    };
    std::fs::rename(&copy, &target)
        .map_err(|e| format!("could not move the backup to {}: {e}", target.display()))?;
    Ok(moved_aside)
}

async fn check_copy(copy: &Path, file: &Path, manifest: &Manifest) -> Result<(), String> {
    let db = Db::open(&format!("sqlite://{}", copy.display()))
        .await
        .map_err(|e| format!("{} is not a SQLite database: {e}", file.display()))?;
    let integrity: Result<(String,), _> = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(db.pool())
        .await;
    let newer = refuse_newer(&db, manifest);
    db.close().await;
    match integrity {
        Ok((verdict,)) if verdict == "ok" => newer,
        Ok((verdict,)) => Err(format!("{} is damaged: {verdict}", file.display())),
        Err(e) => Err(format!("{} is not a SQLite database: {e}", file.display())),
    }
}

/// A backup of a newer Refloop (more migrations than this binary knows) cannot be read by it.
fn refuse_newer(db: &Db, manifest: &Manifest) -> Result<(), String> {
    if manifest.schema_version > db.latest_version() {
        return Err(format!(
            "the backup was made by a newer Refloop (schema {}; this one knows up to {}): restore it with that version",
            manifest.schema_version,
            db.latest_version()
        ));
    }
    Ok(())
}

fn read_manifest(file: &Path) -> Result<Manifest, String> {
    if !file.is_file() {
        return Err(format!("{} does not exist", file.display()));
    }
    let path = manifest_path(file);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "{} (written beside every backup) cannot be read: {e}",
            path.display()
        )
    })?;
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a Refloop backup manifest: {e}", path.display()))?;
    if manifest.refloop_backup > FORMAT {
        return Err(format!(
            "{} is of a newer backup format ({}): restore it with the Refloop that made it",
            path.display(),
            manifest.refloop_backup
        ));
    }
    Ok(manifest)
}

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgresql",
    }
}

fn open_error(e: sqlx::Error) -> String {
    format!("could not open the database named by DATABASE_URL: {e}")
}

/// `pg_dump` or `pg_restore` for the database at `url`; the password goes in the environment,
/// not on the command line where other users of the machine could read it.
fn pg_tool(program: &str, url: &str) -> Result<Command, String> {
    let mut parsed = reqwest::Url::parse(url)
        .map_err(|e| format!("DATABASE_URL is not a URL pg_dump can use: {e}"))?;
    let mut command = Command::new(program);
    if let Some(password) = parsed
        .password()
        .map(|p| percent_decode_str(p).decode_utf8_lossy().into_owned())
    {
        command.env("PGPASSWORD", password);
        let _ = parsed.set_password(None);
    }
    command.arg("--dbname").arg(parsed.as_str());
    Ok(command)
}

/// Runs `command`; its error output is the error.
async fn run(command: &mut Command) -> Result<(), String> {
    let output = command.output().await.map_err(|e| {
        format!(
            "could not run it ({e}); install PostgreSQL's client tools (Debian: postgresql-client)"
        )
    })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_goes_to_libpq_decoded_and_stays_off_the_command_line() {
        use std::ffi::OsStr;
        let url = "postgres://refloop:p%40ss%2Fw0rd@db.example:5432/refloop";
        let command = pg_tool("pg_dump", url).unwrap();
        let command = command.as_std();
        let env: Vec<_> = command.get_envs().collect();
        assert_eq!(
            env,
            [(OsStr::new("PGPASSWORD"), Some(OsStr::new("p@ss/w0rd")))]
        );
        let args: Vec<_> = command.get_args().collect();
        assert_eq!(
            args,
            ["--dbname", "postgres://refloop@db.example:5432/refloop"]
        );
    }

    #[test]
    fn the_manifest_sits_beside_the_backup() {
        assert_eq!(
            manifest_path(Path::new("/backups/refloop-2026-12-06.db")),
            Path::new("/backups/refloop-2026-12-06.db.json")
        );
    }
}
