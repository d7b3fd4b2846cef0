//! Upgrades: a database made by the previous release, filled, then upgraded the way the
//! README says (`refloop admin migrate`, or starting the new binary), keeps its data and reads
//! back through today's code.

use std::path::Path;

use refloop::{
    campaigns::join,
    db::{participants, Db},
};
use sqlx::migrate::Migrator;

use crate::{accounts::owner, campaigns::live_campaign, process::refloop, support::TestDb};

/// The previous release: commit be8b023, the last before the dashboard, whose schema ends with
/// migration 0017. Migrations are forward-only and never edited (sqlx refuses to start on a
/// changed checksum), so that release's schema is the first 17 files of `migrations/`.
const PREVIOUS_RELEASE_SCHEMA: i64 = 17;

/// Applies the migrations of the previous release only.
async fn migrate_as_previous_release(t: &TestDb) {
    let backend = match t.db.backend() {
        refloop::db::Backend::Sqlite => "sqlite",
        refloop::db::Backend::Postgres => "postgres",
    };
    let dir = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    for file in std::fs::read_dir(source).unwrap().flatten() {
        let name = file.file_name().to_string_lossy().into_owned();
        let version: i64 = name[..4].parse().unwrap();
        if version <= PREVIOUS_RELEASE_SCHEMA {
            std::fs::copy(file.path(), dir.path().join(&name)).unwrap();
        }
    }
    Migrator::new(dir.path())
        .await
        .unwrap()
        .run(t.db.pool())
        .await
        .unwrap();
    assert_eq!(
        t.db.schema_version().await.unwrap(),
        PREVIOUS_RELEASE_SCHEMA
    );
}

// Each needs an empty database (on_both_backends hands out migrated ones).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_database_of_the_previous_release_upgrades_with_its_data() {
    upgrade(&TestDb::sqlite_unmigrated().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_database_of_the_previous_release_upgrades_with_its_data() {
    upgrade(&TestDb::postgres_unmigrated().await).await;
}

async fn upgrade(t: &TestDb) {
    migrate_as_previous_release(t).await;
    // Filled by the previous release: an account, a live campaign, a referrer and her friend,
    // whose evaluation had already run.
    let (alice, _) = owner(&t.db, "Acme", "alice@acme.test").await;
    let campaign = live_campaign(&t.db, &alice, "spring").await;
    // Joined as that release's join wrote them (today's join keeps what later releases added).
    let joined = |id: &'static str, email: &'static str, referrer: Option<&'static str>| {
        let (account, campaign) = (alice.account_id.clone(), campaign.clone());
        async move {
            sqlx::query(
                "INSERT INTO participants (id, account_id, campaign_id, email, first_name, fields, code, \
                 page_token, referrer_id, source, qualification, referrals, search, created_at) \
                 VALUES ($1, $2, $3, $4, 'Ann', '[]', $5, $6, $7, $8, $9, $10, $4, 1)",
            )
            .bind(id)
            .bind(&account)
            .bind(&campaign)
            .bind(email)
            .bind(format!("code-{id}"))
            .bind(format!("page-{id}"))
            .bind(referrer)
            .bind(if referrer.is_some() { "referral" } else { "join" })
            .bind(if referrer.is_some() { "pending" } else { "none" })
            .bind(if referrer.is_some() { 0 } else { 1 })
            .execute(t.db.pool())
            .await
            .expect("joins");
            participants::by_email(t.db.pool(), &campaign, email)
                .await
                .unwrap()
                .unwrap()
        }
    };
    let code = joined("p_ann", "ann@x.test", None).await.code;
    let friend = joined("p_bob", "bob@x.test", Some("p_ann")).await;
    // A reward of the release, in its ledger's shape.
    sqlx::query(
        "INSERT INTO rewards (id, account_id, campaign_id, rule_id, referral_id, recipient_id, kind, amount, \
         currency, description, status, note, created_at, updated_at) \
         VALUES ('rwd_old', $1, $2, 'rule_1', $3, $4, 'credit', 1000, 'usd', '10.00 USD credit', 'issued', \
         'Issued', 1, 1)",
    )
    .bind(&alice.account_id)
    .bind(&campaign)
    .bind(&friend.id)
    .bind(friend.referrer_id.as_deref().unwrap())
    .execute(t.db.pool())
    .await
    .unwrap();
    sqlx::query("UPDATE jobs SET status = 'done'")
        .execute(t.db.pool())
        .await
        .unwrap();
    t.db.close().await;

    // Back up, replace the binary, `refloop admin migrate`.
    let dir = tempfile::tempdir().unwrap();
    let out = refloop(dir.path())
        .env("DATABASE_URL", &t.url)
        .args(["admin", "migrate"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pending: Vec<String> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite"))
            .unwrap()
            .flatten()
            .map(|f| {
                f.file_name()
                    .to_string_lossy()
                    .trim_end_matches(".sql")
                    .to_string()
            })
            .filter(|name| name[..4].parse::<i64>().unwrap() > PREVIOUS_RELEASE_SCHEMA)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
    assert!(
        said.contains(&format!(
            "Applied {} migration(s): {}",
            pending.len(),
            pending.join(", ")
        )),
        "{said}"
    );

    let db = Db::connect(&t.url).await.unwrap();
    let ann = participants::by_email(db.pool(), &campaign, "ann@x.test")
        .await
        .unwrap()
        .expect("the referrer is still there");
    let bob = participants::by_email(db.pool(), &campaign, "bob@x.test")
        .await
        .unwrap()
        .expect("the friend is still there");
    assert_eq!(bob.referrer_id.as_deref(), Some(ann.id.as_str()));
    assert_eq!(ann.code, code);
    // The release's data migration: friends from before are evaluated once more, so that the
    // dashboard counts what they paid.
    let queued: Vec<(String,)> = sqlx::query_as(
        "SELECT payload FROM jobs WHERE kind = 'referral.evaluate' AND status = 'queued'",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    assert_eq!(
        queued,
        vec![(format!("{{\"participant\":\"{}\"}}", bob.id),)]
    );
    // The reward ledger, made again with the commission's key on SQLite, kept its rows.
    let reward = refloop::db::rewards::get(db.pool(), &alice.account_id, "rwd_old")
        .await
        .unwrap()
        .expect("the reward is still there");
    assert_eq!(
        (reward.amount, reward.status, reward.is_commission()),
        (1000, refloop::domain::rewards::RewardStatus::Issued, false)
    );
    // Today's code reads the upgraded rows: the referrer's page and the campaign's people.
    let page = join::personal_page(&db, "http://refloop.test", &ann.page_token).await;
    assert_eq!(page.unwrap().code, code);
    db.close().await;
}
