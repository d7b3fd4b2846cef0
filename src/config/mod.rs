//! Configuration from the command line and the environment, with defaults and validation.
//! A bad value stops start-up with a message that names the setting.

use std::{net::SocketAddr, path::PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};
use leptos::config::{Env, LeptosOptions};

mod trusted_proxies;

pub use trusted_proxies::TrustedProxies;

use crate::{db::Backend, domain::team::SignUpPolicy};

#[derive(Parser, Debug)]
#[command(
    name = "refloop",
    version,
    about = "Self-hosted referral programs on your Stripe data"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Serve the web app (the default).
    Serve,
    /// Run only background workers (no web server), e.g. as extra processes on PostgreSQL.
    Worker,
    /// Serve only the built-in Stripe sandbox (its API at /v1, test controls at /_sandbox).
    StripeSandbox {
        /// Port to listen on (127.0.0.1).
        #[arg(long, default_value_t = 12111)]
        port: u16,
    },
    /// The operator's tools, run against DATABASE_URL.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Subcommand, Debug, Clone)]
pub enum AdminCommand {
    /// Prints a one-time link (valid 7 days) with which EMAIL chooses a new password.
    ResetPassword {
        /// The person's email.
        email: String,
    },
    /// Creates an account and its Owner (whatever REFLOOP_SIGNUP says) and prints the link
    /// with which the Owner chooses their password.
    CreateAccount {
        /// The company's name.
        #[arg(long)]
        company: String,
        /// The Owner's name.
        #[arg(long)]
        name: String,
        /// The Owner's email.
        #[arg(long)]
        email: String,
    },
    /// Copies the database to FILE while Refloop runs (SQLite: VACUUM INTO; PostgreSQL:
    /// pg_dump), with FILE.json naming the secret key its secrets are sealed with.
    Backup {
        /// Where to write the backup (never over an existing file).
        file: PathBuf,
    },
    /// Puts the backup FILE back as the database DATABASE_URL names (stop Refloop first). The
    /// secret key must be the backup's; a SQLite database already there is moved aside.
    Restore {
        /// A backup written by `refloop admin backup`, with its FILE.json beside it.
        file: PathBuf,
    },
    /// Applies the migrations this version brings, and exits (for upgrade scripts).
    Migrate,
    /// Deletes now what the hourly prune deletes: finished jobs older than
    /// REFLOOP_JOB_RETENTION_DAYS, expired sessions and links, old throttles and clicks.
    Prune,
    /// Checks the configuration, the database, its migrations, the secret key, Stripe's API
    /// and the mail server: one line each; exits 1 when one fails (for monitoring).
    Check,
    /// Re-seals every secret (Stripe keys, webhook secrets, queued emails) under a new secret
    /// key in one transaction. Stop every Refloop process first; start them with the new key.
    RotateSecretKey {
        /// The new key, 32 bytes in base64; generated when not given. With the key in
        /// REFLOOP_SECRET_KEY_FILE, the file is replaced and the old key kept beside it.
        #[arg(long, env = "REFLOOP_NEW_SECRET_KEY", hide_env_values = true)]
        new_key: Option<Redacted>,
    },
}

#[derive(Args, Debug, Clone)]
pub struct Config {
    /// Address and port to listen on.
    #[arg(long, env = "LEPTOS_SITE_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,

    /// Database: sqlite://PATH (created and migrated on start) or postgres://USER:PASS@HOST/DB.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/refloop.db", value_parser = parse_database_url)]
    pub database_url: String,

    /// A folder to read the front end from (pkg/ with the WASM bundle and styles, the public
    /// files) instead of the files carried in the binary: for development.
    #[arg(long, env = "LEPTOS_SITE_ROOT")]
    pub site_root: Option<PathBuf>,

    /// Log format: `text` for people, `json` for log collectors. Levels come from RUST_LOG.
    #[arg(long, env = "REFLOOP_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Seconds that requests in flight get to finish after SIGINT or SIGTERM.
    #[arg(long, env = "REFLOOP_SHUTDOWN_GRACE_SECS", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(0..=600))]
    pub shutdown_grace_secs: u64,

    /// The address people reach Refloop at, for links in invitations and referral pages
    /// (default: http:// and the listening address). `https://…` makes cookies Secure.
    #[arg(long, env = "REFLOOP_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<String>,

    /// SMTP server for invitation emails, e.g. smtp://user:pass@mail.example.com:587?tls=required.
    /// Without one, invitation links are shown to copy.
    #[arg(long, env = "REFLOOP_SMTP_URL")]
    pub smtp_url: Option<String>,

    /// The sender of Refloop's emails.
    #[arg(
        long,
        env = "REFLOOP_SMTP_FROM",
        default_value = "Refloop <refloop@localhost>"
    )]
    pub smtp_from: String,

    /// Campaign emails the instance sends a second at most, all its processes together, so
    /// that a large import or sync does not flood the mail server.
    #[arg(long, env = "REFLOOP_SMTP_RATE", default_value_t = 10.0, value_parser = parse_rate)]
    pub smtp_rate: f64,

    /// The key that seals secrets at rest (Stripe keys, webhook secrets): 32 bytes in base64.
    /// Give every process sharing one PostgreSQL the same key. Default: the key file below.
    #[arg(long, env = "REFLOOP_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<Redacted>,

    /// Where the generated secret key is kept when REFLOOP_SECRET_KEY is not set.
    #[arg(
        long,
        env = "REFLOOP_SECRET_KEY_FILE",
        default_value = "data/secret.key"
    )]
    pub secret_key_file: PathBuf,

    /// Where Refloop reaches Stripe's API when a merchant connects their own key. Tests point it
    /// at a sandbox.
    #[arg(
        long,
        env = "REFLOOP_STRIPE_API_URL",
        default_value = "https://api.stripe.com"
    )]
    pub stripe_api_url: String,

    /// Where the built-in Stripe sandbox answers, for accounts connected to it. Defaults to
    /// this server's own `/sandbox/stripe` on the loopback address; a separate `worker` process
    /// sets it to the web server's.
    #[arg(long, env = "REFLOOP_SANDBOX_URL")]
    pub sandbox_url: Option<String>,

    /// The built-in Stripe sandbox: `on` (at /sandbox/stripe, for trying Refloop without a Stripe
    /// account; each sandbox account is seen only by the Refloop account it belongs to) or
    /// `off` (its routes answer 404 and it delivers nothing).
    #[arg(long, env = "REFLOOP_SANDBOX", value_enum, default_value_t = SandboxMode::On)]
    pub sandbox: SandboxMode,

    /// Opens the sandbox's instance-wide test controls (reset, settings, clock, accounts) and
    /// every sandbox account to anyone who reaches this server, and lets it deliver webhooks
    /// to any loopback address: for tests and benchmarks, never in production.
    #[arg(long, env = "REFLOOP_SANDBOX_CONTROLS", default_value_t = false)]
    pub sandbox_controls: bool,

    /// Lets outbound webhook endpoints be private addresses (loopback, 10.0.0.0/8, …): for an
    /// endpoint inside the operator's own network, and for tests. Off, an endpoint whose name
    /// resolves only to private addresses is refused and never sent to.
    #[arg(long, env = "REFLOOP_WEBHOOKS_ALLOW_PRIVATE", default_value_t = false)]
    pub webhooks_allow_private: bool,

    /// Requests per second Refloop sends to one Stripe account in test mode, and in live mode
    /// (Stripe's limits are 25 and 100).
    #[arg(long, env = "REFLOOP_STRIPE_TEST_RATE", default_value_t = 25.0, value_parser = parse_rate)]
    pub stripe_test_rate: f64,
    #[arg(long, env = "REFLOOP_STRIPE_LIVE_RATE", default_value_t = 100.0, value_parser = parse_rate)]
    pub stripe_live_rate: f64,

    /// Join-form submissions one address may make per hour on the public pages (bot protection).
    #[arg(long, env = "REFLOOP_JOIN_LIMIT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub join_limit: u64,

    /// Reverse proxies whose `X-Forwarded-For`/`Forwarded` headers name the client: addresses or
    /// ranges, separated by commas (e.g. `127.0.0.1,10.0.0.0/8`). Default: none, and every
    /// connection's own address is the client's.
    #[arg(long, env = "REFLOOP_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: TrustedProxies,

    /// Who may create a new Refloop account on the sign-up page: `first` (open until the first
    /// account exists, then closed), `open`, or `closed`. Teammates always join by invitation.
    #[arg(long, env = "REFLOOP_SIGNUP", value_enum, default_value_t = SignUpPolicy::First)]
    pub signup: SignUpPolicy,

    /// Sign-ups one address may attempt per hour.
    #[arg(long, env = "REFLOOP_SIGNUP_LIMIT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub signup_limit: u64,

    /// Jobs each process runs at once (0: this process runs no jobs).
    #[arg(long, env = "REFLOOP_WORKERS", default_value_t = 4, value_parser = clap::value_parser!(u64).range(0..=256))]
    pub workers: u64,

    /// How long a claimed job stays reserved without a heartbeat before another worker may take
    /// it over (milliseconds).
    #[arg(long, env = "REFLOOP_JOB_LEASE_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(100..=3_600_000))]
    pub job_lease_ms: u64,

    /// How often idle workers look for due jobs when nothing wakes them (milliseconds).
    #[arg(long, env = "REFLOOP_JOB_POLL_MS", default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(10..=600_000))]
    pub job_poll_ms: u64,

    /// Days finished background jobs are kept (for the Operations page) before the hourly prune
    /// deletes them.
    #[arg(long, env = "REFLOOP_JOB_RETENTION_DAYS", default_value_t = 14, value_parser = clap::value_parser!(u64).range(1..=3650))]
    pub job_retention_days: u64,

    /// A bearer token `/metrics` asks for. Without it (and without `--metrics-addr`) `/metrics`
    /// answers 404.
    #[arg(long, env = "REFLOOP_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<Redacted>,

    /// A separate address (e.g. 127.0.0.1:9100) serving only `/metrics`, without a token, for a
    /// scraper on a private network.
    #[arg(long, env = "REFLOOP_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,

    /// `production` (no live reload) or `development`.
    #[arg(long, env = "REFLOOP_ENV", value_enum, default_value_t = RunMode::Production)]
    pub mode: RunMode,
}

/// A setting whose value must not appear in logs or debug output.
#[derive(Clone)]
pub struct Redacted(pub String);

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl std::str::FromStr for Redacted {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Redacted(s.to_string()))
    }
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxMode {
    On,
    Off,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    Production,
    Development,
}

fn parse_public_url(value: &str) -> Result<String, String> {
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .ok_or_else(|| format!("`{value}` must start with http:// or https://"))?;
    if rest.trim_end_matches('/').is_empty() {
        return Err(format!("`{value}` names no host"));
    }
    Ok(value.trim_end_matches('/').to_string())
}

fn parse_rate(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(r) if r > 0.0 && r <= 10_000.0 => Ok(r),
        _ => Err(format!(
            "`{value}` is not a rate: give requests per second, e.g. 25"
        )),
    }
}

fn parse_database_url(value: &str) -> Result<String, String> {
    value.parse::<Backend>()?;
    Ok(value.to_string())
}

impl Config {
    /// The configuration with every default, for tests and tools.
    pub fn defaults() -> Config {
        Cli::parse_from(["refloop"]).config
    }

    /// Every job kind this process runs, with the recurring prune.
    /// The workers' settings for this process.
    pub fn worker_config(&self) -> crate::jobs::WorkerConfig {
        crate::jobs::WorkerConfig {
            concurrency: self.workers as usize,
            lease_ms: self.job_lease_ms as i64,
            poll_ms: self.job_poll_ms,
            shutdown_grace: std::time::Duration::from_secs(self.shutdown_grace_secs),
            ..Default::default()
        }
    }

    /// Where people reach this Refloop, without a trailing slash.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.addr))
    }

    /// The built-in sandbox's address, given the port this server listens on.
    pub fn sandbox_url(&self, port: u16) -> String {
        self.sandbox_url
            .clone()
            .unwrap_or_else(|| format!("http://127.0.0.1:{port}/sandbox/stripe"))
    }

    /// Where this server answers on the loopback address (or the address it listens on), for
    /// requests it makes to itself: the sandbox's webhook deliveries.
    pub fn local_url(&self) -> String {
        let ip = self.addr.ip();
        let host = match ip {
            std::net::IpAddr::V4(v4) if v4.is_unspecified() => "127.0.0.1".to_string(),
            std::net::IpAddr::V6(v6) if v6.is_unspecified() => "[::1]".to_string(),
            std::net::IpAddr::V6(v6) => format!("[{v6}]"),
            std::net::IpAddr::V4(v4) => v4.to_string(),
        };
        format!("http://{host}:{}", self.addr.port())
    }

    /// Whether accounts can connect the built-in sandbox: this server hosts it, or
    /// REFLOOP_SANDBOX_URL names one elsewhere.
    pub fn sandbox_available(&self) -> bool {
        self.sandbox == SandboxMode::On || self.sandbox_url.is_some()
    }

    /// Session cookies are marked Secure when Refloop is reached over HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.public_url().starts_with("https://")
    }

    /// Leptos's options. The front end's files and their names come from `FrontEnd`
    /// (`server::front_end`), not from these.
    pub fn leptos_options(&self) -> LeptosOptions {
        LeptosOptions::builder()
            .output_name("refloop")
            .site_pkg_dir("pkg")
            .site_addr(self.addr)
            .env(match self.mode {
                RunMode::Production => Env::PROD,
                RunMode::Development => Env::DEV,
            })
            .build()
    }
}

/// A database URL with its password replaced, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

pub fn init_logging(config: &Config) {
    use tracing_subscriber::{fmt, EnvFilter};
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = fmt().with_env_filter(filter).with_target(false);
    let _ = match config.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, String> {
        Cli::try_parse_from(std::iter::once("refloop").chain(args.iter().copied()))
            .map(|cli| cli.config)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_the_embedded_setup() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(c.database_url, "sqlite://data/refloop.db");
        assert_eq!(c.shutdown_grace_secs, 20);
    }

    #[test]
    fn bad_values_name_the_setting() {
        let err = parse(&["--addr", "nowhere"]).unwrap_err();
        assert!(err.contains("--addr"), "{err}");
        let err = parse(&["--database-url", "mysql://x"]).unwrap_err();
        assert!(
            err.contains("--database-url") && err.contains("sqlite://"),
            "{err}"
        );
        let err = parse(&["--public-url", "refloop.example"]).unwrap_err();
        assert!(
            err.contains("--public-url") && err.contains("http"),
            "{err}"
        );
        let err = parse(&["--stripe-live-rate", "0"]).unwrap_err();
        assert!(err.contains("--stripe-live-rate"), "{err}");
        let err = parse(&["--shutdown-grace-secs", "9999"]).unwrap_err();
        assert!(err.contains("--shutdown-grace-secs"), "{err}");
    }

    #[test]
    fn passwords_are_hidden_in_messages() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.internal/refloop"),
            "postgres://app:***@db.internal/refloop"
        );
        assert_eq!(
            redact_url("sqlite://data/refloop.db"),
            "sqlite://data/refloop.db"
        );
    }
}
