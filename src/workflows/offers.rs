//! The friend's offer in Stripe: the campaign's coupon (one per terms, found again by its id)
//! and each person referring's own promotion code for it ("ANN-7K2Q"), made by a job when they
//! join or when the offer is set. A payment that redeems the code is attributed at checkout.

use serde_json::json;
use sqlx::AnyConnection;

use super::{sending, Job};
use crate::{
    db::{self, offers::OfferCode, participants, unix_now},
    domain::{
        participants::EventKind,
        rewards::{promotion_code, FriendOffer},
    },
    jobs::{queue, JobError, NewJob, Registry},
    stripe::StripeError,
};

use super::StripeAccess;

pub const CODE: &str = "offer.code";
pub const CAMPAIGN: &str = "offer.campaign";

/// Codes tried before giving up when each is taken (by another code of the Stripe account).
const ATTEMPTS: u32 = 6;

pub fn register(registry: Registry<StripeAccess>) -> Registry<StripeAccess> {
    registry
        .register(CODE, run_code)
        .register(CAMPAIGN, run_campaign)
}

/// Makes a person referring's code.
pub fn code_job(account_id: &str, participant_id: &str) -> NewJob {
    NewJob::new(CODE, json!({ "participant": participant_id }))
        .account(account_id)
        .dedupe(format!("{CODE}:{participant_id}"))
}

/// Makes the codes of everyone referring in a campaign (its offer was set or changed).
pub fn campaign_job(account_id: &str, campaign_id: &str) -> NewJob {
    NewJob::new(CAMPAIGN, json!({ "campaign": campaign_id }))
        .account(account_id)
        .dedupe(format!("{CAMPAIGN}:{campaign_id}"))
}

/// Whether a campaign has a friend's offer (people referring who join then get their code).
pub async fn has_offer(
    conn: &mut AnyConnection,
    c: &db::campaigns::CampaignRow,
) -> Result<bool, sqlx::Error> {
    Ok(db::rewards::settings(&mut *conn, &c.account_id, &c.id)
        .await?
        .is_some_and(|s| s.friend_offer.is_some()))
}

/// The campaign's friend's offer and, once it is made, the person's code for it (people
/// referring).
pub async fn offer_and_code(
    pool: &sqlx::AnyPool,
    c: &db::campaigns::CampaignRow,
    p: &participants::ParticipantRow,
) -> Result<Option<(FriendOffer, Option<String>)>, sqlx::Error> {
    if p.referrer_id.is_some() {
        return Ok(None);
    }
    let Some(offer) = db::rewards::settings(pool, &c.account_id, &c.id)
        .await?
        .and_then(|s| s.friend_offer)
    else {
        return Ok(None);
    };
    let code = db::offers::code_for(pool, &c.account_id, &p.id, &offer.coupon_id(&c.id)).await?;
    Ok(Some((offer, code)))
}

/// "20% off at checkout with the code ANN-7K2Q", or empty (no offer, or no code yet): what an
/// email's `{{friend_offer}}` says.
pub async fn offer_line(
    pool: &sqlx::AnyPool,
    c: &db::campaigns::CampaignRow,
    p: &participants::ParticipantRow,
) -> Result<String, sqlx::Error> {
    Ok(match offer_and_code(pool, c, p).await? {
        Some((offer, Some(code))) => offer.with_code(&code),
        _ => String::new(),
    })
}

/// The campaign's offer, if it has one.
async fn offer_of(
    ctx: &Job,
    account: &str,
    campaign: &str,
) -> Result<Option<FriendOffer>, JobError> {
    Ok(db::rewards::settings(ctx.db.pool(), account, campaign)
        .await?
        .and_then(|s| s.friend_offer))
}

async fn run_campaign(ctx: Job) -> Result<(), JobError> {
    let account = ctx.job.account_id.clone().unwrap_or_default();
    let campaign = ctx.job.payload["campaign"].as_str().unwrap_or_default();
    if offer_of(&ctx, &account, campaign).await?.is_none() {
        return Ok(());
    }
    let ids = db::offers::referrers_in_campaign(ctx.db.pool(), &account, campaign).await?;
    let mut tx = ctx.db.begin().await?;
    for id in ids {
        queue::enqueue(&mut tx, &code_job(&account, &id)).await?;
    }
    ctx.complete_in(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

fn stripe_failure(e: StripeError) -> JobError {
    if e.is_retryable() {
        JobError::Retry(e.to_string())
    } else {
        JobError::Permanent(e.to_string())
    }
}

async fn run_code(ctx: Job) -> Result<(), JobError> {
    let account = ctx.job.account_id.clone().unwrap_or_default();
    let id = ctx.job.payload["participant"].as_str().unwrap_or_default();
    let Some(p) = participants::get(ctx.db.pool(), &account, id).await? else {
        return Ok(());
    };
    if p.referrer_id.is_some() {
        return Ok(());
    }
    let Some(offer) = offer_of(&ctx, &account, &p.campaign_id).await? else {
        return Ok(());
    };
    let coupon_id = offer.coupon_id(&p.campaign_id);
    if db::offers::code_for(ctx.db.pool(), &account, &p.id, &coupon_id)
        .await?
        .is_some()
    {
        return Ok(());
    }
    // Without Stripe there is nothing to make; the codes come when the offer is saved again
    // with Stripe connected.
    let stripe = match ctx.app.connect(&ctx.db, &account).await {
        Ok(Some(s)) => s,
        Ok(None) => return Ok(()),
        Err(message) => return Err(JobError::Permanent(message.to_string())),
    };
    let stripe_account = stripe.row.stripe_account_id.clone().unwrap_or_default();
    let mut params = json!({
        "id": coupon_id, "duration": "once",
        // Stripe allows 40 characters here.
        "name": format!("Friend's offer: {}", offer.describe()).chars().take(40).collect::<String>(),
    });
    if offer.percent_off > 0 {
        params["percent_off"] = json!(offer.percent_off.to_string());
    } else {
        params["amount_off"] = json!(offer.amount_off.to_string());
        params["currency"] = json!(offer.currency);
    }
    match stripe
        .client
        .create_coupon(&params, &format!("refloop-coupon-{coupon_id}"))
        .await
    {
        Ok(_) => {}
        // Made before (by this job's earlier try, or for another person of the campaign).
        Err(StripeError::InvalidRequest { param: Some(p), .. }) if p == "id" => {}
        Err(e) => return Err(stripe_failure(e)),
    }
    for attempt in 0..ATTEMPTS {
        let code = promotion_code(&p.first_name, &p.id, attempt);
        let key = format!("refloop-offer-{}-{coupon_id}-{attempt}", p.id);
        match stripe
            .client
            .create_promotion_code(&coupon_id, Some(&code), None, &key)
            .await
        {
            Ok(promo) => {
                let now = unix_now();
                let mut tx = ctx.db.begin().await?;
                db::offers::save(
                    &mut *tx,
                    &account,
                    &stripe_account,
                    &OfferCode {
                        participant_id: p.id.clone(),
                        coupon_id: coupon_id.clone(),
                        promotion_code_id: promo.id.clone(),
                        code: promo.code.clone(),
                    },
                    now,
                )
                .await?;
                let text = format!(
                    "Promotion code {} for their friends ({}), {}",
                    promo.code,
                    offer.describe(),
                    promo.id
                );
                participants::add_event(&mut *tx, &p, EventKind::RewardUpdate, &text, now).await?;
                // As they stand now (they may have reached Stripe meanwhile).
                if let Some(now_p) = participants::get(&mut *tx, &account, &p.id).await? {
                    sending::refresh_metadata(&mut tx, &now_p).await?;
                }
                ctx.complete_in(&mut tx).await?;
                tx.commit().await?;
                return Ok(());
            }
            // Someone has this code already: the next attempt tries another.
            Err(StripeError::InvalidRequest { param: Some(p), .. }) if p == "code" => continue,
            Err(e) => return Err(stripe_failure(e)),
        }
    }
    Err(JobError::Permanent(format!(
        "every promotion code tried for {} was taken",
        p.email
    )))
}
