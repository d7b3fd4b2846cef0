//! Passwords after sign-up: a member changes theirs (their other sessions end) or signs out
//! everywhere; someone who forgot theirs gets a one-time link, by email when a mail server is
//! configured, or from the operator (`refloop admin reset-password EMAIL`) in any case.

use super::{record, start_session};
use crate::{
    auth::{password, session, Ctx},
    db::{accounts, activity, password_resets, sessions, throttles, unix_now, Db},
    domain::{activity::ActivityKind, validate},
    error::AppError,
    jobs::queue,
    mail::Mailer,
    notifications::team::team_email,
    secrets::Sealer,
};

/// How long an emailed link works.
pub const EMAILED_LINK_SECS: i64 = 3600;
/// How long a link the operator hands over works (they may pass it on by hand).
pub const OPERATOR_LINK_SECS: i64 = 7 * 86_400;
/// Reset emails one address may ask for in an hour (more are not sent, and not said).
const EMAILS_PER_ADDRESS: i64 = 3;
/// Reset requests one network may make in an hour.
const REQUESTS_PER_NETWORK: i64 = 20;

/// Changes the caller's password after checking the current one; every other session of
/// theirs ends (`session_hash` is the one they use now).
pub async fn change_password(
    db: &Db,
    ctx: &Ctx,
    session_hash: &str,
    current: &str,
    new: &str,
) -> Result<(), AppError> {
    validate::password(new, &ctx.email).map_err(|m| AppError::invalid("new_password", m))?;
    let user = accounts::user_in_account(db.pool(), &ctx.account_id, &ctx.user_id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if !password::verify(current.to_string(), user.password_hash).await {
        return Err(AppError::invalid(
            "current_password",
            "That is not your current password.",
        ));
    }
    let hash = password::hash(new.to_string()).await?;
    let mut tx = db.begin().await?;
    accounts::update_password(&mut *tx, &ctx.user_id, &hash).await?;
    let ended = sessions::delete_for_user(&mut *tx, &ctx.user_id, Some(session_hash)).await?;
    password_resets::delete_for_user(&mut *tx, &ctx.user_id).await?;
    record(
        &mut *tx,
        ctx,
        ActivityKind::PasswordChanged,
        format!("Changed their password; {ended} other sessions were signed out"),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Ends every session of the caller, this one included. How many ended.
pub async fn sign_out_everywhere(db: &Db, ctx: &Ctx) -> Result<u64, AppError> {
    let mut tx = db.begin().await?;
    let ended = sessions::delete_for_user(&mut *tx, &ctx.user_id, None).await?;
    record(
        &mut *tx,
        ctx,
        ActivityKind::SignedOutEverywhere,
        format!("Signed out everywhere ({ended} sessions)"),
    )
    .await?;
    tx.commit().await?;
    Ok(ended)
}

/// A one-time link to choose a new password, valid for `lifetime_secs`: for the operator, who
/// hands it over, and for the email below.
pub async fn reset_link(
    db: &Db,
    public_url: &str,
    email: &str,
    lifetime_secs: i64,
) -> Result<String, AppError> {
    let email = validate::email(email).map_err(|m| AppError::invalid("email", m))?;
    let user = accounts::user_by_email(db.pool(), &email)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("A Refloop user with the email {email}")))?;
    let token = session::new_token();
    let now = unix_now();
    password_resets::insert(
        db.pool(),
        &session::hash(&token),
        &user.id,
        now,
        now + lifetime_secs,
    )
    .await?;
    Ok(format!(
        "{}/reset-password/{token}",
        public_url.trim_end_matches('/')
    ))
}

/// Emails a reset link to `email`, if a Refloop user has it, through the job queue (`sealer`
/// seals the link while it waits there). The answer is the same whether or not one does
/// (nobody learns who has an account), and an address gets a few emails an hour.
pub async fn request_reset(
    db: &Db,
    sealer: &Sealer,
    mailer: &Mailer,
    public_url: &str,
    email: &str,
    ip: &str,
) -> Result<(), AppError> {
    let email = validate::email(email).map_err(|m| AppError::invalid("email", m))?;
    if !mailer.is_configured() {
        return Err(AppError::Unavailable(format!(
            "This Refloop cannot send email. Ask the person who runs it for a link: they make one with `refloop admin reset-password {email}`."
        )));
    }
    let now = unix_now();
    if throttles::bump(db.pool(), &format!("reset-ip:{ip}"), now, 3600).await?
        > REQUESTS_PER_NETWORK
    {
        return Err(AppError::TooManyRequests(
            "Too many reset requests came from your network. Try again in an hour.".into(),
        ));
    }
    let asked = throttles::bump(db.pool(), &format!("reset-email:{email}"), now, 3600).await?;
    if asked > EMAILS_PER_ADDRESS || accounts::user_by_email(db.pool(), &email).await?.is_none() {
        return Ok(());
    }
    let link = reset_link(db, public_url, &email, EMAILED_LINK_SECS).await?;
    let body = format!(
        "Someone (we hope you) asked to choose a new Refloop password for {email}.\n\n\
         Open this link within an hour to choose it:\n{link}\n\n\
         If you did not ask, ignore this email: your password stays as it is."
    );
    let mut conn = db.pool().acquire().await?;
    let job = team_email(sealer, &email, "Choose a new Refloop password", &body);
    queue::enqueue(&mut conn, &job).await?;
    Ok(())
}

fn link_unusable() -> AppError {
    AppError::NotFound(
        "This link (it may have been used already, or expired; ask for a new one)".into(),
    )
}

/// The email a reset link is for, while it can be used.
pub async fn reset_preview(db: &Db, token: &str) -> Result<String, AppError> {
    let user_id = password_resets::peek(db.pool(), &session::hash(token), unix_now())
        .await?
        .ok_or_else(link_unusable)?;
    Ok(accounts::user_by_id(db.pool(), &user_id)
        .await?
        .ok_or_else(link_unusable)?
        .email)
}

/// Sets a new password through a reset link (used once), ends every session the user had, and
/// signs them in. Returns the new session's token.
pub async fn reset_password(db: &Db, token: &str, new: &str, ip: &str) -> Result<String, AppError> {
    let hash_of_token = session::hash(token);
    let user_id = password_resets::peek(db.pool(), &hash_of_token, unix_now())
        .await?
        .ok_or_else(link_unusable)?;
    let user = accounts::user_by_id(db.pool(), &user_id)
        .await?
        .ok_or_else(link_unusable)?;
    validate::password(new, &user.email).map_err(|m| AppError::invalid("password", m))?;
    let hash = password::hash(new.to_string()).await?;
    let mut tx = db.begin().await?;
    if password_resets::claim(&mut *tx, &hash_of_token, unix_now())
        .await?
        .is_none()
    {
        return Err(link_unusable());
    }
    accounts::update_password(&mut *tx, &user.id, &hash).await?;
    sessions::delete_for_user(&mut *tx, &user.id, None).await?;
    password_resets::delete_for_user(&mut *tx, &user.id).await?;
    throttles::clear(&mut *tx, &format!("signin-email:{}", user.email)).await?;
    activity::record(
        &mut *tx,
        activity::NewActivity {
            account_id: &user.account_id,
            actor_id: Some(&user.id),
            actor_name: &user.name,
            kind: ActivityKind::PasswordChanged,
            summary: "Chose a new password with a reset link; every other session was signed out"
                .into(),
            ip,
        },
    )
    .await?;
    let session = start_session(&mut *tx, &user.id).await?;
    tx.commit().await?;
    Ok(session)
}
