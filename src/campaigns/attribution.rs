//! Attributing a Stripe customer to a participant by hand (through the API): the customer's
//! payments count for them from then on, past ones included, as a referred checkout's do.

use crate::{
    db::{participants, participants::ParticipantRow, sending, unix_now, Db},
    error::AppError,
    jobs::queue,
    stripe::error::StripeError,
    workflows::{qualification::evaluate_job, rewards, sync::link_existing, StripeAccess},
};

/// The longest id Stripe gives an object.
const ID_MAX: usize = 255;

/// Links the connected Stripe account's customer `customer` to participant `id` of
/// `account_id` (`by` says who, on their timeline). Refused when Stripe has no such customer,
/// or when it counts for someone else in the campaign already.
pub async fn attribute_customer(
    db: &Db,
    stripe: &StripeAccess,
    account_id: &str,
    id: &str,
    customer: &str,
    by: &str,
) -> Result<ParticipantRow, AppError> {
    let customer = customer.trim();
    let well_formed = customer.starts_with("cus_")
        && customer.len() <= ID_MAX
        && customer
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !well_formed {
        return Err(AppError::invalid(
            "customer",
            format!("“{customer}” is not a Stripe customer id (cus_…)."),
        ));
    }
    let connected = stripe.connected(db, account_id).await?;
    match connected.client.retrieve_customer(customer).await {
        Ok(c) if !c.deleted => {}
        Ok(_) => {
            return Err(AppError::invalid(
                "customer",
                format!("The Stripe customer {customer} was deleted."),
            ))
        }
        Err(StripeError::NotFound { .. }) => {
            return Err(AppError::invalid(
                "customer",
                format!(
                    "The connected Stripe account ({}) has no customer {customer}.",
                    connected.mode()
                ),
            ))
        }
        Err(e) => return Err(AppError::Unavailable(e.to_string())),
    }
    let now = unix_now();
    let mut tx = db.begin().await?;
    let p = participants::get(&mut *tx, account_id, id)
        .await?
        .ok_or_else(|| AppError::NotFound("Participant".into()))?;
    let holders = sending::customer_holders(&mut *tx, account_id, &p.campaign_id, customer).await?;
    if holders.iter().any(|h| h.id == p.id) {
        return Ok(p);
    }
    if let Some(other) = holders.first() {
        return Err(AppError::Conflict(format!(
            "The Stripe customer {customer} already counts for {} in this campaign.",
            other.email
        )));
    }
    link_existing(&mut tx, &p, customer, &format!("attribution by {by}"), now).await?;
    if p.referrer_id.is_some() {
        queue::enqueue(&mut tx, &evaluate_job(account_id, &p.id)).await?;
    }
    rewards::on_linked(&mut tx, account_id, &p.id).await?;
    let p = participants::get(&mut *tx, account_id, id)
        .await?
        .ok_or_else(|| AppError::NotFound("Participant".into()))?;
    tx.commit().await?;
    Ok(p)
}
