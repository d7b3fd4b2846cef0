//! Connecting one Stripe account to a Refloop account, and disconnecting it.

use crate::{
    accounts,
    auth::Ctx,
    db::{stripe_connections, unix_now, Db},
    domain::{
        activity::ActivityKind,
        integrations::{check_key_format, key_hint, StripeConnection, StripeMode},
    },
    error::AppError,
    secrets::Sealer,
};

pub async fn stripe_status(db: &Db, ctx: &Ctx) -> Result<Option<StripeConnection>, AppError> {
    Ok(stripe_connections::get(db.pool(), &ctx.account_id)
        .await?
        .map(|c| c.public()))
}

/// Connects the built-in sandbox or the merchant's Stripe account by key (sealed at rest).
/// Only one Stripe account at a time: a second needs the first disconnected.
pub async fn connect_stripe(
    db: &Db,
    sealer: &Sealer,
    ctx: &Ctx,
    mode: StripeMode,
    key: &str,
) -> Result<StripeConnection, AppError> {
    let (sealed_key, hint, livemode) = match mode {
        StripeMode::Sandbox => (None, None, false),
        StripeMode::Key => {
            let live = check_key_format(key).map_err(|m| AppError::invalid("key", m))?;
            (Some(sealer.seal(key.trim())), Some(key_hint(key)), live)
        }
    };
    let row = stripe_connections::ConnectionRow {
        account_id: ctx.account_id.clone(),
        mode,
        sealed_key,
        key_hint: hint,
        livemode,
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
