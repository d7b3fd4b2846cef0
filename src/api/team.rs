//! Teammates, invitations, roles and single permissions.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    domain::team::{InvitationPreview, InvitationSent, Member, PendingInvitation},
    error::AppError,
};

#[cfg(feature = "ssr")]
use {
    super::{client_ip, enter_app, parse_role, state, with_status},
    crate::{
        accounts,
        api::context::{require, require_member},
        domain::permissions::Permission,
    },
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    pub members: Vec<Member>,
    /// Empty unless the caller may manage the team.
    pub invitations: Vec<PendingInvitation>,
}

/// The caller's team. Any member may see who is on it (and so whom to ask).
#[server(endpoint = "team")]
pub async fn get_team() -> Result<Team, AppError> {
    with_status(
        async {
            let ctx = require_member().await?;
            let state = state()?;
            let invitations = if ctx.can(Permission::ManageTeam) {
                accounts::list_invitations(&state.db, &ctx).await?
            } else {
                Vec::new()
            };
            Ok(Team {
                members: accounts::list_members(&state.db, &ctx).await?,
                invitations,
            })
        }
        .await,
    )
}

#[server(endpoint = "invite_teammate")]
pub async fn invite_teammate(email: String, role: String) -> Result<InvitationSent, AppError> {
    with_status(
        async {
            let ctx = require(Permission::ManageTeam).await?;
            let state = state()?;
            let role = parse_role(&role)?;
            accounts::invite(
                &state.db,
                &state.stripe.sealer,
                &state.mailer,
                &state.config.public_url(),
                &ctx,
                &email,
                role,
            )
            .await
        }
        .await,
    )
}

#[server(endpoint = "revoke_invitation")]
pub async fn revoke_invitation(invitation_id: String) -> Result<(), AppError> {
    with_status(
        async {
            let ctx = require(Permission::ManageTeam).await?;
            accounts::revoke_invitation(&state()?.db, &ctx, &invitation_id).await
        }
        .await,
    )
}

#[server(endpoint = "set_member_role")]
pub async fn set_member_role(member_id: String, role: String) -> Result<(), AppError> {
    with_status(
        async {
            let ctx = require(Permission::ManageTeam).await?;
            accounts::set_role(&state()?.db, &ctx, &member_id, parse_role(&role)?).await
        }
        .await,
    )
}

/// Grants (`allowed`) or revokes one permission on top of a teammate's role. Owners only.
#[server(endpoint = "set_member_permission")]
pub async fn set_member_permission(
    member_id: String,
    permission: String,
    allowed: bool,
) -> Result<(), AppError> {
    with_status(
        async {
            let ctx = require(Permission::ManageAccount).await?;
            let permission = Permission::from_key(&permission).ok_or_else(|| {
                AppError::invalid("permission", format!("“{permission}” is not a permission."))
            })?;
            accounts::set_permission(&state()?.db, &ctx, &member_id, permission, allowed).await
        }
        .await,
    )
}

#[server(endpoint = "remove_member")]
pub async fn remove_member(member_id: String) -> Result<(), AppError> {
    with_status(
        async {
            let ctx = require(Permission::ManageTeam).await?;
            accounts::remove_member(&state()?.db, &ctx, &member_id).await
        }
        .await,
    )
}

#[server(endpoint = "transfer_ownership")]
pub async fn transfer_ownership(member_id: String) -> Result<(), AppError> {
    with_status(
        async {
            let ctx = require(Permission::ManageAccount).await?;
            accounts::transfer_ownership(&state()?.db, &ctx, &member_id).await
        }
        .await,
    )
}

/// What an invitation link offers. Public: the token is the credential.
#[server(endpoint = "invitation")]
pub async fn get_invitation(token: String) -> Result<InvitationPreview, AppError> {
    with_status(async { accounts::preview_invitation(&state()?.db, &token).await }.await)
}

/// Joins the account the invitation is for, signs in, and goes to the dashboard.
#[server(endpoint = "accept_invitation")]
pub async fn accept_invitation(
    token: String,
    name: String,
    password: String,
) -> Result<(), AppError> {
    with_status(
        async {
            let state = state()?;
            let session =
                accounts::accept_invitation(&state.db, &token, &name, &password, &client_ip())
                    .await?;
            enter_app(&state, &session);
            Ok(())
        }
        .await,
    )
}
