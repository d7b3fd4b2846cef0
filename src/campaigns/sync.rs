//! A campaign's sync of Stripe customers: the wizard's settings and preview, starting a
//! one-time run, the ongoing switch, the progress of each sync and its report of skipped
//! customers. The work itself is in `workflows::sync`.

use sqlx::AnyConnection;

use super::{load, stripe_connected};
use crate::{
    accounts,
    auth::Ctx,
    db::{self, campaigns::CampaignRow, sync::RunRow, unix_now, Db},
    domain::{
        activity::ActivityKind,
        campaigns::PromoteToggle,
        permissions::Permission,
        sync::{
            check_settings, pace, skipped_csv, CampaignSync, RunKind, RunStatus, SkippedCustomer,
            SyncPreviewRow, SyncProgress, SyncSettings,
        },
    },
    error::AppError,
    jobs::{queue::now_ms, Queue},
    workflows::{sync, StripeAccess},
};

/// Customers the wizard's preview shows.
pub const PREVIEW_ROWS: u32 = 10;
/// Syncs the page lists, newest first.
const RUNS_SHOWN: i64 = 5;
/// Skipped customers the page lists (the CSV has them all).
pub const SKIPPED_SHOWN: i64 = 200;

/// A sync as the pages show it, with its rates and time left as of `now_ms`.
pub fn progress(r: &RunRow, now_ms: i64) -> SyncProgress {
    let end_ms = r.finished_at.map(|f| f * 1000).unwrap_or(now_ms);
    let left = r.tally.to_write - r.written - r.write_failed;
    let (read_rate, write_rate, eta_secs) = pace(
        r.status,
        r.tally.read,
        left,
        r.written,
        end_ms - r.started_ms,
    );
    SyncProgress {
        run_id: r.id.clone(),
        kind: r.kind,
        status: r.status,
        started_by: r.started_by.clone(),
        started_at: r.started_at,
        finished_at: r.finished_at,
        read: r.tally.read,
        enrolled: r.tally.enrolled,
        skipped: r.tally.skipped(),
        to_write: r.tally.to_write,
        written: r.written,
        write_failed: r.write_failed,
        read_rate,
        write_rate,
        eta_secs,
        note: r.note.clone(),
        write_back: r.settings.describe_write_back(),
    }
}

pub async fn overview(db: &Db, ctx: &Ctx, id: &str) -> Result<CampaignSync, AppError> {
    let c = load(db, ctx, id).await?;
    let saved = db::sync::settings(db.pool(), &ctx.account_id, &c.id).await?;
    let now = now_ms();
    Ok(CampaignSync {
        campaign_id: c.id.clone(),
        campaign_name: c.name.clone(),
        stripe_connected: stripe_connected(db, ctx).await?,
        saved: saved.is_some(),
        settings: saved.unwrap_or_default(),
        fields: c
            .referrer_form
            .iter()
            .filter(|f| !f.kind.is_identity())
            .map(|f| (f.key.clone(), f.label.clone()))
            .collect(),
        ongoing: c.ongoing_stripe_sync,
        runs: db::sync::runs_of(db.pool(), &ctx.account_id, &c.id, RUNS_SHOWN)
            .await?
            .iter()
            .map(|r| progress(r, now))
            .collect(),
        read_only: ctx.read_only(Permission::EditCampaigns, "start or change a sync"),
    })
}

/// The settings as typed, cleaned and checked against the campaign's referrer form.
fn checked(c: &CampaignRow, mut s: SyncSettings) -> Result<SyncSettings, AppError> {
    s.link_key = s.link_key.trim().to_string();
    s.code_key = s.code_key.trim().to_string();
    for (_, source) in &mut s.mapping.fields {
        if let crate::domain::sync::CustomerSource::Metadata(key) = source {
            *key = key.trim().to_string();
        }
    }
    let errors = check_settings(&s, &c.referrer_form);
    if errors.is_empty() {
        Ok(s)
    } else {
        Err(AppError::fields(errors))
    }
}

/// What the first customers would become under these (unsaved) settings.
pub async fn preview(
    db: &Db,
    access: &StripeAccess,
    ctx: &Ctx,
    id: &str,
    settings: SyncSettings,
) -> Result<Vec<SyncPreviewRow>, AppError> {
    let c = load(db, ctx, id).await?;
    let settings = checked(&c, settings)?;
    sync::preview(db, access, &c, settings, PREVIEW_ROWS)
        .await
        .map_err(AppError::from)
}

/// Saves the settings without running (what the ongoing sync uses).
pub async fn save_settings(
    db: &Db,
    ctx: &Ctx,
    id: &str,
    settings: SyncSettings,
) -> Result<(), AppError> {
    let c = load(db, ctx, id).await?;
    let settings = checked(&c, settings)?;
    let mut tx = db.begin().await?;
    db::sync::save_settings(&mut *tx, &ctx.account_id, &c.id, &settings, unix_now()).await?;
    accounts::record(
        &mut *tx,
        ctx,
        ActivityKind::CampaignEdited,
        format!("Set how Stripe customers sync into “{}”", c.name),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Saves the settings and starts a one-time run through the customer list.
pub async fn start(
    db: &Db,
    queue: &Queue,
    ctx: &Ctx,
    id: &str,
    settings: SyncSettings,
) -> Result<SyncProgress, AppError> {
    let c = load(db, ctx, id).await?;
    let settings = checked(&c, settings)?;
    if !stripe_connected(db, ctx).await? {
        return Err(AppError::Conflict(
            "Connect Stripe on the Integrations page first: the sync reads its customers.".into(),
        ));
    }
    let active = [RunStatus::Reading, RunStatus::Writing];
    let mut tx = db.begin().await?;
    if let Some(r) =
        db::sync::current(&mut *tx, &ctx.account_id, &c.id, RunKind::Once, &active).await?
    {
        return Err(AppError::Conflict(format!(
            "A sync of this campaign is already running (started by {}): wait for it to finish.",
            r.started_by
        )));
    }
    db::sync::save_settings(&mut *tx, &ctx.account_id, &c.id, &settings, unix_now()).await?;
    let what = match settings.created_after {
        Some(t) => format!(
            "customers created since {}",
            crate::domain::time::format_date(t)
        ),
        None => "all customers".into(),
    };
    let run = sync::start(&mut tx, &c, settings, RunKind::Once, &ctx.name, 0).await?;
    accounts::record(
        &mut *tx,
        ctx,
        ActivityKind::StripeSyncStarted,
        format!("Started syncing {what} from Stripe into “{}”", c.name),
    )
    .await?;
    tx.commit().await?;
    queue.wake();
    Ok(progress(&run, now_ms()))
}

/// Saves the settings, then switches the campaign's ongoing sync on (the wizard's "ongoing").
pub async fn start_ongoing(
    db: &Db,
    access: &StripeAccess,
    ctx: &Ctx,
    id: &str,
    settings: SyncSettings,
) -> Result<(), AppError> {
    save_settings(db, ctx, id, settings).await?;
    super::set_toggle(db, access, ctx, id, PromoteToggle::OngoingSync, true).await?;
    Ok(())
}

/// Within the transaction that flips the switch: switching on starts an ongoing sync of the
/// customers created from now on; switching off ends it, so nothing more is enrolled.
pub(crate) async fn switch_ongoing(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    c: &CampaignRow,
    on: bool,
) -> Result<(), AppError> {
    let watching = db::sync::current(
        &mut *conn,
        &ctx.account_id,
        &c.id,
        RunKind::Ongoing,
        &[RunStatus::Watching],
    )
    .await?;
    match (on, watching) {
        (true, None) => {
            let settings = db::sync::settings(&mut *conn, &ctx.account_id, &c.id)
                .await?
                .ok_or_else(|| AppError::Conflict("Set up the sync first.".into()))?;
            sync::start(conn, c, settings, RunKind::Ongoing, &ctx.name, unix_now()).await?;
        }
        (false, Some(r)) => {
            let note = format!("Switched off by {}", ctx.name);
            db::sync::set_status(&mut *conn, &r.id, RunStatus::Off, &note, Some(unix_now()))
                .await?;
        }
        _ => {}
    }
    Ok(())
}

/// The run `run_id` of campaign `id`, or 404.
async fn run_of(db: &Db, ctx: &Ctx, id: &str, run_id: &str) -> Result<RunRow, AppError> {
    let c = load(db, ctx, id).await?;
    db::sync::run(db.pool(), &ctx.account_id, run_id)
        .await?
        .filter(|r| r.campaign_id == c.id)
        .ok_or_else(|| AppError::NotFound("This sync".into()))
}

/// The customers a sync skipped, with the reason (the first `SKIPPED_SHOWN`).
pub async fn skipped(
    db: &Db,
    ctx: &Ctx,
    id: &str,
    run_id: &str,
) -> Result<Vec<SkippedCustomer>, AppError> {
    let run = run_of(db, ctx, id, run_id).await?;
    Ok(db::sync::skipped(db.pool(), &ctx.account_id, &run.id, SKIPPED_SHOWN).await?)
}

/// Every customer a sync skipped, as CSV: the file name and the text.
pub async fn skipped_csv_file(
    db: &Db,
    ctx: &Ctx,
    id: &str,
    run_id: &str,
) -> Result<(String, String), AppError> {
    let run = run_of(db, ctx, id, run_id).await?;
    let rows = db::sync::skipped(db.pool(), &ctx.account_id, &run.id, i64::MAX).await?;
    Ok((
        format!("refloop-sync-{}-skipped.csv", run.id),
        skipped_csv(&rows),
    ))
}
