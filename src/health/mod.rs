//! Integration health: every problem of the troubleshooting guide, checked from Refloop's own
//! records and, on the health page, by asking Stripe; the banner for the people who can fix what
//! fails; the one-click fixes; and a participant's "Why?".

mod attribution;
mod connection;
mod emails;
mod fraud;
mod outbound;
mod qualification;
mod sending;
mod sync;
pub mod why;

use crate::{
    auth::Ctx,
    campaigns,
    db::{self, campaigns::CampaignRow, Db},
    domain::{
        campaigns::PromoteToggle,
        health::{CheckId, CheckState, HealthAction, HealthBanner, IntegrationHealth},
        participants::ParticipantKind,
        permissions::Permission,
    },
    error::AppError,
    jobs::Queue,
    mail::Mailer,
    workflows::StripeAccess,
};

/// How many people or customers a check lists as evidence.
const EVIDENCE: i64 = 20;

/// How much the checks ask Stripe: everything (the health page), or only about the webhook
/// endpoint, one request (the banner, on every page; the key's probes are left out and the
/// connection's alert stands for them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    Full,
    Quick,
}

/// What every check reads: the caller, their campaigns, the Stripe connection.
struct Scope<'a> {
    db: &'a Db,
    access: &'a StripeAccess,
    ctx: &'a Ctx,
    campaigns: Vec<CampaignRow>,
    connection: Option<db::stripe_connections::ConnectionRow>,
    /// Whether this instance has a mail server for the campaigns' emails.
    smtp_configured: bool,
    now: i64,
    depth: Depth,
}

/// Runs every check for the caller's account, in the guide's order.
pub async fn run(
    db: &Db,
    access: &StripeAccess,
    mailer: &Mailer,
    ctx: &Ctx,
    depth: Depth,
) -> Result<IntegrationHealth, AppError> {
    let s = Scope {
        db,
        access,
        ctx,
        campaigns: db::campaigns::list(db.pool(), &ctx.account_id).await?,
        connection: db::stripe_connections::get(db.pool(), &ctx.account_id).await?,
        smtp_configured: mailer.is_configured(),
        now: db::unix_now(),
        depth,
    };
    let checks = vec![
        connection::permission(&s).await?,
        connection::key(&s).await?,
        connection::account(&s),
        sending::mapping(&s).await?,
        sending::waiting(&s).await?,
        sending::joined_before(&s).await?,
        sending::existing_customers(&s).await?,
        qualification::webhook(&s).await?,
        qualification::near_misses(&s).await?,
        qualification::shared_email_spend(&s).await?,
        attribution::checkout(&s).await?,
        fraud::reviews(&s).await?,
        sync::queue(&s).await?,
        sync::participant_limit(&s).await?,
        sync::skips(&s).await?,
        sync::write_back(&s).await?,
        sync::ongoing(&s).await?,
        emails::delivery(&s).await?,
        outbound::endpoints(&s).await?,
    ];
    Ok(IntegrationHealth {
        checks,
        checked_at: s.now,
    })
}

/// The failing checks, for a banner over every page, shown to people who can fix them (Manage
/// integrations or Edit campaigns) once Stripe is connected; `None` for everyone else and when
/// nothing fails.
pub async fn banner(
    db: &Db,
    access: &StripeAccess,
    mailer: &Mailer,
    ctx: &Ctx,
) -> Result<Option<HealthBanner>, AppError> {
    let can_fix = ctx.can(Permission::ManageIntegrations) || ctx.can(Permission::EditCampaigns);
    if !can_fix
        || db::stripe_connections::get(db.pool(), &ctx.account_id)
            .await?
            .is_none()
    {
        return Ok(None);
    }
    let health = run(db, access, mailer, ctx, Depth::Quick).await?;
    let failing: Vec<_> = health
        .checks
        .into_iter()
        .filter(|c| c.state == CheckState::Fail && c.id != CheckId::Permission)
        .map(|c| (c.id, c.summary))
        .collect();
    Ok((!failing.is_empty()).then_some(HealthBanner { failing }))
}

/// Carries out a check's one-click fix, with the permission the same change needs elsewhere.
pub async fn fix(
    db: &Db,
    stripe: &StripeAccess,
    queue: &Queue,
    ctx: &Ctx,
    action: &HealthAction,
) -> Result<String, AppError> {
    crate::auth::permit(db, ctx, action.permission()).await?;
    match action {
        HealthAction::RepairWebhook => {
            let status = campaigns::qualification::repair(db, stripe, queue, ctx).await?;
            Ok(format!(
                "The webhook endpoint {} is enabled.",
                status.endpoint_id
            ))
        }
        HealthAction::SendExisting { campaign_id } => {
            let c = campaigns::load(db, ctx, campaign_id).await?;
            let mut sent = 0;
            for (audience, on) in [
                (ParticipantKind::Referring, c.send_referrers_to_stripe),
                (ParticipantKind::Invited, c.send_friends_to_stripe),
            ] {
                if on {
                    sent += campaigns::sending::send_existing(db, ctx, &c.id, audience).await?;
                }
            }
            Ok(format!(
                "{sent} people of “{}” are on their way to Stripe.",
                c.name
            ))
        }
        HealthAction::StartOngoingSync { campaign_id } => {
            campaigns::set_toggle(
                db,
                stripe,
                ctx,
                campaign_id,
                PromoteToggle::OngoingSync,
                true,
            )
            .await?;
            Ok("Ongoing sync is on.".into())
        }
    }
}

/// "“Spring” (people referring)"
fn campaign_audience(c: &CampaignRow, audience: ParticipantKind) -> String {
    format!(
        "“{}” ({})",
        c.name,
        crate::domain::sending::audience_label(audience).to_lowercase()
    )
}

/// "1 person" / "3 people"
fn people(n: i64) -> String {
    if n == 1 {
        "1 person".into()
    } else {
        format!("{n} people")
    }
}
