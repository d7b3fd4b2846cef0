//! The API's errors: `{"error": {"type", "code"?, "message", "field"?}}` with the HTTP status
//! that goes with the type.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::AppError;

/// An error as the API answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    /// `invalid_request_error`, `authentication_error`, `permission_error`, `not_found_error`,
    /// `conflict_error`, `join_refused`, `rate_limit_error`, `idempotency_error` or `api_error`.
    pub kind: &'static str,
    /// A stable code where there is one (a join refusal's reason).
    pub code: Option<String>,
    pub message: String,
    pub field: Option<String>,
    /// Seconds to wait, for a 429.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            kind,
            code: None,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    /// A wrong parameter, named.
    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            field: Some(field.into()),
            ..ApiError::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
        }
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                kind: self.kind.into(),
                code: self.code.clone(),
                message: self.message.clone(),
                field: self.field.clone(),
            },
        }
    }
}

/// What every error answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong, and where.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// `invalid_request_error`, `authentication_error`, `permission_error`, `not_found_error`,
    /// `conflict_error`, `join_refused`, `rate_limit_error`, `idempotency_error` or `api_error`.
    #[serde(rename = "type")]
    #[schema(example = "invalid_request_error")]
    pub kind: String,
    /// A stable code where there is one: a join refusal's reason (`already_joined`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// What is wrong, for a person to read.
    pub message: String,
    /// The parameter that is wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> ApiError {
        let message = e.to_string();
        match e {
            AppError::Invalid(errors) => {
                let first = errors.first();
                ApiError {
                    field: first.map(|f| f.field.clone()),
                    ..ApiError::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
                }
            }
            AppError::Unauthenticated => {
                ApiError::new(StatusCode::UNAUTHORIZED, "authentication_error", message)
            }
            AppError::Forbidden(_) => {
                ApiError::new(StatusCode::FORBIDDEN, "permission_error", message)
            }
            AppError::NotFound(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found_error", message)
            }
            AppError::Conflict(_) => ApiError::new(StatusCode::CONFLICT, "conflict_error", message),
            AppError::TooManyRequests(_) => ApiError {
                retry_after: Some(60),
                ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limit_error", message)
            },
            AppError::Unavailable(_) | AppError::Transport(_) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "api_error", message)
            }
            AppError::Internal { .. } => {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "api_error", message)
            }
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> ApiError {
        AppError::from(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_str(&secs.to_string()).expect("digits"),
            );
        }
        response
    }
}

/// Any other path under `/api/v1`.
pub async fn no_such_route() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "There is no such route in the API.",
    )
}
