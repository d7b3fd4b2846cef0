//! `refloop admin …`, run as the operator runs it: the real binary against a real SQLite file
//! or PostgreSQL database. Backups taken while Refloop serves restore into an empty database
//! with everything in it; migrations, the prune, the check and the key rotation each do what
//! they say, and refuse what would lose data.

use std::{
    path::Path,
    process::{Command, Output},
};

use refloop::{
    db::{self, Db},
    domain::rewards::RewardStatus,
    notifications::team::team_email,
    secrets::{write_key_file, Sealer},
    state::check_secret_key,
};
use sqlx::Connection;

use crate::{
    accounts::owner,
    process::{free_port, refloop, signal, wait_exit, wait_healthy},
    qualification::{credit, Qualifying, SECRET_KEY},
    support::TestDb,
};

crate::on_both_backends!(
    a_backup_taken_while_serving_restores_into_an_empty_database,
    rotating_the_secret_key_reseals_every_secret_in_one_go,
);

/// `refloop admin ARGS` in `dir` against `database_url`, with `env` set.
fn admin(dir: &Path, database_url: &str, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command: Command = refloop(dir);
    command
        .env("DATABASE_URL", database_url)
        .env_remove("REFLOOP_SECRET_KEY")
        .envs(env.iter().copied())
        .arg("admin")
        .args(args);
    command.output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn succeeded(out: &Output) -> String {
    assert!(out.status.success(), "{}{}", stdout(out), stderr(out));
    stdout(out)
}

/// The rows of every table that holds what a merchant built or earned.
async fn counts(db: &Db) -> Vec<(&'static str, i64)> {
    let mut counts = Vec::new();
    for table in [
        "accounts",
        "users",
        "campaigns",
        "participants",
        "participant_events",
        "participant_customers",
        "rewards",
        "stripe_connections",
        "stripe_webhooks",
        "stripe_charges",
        "referred_payments",
        "sandbox_objects",
    ] {
        let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(db.pool())
            .await
            .unwrap();
        counts.push((table, n));
    }
    counts
}

/// Deletes the database: the SQLite file's folder, or the PostgreSQL database (made again,
/// empty, as an operator restoring onto a new server would).
async fn lose(t: &TestDb) {
    match db::sqlite_path(&t.url) {
        Some(file) => std::fs::remove_dir_all(file.parent().unwrap()).unwrap(),
        None => {
            let (server, name) = t.url.rsplit_once('/').unwrap();
            let admin_url = std::env::var("TEST_DATABASE_URL")
                .unwrap_or_else(|_| crate::support::DEFAULT_POSTGRES.into());
            let mut conn = sqlx::PgConnection::connect(&admin_url).await.unwrap();
            sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await
                .unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .unwrap();
            assert!(server.starts_with("postgres"));
        }
    }
}

/// `refloop serve` on the database with the harness's key, until it answers.
async fn serve(dir: &Path, database_url: &str) -> (std::process::Child, u16) {
    let port = free_port();
    let mut child = refloop(dir)
        .env("DATABASE_URL", database_url)
        .env("REFLOOP_SECRET_KEY", SECRET_KEY)
        .args(["--addr", &format!("127.0.0.1:{port}"), "--workers", "0"])
        .spawn()
        .unwrap();
    wait_healthy(port, &mut child).await;
    (child, port)
}

async fn a_backup_taken_while_serving_restores_into_an_empty_database(t: &TestDb) {
    // A campaign with a referrer, a friend who paid, the referrer's issued reward and a
    // sealed Stripe key and webhook secret.
    let q = Qualifying::start(t, credit("10.00", true, false)).await;
    let customer = q.pair(t, "ann@x.test", "bob@x.test").await;
    q.pay(t, &customer, 6_000).await;
    let reward = q.until_reward(t, "ann@x.test", RewardStatus::Issued).await;
    let _ = q.stop.send(true);
    let before = counts(&t.db).await;
    assert!(before.iter().all(|(_, n)| *n > 0), "{before:?}");

    let work = tempfile::tempdir().unwrap();
    let (server, _) = serve(work.path(), &t.url).await;
    let file = work.path().join("refloop.backup");
    let key = [("REFLOOP_SECRET_KEY", SECRET_KEY)];
    let said = succeeded(&admin(
        work.path(),
        &t.url,
        &key,
        &["backup", file.to_str().unwrap()],
    ));
    assert!(said.contains("Backed up 2 participants"), "{said}");
    signal(&server, "TERM");
    assert!(wait_exit(server).status.success());
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(work.path().join("refloop.backup.json")).unwrap(),
    )
    .unwrap();
    let fingerprint = Sealer::from_base64(SECRET_KEY).unwrap().fingerprint();
    assert_eq!(manifest["secret_key_fingerprint"], fingerprint.as_str());
    assert_eq!(manifest["participants"], 2);

    lose(t).await;
    // Another key cannot restore it: the Stripe key inside would not open.
    let (_, other) = Sealer::generate();
    let out = admin(
        work.path(),
        &t.url,
        &[("REFLOOP_SECRET_KEY", &other)],
        &["restore", file.to_str().unwrap()],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains(&fingerprint), "{}", stderr(&out));
    let said = succeeded(&admin(
        work.path(),
        &t.url,
        &key,
        &["restore", file.to_str().unwrap()],
    ));
    assert!(said.contains("Restored"), "{said}");

    // It starts, and everything is there: the rows, the reward, and the key still opens.
    let (server, _) = serve(work.path(), &t.url).await;
    signal(&server, "TERM");
    assert!(wait_exit(server).status.success());
    let db = Db::connect(&t.url).await.unwrap();
    assert_eq!(counts(&db).await, before);
    let restored = refloop::db::rewards::get(db.pool(), &q.alice.account_id, &reward.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(restored.status, RewardStatus::Issued);
    let stripe = q.access.connect(&db, &q.alice.account_id).await;
    assert!(matches!(stripe, Ok(Some(_))), "the Stripe key opens");
    let (secret,): (String,) = sqlx::query_as("SELECT sealed_secret FROM stripe_webhooks")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert!(q.access.sealer.open(&secret).unwrap().starts_with("whsec_"));
    db.close().await;
}

#[tokio::test]
async fn backups_and_restores_refuse_what_would_lose_data() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/data/refloop.db", dir.path().display());
    succeeded(&admin(dir.path(), &url, &[], &["migrate"]));
    // No key yet: a backup would be of secrets nobody can open.
    let out = admin(dir.path(), &url, &[], &["backup", "first.backup"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no secret key"), "{}", stderr(&out));
    let (_, key) = Sealer::generate();
    write_key_file(&dir.path().join("data/secret.key"), &key).unwrap();
    let db = Db::connect(&url).await.unwrap();
    owner(&db, "Acme", "alice@acme.test").await;
    db.close().await;
    succeeded(&admin(dir.path(), &url, &[], &["backup", "first.backup"]));
    // A backup never replaces another.
    let out = admin(dir.path(), &url, &[], &["backup", "first.backup"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));

    // Without its key a restore says which key it needs.
    let moved = dir.path().join("elsewhere.key");
    std::fs::rename(dir.path().join("data/secret.key"), &moved).unwrap();
    let out = admin(dir.path(), &url, &[], &["restore", "first.backup"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("there is no key here"),
        "{}",
        stderr(&out)
    );
    std::fs::rename(&moved, dir.path().join("data/secret.key")).unwrap();

    // A file that is not a database is refused and the database stays as it was.
    std::fs::write(dir.path().join("junk.backup"), b"not a database at all").unwrap();
    std::fs::copy(
        dir.path().join("first.backup.json"),
        dir.path().join("junk.backup.json"),
    )
    .unwrap();
    let out = admin(dir.path(), &url, &[], &["restore", "junk.backup"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("junk.backup"), "{}", stderr(&out));

    // A second account made after the backup: restoring moves that database aside, never
    // deletes it.
    let db = Db::connect(&url).await.unwrap();
    owner(&db, "Bravo", "bob@bravo.test").await;
    db.close().await;
    let said = succeeded(&admin(dir.path(), &url, &[], &["restore", "first.backup"]));
    assert!(said.contains("is kept as"), "{said}");
    let aside = std::fs::read_dir(dir.path().join("data"))
        .unwrap()
        .flatten()
        .map(|f| f.path())
        .find(|p| {
            p.to_string_lossy().contains(".before-restore-")
                && !p.to_string_lossy().ends_with("-wal")
                && !p.to_string_lossy().ends_with("-shm")
        })
        .expect("the replaced database, kept");
    let accounts = |url: String| async move {
        let db = Db::connect(&url).await.unwrap();
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM accounts")
            .fetch_one(db.pool())
            .await
            .unwrap();
        db.close().await;
        n
    };
    assert_eq!(accounts(url.clone()).await, 1);
    assert_eq!(accounts(format!("sqlite://{}", aside.display())).await, 2);
}

#[tokio::test]
async fn migrate_applies_what_is_pending_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/refloop.db", dir.path().display());
    let said = succeeded(&admin(dir.path(), &url, &[], &["migrate"]));
    assert!(
        said.contains("0001_instance_settings") && said.contains("0018_dashboard"),
        "{said}"
    );
    let said = succeeded(&admin(dir.path(), &url, &[], &["migrate"]));
    assert!(said.contains("Nothing to apply"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_each_part_and_fails_for_monitoring() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/data/refloop.db", dir.path().display());
    // Something answering as Stripe's API does without a key.
    let stripe = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stripe_url = format!("http://{}", stripe.local_addr().unwrap());
    tokio::spawn(async move {
        let app = axum::Router::new()
            .fallback(|| async { (axum::http::StatusCode::UNAUTHORIZED, "{\"error\":{}}") });
        axum::serve(stripe, app).await.unwrap()
    });
    // The test's runtime has a second thread to answer while the binary runs.
    let check = |env: &[(&str, &str)]| {
        let mut env = env.to_vec();
        env.push(("REFLOOP_STRIPE_API_URL", stripe_url.as_str()));
        admin(dir.path(), &url, &env, &["check"])
    };
    // A new database: its migrations are pending.
    let out = check(&[]);
    assert!(!out.status.success());
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .unwrap()
        .count();
    assert!(
        stdout(&out).contains(&format!("FAIL  migrations    {migrations} pending")),
        "{}",
        stdout(&out)
    );

    succeeded(&admin(dir.path(), &url, &[], &["migrate"]));
    let out = check(&[]);
    let text = succeeded(&out);
    let current = format!("ok    migrations    the schema is current (version {migrations})");
    for line in [
        "warn  configuration",
        "ok    database",
        &current,
        "ok    secret key    none yet",
        "ok    stripe",
        "(HTTP 401 without a key",
    ] {
        assert!(text.contains(line), "{line} in:\n{text}");
    }

    // Once a key sealed the database's secrets, another key fails the check.
    let (sealer, key) = Sealer::generate();
    let db = Db::connect(&url).await.unwrap();
    check_secret_key(&db, &sealer).await.unwrap();
    db.close().await;
    let text = succeeded(&check(&[("REFLOOP_SECRET_KEY", &key)]));
    assert!(
        text.contains(&format!(
            "ok    secret key    fingerprint {}",
            sealer.fingerprint()
        )),
        "{text}"
    );
    let (_, other) = Sealer::generate();
    let out = check(&[("REFLOOP_SECRET_KEY", &other)]);
    assert!(!out.status.success());
    assert!(
        stdout(&out).contains("FAIL  secret key"),
        "{}",
        stdout(&out)
    );

    // Stripe or the mail server out of reach fails it too.
    let closed = format!("http://127.0.0.1:{}", free_port());
    let smtp = format!("smtp://127.0.0.1:{}", free_port());
    let out = check(&[("REFLOOP_SECRET_KEY", &key), ("REFLOOP_SMTP_URL", &smtp)]);
    assert!(!out.status.success());
    assert!(
        stdout(&out).contains("FAIL  mail server"),
        "{}",
        stdout(&out)
    );
    let out = admin(
        dir.path(),
        &url,
        &[
            ("REFLOOP_SECRET_KEY", &key),
            ("REFLOOP_STRIPE_API_URL", &closed),
        ],
        &["check"],
    );
    assert!(!out.status.success());
    assert!(stdout(&out).contains("FAIL  stripe"), "{}", stdout(&out));
}

#[tokio::test]
async fn prune_deletes_now_what_the_hourly_job_would() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/refloop.db", dir.path().display());
    let db = Db::connect(&url).await.unwrap();
    let now_ms = refloop::jobs::queue::now_ms();
    for (id, finished) in [("job_old", now_ms - 20 * 86_400_000), ("job_new", now_ms)] {
        sqlx::query(
            "INSERT INTO jobs (id, kind, payload, status, attempts, max_attempts, run_at_ms, created_ms, finished_ms) \
             VALUES ($1, 'x', '{}', 'done', 1, 3, 0, $2, $2)",
        )
        .bind(id)
        .bind(finished)
        .execute(db.pool())
        .await
        .unwrap();
    }
    let said = succeeded(&admin(
        dir.path(),
        &url,
        &[("REFLOOP_JOB_RETENTION_DAYS", "14")],
        &["prune"],
    ));
    assert!(
        said.contains("Pruned 1 finished jobs (older than 14 days)"),
        "{said}"
    );
    let left: Vec<(String,)> = sqlx::query_as("SELECT id FROM jobs WHERE kind = 'x'")
        .fetch_all(db.pool())
        .await
        .unwrap();
    assert_eq!(left, vec![("job_new".to_string(),)]);
    db.close().await;
}

async fn rotating_the_secret_key_reseals_every_secret_in_one_go(t: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("data/secret.key");
    let (old, old_key) = Sealer::generate();
    write_key_file(&key_file, &old_key).unwrap();
    check_secret_key(&t.db, &old).await.unwrap();
    let (alice, _) = owner(&t.db, "Acme", "alice@acme.test").await;
    sqlx::query(
        "INSERT INTO stripe_connections (account_id, mode, sealed_key, livemode, connected_by, connected_at) \
         VALUES ($1, 'key', $2, 0, $3, 0)",
    )
    .bind(&alice.account_id)
    .bind(old.seal("rk_test_acme"))
    .bind(&alice.user_id)
    .execute(t.db.pool())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO stripe_webhooks (id, account_id, endpoint_id, sealed_secret, url, created_at) \
         VALUES ('wh_1', $1, 'we_1', $2, 'https://refer.acme.test/webhooks/stripe/wh_1', 0)",
    )
    .bind(&alice.account_id)
    .bind(old.seal("whsec_acme"))
    .execute(t.db.pool())
    .await
    .unwrap();
    let mut conn = t.db.pool().acquire().await.unwrap();
    refloop::jobs::queue::enqueue(
        &mut conn,
        &team_email(
            &old,
            "bob@acme.test",
            "Join Acme",
            "Your invitation: https://x/invite/secret",
        ),
    )
    .await
    .unwrap();
    drop(conn);
    let sealed = || async {
        let (key,): (String,) = sqlx::query_as("SELECT sealed_key FROM stripe_connections")
            .fetch_one(t.db.pool())
            .await
            .unwrap();
        let (secret,): (String,) = sqlx::query_as("SELECT sealed_secret FROM stripe_webhooks")
            .fetch_one(t.db.pool())
            .await
            .unwrap();
        let (payload,): (String,) =
            sqlx::query_as("SELECT payload FROM jobs WHERE kind = 'email.team'")
                .fetch_one(t.db.pool())
                .await
                .unwrap();
        let text = serde_json::from_str::<serde_json::Value>(&payload).unwrap()["text"]
            .as_str()
            .unwrap()
            .to_string();
        [key, secret, text]
    };
    let opened = |sealer: &Sealer, sealed: &[String; 3]| -> Option<Vec<String>> {
        sealed.iter().map(|s| sealer.open(s).ok()).collect()
    };
    let secrets = vec![
        "rk_test_acme".to_string(),
        "whsec_acme".into(),
        "Your invitation: https://x/invite/secret".into(),
    ];

    // A wrong key changes nothing.
    let (_, wrong) = Sealer::generate();
    let out = admin(
        dir.path(),
        &t.url,
        &[("REFLOOP_SECRET_KEY", &wrong)],
        &["rotate-secret-key"],
    );
    assert!(!out.status.success());
    assert_eq!(opened(&old, &sealed().await), Some(secrets.clone()));

    // The key in its file: replaced, the old one kept beside it for older backups.
    let said = succeeded(&admin(dir.path(), &t.url, &[], &["rotate-secret-key"]));
    assert!(said.contains("Re-sealed 3 secret(s)"), "{said}");
    let new = Sealer::load_existing(None, &key_file).unwrap().unwrap();
    assert_ne!(new.fingerprint(), old.fingerprint());
    let kept = dir
        .path()
        .join(format!("data/secret.key.{}", old.fingerprint()));
    assert_eq!(std::fs::read_to_string(kept).unwrap(), old_key);
    let now = sealed().await;
    assert_eq!(opened(&new, &now), Some(secrets.clone()));
    assert_eq!(opened(&old, &now), None);
    assert_eq!(
        db::settings::get(&t.db, "secret_key_fingerprint")
            .await
            .unwrap(),
        Some(new.fingerprint())
    );
    check_secret_key(&t.db, &new).await.unwrap();

    // The key in REFLOOP_SECRET_KEY, the new one given.
    let new_key = std::fs::read_to_string(&key_file).unwrap();
    let (given, given_key) = Sealer::generate();
    let said = succeeded(&admin(
        dir.path(),
        &t.url,
        &[
            ("REFLOOP_SECRET_KEY", new_key.trim()),
            ("REFLOOP_NEW_SECRET_KEY", &given_key),
        ],
        &["rotate-secret-key"],
    ));
    assert!(
        said.contains("Set REFLOOP_SECRET_KEY to the new key"),
        "{said}"
    );
    assert!(!said.contains(&given_key), "a key given is not printed");
    assert_eq!(opened(&given, &sealed().await), Some(secrets));
}
