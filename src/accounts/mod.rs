//! Accounts, sign-up and sign-in, teammates and their permissions, and the activity log:
//! plain Rust over the database, called by the thin server functions in `api`.

mod invitations;
mod members;
pub mod passwords;
mod signing;

pub use invitations::{
    accept_invitation, invite, list_invitations, preview_invitation, revoke_invitation,
};
pub use members::{list_members, remove_member, set_permission, set_role, transfer_ownership};
pub use signing::{
    create_account, may_sign_up, sign_in, sign_out, sign_up, SignUp, MAX_FAILURES_PER_EMAIL,
};

use crate::{
    auth::{self, session, Ctx},
    db::{self, accounts, activity, unix_now, Db},
    domain::{
        activity::ActivityKind,
        team::{ActivityEntry, CurrentUser},
    },
    error::AppError,
};
use sqlx::{Any, Executor};

/// The signed-in person as the browser sees them.
pub async fn current_user(db: &Db, ctx: &Ctx) -> Result<CurrentUser, AppError> {
    let account_name = accounts::account_name(db.pool(), &ctx.account_id)
        .await?
        .ok_or_else(|| AppError::NotFound("Account".into()))?;
    Ok(CurrentUser {
        user_id: ctx.user_id.clone(),
        account_id: ctx.account_id.clone(),
        account_name,
        name: ctx.name.clone(),
        email: ctx.email.clone(),
        role: ctx.role,
        permissions: ctx.permissions.clone(),
        helpers: auth::helpers(db, &ctx.account_id).await?,
    })
}

/// The account's activity, newest first, filtered by person and kind.
pub async fn list_activity(
    db: &Db,
    ctx: &Ctx,
    actor_id: Option<&str>,
    kind: Option<&str>,
    before: Option<&str>,
) -> Result<Vec<ActivityEntry>, AppError> {
    let kind = match kind.filter(|k| !k.is_empty()) {
        None => None,
        Some(k) => Some(ActivityKind::from_key(k).ok_or_else(|| {
            AppError::invalid("kind", format!("“{k}” is not a kind of activity."))
        })?),
    };
    Ok(activity::list(
        db.pool(),
        &ctx.account_id,
        actor_id.filter(|a| !a.is_empty()),
        kind,
        before.filter(|b| !b.is_empty()),
        100,
    )
    .await?)
}

/// Opens a session for a user and returns its token (for the cookie).
async fn start_session<'c>(
    ex: impl Executor<'c, Database = Any>,
    user_id: &str,
) -> Result<String, AppError> {
    let token = session::new_token();
    let now = unix_now();
    db::sessions::insert(
        ex,
        &session::hash(&token),
        user_id,
        now,
        now + session::LIFETIME_SECS,
    )
    .await?;
    Ok(token)
}

/// Records a change made by `ctx` in the same transaction as the change.
pub(crate) async fn record<'c>(
    ex: impl Executor<'c, Database = Any>,
    ctx: &Ctx,
    kind: ActivityKind,
    summary: String,
) -> Result<(), AppError> {
    activity::record(
        ex,
        activity::NewActivity {
            account_id: &ctx.account_id,
            actor_id: Some(&ctx.user_id),
            actor_name: &ctx.name,
            kind,
            summary,
            ip: &ctx.ip,
        },
    )
    .await?;
    Ok(())
}

/// Collects the messages of every field that failed, so a form shows them all at once.
fn collect_invalid(results: Vec<(&str, Result<(), String>)>) -> Result<(), AppError> {
    let errors: Vec<_> = results
        .into_iter()
        .filter_map(|(field, r)| {
            r.err().map(|message| crate::error::FieldError {
                field: field.to_string(),
                message,
            })
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Invalid(errors))
    }
}
