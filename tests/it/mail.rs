//! Invitations are emailed when an SMTP server is configured: a real SMTP conversation with a
//! small mail sink listening on loopback.

use refloop::{accounts, domain::permissions::Role, mail::Mailer};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
    sync::mpsc,
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
    let sent = accounts::invite(
        &t.db,
        &mailer,
        "https://refloop.acme.test",
        &alice,
        "bob@acme.test",
        Role::Manager,
    )
    .await
    .unwrap();
    assert!(sent.emailed);
    let message = inbox.recv().await.unwrap();
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
async fn an_unreachable_mail_server_still_gives_the_link_to_copy() {
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
    let sent = accounts::invite(
        &t.db,
        &mailer,
        "http://x",
        &alice,
        "bob@acme.test",
        Role::Viewer,
    )
    .await
    .unwrap();
    assert!(!sent.emailed);
    assert!(sent.link.contains("/invite/"));
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
