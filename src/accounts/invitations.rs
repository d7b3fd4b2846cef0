//! Invitations: made, listed, revoked, previewed and accepted.

use super::{collect_invalid, record, start_session};
use crate::{
    auth::{password, session, Ctx},
    db::{self, accounts, activity, invitations, new_id, unix_now, Db},
    domain::{
        activity::ActivityKind,
        permissions::{may_give_role, Role},
        team::{InvitationPreview, InvitationSent, PendingInvitation},
        validate,
    },
    error::AppError,
    jobs::queue,
    mail::Mailer,
    notifications::team::team_email,
    secrets::Sealer,
};

pub const INVITATION_LIFETIME_SECS: i64 = 7 * 24 * 3600;

/// Invites someone by email. The result is a single-use link valid for 7 days; with a mail
/// server configured it is also emailed, through the job queue (`sealer` seals the link while
/// it waits there). Inviting the same email again replaces the old link.
pub async fn invite(
    db: &Db,
    sealer: &Sealer,
    mailer: &Mailer,
    public_url: &str,
    ctx: &Ctx,
    email: &str,
    role: Role,
) -> Result<InvitationSent, AppError> {
    let email = validate::email(email).map_err(|m| AppError::invalid("email", m))?;
    if role == Role::Owner {
        return Err(AppError::invalid(
            "role",
            "Invite as Admin, Manager or Viewer; an owner can transfer ownership once they have joined.",
        ));
    }
    may_give_role(ctx.role, &ctx.permissions, false, None, role).map_err(AppError::Forbidden)?;
    if let Some(existing) = accounts::user_by_email(db.pool(), &email).await? {
        return Err(AppError::invalid(
            "email",
            if existing.account_id == ctx.account_id {
                format!("{email} is already on your team.")
            } else {
                format!("{email} already belongs to another Refloop account.")
            },
        ));
    }
    let token = session::new_token();
    let now = unix_now();
    let row = invitations::InvitationRow {
        id: new_id("inv"),
        account_id: ctx.account_id.clone(),
        email: email.clone(),
        role,
        invited_by: ctx.name.clone(),
        created_at: now,
        expires_at: now + INVITATION_LIFETIME_SECS,
        accepted_at: None,
        revoked_at: None,
    };
    let link = format!("{}/invite/{token}", public_url.trim_end_matches('/'));
    let email_job = if mailer.is_configured() {
        let account = accounts::account_name(db.pool(), &ctx.account_id)
            .await?
            .unwrap_or_default();
        let body = format!(
            "{} invited you to join {account} on Refloop as {role}.\n\n\
             Open this link within 7 days to choose your password and join:\n{link}\n\n\
             If you did not expect this, ignore this email.",
            ctx.name
        );
        let subject = format!("Join {account} on Refloop");
        Some(team_email(sealer, &email, &subject, &body))
    } else {
        None
    };
    let mut tx = db.begin().await?;
    invitations::revoke_for_email(&mut *tx, &ctx.account_id, &email, now).await?;
    invitations::insert(&mut *tx, &row, &session::hash(&token)).await?;
    record(
        &mut *tx,
        ctx,
        ActivityKind::MemberInvited,
        format!("Invited {email} as {role}"),
    )
    .await?;
    if let Some(job) = &email_job {
        queue::enqueue(&mut tx, job).await?;
    }
    tx.commit().await?;
    Ok(InvitationSent {
        email,
        link,
        emailed: email_job.is_some(),
        expires_at: row.expires_at,
    })
}

pub async fn list_invitations(db: &Db, ctx: &Ctx) -> Result<Vec<PendingInvitation>, AppError> {
    Ok(invitations::pending(db.pool(), &ctx.account_id, unix_now())
        .await?
        .into_iter()
        .map(|i| PendingInvitation {
            id: i.id,
            email: i.email,
            role: i.role,
            invited_by: i.invited_by,
            expires_at: i.expires_at,
        })
        .collect())
}

pub async fn revoke_invitation(db: &Db, ctx: &Ctx, id: &str) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let pending = invitations::pending(&mut *tx, &ctx.account_id, unix_now()).await?;
    let Some(inv) = pending.into_iter().find(|i| i.id == id) else {
        return Err(AppError::NotFound("Invitation".into()));
    };
    invitations::revoke(&mut *tx, &ctx.account_id, id, unix_now()).await?;
    record(
        &mut *tx,
        ctx,
        ActivityKind::InvitationRevoked,
        format!("Revoked the invitation for {}", inv.email),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Why an invitation link cannot be used, in the invitee's words.
fn unusable(inv: &invitations::InvitationRow, now: i64) -> Option<AppError> {
    if inv.accepted_at.is_some() {
        Some(AppError::Conflict(
            "This invitation has already been used. Sign in instead, or ask for a new invitation."
                .into(),
        ))
    } else if inv.revoked_at.is_some() {
        Some(AppError::Conflict(
            "This invitation was withdrawn or replaced by a newer one. Ask the person who invited you for a new link.".into(),
        ))
    } else if inv.expires_at <= now {
        Some(AppError::Conflict(format!(
            "This invitation expired (invitations last 7 days). Ask {} for a new one.",
            inv.invited_by
        )))
    } else {
        None
    }
}

async fn usable(db: &Db, token: &str) -> Result<invitations::InvitationRow, AppError> {
    let inv = invitations::by_token(db.pool(), &session::hash(token))
        .await?
        .ok_or_else(|| AppError::NotFound("Invitation".into()))?;
    match unusable(&inv, unix_now()) {
        Some(err) => Err(err),
        None => Ok(inv),
    }
}

/// What the invitation link shows: which account, as what, from whom.
pub async fn preview_invitation(db: &Db, token: &str) -> Result<InvitationPreview, AppError> {
    let inv = usable(db, token).await?;
    Ok(InvitationPreview {
        account_name: accounts::account_name(db.pool(), &inv.account_id)
            .await?
            .unwrap_or_default(),
        email: inv.email,
        role: inv.role,
        invited_by: inv.invited_by,
    })
}

/// Joins the account: creates the teammate with the invitation's role and signs them in.
/// Of two simultaneous uses of one link, exactly one succeeds.
pub async fn accept_invitation(
    db: &Db,
    token: &str,
    name: &str,
    password_text: &str,
    ip: &str,
) -> Result<String, AppError> {
    let inv = usable(db, token).await?;
    let name = validate::name(name, "your name", 80);
    collect_invalid(vec![
        ("name", name.as_ref().map(|_| ()).map_err(Clone::clone)),
        ("password", validate::password(password_text, &inv.email)),
    ])?;
    let name = name.unwrap();
    let password_hash = password::hash(password_text.to_string()).await?;
    let now = unix_now();
    let user = accounts::UserRow {
        id: new_id("usr"),
        account_id: inv.account_id.clone(),
        email: inv.email.clone(),
        name: name.clone(),
        password_hash,
        role: inv.role,
        overrides: Default::default(),
        created_at: now,
    };
    let mut tx = db.begin().await?;
    if !invitations::claim(&mut *tx, &session::hash(token), now).await? {
        return Err(AppError::Conflict(
            "This invitation has already been used. Sign in instead, or ask for a new invitation."
                .into(),
        ));
    }
    accounts::insert_user(&mut *tx, &user).await.map_err(|e| {
        if accounts::is_unique_violation(&e) {
            AppError::Conflict(format!(
                "{} already has a Refloop account. Sign in instead.",
                inv.email
            ))
        } else {
            e.into()
        }
    })?;
    activity::record(
        &mut *tx,
        activity::NewActivity {
            account_id: &inv.account_id,
            actor_id: Some(&user.id),
            actor_name: &name,
            kind: ActivityKind::MemberJoined,
            summary: format!(
                "{name} ({}) joined as {}, invited by {}",
                inv.email, inv.role, inv.invited_by
            ),
            ip,
        },
    )
    .await?;
    let session_token = start_session(&mut *tx, &user.id).await?;
    tx.commit().await?;
    let _ = db::sessions::delete_expired(db.pool(), now).await;
    Ok(session_token)
}
