//! Downloads: `GET /export/campaigns/{id}/participants.csv` (a campaign's participants),
//! `GET /export/campaigns/{id}/syncs/{run}/skipped.csv` (the customers a sync skipped, with
//! why), `GET /export/campaigns/{id}/payouts.csv` (manual rewards to pay out; Manage rewards),
//! and `GET /export/dashboard.csv?table=…` (a table of the dashboard, for the period and
//! campaign in the query as the page has them). Plain routes rather than server functions, so the browser saves the file itself.

use axum::{
    extract::{Path, Query, Request, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};

use crate::state::AppState;
use crate::{
    auth::{client_ip, require_from, Ctx},
    campaigns::{dashboard, people, rewards, sync},
    db::unix_now,
    domain::{dashboard::Period, permissions::Permission},
    error::AppError,
};

/// Who asks, if they may download people's data.
async fn caller(state: &AppState, request: Request) -> Result<Ctx, AppError> {
    caller_with(state, request, Permission::ExportParticipants).await
}

/// Who asks, if they hold `permission`.
async fn caller_with(
    state: &AppState,
    request: Request,
    permission: Permission,
) -> Result<Ctx, AppError> {
    let (parts, _) = request.into_parts();
    let ip = client_ip(&parts);
    require_from(&state.db, &parts.headers, ip, permission).await
}

/// A CSV file as an attachment, or the error with its status.
fn download(file: Result<(String, String), AppError>) -> Response {
    match file {
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

pub async fn participants_csv(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    download(match caller(&state, request).await {
        Ok(ctx) => people::export_csv(&state.db, &ctx, &id).await,
        Err(e) => Err(e),
    })
}

pub async fn sync_skipped_csv(
    State(state): State<AppState>,
    Path((id, run)): Path<(String, String)>,
    request: Request,
) -> Response {
    download(match caller(&state, request).await {
        Ok(ctx) => sync::skipped_csv_file(&state.db, &ctx, &id, &run).await,
        Err(e) => Err(e),
    })
}

/// The manual rewards to pay out, for those who may manage rewards.
pub async fn payouts_csv(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    download(
        match caller_with(&state, request, Permission::ManageRewards).await {
            Ok(ctx) => rewards::payouts_csv(&state.db, &ctx, &id).await,
            Err(e) => Err(e),
        },
    )
}

/// What the dashboard's download asks for: the page's own query, and which table.
#[derive(Debug, serde::Deserialize)]
pub struct DashboardTable {
    table: String,
    #[serde(default)]
    campaign: String,
    #[serde(default)]
    period: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

pub async fn dashboard_csv(
    State(state): State<AppState>,
    Query(q): Query<DashboardTable>,
    request: Request,
) -> Response {
    download(match caller(&state, request).await {
        Ok(ctx) => match Period::parse(&q.period, &q.from, &q.to, unix_now()) {
            Ok(period) => dashboard::csv_file(&state.db, &ctx, &q.campaign, period, &q.table).await,
            Err(message) => Err(AppError::invalid("period", message)),
        },
        Err(e) => Err(e),
    })
}
