//! Outbound webhooks: an event is written, in the transaction of the change it tells about, as
//! one message per endpoint that takes it, and a job delivers each — signed as the Standard
//! Webhooks specification says, tried again over about three days, and the endpoint disabled
//! when a message used every attempt with nothing delivered to it meanwhile.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sqlx::AnyConnection;

use super::Job;
use crate::{
    db::{
        new_id,
        participants::ParticipantRow,
        rewards::RewardRow,
        sync::RunRow,
        unix_now,
        webhooks::{self, DeliveryRow},
    },
    domain::{
        time::{format_rfc3339, format_utc},
        webhooks::{next_attempt_after, DeliveryStatus, WebhookEvent, RESPONSE_KEPT, RETRY_DELAYS},
    },
    jobs::{queue, JobError, NewJob, Registry},
    workflows::StripeAccess,
};

pub const DELIVER: &str = "webhooks.deliver";

/// The prefix of a signing secret, as Standard Webhooks writes it.
pub const SECRET_PREFIX: &str = "whsec_";

/// How long an endpoint has to answer.
const TIMEOUT: Duration = Duration::from_secs(15);

/// A new signing secret: `whsec_` and 32 random bytes in base64.
pub fn new_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// The `webhook-signature` header of a message: `v1,` and the base64 HMAC-SHA256, under the
/// secret's bytes, of `{id}.{timestamp}.{body}`.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = STANDARD.decode(secret.strip_prefix(SECRET_PREFIX)?).ok()?;
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Some(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// Writes `event` with `data` as a message to each enabled endpoint of the account that takes
/// it, each with its delivery job, in the caller's transaction.
pub async fn emit(
    conn: &mut AnyConnection,
    account_id: &str,
    event: WebhookEvent,
    data: Value,
) -> Result<(), sqlx::Error> {
    let endpoints = webhooks::endpoints(&mut *conn, account_id).await?;
    let takers: Vec<_> = endpoints
        .iter()
        .filter(|e| e.enabled && e.events.contains(&event))
        .collect();
    if takers.is_empty() {
        return Ok(());
    }
    let now = unix_now();
    let payload = json!({
        "type": event.key(),
        "timestamp": format_rfc3339(now),
        "data": data,
    });
    for e in takers {
        let d = DeliveryRow {
            id: new_id("msg"),
            account_id: account_id.to_string(),
            endpoint_id: e.id.clone(),
            event,
            payload: payload.to_string(),
            status: DeliveryStatus::Pending,
            attempts: 0,
            response_status: None,
            response_body: String::new(),
            created_at: now,
            last_attempt_at: None,
            next_attempt_at: Some(now),
        };
        webhooks::insert_delivery(&mut *conn, &d).await?;
        queue::enqueue(&mut *conn, &deliver_job(&d, None)).await?;
    }
    Ok(())
}

/// The job delivering message `d` (its attempt after `attempts`), at `at_ms` when given.
pub fn deliver_job(d: &DeliveryRow, at_ms: Option<i64>) -> NewJob {
    let job = NewJob::new(DELIVER, json!({ "delivery": d.id, "attempts": d.attempts }))
        .account(&d.account_id)
        .dedupe(format!("{DELIVER}:{}:{}", d.id, d.attempts))
        .max_attempts(3);
    match at_ms {
        Some(at) => job.at(at),
        None => job,
    }
}

/// How this process sends messages: through one client, to public addresses only unless the
/// operator allows private ones (`--webhooks-allow-private`).
#[derive(Clone)]
pub struct Outbound {
    http: reqwest::Client,
    allow_private: bool,
}

impl Outbound {
    pub fn new(allow_private: bool) -> Outbound {
        Outbound {
            http: client(allow_private),
            allow_private,
        }
    }
}

/// Registers the delivery job.
pub fn register(registry: Registry<StripeAccess>, outbound: Outbound) -> Registry<StripeAccess> {
    registry.register(DELIVER, move |ctx| run_deliver(ctx, outbound.clone()))
}

/// The client messages go out through: no redirects, a timeout, and unless `allow_private`, a
/// resolver that gives only public addresses (so that an endpoint cannot reach this machine's
/// or its network's services, whatever its name resolves to).
fn client(allow_private: bool) -> reqwest::Client {
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .user_agent("Refloop-Webhooks/1");
    let builder = if allow_private {
        builder
    } else {
        builder.dns_resolver(Arc::new(PublicOnly))
    };
    builder.build().expect("the webhook client builds")
}

/// A resolver keeping only public addresses.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| crate::domain::webhooks::is_public(a.ip()))
                .collect();
            if public.is_empty() {
                return Err(format!("{host} resolves only to private addresses").into());
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The host an endpoint's address names (an IPv6 address without its brackets).
pub fn host_of(url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    let host = parsed.host_str()?;
    Some(
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
    )
}

/// Why `url` may not be sent to, before any request: a private address written as an IP.
fn refused_address(url: &str, allow_private: bool) -> Option<String> {
    let ip: std::net::IpAddr = host_of(url)?.parse().ok()?;
    (!allow_private && !crate::domain::webhooks::is_public(ip))
        .then(|| format!("{ip} is a private address"))
}

async fn run_deliver(ctx: Job, outbound: Outbound) -> Result<(), JobError> {
    let id = ctx.job.payload["delivery"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let account = ctx.job.account_id.clone().unwrap_or_default();
    let Some(d) = webhooks::delivery(ctx.db.pool(), &account, &id).await? else {
        return finish(&ctx).await;
    };
    let expected = ctx.job.payload["attempts"].as_i64().unwrap_or_default();
    if d.status != DeliveryStatus::Pending || d.attempts != expected {
        return finish(&ctx).await;
    }
    let endpoint = webhooks::endpoint(ctx.db.pool(), &account, &d.endpoint_id).await?;
    let now = unix_now();
    let outcome = match &endpoint {
        None => Err("the endpoint was deleted".to_string()),
        Some(e) if !e.enabled => Err("the endpoint is disabled".to_string()),
        Some(e) => send(&ctx, &outbound, e, &d, now).await,
    };
    let attempts = d.attempts + 1;
    let mut next = DeliveryRow {
        attempts,
        last_attempt_at: Some(now),
        next_attempt_at: None,
        ..d.clone()
    };
    let mut retry_at = None;
    let mut disable = None;
    match outcome {
        Ok((status, body)) if (200..300).contains(&status) => {
            next.status = DeliveryStatus::Delivered;
            next.response_status = Some(status);
            next.response_body = body;
        }
        other => {
            let said = match other {
                Ok((status, body)) => {
                    next.response_status = Some(status);
                    next.response_body = body;
                    format!("HTTP {status}")
                }
                Err(why) => {
                    next.response_status = None;
                    next.response_body = why.clone();
                    why
                }
            };
            match next_attempt_after(attempts)
                .filter(|_| endpoint.as_ref().is_some_and(|e| e.enabled))
            {
                Some(delay) => {
                    next.next_attempt_at = Some(now + delay);
                    retry_at = Some((now + delay) * 1000);
                }
                None => {
                    next.status = DeliveryStatus::Failed;
                    let quiet = !webhooks::delivered_since(
                        ctx.db.pool(),
                        &account,
                        &d.endpoint_id,
                        d.created_at,
                    )
                    .await?;
                    // Only a message that used its whole schedule disables (a replay that
                    // fails once more does not).
                    let exhausted = attempts == RETRY_DELAYS.len() as i64 + 1;
                    if exhausted && quiet && endpoint.as_ref().is_some_and(|e| e.enabled) {
                        disable = Some(format!(
                            "Disabled on {}: every attempt to deliver {} since {} failed (the last: {said}), and nothing reached it meanwhile.",
                            format_utc(now),
                            d.id,
                            format_utc(d.created_at)
                        ));
                    }
                }
            }
        }
    }
    let mut tx = ctx.db.begin().await?;
    if webhooks::record(&mut *tx, &next, d.attempts).await? {
        if let Some(at) = retry_at {
            queue::enqueue(&mut tx, &deliver_job(&next, Some(at))).await?;
        }
        if let Some(reason) = &disable {
            webhooks::set_enabled(&mut *tx, &account, &d.endpoint_id, Some(reason)).await?;
        }
    }
    ctx.complete_in(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

async fn finish(ctx: &Job) -> Result<(), JobError> {
    let mut tx = ctx.db.begin().await?;
    ctx.complete_in(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

/// One attempt: the response's status and the start of its body, or why none came.
async fn send(
    ctx: &Job,
    outbound: &Outbound,
    e: &webhooks::EndpointRow,
    d: &DeliveryRow,
    now: i64,
) -> Result<(i64, String), String> {
    if let Some(why) = refused_address(&e.url, outbound.allow_private) {
        return Err(format!("Not sent: {why}"));
    }
    let secret = ctx.app.sealer.open(&e.sealed_secret).map_err(|_| {
        "Not sent: the signing secret cannot be opened with this server's secret key".to_string()
    })?;
    let signature = signature(&secret, &d.id, now, &d.payload)
        .ok_or_else(|| "Not sent: the signing secret is malformed".to_string())?;
    let res = outbound
        .http
        .post(&e.url)
        .header("content-type", "application/json")
        .header("webhook-id", &d.id)
        .header("webhook-timestamp", now.to_string())
        .header("webhook-signature", signature)
        .body(d.payload.clone())
        .send()
        .await
        .map_err(|err| {
            let mut why = err.to_string();
            let mut source = std::error::Error::source(&err);
            while let Some(s) = source {
                why = format!("{why}: {s}");
                source = s.source();
            }
            why
        })?;
    let status = i64::from(res.status().as_u16());
    let body = res.text().await.unwrap_or_default();
    let kept: String = body.chars().take(RESPONSE_KEPT).collect();
    Ok((status, kept))
}

/// A participant as a message carries them: as the API shows them, less the links that need
/// this server's address (`GET /api/v1/participants/{id}` gives those).
pub fn participant_data(p: &ParticipantRow) -> Value {
    json!({
        "id": p.id,
        "object": "participant",
        "campaign": p.campaign_id,
        "email": p.email,
        "first_name": p.first_name,
        "last_name": p.last_name,
        "referral_code": p.code,
        "referred_by": p.referrer_id,
        "referrals": p.referrals,
        "qualified_referrals": p.qualified_referrals,
        "qualification": p.qualification.key(),
        "stripe": { "status": p.stripe_status.key(), "customer": p.stripe_customer_id },
        "created": p.created_at,
    })
}

/// `participant.joined` or `participant.sent_to_stripe`, about `p`.
pub async fn about_participant(
    conn: &mut AnyConnection,
    event: WebhookEvent,
    p: &ParticipantRow,
) -> Result<(), sqlx::Error> {
    emit(
        conn,
        &p.account_id,
        event,
        json!({ "participant": participant_data(p) }),
    )
    .await
}

/// `referral.qualified` or `referral.unqualified`: the friend and who referred them.
pub async fn about_referral(
    conn: &mut AnyConnection,
    event: WebhookEvent,
    friend: &ParticipantRow,
    referrer: &ParticipantRow,
) -> Result<(), sqlx::Error> {
    let data =
        json!({ "friend": participant_data(friend), "referrer": participant_data(referrer) });
    emit(conn, &friend.account_id, event, data).await
}

/// `reward.issued` or `reward.reversed`: the reward as the API shows it.
pub async fn about_reward(
    conn: &mut AnyConnection,
    event: WebhookEvent,
    r: &RewardRow,
) -> Result<(), sqlx::Error> {
    let data = json!({ "reward": crate::rest::rewards::to_json(r) });
    emit(conn, &r.account_id, event, data).await
}

/// `sync.finished`: a one-time sync of Stripe's customers ended (done or failed), with its counts.
pub async fn sync_finished(conn: &mut AnyConnection, run: &RunRow) -> Result<(), sqlx::Error> {
    let t = &run.tally;
    let data = json!({ "sync": {
        "id": run.id,
        "object": "sync",
        "campaign": run.campaign_id,
        "status": run.status.key(),
        "note": run.note,
        "read": t.read,
        "enrolled": t.enrolled,
        "skipped": { "blank_field": t.blank, "already_participant": t.existing, "deleted": t.deleted, "participant_limit": t.limit },
        "written_to_stripe": run.written,
        "started": run.started_at,
        "finished": run.finished_at,
    }});
    emit(conn, &run.account_id, WebhookEvent::SyncFinished, data).await
}
