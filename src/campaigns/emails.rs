//! A campaign's Emails step: which emails go to its participants, what they say, and from
//! whom.

use super::load;
use crate::{
    accounts,
    auth::Ctx,
    db::{emails, unix_now, Db},
    domain::{
        activity::ActivityKind,
        emails::{check_emails, CampaignEmails, EmailForm, EmailSettings},
        permissions::Permission,
    },
    error::AppError,
    mail::Mailer,
};

/// The Emails step: the campaign's emails, whether the viewer may change them, and whether this
/// instance can send them at all.
pub async fn overview(
    db: &Db,
    mailer: &Mailer,
    ctx: &Ctx,
    id: &str,
) -> Result<CampaignEmails, AppError> {
    let settings = settings(db, ctx, id).await?;
    Ok(CampaignEmails {
        campaign_id: id.to_string(),
        form: settings.to_form(),
        read_only: ctx.read_only(Permission::EditCampaigns, "change the emails"),
        smtp_configured: mailer.is_configured(),
        from_address: mailer.from_address(),
    })
}

/// The campaign's emails as saved, or what it sends before they are.
pub async fn settings(db: &Db, ctx: &Ctx, id: &str) -> Result<EmailSettings, AppError> {
    let c = load(db, ctx, id).await?;
    Ok(emails::settings(db.pool(), &ctx.account_id, &c.id)
        .await?
        .unwrap_or_else(|| EmailSettings::defaults(&c.name)))
}

pub async fn save(
    db: &Db,
    ctx: &Ctx,
    id: &str,
    form: EmailForm,
) -> Result<EmailSettings, AppError> {
    let c = load(db, ctx, id).await?;
    let settings = check_emails(&form).map_err(AppError::fields)?;
    let on: Vec<&str> = settings
        .templates
        .iter()
        .filter(|t| t.enabled)
        .map(|t| t.kind.label())
        .collect();
    let mut tx = db.begin().await?;
    emails::save_settings(&mut *tx, &ctx.account_id, &c.id, &settings, unix_now()).await?;
    accounts::record(
        &mut *tx,
        ctx,
        ActivityKind::CampaignEdited,
        format!(
            "Set the emails of “{}”: {}",
            c.name,
            if on.is_empty() {
                "none switched on".to_string()
            } else {
                on.join(", ")
            }
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(settings)
}
