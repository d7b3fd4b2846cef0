//! Outgoing email over SMTP, when a mail server is configured (`REFLOOP_SMTP_URL`).
//! Without one, Refloop shows links to copy instead of sending them.

use lettre::{message::Mailbox, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

#[derive(Clone)]
pub struct Mailer {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
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
        Ok(Mailer { transport, from })
    }

    pub fn disabled() -> Mailer {
        Mailer::new(None, "Refloop <refloop@localhost>").expect("a valid mailbox")
    }

    pub fn is_configured(&self) -> bool {
        self.transport.is_some()
    }

    pub async fn send(&self, to: &str, subject: &str, body: String) -> Result<(), String> {
        let Some(transport) = &self.transport else {
            return Err("no mail server is configured".into());
        };
        let to: Mailbox = to.parse().map_err(|e| format!("bad recipient {to}: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .body(body)
            .map_err(|e| e.to_string())?;
        transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
