//! Prints how long the Users tab takes at 100,000 participants, on SQLite and on PostgreSQL:
//!
//!     . scripts/env.sh && cargo run --release --features ssr --example bench_participants
//!
//! Each figure is one call of the service behind the Users tab (the campaign check, the count
//! of matches and one page of 50 rows): the median, p95 and slowest of 20 calls. PostgreSQL is
//! reached through `TEST_DATABASE_URL` (a throwaway database is created and dropped).

use std::time::Instant;

mod support;

use refloop::{
    auth::Ctx,
    campaigns::{self, people},
    db::{
        new_id,
        participants::{self, ParticipantRow},
        Db,
    },
    domain::participants::{
        ParticipantKind, ParticipantQuery, ParticipantSort, Qualification, StripeStatus,
    },
};
use sqlx::Executor;

const PARTICIPANTS: usize = 100_000;
const RUNS: usize = 20;
const FIRST: [&str; 10] = [
    "Ann", "Bob", "Cid", "Dora", "Eve", "Finn", "Gus", "Hana", "Ivo", "Jade",
];
const LAST: [&str; 10] = [
    "Lee", "Smith", "Garcia", "Okafor", "Novak", "Rossi", "Tanaka", "Kowalski", "Dubois", "Berg",
];

async fn fill(db: &Db, ctx: &Ctx, campaign_id: &str) {
    let mut referrers: Vec<String> = Vec::new();
    let mut tx = db.begin().await.unwrap();
    for n in 0..PARTICIPANTS {
        let invited = n % 3 == 2 && !referrers.is_empty();
        let p = ParticipantRow {
            id: new_id("par"),
            account_id: ctx.account_id.clone(),
            campaign_id: campaign_id.into(),
            email: format!("user{n:06}@example{}.com", n % 50),
            first_name: FIRST[n % 10].into(),
            last_name: LAST[(n / 10) % 10].into(),
            fields: Vec::new(),
            code: format!("c{n:07}"),
            page_token: format!("t{n:07}"),
            referrer_id: invited.then(|| referrers[n % referrers.len()].clone()),
            source: "import".into(),
            qualification: if invited {
                if n % 2 == 0 {
                    Qualification::Qualified
                } else {
                    Qualification::Pending
                }
            } else {
                Qualification::NotApplicable
            },
            stripe_status: if n % 4 == 0 {
                StripeStatus::Sent
            } else {
                StripeStatus::NotSent
            },
            stripe_customer_id: None,
            stripe_note: String::new(),
            stripe_since: None,
            referrals: (n % 7) as i64,
            qualified_referrals: 0,
            created_at: 1_700_000_000 + n as i64,
            spent: 0,
            qualified_at: None,
            qualification_note: String::new(),
        };
        if !invited {
            referrers.push(p.id.clone());
        }
        participants::insert_all(&mut tx, std::slice::from_ref(&p))
            .await
            .unwrap();
        if n % 10_000 == 9_999 {
            tx.commit().await.unwrap();
            tx = db.begin().await.unwrap();
        }
    }
    tx.commit().await.unwrap();
}

async fn measure(db: Db) {
    let ctx = support::owner(&db).await;
    let id = campaigns::create(&db, &ctx, "Bench", "bench")
        .await
        .unwrap();
    let start = Instant::now();
    fill(&db, &ctx, &id).await;
    if db.backend() == refloop::db::Backend::Postgres {
        db.pool().execute("ANALYZE participants").await.unwrap();
    }
    println!(
        "Users tab on {} with {PARTICIPANTS} participants (filled in {:.1} s):",
        db.backend().name(),
        start.elapsed().as_secs_f64()
    );
    let cases: [(&str, ParticipantQuery); 8] = [
        ("first page, newest first", ParticipantQuery::default()),
        (
            "last page, newest first",
            ParticipantQuery {
                page: 2_000,
                ..Default::default()
            },
        ),
        (
            "first page by name",
            ParticipantQuery {
                sort: ParticipantSort::Name,
                ..Default::default()
            },
        ),
        (
            "search an email (1 match)",
            ParticipantQuery {
                search: "user054321@".into(),
                ..Default::default()
            },
        ),
        (
            "search a code (1 match)",
            ParticipantQuery {
                search: "c0099999".into(),
                ..Default::default()
            },
        ),
        (
            "search a surname (10,000 matches)",
            ParticipantQuery {
                search: "okafor".into(),
                ..Default::default()
            },
        ),
        (
            "search with no match",
            ParticipantQuery {
                search: "nobody-here".into(),
                ..Default::default()
            },
        ),
        (
            "invited, qualified, not in Stripe, most referrals",
            ParticipantQuery {
                kind: Some(ParticipantKind::Invited),
                qualification: Some(Qualification::Qualified),
                stripe: Some(StripeStatus::NotSent),
                sort: ParticipantSort::Referrals,
                ..Default::default()
            },
        ),
    ];
    let mut slowest_p95: f64 = 0.0;
    for (name, query) in cases {
        let mut times = Vec::with_capacity(RUNS);
        let mut total = 0;
        for _ in 0..RUNS {
            let t = Instant::now();
            let page = people::list(&db, &ctx, &id, &query).await.unwrap();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            total = page.total;
        }
        times.sort_by(|a, b| a.total_cmp(b));
        let p95 = times[(RUNS * 95).div_ceil(100) - 1];
        slowest_p95 = slowest_p95.max(p95);
        println!(
            "  {name:<52} median {:>6.1} ms, p95 {p95:>6.1} ms, slowest {:>6.1} ms ({total} matches)",
            times[RUNS / 2],
            times[RUNS - 1]
        );
    }
    println!("  slowest query's p95: {slowest_p95:.1} ms (goal: < 20 ms on both backends)");
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    measure(
        Db::connect(&format!("sqlite://{}/bench.db", dir.path().display()))
            .await
            .unwrap(),
    )
    .await;

    let pg = support::Postgres::create("refloop_bench_participants").await;
    let db = Db::connect(&pg.url).await.unwrap();
    measure(db.clone()).await;
    db.close().await;
    pg.drop().await;
}
