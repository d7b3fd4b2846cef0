//! The one error type the server returns and the browser shows.
//!
//! Every variant carries only what a person may read. Internal details (database messages,
//! stack traces) are logged on the server under a reference id, and only the id travels.

use leptos::prelude::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::codec::JsonEncoding;
use serde::{Deserialize, Serialize};

/// One field of a form that did not pass validation, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// The input was wrong; each entry names a field and says what is wrong with it.
    #[error("{}", join_messages(.0))]
    Invalid(Vec<FieldError>),
    #[error("Please sign in to continue.")]
    Unauthenticated,
    /// The caller is signed in but may not do this; the message says who can help.
    #[error("{0}")]
    Forbidden(String),
    /// Names what was not found ("Campaign", "Participant").
    #[error("{0} was not found.")]
    NotFound(String),
    /// The request clashes with the current state (a duplicate, a stale edit).
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts; the message says when to try again.
    #[error("{0}")]
    TooManyRequests(String),
    /// A service Refloop depends on (Stripe, the database) cannot be used right now.
    #[error("{0}")]
    Unavailable(String),
    #[error(
        "Something went wrong on our side. Please try again; if it keeps happening, \
         give your administrator the reference {reference}."
    )]
    Internal { reference: String },
    /// The browser could not talk to the server, or the answer made no sense.
    #[error("Refloop could not be reached ({0}). Check your connection and try again.")]
    Transport(String),
}

fn join_messages(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| e.message.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

impl AppError {
    /// A single invalid field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Invalid(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    /// Every problem a check found, each with its field.
    pub fn fields(errors: Vec<(String, String)>) -> Self {
        AppError::Invalid(
            errors
                .into_iter()
                .map(|(field, message)| FieldError { field, message })
                .collect(),
        )
    }

    /// The message for one field, if this error names it.
    pub fn field_message(&self, field: &str) -> Option<&str> {
        match self {
            AppError::Invalid(errors) => errors
                .iter()
                .find(|e| e.field == field)
                .map(|e| e.message.as_str()),
            _ => None,
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Invalid(_) => 422,
            AppError::Unauthenticated => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::Conflict(_) => 409,
            AppError::TooManyRequests(_) => 429,
            AppError::Unavailable(_) => 503,
            AppError::Internal { .. } => 500,
            AppError::Transport(_) => 502,
        }
    }

    /// Logs an internal failure under a fresh reference id and returns the error a person sees.
    #[cfg(feature = "ssr")]
    pub fn internal(context: &str, detail: impl std::fmt::Display) -> Self {
        let reference = reference_id();
        tracing::error!(%reference, context, error = %detail, "internal error");
        AppError::Internal { reference }
    }
}

/// A short random id that ties a message shown to a person to the log line with the details.
#[cfg(feature = "ssr")]
pub fn reference_id() -> String {
    use rand::Rng;
    format!("{:08x}", rand::thread_rng().gen::<u32>())
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(m) | ServerFnErrorErr::MissingArg(m) => {
                AppError::invalid("request", format!("The request was incomplete: {m}"))
            }
            other => AppError::Transport(other.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => {
                let reference = reference_id();
                tracing::error!(%reference, error = %err, "database unavailable");
                AppError::Unavailable(format!(
                    "The database is not answering right now. Please try again in a moment \
                     (reference {reference})."
                ))
            }
            _ => AppError::internal("database", err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_read_as_sentences_and_can_be_looked_up() {
        let err = AppError::Invalid(vec![
            FieldError {
                field: "email".into(),
                message: "Enter an email address.".into(),
            },
            FieldError {
                field: "password".into(),
                message: "Use at least 10 characters.".into(),
            },
        ]);
        assert_eq!(
            err.to_string(),
            "Enter an email address. Use at least 10 characters."
        );
        assert_eq!(
            err.field_message("password"),
            Some("Use at least 10 characters.")
        );
        assert_eq!(err.field_message("name"), None);
        assert_eq!(err.status(), 422);
    }

    #[test]
    fn internal_errors_show_only_the_reference() {
        let err = AppError::Internal {
            reference: "ref-123".into(),
        };
        let text = err.to_string();
        assert!(text.contains("ref-123"));
        assert_eq!(err.status(), 500);
    }

    #[test]
    fn errors_survive_the_trip_to_the_browser() {
        let err = AppError::Forbidden("You need Manage team.".into());
        let bytes = err.ser();
        assert_eq!(AppError::de(bytes), err);
    }
}
