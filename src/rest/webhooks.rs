//! The account's outbound webhook endpoints (Manage integrations, checked by the server
//! functions): add one (its signing secret shown once), see each with its latest messages,
//! replay a message, enable a disabled endpoint again, remove one.

use crate::{
    accounts,
    auth::Ctx,
    db::{
        new_id, unix_now,
        webhooks::{self, DeliveryRow, EndpointRow},
        Db,
    },
    domain::{
        activity::ActivityKind,
        webhooks::{
            check_endpoint_form, is_public, DeliveryStatus, NewWebhookEndpoint, WebhookEndpoint,
        },
    },
    error::AppError,
    jobs::queue,
    secrets::Sealer,
    workflows::outbound::{deliver_job, host_of, new_secret},
};

/// The latest messages shown with each endpoint.
const LOG_SIZE: i64 = 20;

/// Adds an endpoint for `url` taking `events`. Unless `allow_private`, an address that is, or
/// resolves only to, a private one is refused.
pub async fn create(
    db: &Db,
    sealer: &Sealer,
    allow_private: bool,
    ctx: &Ctx,
    url: &str,
    events: &[String],
) -> Result<NewWebhookEndpoint, AppError> {
    let (url, events) = check_endpoint_form(url, events).map_err(AppError::fields)?;
    if !allow_private {
        reachable(&url)
            .await
            .map_err(|m| AppError::invalid("url", m))?;
    }
    let secret = new_secret();
    let row = EndpointRow {
        id: new_id("we"),
        account_id: ctx.account_id.clone(),
        url,
        events,
        sealed_secret: sealer.seal(&secret),
        enabled: true,
        disabled_reason: None,
        created_by: ctx.email.clone(),
        created_at: unix_now(),
    };
    let mut tx = db.begin().await?;
    webhooks::insert_endpoint(&mut *tx, &row).await?;
    accounts::record(
        &mut *tx,
        ctx,
        ActivityKind::WebhookEndpointAdded,
        format!("Added the webhook endpoint {}", row.url),
    )
    .await?;
    tx.commit().await?;
    Ok(NewWebhookEndpoint {
        endpoint: view(&row, Vec::new()),
        secret,
    })
}

/// Whether `url`'s host is a public address, or a name with one.
async fn reachable(url: &str) -> Result<(), String> {
    let host = host_of(url).unwrap_or_default();
    let addresses: Vec<std::net::IpAddr> = match host.parse() {
        Ok(ip) => vec![ip],
        Err(_) => tokio::net::lookup_host((host.as_str(), 443))
            .await
            .map_err(|_| format!("{host} cannot be found: check the address."))?
            .map(|a| a.ip())
            .collect(),
    };
    if addresses.iter().any(|ip| is_public(*ip)) {
        Ok(())
    } else {
        Err(format!("{host} is a private address: Refloop sends webhooks only to addresses on the internet."))
    }
}

/// The account's endpoints, oldest first, each with its latest messages.
pub async fn list(db: &Db, ctx: &Ctx) -> Result<Vec<WebhookEndpoint>, AppError> {
    let mut out = Vec::new();
    for e in webhooks::endpoints(db.pool(), &ctx.account_id).await? {
        let log = webhooks::deliveries_of(db.pool(), &ctx.account_id, &e.id, LOG_SIZE).await?;
        out.push(view(&e, log));
    }
    Ok(out)
}

fn view(e: &EndpointRow, log: Vec<DeliveryRow>) -> WebhookEndpoint {
    WebhookEndpoint {
        id: e.id.clone(),
        url: e.url.clone(),
        events: e.events.clone(),
        enabled: e.enabled,
        disabled_reason: e.disabled_reason.clone(),
        created_by: e.created_by.clone(),
        created_at: e.created_at,
        deliveries: log.iter().map(DeliveryRow::view).collect(),
    }
}

/// Enables a disabled endpoint again; the messages that failed meanwhile can be replayed.
pub async fn enable(db: &Db, ctx: &Ctx, id: &str) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let e = webhooks::endpoint(&mut *tx, &ctx.account_id, id)
        .await?
        .ok_or_else(|| AppError::NotFound("This webhook endpoint".into()))?;
    webhooks::set_enabled(&mut *tx, &ctx.account_id, id, None).await?;
    accounts::record(
        &mut *tx,
        ctx,
        ActivityKind::WebhookEndpointChanged,
        format!("Enabled the webhook endpoint {}", e.url),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Removes an endpoint and its messages.
pub async fn delete(db: &Db, ctx: &Ctx, id: &str) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let e = webhooks::endpoint(&mut *tx, &ctx.account_id, id)
        .await?
        .ok_or_else(|| AppError::NotFound("This webhook endpoint".into()))?;
    webhooks::delete_endpoint(&mut tx, &ctx.account_id, id).await?;
    accounts::record(
        &mut *tx,
        ctx,
        ActivityKind::WebhookEndpointChanged,
        format!("Removed the webhook endpoint {}", e.url),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Sends a message again, now, with its `webhook-id` (so a receiver that handled it already
/// can tell), whatever became of it before.
pub async fn replay(db: &Db, ctx: &Ctx, delivery_id: &str) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let d = webhooks::delivery(&mut *tx, &ctx.account_id, delivery_id)
        .await?
        .ok_or_else(|| AppError::NotFound("This message".into()))?;
    let endpoint = webhooks::endpoint(&mut *tx, &ctx.account_id, &d.endpoint_id)
        .await?
        .ok_or_else(|| AppError::NotFound("This webhook endpoint".into()))?;
    if !endpoint.enabled {
        return Err(AppError::Conflict(
            "This endpoint is disabled: enable it first, then replay.".into(),
        ));
    }
    let again = DeliveryRow {
        status: DeliveryStatus::Pending,
        next_attempt_at: Some(unix_now()),
        ..d.clone()
    };
    if !webhooks::record(&mut *tx, &again, d.attempts).await? {
        return Err(AppError::Conflict(
            "This message is being sent right now: reload to see how it went.".into(),
        ));
    }
    queue::enqueue(&mut tx, &deliver_job(&again, None)).await?;
    tx.commit().await?;
    Ok(())
}
