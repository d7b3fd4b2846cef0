//! The files in `deploy/` are what the tools that read them accept: systemd the unit (its
//! ExecStart pointed at this build), caddy the Caddyfile. `end2end/tests/deploy.spec.ts` then
//! runs both for real, the one-file build behind caddy over HTTPS.

use std::{path::Path, process::Command};

fn deploy(file: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("deploy")
            .join(file),
    )
    .unwrap()
}

#[test]
fn systemd_accepts_the_unit() {
    let unit = deploy("refloop.service");
    assert!(unit.contains("ExecStart=/usr/local/bin/refloop serve"));
    for setting in [
        "User=refloop",
        "StateDirectory=refloop",
        "Restart=on-failure",
    ] {
        assert!(unit.contains(setting), "{setting}");
    }
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("refloop.service");
    std::fs::write(
        &copy,
        unit.replace("/usr/local/bin/refloop", env!("CARGO_BIN_EXE_refloop")),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&copy)
        .output()
        .expect("systemd-analyze (scripts/setup installs systemd)");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_setting_in_the_unit_is_one_refloop_knows() {
    // A misspelt name would be ignored silently by systemd and by Refloop alike.
    let unit = deploy("refloop.service");
    let help = Command::new(env!("CARGO_BIN_EXE_refloop"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for name in unit
        .lines()
        .filter_map(|l| l.strip_prefix("Environment="))
        .filter_map(|l| l.split_once('=').map(|(name, _)| name))
        .filter(|name| *name != "RUST_LOG")
    {
        assert!(
            help.contains(&format!("[env: {name}")),
            "{name} is not a setting"
        );
    }
}

#[test]
fn caddy_accepts_the_caddyfile() {
    let out = Command::new("caddy")
        .args(["adapt", "--adapter", "caddyfile", "--config"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/Caddyfile"))
        .env("REFLOOP_DOMAIN", "refer.acme.test")
        .env("REFLOOP_UPSTREAM", "127.0.0.1:3000")
        .output()
        .expect("caddy (scripts/setup installs it)");
    let config = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(config.contains("refer.acme.test"), "{config}");
    assert!(config.contains("\"dial\":\"127.0.0.1:3000\""), "{config}");
}
