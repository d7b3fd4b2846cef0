//! Balance transactions: what a charge or a refund settles as in the account's balance. Every
//! sandbox account settles in USD (its `default_currency`); a payment in another currency is
//! converted at the sandbox's exchange rate for it (`Settings::exchange_rates`, USD per unit,
//! settable with the `settings` control), and the transaction says so in `exchange_rate`, as
//! Stripe's does. The sandbox charges no fees (`fee` 0, `net` = `amount`).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{db_error, store, ApiError, Sandbox};
use crate::domain::money::decimals;

/// The currency every sandbox account's balance is kept in.
pub const SETTLEMENT_CURRENCY: &str = "usd";

/// USD for one unit of each currency the sandbox knows a rate for; a currency without one is
/// converted at 1.0.
pub fn default_rates() -> BTreeMap<String, f64> {
    [
        ("aud", 0.66),
        ("cad", 0.73),
        ("chf", 1.13),
        ("eur", 1.08),
        ("gbp", 1.27),
        ("jpy", 0.0067),
        ("kwd", 3.25),
        ("xpf", 0.0091),
    ]
    .into_iter()
    .map(|(c, r)| (c.to_string(), r))
    .collect()
}

/// The rate money in `currency` is converted at, none when it needs no converting: Stripe's
/// `exchange_rate`, for whole units.
fn rate(currency: &str, rates: &BTreeMap<String, f64>) -> Option<f64> {
    (currency != SETTLEMENT_CURRENCY).then(|| rates.get(currency).copied().unwrap_or(1.0))
}

/// `amount` of `currency` (minor units) in the settlement currency at `rate` (10.00 EUR × 1.08
/// = 10.80 USD).
fn settle(amount: i64, currency: &str, rate: Option<f64>) -> i64 {
    let Some(rate) = rate else {
        return amount;
    };
    let units = amount as f64 / 10_f64.powi(decimals(currency) as i32);
    (units * rate * 10_f64.powi(decimals(SETTLEMENT_CURRENCY) as i32)).round() as i64
}

/// Records the balance transaction `id` for a charge or refund (`source`) of `amount` in
/// `currency` (negative for money going out), at `fixed_rate` when one was already fixed (a refund
/// goes back at its charge's rate), and returns it.
pub async fn record(
    sb: &Sandbox,
    account: &str,
    id: &str,
    source: &Value,
    amount: i64,
    currency: &str,
    fixed_rate: Option<f64>,
) -> Result<Value, ApiError> {
    let exchange_rate = fixed_rate.or_else(|| rate(currency, &sb.settings().exchange_rates));
    let settled = settle(amount, currency, exchange_rate);
    let kind = source["object"].as_str().unwrap_or("charge");
    let created = source["created"].as_i64().unwrap_or_else(|| sb.now());
    let txn = json!({
        "id": id,
        "object": "balance_transaction",
        "amount": settled,
        "available_on": created + 2 * 86_400,
        "created": created,
        "currency": SETTLEMENT_CURRENCY,
        "description": source["description"],
        "exchange_rate": exchange_rate,
        "fee": 0,
        "fee_details": [],
        "net": settled,
        "reporting_category": kind,
        "source": source["id"],
        "status": "pending",
        "type": kind,
    });
    store::insert(
        &sb.db,
        account,
        "balance_transaction",
        &txn,
        Default::default(),
    )
    .await
    .map_err(db_error)?;
    Ok(txn)
}

/// The rate a charge was settled at, if its money was converted (and it has a balance
/// transaction: charges made before the sandbox kept them have none).
pub async fn rate_of(sb: &Sandbox, account: &str, charge: &Value) -> Result<Option<f64>, ApiError> {
    let Some(id) = charge["balance_transaction"].as_str() else {
        return Ok(None);
    };
    Ok(store::get(&sb.db, account, "balance_transaction", id)
        .await
        .map_err(db_error)?
        .and_then(|(txn, _)| txn["exchange_rate"].as_f64()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payment_settles_in_usd_at_the_rate_for_whole_units() {
        let rates = default_rates();
        let settled = |amount, currency| {
            let rate = rate(currency, &rates);
            (settle(amount, currency, rate), rate)
        };
        assert_eq!(settled(1000, "usd"), (1000, None));
        assert_eq!(settled(4500, "eur"), (4860, Some(1.08)));
        assert_eq!(settled(1000, "jpy"), (670, Some(0.0067)));
        assert_eq!(settled(12_500, "kwd"), (4063, Some(3.25)));
        assert_eq!(settled(-2250, "eur"), (-2430, Some(1.08)));
        assert_eq!(settled(1000, "sek"), (1000, Some(1.0)));
    }
}
