//! Teammates: roles, single permissions, removal, and ownership.

use super::record;
use crate::{
    auth::Ctx,
    db::{accounts, Db},
    domain::{
        activity::ActivityKind,
        permissions::{effective, may_give_role, Permission, Role},
        team::Member,
    },
    error::AppError,
};

/// Everyone in the caller's account.
pub async fn list_members(db: &Db, ctx: &Ctx) -> Result<Vec<Member>, AppError> {
    Ok(accounts::users_in_account(db.pool(), &ctx.account_id)
        .await?
        .into_iter()
        .map(|u| Member {
            permissions: effective(u.role, &u.overrides),
            id: u.id,
            name: u.name,
            email: u.email,
            role: u.role,
            overrides: u.overrides,
            joined_at: u.created_at,
        })
        .collect())
}

fn teammate_not_found() -> AppError {
    AppError::NotFound("Teammate".into())
}

/// Refuses, as `require` would, anyone without Manage account (the owners).
async fn require_owner(db: &Db, ctx: &Ctx) -> Result<(), AppError> {
    crate::auth::permit(db, ctx, Permission::ManageAccount).await
}

/// Gives a teammate another role. Making or unmaking an Owner is for owners; the last Owner
/// keeps the role (transfer ownership instead).
pub async fn set_role(db: &Db, ctx: &Ctx, member_id: &str, role: Role) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let member = accounts::user_in_account(&mut *tx, &ctx.account_id, member_id)
        .await?
        .ok_or_else(teammate_not_found)?;
    if member.role == role {
        return Ok(());
    }
    may_give_role(
        ctx.role,
        &ctx.permissions,
        member.id == ctx.user_id,
        Some(member.role),
        role,
    )
    .map_err(AppError::Forbidden)?;
    if member.role == Role::Owner && accounts::count_owners(&mut *tx, &ctx.account_id).await? <= 1 {
        return Err(AppError::Conflict(format!(
            "{} is the account's only owner. Transfer ownership to someone else first.",
            member.name
        )));
    }
    // Overrides belong to the old role's defaults; a new role starts clean.
    accounts::update_role(
        &mut *tx,
        &ctx.account_id,
        member_id,
        role,
        &Default::default(),
    )
    .await?;
    record(
        &mut *tx,
        ctx,
        ActivityKind::RoleChanged,
        format!(
            "Changed {}'s role from {} to {}",
            member.name, member.role, role
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Grants or revokes one permission on top of a teammate's role (owners only).
pub async fn set_permission(
    db: &Db,
    ctx: &Ctx,
    member_id: &str,
    permission: Permission,
    allowed: bool,
) -> Result<(), AppError> {
    require_owner(db, ctx).await?;
    if !permission.grantable() {
        return Err(AppError::invalid(
            "permission",
            format!("{permission} belongs to owners: make them an owner instead."),
        ));
    }
    let mut tx = db.begin().await?;
    let member = accounts::user_in_account(&mut *tx, &ctx.account_id, member_id)
        .await?
        .ok_or_else(teammate_not_found)?;
    if member.role == Role::Owner {
        return Err(AppError::Conflict(format!(
            "{} is an owner and always has every permission.",
            member.name
        )));
    }
    let mut overrides = member.overrides.clone();
    overrides.set(member.role, permission, allowed);
    accounts::update_role(
        &mut *tx,
        &ctx.account_id,
        member_id,
        member.role,
        &overrides,
    )
    .await?;
    let verb = if allowed { "Granted" } else { "Revoked" };
    let prep = if allowed { "to" } else { "from" };
    record(
        &mut *tx,
        ctx,
        ActivityKind::PermissionChanged,
        format!("{verb} {permission} {prep} {}", member.name),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Removes a teammate and ends their sessions. Owners can be removed only by owners, and the
/// last Owner not at all.
pub async fn remove_member(db: &Db, ctx: &Ctx, member_id: &str) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let member = accounts::user_in_account(&mut *tx, &ctx.account_id, member_id)
        .await?
        .ok_or_else(teammate_not_found)?;
    if matches!(member.role, Role::Owner | Role::Admin) && !ctx.can(Permission::ManageAccount) {
        return Err(AppError::Forbidden(
            "Only an account owner can make, change or remove an Owner or an Admin.".into(),
        ));
    }
    if member.role == Role::Owner && accounts::count_owners(&mut *tx, &ctx.account_id).await? <= 1 {
        return Err(AppError::Conflict(format!(
            "{} is the account's only owner and cannot be removed. Transfer ownership first.",
            member.name
        )));
    }
    accounts::delete_user(&mut *tx, &ctx.account_id, member_id).await?;
    record(
        &mut *tx,
        ctx,
        ActivityKind::MemberRemoved,
        format!("Removed {} ({})", member.name, member.email),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Makes a teammate the Owner; the caller, who must be the Owner, becomes an Admin.
pub async fn transfer_ownership(db: &Db, ctx: &Ctx, member_id: &str) -> Result<(), AppError> {
    require_owner(db, ctx).await?;
    if member_id == ctx.user_id {
        return Err(AppError::invalid("member", "You already own this account."));
    }
    let mut tx = db.begin().await?;
    let member = accounts::user_in_account(&mut *tx, &ctx.account_id, member_id)
        .await?
        .ok_or_else(teammate_not_found)?;
    accounts::update_role(
        &mut *tx,
        &ctx.account_id,
        member_id,
        Role::Owner,
        &Default::default(),
    )
    .await?;
    accounts::update_role(
        &mut *tx,
        &ctx.account_id,
        &ctx.user_id,
        Role::Admin,
        &Default::default(),
    )
    .await?;
    record(
        &mut *tx,
        ctx,
        ActivityKind::OwnershipTransferred,
        format!(
            "Transferred ownership to {} ({}); {} is now an Admin",
            member.name, member.email, ctx.name
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
