//! `GET /export/campaigns/{id}/participants.csv`: a campaign's participants as a download.
//! A plain route rather than a server function, so the browser saves the file itself.

use axum::{
    extract::{Path, Request, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};

use super::AppState;
use crate::{
    auth::require_from, campaigns::people, domain::permissions::Permission, error::AppError,
};

pub async fn participants_csv(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let ip = crate::auth::client_ip(&parts);
    match export(&state, &parts.headers, ip, &id).await {
        Ok((file_name, csv)) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{file_name}\""),
                ),
                (header::CACHE_CONTROL, "no-store".to_string()),
            ],
            csv,
        )
            .into_response(),
        Err(e) => (
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            e.to_string(),
        )
            .into_response(),
    }
}

async fn export(
    state: &AppState,
    headers: &HeaderMap,
    ip: String,
    id: &str,
) -> Result<(String, String), AppError> {
    let ctx = require_from(&state.db, headers, ip, Permission::ExportParticipants).await?;
    people::export_csv(&state.db, &ctx, id).await
}
