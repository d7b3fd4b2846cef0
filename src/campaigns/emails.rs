//! A campaign's Emails step: which emails go to its participants, what they say, and from
//! whom.

use super::load;
use crate::{
    accounts,
    auth::Ctx,
    db::{self, campaigns::CampaignRow, emails, throttles, unix_now, Db},
    domain::{
        activity::ActivityKind,
        emails::{
            check_emails, check_template, CampaignEmails, EmailForm, EmailPreview, EmailSettings,
            EmailTemplate,
        },
        participants::referral_link,
        permissions::Permission,
    },
    error::AppError,
    mail::{Email, Mailer, SendError},
    notifications::compose::{compose, reward_text, Values},
};

/// Test emails one teammate may send an hour.
const TESTS_PER_HOUR: i64 = 20;

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

/// The email a template writes, filled in with the campaign's newest participant's data (their
/// friend and reward where they have them), or with examples while nobody has joined or when
/// the caller may not see participants. The template is the one being edited, saved or not.
pub async fn preview(
    db: &Db,
    mailer: &Mailer,
    public_url: &str,
    ctx: &Ctx,
    id: &str,
    sender_name: &str,
    template: EmailTemplate,
) -> Result<EmailPreview, AppError> {
    let (email, reader) = write(db, public_url, ctx, id, sender_name, template).await?;
    let from = match &email.from_name {
        Some(name) => format!("{name} <{}>", mailer.from_address()),
        None => mailer.from_address(),
    };
    Ok(EmailPreview {
        reader,
        from,
        subject: email.subject,
        text: email.text,
        html: email.html,
    })
}

/// Sends the previewed email to the teammate asking, marked as a test; says where it went.
pub async fn send_test(
    db: &Db,
    mailer: &Mailer,
    public_url: &str,
    ctx: &Ctx,
    id: &str,
    sender_name: &str,
    template: EmailTemplate,
) -> Result<String, AppError> {
    if !mailer.is_configured() {
        return Err(AppError::Unavailable(
            "No mail server is configured (REFLOOP_SMTP_URL), so no email can be sent: not even a test."
                .into(),
        ));
    }
    let sent = throttles::bump(
        db.pool(),
        &format!("test-email:{}", ctx.user_id),
        unix_now(),
        3600,
    )
    .await?;
    if sent > TESTS_PER_HOUR {
        return Err(AppError::TooManyRequests(format!(
            "You sent {TESTS_PER_HOUR} test emails in the last hour. Please try again later."
        )));
    }
    let (email, _) = write(db, public_url, ctx, id, sender_name, template).await?;
    let email = Email {
        to: ctx.email.clone(),
        subject: format!("[Test] {}", email.subject),
        ..email
    };
    mailer.send_email(&email).await.map_err(|e| match e {
        SendError::NotConfigured | SendError::Failed(_) => AppError::Unavailable(format!(
            "The test was not sent: {e}. Try again in a moment."
        )),
        SendError::Unsendable(_) | SendError::Refused(_) => {
            AppError::Conflict(format!("The test was not sent: {e}."))
        }
    })?;
    Ok(format!(
        "A test of “{}” went to {}.",
        email.subject, ctx.email
    ))
}

/// The email `template` writes for the campaign's newest participant, and whose data it holds.
/// Its unsubscribe link is an example, so that clicking it in a test unsubscribes nobody.
async fn write(
    db: &Db,
    public_url: &str,
    ctx: &Ctx,
    id: &str,
    sender_name: &str,
    template: EmailTemplate,
) -> Result<(Email, String), AppError> {
    let c = &load(db, ctx, id).await?;
    let problems = check_template(&template);
    if !problems.is_empty() {
        return Err(AppError::fields(problems));
    }
    let kind = template.kind;
    let (values, reader) = if ctx.can(Permission::ViewParticipants) {
        sample(db, public_url, c).await?
    } else {
        (
            examples(public_url, c),
            "The values are examples: seeing a participant's data needs View participants.".into(),
        )
    };
    let settings = EmailSettings {
        sender_name: sender_name.trim().to_string(),
        templates: vec![template],
        ..EmailSettings::defaults(&c.name)
    };
    let unsubscribe = kind.is_marketing().then(|| {
        format!(
            "{}/unsubscribe/example/test",
            public_url.trim_end_matches('/')
        )
    });
    let email = compose(&settings, kind, &values, "", unsubscribe)
        .map_err(|why| AppError::invalid(format!("{}.body", kind.key()), why))?;
    Ok((email, reader))
}

/// Values for a campaign's emails when no participant's can be shown.
fn examples(public_url: &str, c: &CampaignRow) -> Values {
    Values {
        first_name: "Ann".into(),
        referral_link: referral_link(public_url, "EXAMPLE"),
        code: "EXAMPLE".into(),
        personal_page: format!("{}/p/example", public_url.trim_end_matches('/')),
        campaign: c.name.clone(),
        friend_first_name: "Sam".into(),
        reward: "10.00 USD credit, applied to your account".into(),
        friend_offer: "20% off at checkout with the code ANN-7K2Q".into(),
    }
}

/// The values of the campaign's newest participant, with their newest friend and reward, and
/// who they are; examples where there are none.
async fn sample(db: &Db, public_url: &str, c: &CampaignRow) -> Result<(Values, String), AppError> {
    let pool = db.pool();
    let Some(p) = db::participants::newest_in_campaign(pool, &c.account_id, &c.id).await? else {
        return Ok((
            examples(public_url, c),
            "Nobody has joined yet, so the values are examples.".into(),
        ));
    };
    let mut values = Values::of(public_url, &c.name, &p);
    values.friend_offer = crate::workflows::offers::offer_line(pool, c, &p).await?;
    let friend = db::participants::referred_by(pool, &c.account_id, &p.id).await?;
    values.friend_first_name = friend
        .first()
        .map(|f| f.first_name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "Sam (an example)".into());
    let rewards = db::rewards::for_recipient(pool, &c.account_id, &p.id).await?;
    values.reward = rewards
        .last()
        .map(reward_text)
        .unwrap_or_else(|| "10.00 USD credit (an example)".into());
    let name = format!("{} {}", p.first_name, p.last_name);
    Ok((
        values,
        format!(
            "Filled in with the data of {} <{}>, who joined last.",
            name.trim(),
            p.email
        ),
    ))
}
