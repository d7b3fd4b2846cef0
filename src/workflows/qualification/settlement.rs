//! A payment in another currency than a campaign's target counts at the amount Stripe settled
//! in the merchant's balance: the charge's balance transaction, read once per charge, and only
//! for a paid charge in a currency some target is not in (a program in one currency makes no
//! extra request).

use crate::{
    db::{self, qualification::ChargeUpdate, Db},
    domain::qualification::Settlement,
    stripe::{StripeClient, StripeError},
};

/// Whether `update`'s charge may count somewhere only as settled: paid, with a balance
/// transaction, in a currency one of `targets` (the account's target currencies) is not in.
pub(super) fn wanted(targets: &[String], update: &ChargeUpdate) -> bool {
    let currency = update.currency.as_deref().unwrap_or_default();
    settleable(update) && targets.iter().any(|t| t != currency)
}

/// Whether the charge could be settled at all: paid, with a balance transaction, not read yet.
/// Checked before the targets are read, so most events make no query for them.
pub(super) fn settleable(update: &ChargeUpdate) -> bool {
    update.paid && update.balance_transaction.is_some() && update.settled.is_none()
}

/// Adds to a `wanted` update what its charge settled as, unless the ledger knows it already.
/// A key that may not read balances leaves the charge unsettled (it then counts only in its
/// own currency; the health check names the missing permission); failures worth another try
/// are returned.
pub(super) async fn settle(
    client: &StripeClient,
    db: &Db,
    account_id: &str,
    update: &mut ChargeUpdate,
) -> Result<(), StripeError> {
    let Some(txn) = update.balance_transaction.clone() else {
        return Ok(());
    };
    let known = db::qualification::is_settled(db.pool(), account_id, &update.charge_id)
        .await
        .map_err(|e| StripeError::Connection(format!("database: {e}")))?;
    if known {
        return Ok(());
    }
    match client.retrieve_balance_transaction(&txn).await {
        Ok(t) => {
            update.settled = Some(Settlement {
                amount: t.amount,
                currency: t.currency,
                rate: t.exchange_rate.map(|r| r.to_string()).unwrap_or_default(),
            });
            Ok(())
        }
        Err(e) if e.is_retryable() => Err(e),
        Err(e) => {
            tracing::warn!(account = account_id, charge = update.charge_id, error = %e, "balance transaction not read");
            Ok(())
        }
    }
}
