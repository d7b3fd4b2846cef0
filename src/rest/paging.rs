//! Lists as Stripe pages them: `limit` (1 to 100, 10 without it) and `starting_after` an
//! object's id, newest first, answered as `{"object": "list", "url", "data", "has_more"}`.

use axum::{
    extract::{rejection::QueryRejection, Query},
    http::StatusCode,
};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;

/// The most a page holds, and what it holds without `limit`.
pub const LIMIT_MAX: i64 = 100;
pub const LIMIT_DEFAULT: i64 = 10;

/// A list's query string, or what is wrong with it.
pub fn query_of<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    query.map(|Query(q)| q).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            e.body_text(),
        )
    })
}

/// The page's size.
pub fn limit_of(raw: Option<&str>) -> Result<i64, ApiError> {
    match raw {
        None => Ok(LIMIT_DEFAULT),
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=LIMIT_MAX).contains(l))
            .ok_or_else(|| {
                ApiError::invalid(
                    "limit",
                    format!("`limit` is a whole number from 1 to {LIMIT_MAX}."),
                )
            }),
    }
}

/// A page of a list, newest first: ask for the next with `starting_after` the last one's id.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    /// Always `list`.
    pub object: String,
    /// The list's path.
    pub url: String,
    pub data: Vec<T>,
    /// Whether there are more after this page.
    pub has_more: bool,
}

/// A page as the API answers it.
pub fn page<T>(url: &str, data: Vec<T>, has_more: bool) -> Page<T> {
    Page {
        object: "list".into(),
        url: url.into(),
        data,
        has_more,
    }
}
