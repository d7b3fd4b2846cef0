//! Outgoing email over SMTP, when a mail server is configured (`REFLOOP_SMTP_URL`).
//! Without one, Refloop shows links to copy instead of sending them. Campaign emails wait their
//! turn for the instance's sending rate (`REFLOOP_SMTP_RATE`), which every process on the
//! database shares.

use std::time::Duration;

use lettre::{
    message::{
        header::{HeaderName, HeaderValue},
        Mailbox, MultiPart,
    },
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};

use crate::db::{self, Db};

/// Emails a second an instance sends unless told otherwise.
pub const DEFAULT_RATE: f64 = 10.0;

#[derive(Clone)]
pub struct Mailer {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    /// Campaign emails a second, for the whole instance.
    rate: f64,
}

/// One email, both parts written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    /// The name shown as the sender (the address is the instance's); none: the instance's.
    pub from_name: Option<String>,
    pub reply_to: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Where one click unsubscribes the reader (`List-Unsubscribe`, RFC 8058).
    pub unsubscribe: Option<String>,
}

/// Why an email was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("no mail server is configured")]
    NotConfigured,
    /// The message cannot be made (a bad address): sending again would not help.
    #[error("{0}")]
    Unsendable(String),
    /// The server refused it for good (5xx).
    #[error("the mail server refused it: {0}")]
    Refused(String),
    /// It may go through later (4xx, the server unreachable).
    #[error("the mail server did not take it: {0}")]
    Failed(String),
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: never print it.
        f.debug_struct("Mailer")
            .field("configured", &self.transport.is_some())
            .field("from", &self.from.to_string())
            .finish()
    }
}

impl Mailer {
    /// `url` like `smtp://user:pass@mail.example.com:587?tls=required` or `smtps://…`.
    pub fn new(url: Option<&str>, from: &str) -> Result<Mailer, String> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("REFLOOP_SMTP_FROM `{from}` is not a mailbox: {e}"))?;
        let transport = match url.filter(|u| !u.is_empty()) {
            None => None,
            Some(url) => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| format!("REFLOOP_SMTP_URL is not a usable SMTP URL: {e}"))?
                    .build(),
            ),
        };
        Ok(Mailer {
            transport,
            from,
            rate: DEFAULT_RATE,
        })
    }

    /// Sends at most `per_second` campaign emails a second, all processes together.
    pub fn with_rate(mut self, per_second: f64) -> Mailer {
        self.rate = per_second;
        self
    }

    /// Takes one of the instance's turns to send a campaign email, or says how long until
    /// there is one. A second's worth may go at once; then they go evenly spaced.
    pub async fn take_turn(&self, db: &Db) -> Result<Result<(), Duration>, sqlx::Error> {
        let interval_ms = (1000.0 / self.rate).ceil().max(1.0) as i64;
        let now_ms = crate::jobs::queue::now_ms();
        let ahead_ms = (1000 - interval_ms).max(0);
        Ok(
            match db::emails::take_send_turn(db.pool(), now_ms, interval_ms, ahead_ms).await? {
                None => Ok(()),
                Some(wait_ms) => Err(Duration::from_millis(wait_ms as u64)),
            },
        )
    }

    /// The address emails come from.
    pub fn from_address(&self) -> String {
        self.from.email.to_string()
    }

    /// Sends a campaign email: text and HTML parts, the sender's name, reply-to and the
    /// one-click unsubscribe headers.
    pub async fn send_email(&self, email: &Email) -> Result<(), SendError> {
        let Some(transport) = &self.transport else {
            return Err(SendError::NotConfigured);
        };
        let bad = |what: &str, e: &dyn std::fmt::Display| {
            SendError::Unsendable(format!("{what} is not a usable address: {e}"))
        };
        let to: Mailbox = email.to.parse().map_err(|e| bad(&email.to, &e))?;
        let from = match &email.from_name {
            Some(name) => Mailbox::new(Some(name.clone()), self.from.email.clone()),
            None => self.from.clone(),
        };
        let mut builder = Message::builder().from(from).to(to).subject(&email.subject);
        if let Some(reply_to) = &email.reply_to {
            builder = builder.reply_to(reply_to.parse().map_err(|e| bad(reply_to, &e))?);
        }
        if let Some(url) = &email.unsubscribe {
            builder = builder
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{url}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".into(),
                ));
        }
        let message = builder
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))
            .map_err(|e| SendError::Unsendable(e.to_string()))?;
        transport.send(message).await.map(|_| ()).map_err(|e| {
            if e.is_permanent() {
                SendError::Refused(e.to_string())
            } else {
                SendError::Failed(e.to_string())
            }
        })
    }

    /// Whether the mail server accepts a connection (and the login, when the URL has one).
    pub async fn test_connection(&self) -> Result<(), String> {
        let Some(transport) = &self.transport else {
            return Err("no mail server is configured (REFLOOP_SMTP_URL)".into());
        };
        match transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err("the mail server did not answer as SMTP".into()),
            Err(e) => Err(format!("cannot be reached (REFLOOP_SMTP_URL): {e}")),
        }
    }

    pub fn disabled() -> Mailer {
        Mailer::new(None, "Refloop <refloop@localhost>").expect("a valid mailbox")
    }

    pub fn is_configured(&self) -> bool {
        self.transport.is_some()
    }
}
