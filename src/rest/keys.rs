//! Making, listing and revoking the account's API keys (Manage integrations, checked by the
//! server functions). A key is shown once, when made; only its SHA-256 is kept.

use crate::{
    accounts,
    auth::{session, Ctx},
    db::{
        api_keys::{self, ApiKeyRow},
        campaigns, new_id, unix_now, Db,
    },
    domain::{
        activity::ActivityKind,
        api_keys::{check_key_form, prefix_of, ApiKey, NewApiKey},
    },
    error::AppError,
};

/// How every key starts, so that a leaked one is recognisable.
pub const KEY_PREFIX: &str = "rfk_";

/// Makes a key named `name` with `scope`, limited to `campaign_ids` (none: every campaign).
pub async fn create(
    db: &Db,
    ctx: &Ctx,
    name: &str,
    scope: &str,
    campaign_ids: Vec<String>,
) -> Result<NewApiKey, AppError> {
    let (name, scope) = check_key_form(name, scope).map_err(AppError::fields)?;
    let all = campaigns::list(db.pool(), &ctx.account_id).await?;
    let mut limited = Vec::new();
    for id in campaign_ids.into_iter().filter(|id| !id.is_empty()) {
        if !all.iter().any(|c| c.id == id) {
            return Err(AppError::invalid(
                "campaigns",
                "Choose campaigns of this account.",
            ));
        }
        if !limited.contains(&id) {
            limited.push(id);
        }
    }
    let secret = format!("{KEY_PREFIX}{}", session::new_token());
    let row = ApiKeyRow {
        id: new_id("key"),
        account_id: ctx.account_id.clone(),
        name,
        prefix: prefix_of(&secret),
        scope,
        campaigns: limited,
        created_by: ctx.email.clone(),
        created_at: unix_now(),
        last_used_at: None,
        revoked_at: None,
    };
    let mut tx = db.begin().await?;
    api_keys::insert(&mut *tx, &row, &session::hash(&secret)).await?;
    accounts::record(
        &mut *tx,
        ctx,
        ActivityKind::ApiKeyCreated,
        format!("Created the API key “{}” ({})", row.name, row.scope.label()),
    )
    .await?;
    tx.commit().await?;
    Ok(NewApiKey {
        key: public(&row, &all),
        secret,
    })
}

/// The account's keys, the newest first.
pub async fn list(db: &Db, ctx: &Ctx) -> Result<Vec<ApiKey>, AppError> {
    let all = campaigns::list(db.pool(), &ctx.account_id).await?;
    Ok(api_keys::list(db.pool(), &ctx.account_id)
        .await?
        .iter()
        .map(|k| public(k, &all))
        .collect())
}

/// Revokes the account's key `id`: requests with it are refused from now on.
pub async fn revoke(db: &Db, ctx: &Ctx, id: &str) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let key = api_keys::revoke(&mut *tx, &ctx.account_id, id, unix_now())
        .await?
        .ok_or_else(|| AppError::NotFound("This API key".into()))?;
    accounts::record(
        &mut *tx,
        ctx,
        ActivityKind::ApiKeyRevoked,
        format!("Revoked the API key “{}”", key.name),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

fn public(k: &ApiKeyRow, all: &[campaigns::CampaignRow]) -> ApiKey {
    ApiKey {
        id: k.id.clone(),
        name: k.name.clone(),
        prefix: k.prefix.clone(),
        scope: k.scope,
        campaigns: k
            .campaigns
            .iter()
            .map(|id| {
                all.iter()
                    .find(|c| &c.id == id)
                    .map_or_else(|| "(a deleted campaign)".to_string(), |c| c.name.clone())
            })
            .collect(),
        created_by: k.created_by.clone(),
        created_at: k.created_at,
        last_used_at: k.last_used_at,
        revoked_at: k.revoked_at,
    }
}
