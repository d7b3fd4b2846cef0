//! Connecting one Stripe account to a Refloop account, and disconnecting it.

use crate::{
    accounts,
    auth::Ctx,
    db::{stripe_connections, unix_now, Db},
    domain::{
        activity::ActivityKind,
        integrations::{
            check_key_format, explain_missing_permissions, key_hint, StripeConnection, StripeMode,
        },
    },
    error::AppError,
    secrets::Sealer,
    stripe::{probe::check_key, StripeClient, StripeError},
};

pub async fn stripe_status(db: &Db, ctx: &Ctx) -> Result<Option<StripeConnection>, AppError> {
    Ok(stripe_connections::get(db.pool(), &ctx.account_id)
        .await?
        .map(|c| c.public()))
}

/// Connects the built-in sandbox or the merchant's Stripe account by key. A key is first
/// checked against Stripe at `stripe_api_url` (which account it opens; every permission
/// Refloop needs) and kept only if it passes, sealed at rest. Only one Stripe account at a
/// time: a second needs the first disconnected.
pub async fn connect_stripe(
    db: &Db,
    sealer: &Sealer,
    stripe_api_url: &str,
    ctx: &Ctx,
    mode: StripeMode,
    key: &str,
) -> Result<StripeConnection, AppError> {
    let (sealed_key, hint, livemode, checked) = match mode {
        StripeMode::Sandbox => (None, None, false, None),
        StripeMode::Key => {
            let key = key.trim();
            let live = check_key_format(key).map_err(|m| AppError::invalid("key", m))?;
            let check = check_key(&StripeClient::new(stripe_api_url, key))
                .await
                .map_err(|e| match e {
                    StripeError::InvalidKey => AppError::invalid("key", e.to_string()),
                    _ => AppError::Unavailable(format!(
                        "The key could not be checked: {e} Try again in a moment."
                    )),
                })?;
            if let Some(message) = explain_missing_permissions(&check.missing) {
                return Err(AppError::invalid("key", message));
            }
            (
                Some(sealer.seal(key)),
                Some(key_hint(key)),
                live,
                Some(check),
            )
        }
    };
    let row = stripe_connections::ConnectionRow {
        account_id: ctx.account_id.clone(),
        mode,
        sealed_key,
        key_hint: hint,
        livemode,
        stripe_account_id: checked.as_ref().map(|c| c.account_id.clone()),
        stripe_account_name: checked.and_then(|c| c.account_name),
        connected_by: ctx.name.clone(),
        connected_at: unix_now(),
    };
    let mut tx = db.begin().await?;
    if !stripe_connections::insert(&mut *tx, &row).await? {
        let current = stripe_connections::get(&mut *tx, &ctx.account_id).await?;
        return Err(AppError::Conflict(format!(
            "{} is already connected. Refloop connects one Stripe account at a time: disconnect it first.",
            current.map(|c| c.public().describe()).unwrap_or_else(|| "A Stripe account".into())
        )));
    }
    accounts::record(
        &mut *tx,
        ctx,
        ActivityKind::StripeConnected,
        format!("Connected {}", row.public().describe()),
    )
    .await?;
    tx.commit().await?;
    Ok(row.public())
}

pub async fn disconnect_stripe(db: &Db, ctx: &Ctx) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let Some(current) = stripe_connections::get(&mut *tx, &ctx.account_id).await? else {
        return Err(AppError::NotFound("Stripe connection".into()));
    };
    stripe_connections::delete(&mut *tx, &ctx.account_id).await?;
    accounts::record(
        &mut *tx,
        ctx,
        ActivityKind::StripeDisconnected,
        format!("Disconnected {}", current.public().describe()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
