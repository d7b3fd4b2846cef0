//! Prints how fast welcome emails go out at the instance's sending rate, and that none is lost
//! or sent twice while the mail server turns some away, on SQLite and on PostgreSQL:
//!
//!     . scripts/env.sh && cargo run --release --features ssr --example bench_emails
//!
//! 10,000 people (`BENCH_PEOPLE`) join a live campaign whose welcome email is on, through the
//! join service the public page uses, 16 at a time. A mail sink on loopback speaks SMTP and
//! answers every tenth message `451` (a failure worth retrying), so 10% of the attempts fail.
//! Two job workers, as two processes would, send at `--smtp-rate` 200 a second
//! (`BENCH_RATE`), which they share. Printed: emails the sink accepted a second against that
//! rate, the people who got none (lost) or more than one (doubled), and the failed attempts
//! that were retried.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

mod support;

use refloop::{
    campaigns::{self, join::JoinRequest},
    db::Db,
    domain::emails::EmailKind,
    jobs::{Queue, Worker, WorkerConfig},
    mail::Mailer,
    notifications,
    workflows::{self, StripeAccess},
};
use support::Postgres;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
};

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What the sink saw: messages accepted per recipient, and messages turned away.
#[derive(Default)]
struct Inbox {
    accepted: HashMap<String, u32>,
    refused: u64,
    first_at: Option<Instant>,
    last_at: Option<Instant>,
}

/// An SMTP server on loopback that turns away every tenth message with `451`.
async fn flaky_sink(inbox: Arc<Mutex<Inbox>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(Mutex::new(0u64));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (inbox, count) = (inbox.clone(), count.clone());
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ready\r\n").await.ok();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(to) = data.as_mut() {
                        if line == "." {
                            let n = {
                                let mut c = count.lock().unwrap();
                                *c += 1;
                                *c
                            };
                            let reply: &[u8] = {
                                let mut inbox = inbox.lock().unwrap();
                                if n % 10 == 0 {
                                    inbox.refused += 1;
                                    b"451 4.3.0 try again later\r\n"
                                } else {
                                    *inbox.accepted.entry(to.clone()).or_default() += 1;
                                    inbox.first_at.get_or_insert_with(Instant::now);
                                    inbox.last_at = Some(Instant::now());
                                    b"250 queued\r\n"
                                }
                            };
                            data = None;
                            write.write_all(reply).await.ok();
                        } else if let Some(address) = line.strip_prefix("To: ") {
                            *to = address.to_string();
                        }
                        continue;
                    }
                    let verb = line.split_whitespace().next().unwrap_or("").to_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 sink\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            write.write_all(b"221 bye\r\n").await.ok();
                            break;
                        }
                        _ => b"250 ok\r\n",
                    };
                    if write.write_all(reply).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

async fn run(name: &str, db: Db) {
    let people = setting("BENCH_PEOPLE", 10_000) as usize;
    let rate = setting("BENCH_RATE", 200) as f64;
    let owner = support::owner(&db).await;
    refloop::db::campaigns::set_participant_limit(db.pool(), &owner.account_id, 1_000_000)
        .await
        .unwrap();
    let campaign = support::live_campaign(&db, &owner).await;
    let mut form = campaigns::emails::settings(&db, &owner, &campaign)
        .await
        .unwrap()
        .to_form();
    for t in &mut form.templates {
        t.enabled = t.kind == EmailKind::Welcome;
    }
    campaigns::emails::save(&db, &owner, &campaign, form)
        .await
        .unwrap();

    let inbox = Arc::new(Mutex::new(Inbox::default()));
    let port = flaky_sink(inbox.clone()).await;
    let access = StripeAccess {
        public_url: "https://refer.bench.test".into(),
        ..Default::default()
    };
    let queue = Queue::new(db.clone());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    for _ in 0..2 {
        let mailer = Mailer::new(
            Some(&format!("smtp://127.0.0.1:{port}")),
            "Bench <bench@refloop.test>",
        )
        .unwrap()
        .with_rate(rate);
        let registry = notifications::register(workflows::registry(access.clone()), mailer);
        let config = WorkerConfig {
            concurrency: 8,
            poll_ms: 20,
            retry_base_ms: 200,
            ..Default::default()
        };
        tokio::spawn(Worker::new(queue.clone(), registry, config).run(stopped.clone()));
    }

    let started = Instant::now();
    let next = Arc::new(Mutex::new(0usize));
    let joiners: Vec<_> = (0..16)
        .map(|_| {
            let (db, next) = (db.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let n = {
                        let mut n = next.lock().unwrap();
                        *n += 1;
                        *n
                    };
                    if n > people {
                        break;
                    }
                    let req = JoinRequest {
                        slug: "bench".into(),
                        values: HashMap::from([
                            ("email".to_string(), format!("p{n}@bench.test")),
                            ("first_name".to_string(), format!("P{n}")),
                        ]),
                        referral_code: None,
                        honeypot: String::new(),
                        ip: format!("10.0.{}.{}", n / 250, n % 250),
                        sighting: Default::default(),
                    };
                    campaigns::join::join(&db, 1_000_000, req).await.unwrap();
                }
            })
        })
        .collect();
    for j in joiners {
        j.await.unwrap();
    }
    let joined_in = started.elapsed();

    // Wait for every email to be accounted for (sent, or not), at most the time the rate needs
    // and a minute more.
    let deadline = Instant::now() + Duration::from_secs_f64(people as f64 / rate + 60.0);
    loop {
        let open: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM jobs WHERE kind = 'email.send' AND status IN ('queued', 'running')",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        if open == 0 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.send(true).ok();
    let sent: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM participant_emails WHERE status = 'sent'")
            .fetch_one(db.pool())
            .await
            .unwrap();
    let inbox = inbox.lock().unwrap();
    let delivered = inbox.accepted.len();
    let doubled = inbox.accepted.values().filter(|n| **n > 1).count();
    let lost = people - delivered;
    let span = match (inbox.first_at, inbox.last_at) {
        (Some(a), Some(b)) => (b - a).as_secs_f64(),
        _ => 0.0,
    };
    let per_sec = if span > 0.0 {
        (delivered as f64 - 1.0) / span
    } else {
        0.0
    };
    println!(
        "{name:<10} {people} joined in {:.1} s; {delivered} welcome emails accepted at {per_sec:.0}/s (rate {rate:.0}/s, two workers sharing it); lost {lost}, doubled {doubled}; {} attempts turned away with 451 and retried; ledger: {sent} sent",
        joined_in.as_secs_f64(),
        inbox.refused,
    );
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&format!("sqlite://{}/bench.db", dir.path().display()))
        .await
        .unwrap();
    run("SQLite", db.clone()).await;
    db.close().await;

    let pg = Postgres::create("refloop_bench_emails").await;
    let db = Db::connect(&pg.url).await.unwrap();
    run("PostgreSQL", db.clone()).await;
    db.close().await;
    pg.drop().await;
}
