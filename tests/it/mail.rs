//! Invitations are emailed when an SMTP server is configured: a real SMTP conversation with a
//! small mail sink listening on loopback.

use std::time::Duration;

use refloop::{
    accounts,
    domain::permissions::Role,
    jobs::{Queue, Worker, WorkerConfig},
    mail::Mailer,
    notifications,
    workflows::{self, StripeAccess},
};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
    sync::{mpsc, watch},
};

use crate::{accounts::owner, support::TestDb};

/// An SMTP server on loopback: answers each message's end of data with the next reply of
/// `script` (then "250"), and passes on the messages it accepted.
pub(crate) async fn mail_sink(script: Vec<&'static str>) -> (u16, mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::unbounded_channel();
    let script = std::sync::Arc::new(std::sync::Mutex::new(script.into_iter()));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (tx, script) = (tx.clone(), script.clone());
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ready\r\n").await.unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            let reply = script.lock().unwrap().next().unwrap_or("250 queued");
                            if reply.starts_with('2') {
                                tx.send(data.take().unwrap()).ok();
                            }
                            data = None;
                            write
                                .write_all(format!("{reply}\r\n").as_bytes())
                                .await
                                .ok();
                        } else {
                            body.push_str(&line);
                            body.push('\n');
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
    (port, rx)
}

/// Job workers delivering emails (participants' and teammates') through `mailer`, as a
/// process's would, until the returned sender is dropped; `access.sealer` opens what they carry.
pub(crate) fn workers(queue: &Queue, access: &StripeAccess, mailer: Mailer) -> watch::Sender<bool> {
    let (stop, stopped) = watch::channel(false);
    let config = WorkerConfig {
        concurrency: 4,
        poll_ms: 20,
        retry_base_ms: 20,
        ..Default::default()
    };
    let registry = notifications::register(workflows::registry(access.clone()), mailer);
    tokio::spawn(Worker::new(queue.clone(), registry, config).run(stopped));
    stop
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_is_emailed_when_smtp_is_configured() {
    let t = TestDb::sqlite().await;
    let (port, mut inbox) = mail_sink(vec![]).await;
    let mailer = Mailer::new(
        Some(&format!("smtp://127.0.0.1:{port}")),
        "Refloop <team@refloop.test>",
    )
    .unwrap();
    let (alice, _) = owner(&t.db, "Acme", "alice@acme.test").await;
    let access = StripeAccess::default();
    let _workers = workers(&Queue::new(t.db.clone()), &access, mailer.clone());
    let sent = accounts::invite(
        &t.db,
        &access.sealer,
        &mailer,
        "https://refloop.acme.test",
        &alice,
        "bob@acme.test",
        Role::Manager,
    )
    .await
    .unwrap();
    assert!(sent.emailed);
    // The link waits in the job queue sealed.
    let token = sent.link.rsplit('/').next().unwrap();
    let payload: String = sqlx::query_scalar("SELECT payload FROM jobs WHERE kind = 'email.team'")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    assert!(!payload.contains(token), "{payload}");
    let message = tokio::time::timeout(Duration::from_secs(10), inbox.recv())
        .await
        .expect("the invitation within 10 s")
        .unwrap();
    assert!(message.contains("Content-Type: text/html"), "{message}");
    assert!(message.contains("To: bob@acme.test"), "{message}");
    assert!(
        message.contains("Subject: Join Acme on Refloop"),
        "{message}"
    );
    assert!(
        message.contains(&sent.link),
        "the email carries the same link: {message}"
    );
    assert!(message.contains("as Manager"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_mail_server_is_unreachable_the_invitation_is_retried_and_the_link_given() {
    let t = TestDb::sqlite().await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mailer = Mailer::new(
        Some(&format!("smtp://127.0.0.1:{port}")),
        "team@refloop.test",
    )
    .unwrap();
    let (alice, _) = owner(&t.db, "Acme", "alice@acme.test").await;
    let access = StripeAccess::default();
    let _workers = workers(&Queue::new(t.db.clone()), &access, mailer.clone());
    let sent = accounts::invite(
        &t.db,
        &access.sealer,
        &mailer,
        "http://x",
        &alice,
        "bob@acme.test",
        Role::Viewer,
    )
    .await
    .unwrap();
    assert!(sent.emailed, "on its way through the queue");
    assert!(sent.link.contains("/invite/"));
    // Each attempt fails to connect; the job is tried again later, and nothing is sent.
    let mut retried = false;
    for _ in 0..200 {
        let row: Option<(i64, String)> = sqlx::query_as(
            "SELECT j.attempts, e.status FROM jobs j, team_emails e WHERE j.kind = 'email.team'",
        )
        .fetch_optional(t.db.pool())
        .await
        .unwrap();
        if let Some((attempts, status)) = row {
            if attempts >= 2 && status == "retry" {
                retried = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(retried, "the invitation email is retried");
    assert_eq!(
        accounts::list_invitations(&t.db, &alice)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn bad_mail_settings_are_refused_naming_the_setting() {
    let err = Mailer::new(None, "not a mailbox").unwrap_err();
    assert!(err.contains("REFLOOP_SMTP_FROM"), "{err}");
    let err = Mailer::new(Some("ftp://mail"), "a@b.test").unwrap_err();
    assert!(err.contains("REFLOOP_SMTP_URL"), "{err}");
}
