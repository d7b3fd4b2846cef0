//! Connecting one Stripe account to a Refloop account, and disconnecting it.

use crate::{
    accounts,
    auth::Ctx,
    db::{participants, sending, stripe_connections, unix_now, Db},
    domain::{
        activity::ActivityKind,
        integrations::{
            check_key_format, explain_missing_permissions, key_hint, StripeConnection, StripeMode,
        },
        participants::EventKind,
    },
    error::AppError,
    stripe::{probe::check_key, StripeError},
    workflows::StripeAccess,
};

pub async fn stripe_status(db: &Db, ctx: &Ctx) -> Result<Option<StripeConnection>, AppError> {
    Ok(stripe_connections::get(db.pool(), &ctx.account_id)
        .await?
        .map(|c| c.public()))
}

/// Connects the built-in sandbox (a sandbox account of its own, provisioned on the spot) or
/// the merchant's Stripe account by key. A pasted key is first checked against Stripe (which
/// account it opens; every permission Refloop needs) and kept only if it passes. Keys are
/// sealed at rest. Only one Stripe account at a time: a second needs the first disconnected.
pub async fn connect_stripe(
    db: &Db,
    access: &StripeAccess,
    ctx: &Ctx,
    mode: StripeMode,
    key: &str,
) -> Result<StripeConnection, AppError> {
    if let Some(current) = stripe_connections::get(db.pool(), &ctx.account_id).await? {
        return Err(already_connected(Some(current)));
    }
    let sealer = &access.sealer;
    let (sealed_key, hint, livemode, checked) = match mode {
        StripeMode::Sandbox => {
            let name = crate::db::accounts::account_name(db.pool(), &ctx.account_id)
                .await?
                .unwrap_or_else(|| "Refloop".into());
            let (account_id, key) =
                provision_sandbox_account(access, &ctx.account_id, &name).await?;
            (
                Some(sealer.seal(&key)),
                Some(key_hint(&key)),
                false,
                Some(crate::stripe::probe::KeyCheck {
                    account_id,
                    account_name: Some(name),
                    missing: Vec::new(),
                    missing_optional: Vec::new(),
                }),
            )
        }
        StripeMode::Key => {
            let key = key.trim();
            let live = check_key_format(key).map_err(|m| AppError::invalid("key", m))?;
            let check = check_key(&access.client(&access.api_url, key))
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
        alert: None,
        alert_at: None,
    };
    let mut tx = db.begin().await?;
    if !stripe_connections::insert(&mut *tx, &row).await? {
        let current = stripe_connections::get(&mut *tx, &ctx.account_id).await?;
        return Err(already_connected(current));
    }
    accounts::record(
        &mut *tx,
        ctx,
        ActivityKind::StripeConnected,
        format!("Connected {}", row.public().describe()),
    )
    .await?;
    if let Some(now) = &row.stripe_account_id {
        set_aside_former_links(&mut tx, &ctx.account_id, now).await?;
    }
    tx.commit().await?;
    Ok(row.public())
}

/// After a switch to another Stripe account, the people linked to the former account's
/// customers keep those links but they count for nothing (payments, rewards, Stripe status),
/// and each person's timeline says so. Connecting the former account again brings them back.
async fn set_aside_former_links(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    account_id: &str,
    stripe_account: &str,
) -> Result<(), AppError> {
    let people = sending::linked_elsewhere(&mut *tx, account_id, stripe_account).await?;
    if people.is_empty() {
        return Ok(());
    }
    let details: Vec<String> = people
        .iter()
        .map(|(_, former)| {
            format!(
                "Stripe account changed from {former} to {stripe_account}: links to the old account's customers were set aside"
            )
        })
        .collect();
    let events: Vec<_> = people
        .iter()
        .zip(&details)
        .map(|((p, _), d)| (p, EventKind::StripeAccountChanged, d.as_str()))
        .collect();
    participants::add_events(&mut *tx, &events, unix_now()).await?;
    let ids: Vec<&str> = people.iter().map(|(p, _)| p.id.as_str()).collect();
    for chunk in ids.chunks(500) {
        sending::unsend(
            &mut **tx,
            account_id,
            chunk,
            &format!("Not in {stripe_account} yet: the Stripe account changed"),
        )
        .await?;
    }
    Ok(())
}

fn already_connected(current: Option<stripe_connections::ConnectionRow>) -> AppError {
    AppError::Conflict(format!(
        "{} is already connected. Refloop connects one Stripe account at a time: disconnect it first.",
        current
            .map(|c| c.public().describe())
            .unwrap_or_else(|| "A Stripe account".into())
    ))
}

/// Opens an account in the built-in sandbox (over HTTP, like any Stripe call), belonging to the
/// Refloop account `owner`: its id and secret key.
async fn provision_sandbox_account(
    access: &StripeAccess,
    owner: &str,
    name: &str,
) -> Result<(String, String), AppError> {
    let unavailable = |e: String| {
        AppError::Unavailable(format!(
            "The built-in Stripe sandbox did not answer at {} ({e}). Check REFLOOP_SANDBOX_URL and try again.",
            access.sandbox_url
        ))
    };
    let answer: serde_json::Value = access
        .http
        .post(format!("{}/_sandbox/accounts", access.sandbox_url))
        .bearer_auth(access.sandbox_token())
        .json(&serde_json::json!({ "name": name, "owner": owner }))
        .send()
        .await
        .map_err(|e| unavailable(e.without_url().to_string()))?
        .error_for_status()
        .map_err(|e| unavailable(e.without_url().to_string()))?
        .json()
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    match (answer["account"].as_str(), answer["secret_key"].as_str()) {
        (Some(a), Some(k)) => Ok((a.to_string(), k.to_string())),
        _ => Err(unavailable("no account in its answer".into())),
    }
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
