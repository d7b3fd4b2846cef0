//! A campaign's Qualification step: the spend rule, saved together with making sure Refloop's
//! webhook endpoint exists in the connected Stripe, the endpoint's health and repair, and
//! reconciliation on demand.

use super::{load, stripe_connected};
use crate::{
    accounts,
    auth::Ctx,
    db::{self, unix_now, Db},
    domain::{
        activity::ActivityKind,
        participants::Qualification,
        permissions::Permission,
        qualification::{check_form, CampaignQualification, QualificationForm, WebhookStatus},
    },
    error::AppError,
    jobs::Queue,
    workflows::{qualification, webhook, StripeAccess},
};

pub async fn overview(
    db: &Db,
    access: &StripeAccess,
    ctx: &Ctx,
    id: &str,
) -> Result<CampaignQualification, AppError> {
    let c = load(db, ctx, id).await?;
    let saved = db::qualification::settings(db.pool(), &ctx.account_id, &c.id).await?;
    let connected = stripe_connected(db, ctx).await?;
    let webhook = if connected {
        webhook::status(db, access, &ctx.account_id).await?
    } else {
        None
    };
    let counts = db::qualification::standing_counts(db.pool(), &ctx.account_id, &c.id).await?;
    let count = |q: Qualification| {
        counts
            .iter()
            .find(|(k, _)| k == q.key())
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    Ok(CampaignQualification {
        campaign_id: c.id.clone(),
        campaign_name: c.name.clone(),
        form: saved.as_ref().map(|s| s.to_form()).unwrap_or_default(),
        saved: saved.map(|s| s.describe()),
        read_only: ctx.read_only(Permission::EditCampaigns, "change this"),
        stripe_connected: connected,
        webhook,
        pending: count(Qualification::Pending),
        qualified: count(Qualification::Qualified),
    })
}

/// Checks and saves the rule, then makes sure the webhook endpoint exists; everyone invited
/// is evaluated again under the new rule.
pub async fn save(
    db: &Db,
    stripe: &StripeAccess,
    queue: &Queue,
    ctx: &Ctx,
    id: &str,
    form: QualificationForm,
) -> Result<WebhookStatus, AppError> {
    let c = load(db, ctx, id).await?;
    let settings = check_form(&form).map_err(AppError::fields)?;
    if !stripe_connected(db, ctx).await? {
        return Err(AppError::Conflict(
            "Connect Stripe on the Integrations page first: qualification reads payments from it."
                .into(),
        ));
    }
    // The endpoint first: a rule saved without a way to hear of payments would wait forever.
    let status = webhook::ensure(db, stripe, &ctx.account_id).await?;
    let mut tx = db.begin().await?;
    db::qualification::save_settings(&mut *tx, &ctx.account_id, &c.id, &settings, unix_now())
        .await?;
    accounts::record(
        &mut *tx,
        ctx,
        ActivityKind::CampaignEdited,
        format!(
            "Set the qualification of “{}”: {}",
            c.name,
            settings.describe()
        ),
    )
    .await?;
    tx.commit().await?;
    qualification::evaluate_campaign(db, &ctx.account_id, &c.id).await?;
    queue.wake();
    Ok(status)
}

/// Creates the endpoint again, or enables it, as Stripe's state requires.
pub async fn repair(
    db: &Db,
    stripe: &StripeAccess,
    queue: &Queue,
    ctx: &Ctx,
) -> Result<WebhookStatus, AppError> {
    let status = webhook::ensure(db, stripe, &ctx.account_id).await?;
    accounts::record(
        db.pool(),
        ctx,
        ActivityKind::StripeWebhookRepaired,
        format!(
            "Repaired the Stripe webhook endpoint ({})",
            status.endpoint_id
        ),
    )
    .await?;
    // What arrived while it was broken is read back from Stripe.
    queue
        .push(&qualification::reconcile_job(&ctx.account_id))
        .await?;
    Ok(status)
}

/// Queues a reconciliation of the account now.
pub async fn reconcile_now(db: &Db, queue: &Queue, ctx: &Ctx) -> Result<(), AppError> {
    if db::qualification::webhook_for(db.pool(), &ctx.account_id)
        .await?
        .is_none()
    {
        return Err(AppError::Conflict(
            "Save a campaign's qualification settings first: that creates the webhook endpoint reconciliation checks.".into(),
        ));
    }
    queue
        .push(&qualification::reconcile_job(&ctx.account_id))
        .await?;
    Ok(())
}
