//! Stripe's objects as Refloop reads them. Lenient: unknown fields are ignored, and fields
//! Refloop does not need are not declared.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Customer {
    pub id: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub balance: i64,
    #[serde(default)]
    pub created: i64,
    #[serde(default)]
    pub deleted: bool,
    #[serde(default)]
    pub livemode: bool,
    /// The test clock the customer lives on (test mode only).
    #[serde(default)]
    pub test_clock: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct List<T> {
    pub data: Vec<T>,
    pub has_more: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SearchResult<T> {
    pub data: Vec<T>,
    pub has_more: bool,
    #[serde(default)]
    pub next_page: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Account {
    pub id: String,
    #[serde(default)]
    pub business_profile: Option<BusinessProfile>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BusinessProfile {
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub created: i64,
    pub data: EventData,
    #[serde(default)]
    pub livemode: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct EventData {
    pub object: Value,
    #[serde(default)]
    pub previous_attributes: Option<Value>,
}

/// The fields Refloop writes on a customer; `None` leaves a field as it is. A metadata value
/// of "" removes that key.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CustomerParams {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// Filters for lists: `created` bounds in Unix seconds, and a page size.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub created_gt: Option<i64>,
    pub created_gte: Option<i64>,
    pub created_lt: Option<i64>,
    pub email: Option<String>,
    pub customer: Option<String>,
    pub types: Vec<String>,
    /// Events only: those whose webhook delivery has failed (`delivery_success=false`).
    pub undelivered: bool,
    pub page_size: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct PaymentIntent {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    #[serde(default)]
    pub customer: Option<String>,
    #[serde(default)]
    pub latest_charge: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Charge {
    pub id: String,
    pub amount: i64,
    #[serde(default)]
    pub amount_captured: i64,
    #[serde(default)]
    pub amount_refunded: i64,
    pub currency: String,
    pub created: i64,
    #[serde(default)]
    pub customer: Option<String>,
    #[serde(default)]
    pub refunded: bool,
    #[serde(default)]
    pub disputed: bool,
    pub status: String,
    #[serde(default)]
    pub payment_intent: Option<String>,
    #[serde(default)]
    pub billing_details: Option<BillingDetails>,
    /// What the charge settled as in the account's balance (a `txn_` id).
    #[serde(default)]
    pub balance_transaction: Option<String>,
    /// How it was paid (a card's brand, last four digits and fingerprint).
    #[serde(default)]
    pub payment_method_details: Option<PaymentMethodDetails>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct PaymentMethodDetails {
    #[serde(default)]
    pub card: Option<CardDetails>,
}

/// A card as a charge names it: `fingerprint` is the same for one card number within an
/// account, whoever pays with it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct CardDetails {
    #[serde(default)]
    pub brand: String,
    #[serde(default)]
    pub last4: String,
    #[serde(default)]
    pub fingerprint: Option<String>,
}

/// Money moving in or out of the account's balance: `amount` in the balance's `currency`,
/// converted at `exchange_rate` (for whole units) when the charge was in another currency.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct BalanceTransaction {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    #[serde(default)]
    pub exchange_rate: Option<f64>,
    #[serde(default)]
    pub fee: i64,
    #[serde(default)]
    pub net: i64,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct BillingDetails {
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Refund {
    pub id: String,
    pub amount: i64,
    pub charge: String,
    pub status: String,
    #[serde(default)]
    pub balance_transaction: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Coupon {
    pub id: String,
    #[serde(default)]
    pub percent_off: Option<f64>,
    #[serde(default)]
    pub amount_off: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
    pub duration: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct PromotionCode {
    pub id: String,
    pub code: String,
    pub active: bool,
    #[serde(default)]
    pub customer: Option<String>,
    #[serde(default)]
    pub expires_at: Option<i64>,
}

/// A change to a customer's credit balance (negative `amount`: credit given).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct CustomerBalanceTransaction {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    pub customer: String,
    pub ending_balance: i64,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct WebhookEndpoint {
    pub id: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub enabled_events: Vec<String>,
    /// Only in the answer that creates the endpoint.
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub deleted: bool,
}
