use refloop::db::{settings, Db};

use crate::support::TestDb;

crate::on_both_backends!(
    a_missing_setting_reads_as_none,
    set_replaces_the_value,
    get_or_insert_keeps_the_first_value_under_a_race,
    connecting_again_to_a_migrated_database_works,
);

async fn a_missing_setting_reads_as_none(t: &TestDb) {
    assert_eq!(settings::get(&t.db, "nothing-here").await.unwrap(), None);
}

async fn set_replaces_the_value(t: &TestDb) {
    settings::set(&t.db, "watermark", "10").await.unwrap();
    settings::set(&t.db, "watermark", "20").await.unwrap();
    assert_eq!(
        settings::get(&t.db, "watermark").await.unwrap().as_deref(),
        Some("20")
    );
}

async fn get_or_insert_keeps_the_first_value_under_a_race(t: &TestDb) {
    let racers: Vec<_> = (0..8)
        .map(|i| {
            let db = t.db.clone();
            tokio::spawn(async move {
                settings::get_or_insert(&db, "instance_id", &format!("candidate-{i}"))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut seen = Vec::new();
    for racer in racers {
        seen.push(racer.await.unwrap());
    }
    let stored = settings::get(&t.db, "instance_id").await.unwrap().unwrap();
    assert!(stored.starts_with("candidate-"));
    assert!(seen.iter().all(|v| *v == stored), "{seen:?} vs {stored}");
}

async fn connecting_again_to_a_migrated_database_works(t: &TestDb) {
    settings::set(&t.db, "kept", "yes").await.unwrap();
    let again = Db::connect(&t.url)
        .await
        .expect("a second start migrates nothing and opens");
    assert_eq!(
        settings::get(&again, "kept").await.unwrap().as_deref(),
        Some("yes")
    );
    again.close().await;
}
