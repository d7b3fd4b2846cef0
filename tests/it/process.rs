//! The real binary: start-up with defaults, validation of settings, graceful shutdown.

use std::{
    net::TcpListener,
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_refloop");

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) fn refloop(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("LEPTOS_SITE_ADDR")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

pub(crate) async fn wait_healthy(port: u16, child: &mut Child) {
    let url = format!("http://127.0.0.1:{port}/healthz");
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(res) = reqwest::get(&url).await {
            if res.status().is_success() {
                return;
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("refloop exited early with {status}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("refloop did not become healthy on port {port}");
}

pub(crate) fn wait_exit(child: Child) -> Output {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut child = child;
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "refloop did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

pub(crate) fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn starts_with_the_embedded_defaults_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = refloop(dir.path())
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .spawn()
        .unwrap();
    wait_healthy(port, &mut child).await;
    // The default database is a SQLite file under data/, created and migrated on start.
    assert!(dir.path().join("data/refloop.db").is_file());
    // Secrets in addresses do not reach the request log.
    for path in ["/p/PersonalSecret42", "/invite/InviteSecret42"] {
        reqwest::get(format!("http://127.0.0.1:{port}{path}"))
            .await
            .unwrap();
    }
    signal(&child, "TERM");
    let out = wait_exit(child);
    let log =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("SIGTERM") && log.contains("stopped"), "{log}");
    assert!(log.contains("/p/…") && log.contains("/invite/…"), "{log}");
    assert!(!log.contains("Secret42"), "{log}");
}

#[tokio::test]
async fn stops_cleanly_on_sigint() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = refloop(dir.path())
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .spawn()
        .unwrap();
    wait_healthy(port, &mut child).await;
    signal(&child, "INT");
    let out = wait_exit(child);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("SIGINT"));
}

#[test]
fn a_bad_setting_stops_start_up_and_names_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let out = refloop(dir.path())
        .env("DATABASE_URL", "mysql://localhost/refloop")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--database-url") && err.contains("sqlite://"),
        "{err}"
    );

    let out = refloop(dir.path())
        .args(["--addr", "somewhere"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--addr"));
}

#[test]
fn an_unusable_database_stops_start_up_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("not-a-folder"), "").unwrap();
    let out = refloop(dir.path())
        .env("DATABASE_URL", "sqlite://not-a-folder/refloop.db")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("could not open the database named by DATABASE_URL"),
        "{err}"
    );
}

#[tokio::test]
async fn a_process_with_another_secret_key_refuses_to_start_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let key_a = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    let key_b = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=";
    let mut first = refloop(dir.path())
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .env("REFLOOP_SECRET_KEY", key_a)
        .spawn()
        .unwrap();
    wait_healthy(port, &mut first).await;
    signal(&first, "TERM");
    assert!(wait_exit(first).status.success());
    for command in [&["--addr", "127.0.0.1:0"][..], &["worker"][..]] {
        let out = refloop(dir.path())
            .args(command)
            .env("REFLOOP_SECRET_KEY", key_b)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{command:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("REFLOOP_SECRET_KEY") && err.contains("not the one"),
            "{command:?}: {err}"
        );
    }
    // The right key starts again.
    let mut again = refloop(dir.path())
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .env("REFLOOP_SECRET_KEY", key_a)
        .spawn()
        .unwrap();
    wait_healthy(port, &mut again).await;
    signal(&again, "TERM");
    assert!(wait_exit(again).status.success());
}

#[test]
fn the_operator_creates_accounts_and_reset_links_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        refloop(dir.path())
            .env("REFLOOP_PUBLIC_URL", "https://refer.acme.test")
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&[
        "admin",
        "create-account",
        "--company",
        "Acme",
        "--name",
        "Alice",
        "--email",
        "alice@acme.test",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("Created Acme with Alice (alice@acme.test)"),
        "{text}"
    );
    assert!(
        text.contains("https://refer.acme.test/reset-password/"),
        "{text}"
    );
    let out = run(&["admin", "reset-password", "alice@acme.test"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("https://refer.acme.test/reset-password/"),
        "{text}"
    );
    let out = run(&["admin", "reset-password", "nobody@acme.test"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nobody@acme.test"));
}
