//! Nothing grows forever: the prune deletes what has served its purpose and keeps the rest.

use refloop::{db::unix_now, housekeeping, jobs::queue::now_ms};
use sqlx::Row;

use crate::{accounts::owner, support::TestDb};

crate::on_both_backends!(the_prune_deletes_only_what_has_served_its_purpose);

async fn count(t: &TestDb, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(t.db.pool())
        .await
        .unwrap()
        .get::<i64, _>(0)
}

async fn the_prune_deletes_only_what_has_served_its_purpose(t: &TestDb) {
    owner(&t.db, "Acme", "alice@acme.test").await;
    let (now, now_ms) = (unix_now(), now_ms());
    let day_ms = 86_400_000;
    for (id, status, finished) in [
        ("job_old_done", "done", Some(now_ms - 20 * day_ms)),
        ("job_old_dead", "dead", Some(now_ms - 20 * day_ms)),
        ("job_new_done", "done", Some(now_ms - day_ms)),
        ("job_old_queued", "queued", None),
    ] {
        sqlx::query("INSERT INTO jobs (id, kind, payload, status, attempts, max_attempts, run_at_ms, created_ms, finished_ms) \
                     VALUES ($1, 'x', '{}', $2, 1, 3, 0, $3, $4)")
            .bind(id)
            .bind(status)
            .bind(now_ms - 30 * day_ms)
            .bind(finished)
            .execute(t.db.pool())
            .await
            .unwrap();
    }
    let user: String = sqlx::query_scalar("SELECT id FROM users LIMIT 1")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    for (hash, expires) in [("expired", now - 10), ("live", now + 3600)] {
        sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(hash)
            .bind(&user)
            .bind(now - 100)
            .bind(expires)
            .execute(t.db.pool())
            .await
            .unwrap();
    }
    for (key, start) in [("signin-ip:old", now - 2 * 86_400), ("signin-ip:new", now)] {
        sqlx::query("INSERT INTO throttles (key, window_start, count) VALUES ($1, $2, 1)")
            .bind(key)
            .bind(start)
            .execute(t.db.pool())
            .await
            .unwrap();
    }
    for (id, at) in [("jat_old", now - 2 * 86_400), ("jat_new", now)] {
        sqlx::query("INSERT INTO join_attempts (id, ip, at) VALUES ($1, '1.1.1.1', $2)")
            .bind(id)
            .bind(at)
            .execute(t.db.pool())
            .await
            .unwrap();
    }
    // The same visitor yesterday-but-one and today: only the old mark goes.
    for day in [now / 86_400 - 3, now / 86_400] {
        sqlx::query(
            "INSERT INTO referral_clicks (referrer_id, visitor, day) VALUES ('p', 'v', $1)",
        )
        .bind(day)
        .execute(t.db.pool())
        .await
        .unwrap();
    }

    let pruned = housekeeping::prune(&t.db, 14).await.unwrap();
    assert_eq!(
        (
            pruned.jobs,
            pruned.throttles,
            pruned.join_attempts,
            pruned.clicks
        ),
        (2, 1, 1, 1),
        "{pruned:?}"
    );
    assert!(pruned.sessions >= 1);
    let jobs: Vec<String> = sqlx::query_scalar("SELECT id FROM jobs ORDER BY id")
        .fetch_all(t.db.pool())
        .await
        .unwrap();
    assert_eq!(jobs, ["job_new_done", "job_old_queued"]);
    assert_eq!(
        count(t, "SELECT COUNT(*) FROM sessions WHERE token_hash = 'live'").await,
        1
    );
    let expired: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE expires_at < $1")
        .bind(now)
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    assert_eq!(expired, 0);
    assert_eq!(count(t, "SELECT COUNT(*) FROM throttles").await, 1);
    assert_eq!(count(t, "SELECT COUNT(*) FROM join_attempts").await, 1);
    assert_eq!(count(t, "SELECT COUNT(*) FROM referral_clicks").await, 1);
    // Nothing more to do the second time.
    let again = housekeeping::prune(&t.db, 14).await.unwrap();
    assert_eq!(again, housekeeping::Pruned::default());
}
