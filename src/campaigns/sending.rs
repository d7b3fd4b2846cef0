//! A campaign's Stripe page: how each audience is sent to Stripe, and "Send existing
//! participants" (a dry run, then the run).

use super::{load, stripe_connected, toggle_state};
use crate::{
    accounts,
    auth::Ctx,
    db::{self, unix_now, Db},
    domain::{
        activity::ActivityKind,
        campaigns::PromoteToggle,
        participants::{ParticipantKind, StripeStatus},
        permissions::Permission,
        sending::{
            audience_label, check_settings, mappable_fields, AudienceSending, BackfillPreview,
            CampaignSending, CampaignSwitches, SendSettings,
        },
    },
    error::AppError,
    workflows::{self, StripeAccess},
};

/// Rows the dry run shows (each asks Stripe about one participant).
pub const PREVIEW_ROWS: i64 = 20;

/// How many of these counts are people "Send existing participants" would send.
fn unsent_in(counts: &[(StripeStatus, i64)]) -> i64 {
    counts
        .iter()
        .filter(|(s, _)| s.can_be_sent())
        .map(|(_, n)| n)
        .sum()
}

fn toggle_for(audience: ParticipantKind) -> PromoteToggle {
    match audience {
        ParticipantKind::Referring => PromoteToggle::SendReferrers,
        ParticipantKind::Invited => PromoteToggle::SendFriends,
    }
}

pub async fn overview(db: &Db, ctx: &Ctx, id: &str) -> Result<CampaignSending, AppError> {
    let c = load(db, ctx, id).await?;
    let connected = stripe_connected(db, ctx).await?;
    let mut audiences = Vec::new();
    for audience in ParticipantKind::ALL.iter().copied() {
        let counts =
            db::sending::status_counts(db.pool(), &ctx.account_id, &c.id, audience).await?;
        let unsent = unsent_in(&counts);
        audiences.push(AudienceSending {
            audience,
            toggle: toggle_state(db, &c, toggle_for(audience), ctx, connected).await?,
            settings: workflows::sending::settings_for(db.pool(), &c, audience).await?,
            fields: mappable_fields(workflows::sending::form_of(&c, audience)),
            counts: counts
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|(s, n)| (s.label().to_string(), n))
                .collect(),
            unsent,
        });
    }
    Ok(CampaignSending {
        campaign_id: c.id,
        campaign_name: c.name,
        stripe_connected: connected,
        read_only: ctx.read_only(Permission::EditCampaigns, "change this"),
        audiences,
    })
}

/// Every campaign's two sending switches, for the Integrations page.
pub async fn switches(db: &Db, ctx: &Ctx) -> Result<Vec<CampaignSwitches>, AppError> {
    let connected = stripe_connected(db, ctx).await?;
    let mut all = Vec::new();
    for c in crate::db::campaigns::list(db.pool(), &ctx.account_id).await? {
        let mut toggles = Vec::new();
        for audience in ParticipantKind::ALL.iter().copied() {
            toggles.push(toggle_state(db, &c, toggle_for(audience), ctx, connected).await?);
        }
        all.push(CampaignSwitches {
            campaign_id: c.id,
            name: c.name,
            toggles,
        });
    }
    Ok(all)
}

/// Saves how an audience is sent; every problem named by its field.
pub async fn save_settings(
    db: &Db,
    ctx: &Ctx,
    id: &str,
    audience: ParticipantKind,
    mut settings: SendSettings,
) -> Result<(), AppError> {
    let c = load(db, ctx, id).await?;
    for m in &mut settings.metadata {
        m.key = m.key.trim().to_string();
    }
    let errors = check_settings(&settings, workflows::sending::form_of(&c, audience));
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    let mut tx = db.begin().await?;
    db::sending::save_settings(
        &mut *tx,
        &ctx.account_id,
        &c.id,
        audience,
        &settings,
        unix_now(),
    )
    .await?;
    accounts::record(
        &mut *tx,
        ctx,
        ActivityKind::CampaignEdited,
        format!(
            "Changed how {} of “{}” are sent to Stripe",
            audience_label(audience).to_lowercase(),
            c.name
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Sending needs Stripe connected and the audience's mapping complete.
async fn ready(
    db: &Db,
    ctx: &Ctx,
    c: &crate::db::campaigns::CampaignRow,
    audience: ParticipantKind,
) -> Result<(), AppError> {
    if !stripe_connected(db, ctx).await? {
        return Err(AppError::Conflict(
            "Stripe is not connected to this account yet: connect it on the Integrations page first."
                .into(),
        ));
    }
    let settings = workflows::sending::settings_for(db.pool(), c, audience).await?;
    if let Some((_, message)) = check_settings(&settings, workflows::sending::form_of(c, audience))
        .into_iter()
        .next()
    {
        return Err(AppError::Conflict(message));
    }
    Ok(())
}

/// The dry run: how many participants of the audience are not in Stripe, and what would
/// happen to the first of them.
pub async fn preview(
    db: &Db,
    access: &StripeAccess,
    ctx: &Ctx,
    id: &str,
    audience: ParticipantKind,
) -> Result<BackfillPreview, AppError> {
    let c = load(db, ctx, id).await?;
    ready(db, ctx, &c, audience).await?;
    let total =
        unsent_in(&db::sending::status_counts(db.pool(), &ctx.account_id, &c.id, audience).await?);
    let rows = workflows::sending::preview(db, access, &c, audience, PREVIEW_ROWS).await?;
    Ok(BackfillPreview {
        audience,
        total,
        rows,
    })
}

/// Queues every participant of the audience not in Stripe; how many.
pub async fn send_existing(
    db: &Db,
    ctx: &Ctx,
    id: &str,
    audience: ParticipantKind,
) -> Result<u64, AppError> {
    let c = load(db, ctx, id).await?;
    ready(db, ctx, &c, audience).await?;
    let n = workflows::sending::send_existing(db, &c, audience, &ctx.name).await?;
    accounts::record(
        db.pool(),
        ctx,
        ActivityKind::CampaignEdited,
        format!(
            "Sent {n} existing {} of “{}” to Stripe",
            audience_label(audience).to_lowercase(),
            c.name
        ),
    )
    .await?;
    Ok(n)
}
