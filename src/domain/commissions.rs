//! Commissions: a reward rule that earns a percentage of each payment an invited friend makes
//! (after refunds and lost disputes), for their first payment, for N months from it, or for as
//! long as they pay, with optional caps per referral and per recipient and month. Each payment
//! makes its own ledger entry, decided here from the friend's payments and the entries already
//! made, so that evaluating again never makes an entry twice.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    money::{format_amount, format_plain, parse_amount, AmountError},
    qualification::ChargeEntry,
    time::{add_months, format_date, month_of},
};

keyed!(
    /// How long a commission earns, counted from the friend's first payment.
    CommissionSpan {
        First => "first", "Their first payment only",
        Months => "months", "For a number of months",
        Always => "always", "For as long as they pay",
    }
);

/// A commission rule's terms; the rule's currency is the commission's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commission {
    /// Hundredths of a percent of each payment: 2000 is 20%.
    pub basis_points: u32,
    pub span: CommissionSpan,
    /// With `CommissionSpan::Months`: how many, from the first payment.
    pub months: u32,
    /// The most one referral earns in all, in minor units (0: no cap).
    pub cap_per_referral: i64,
    /// The most a recipient earns from the rule in a calendar month (0: no cap).
    pub cap_per_month: i64,
}

impl Commission {
    /// "20% of each payment for 12 months from the first, at most 100.00 USD a referral"
    pub fn describe(&self, currency: &str) -> String {
        let mut text = format!("{} of ", format_percent(self.basis_points));
        text.push_str(&match self.span {
            CommissionSpan::First => "the first payment".to_string(),
            CommissionSpan::Months => format!(
                "each payment for {} month{} from the first",
                self.months,
                if self.months == 1 { "" } else { "s" }
            ),
            CommissionSpan::Always => "each payment for as long as they pay".to_string(),
        });
        if self.cap_per_referral > 0 {
            text.push_str(&format!(
                ", at most {} a referral",
                format_amount(self.cap_per_referral, currency)
            ));
        }
        if self.cap_per_month > 0 {
            text.push_str(&format!(
                ", at most {} a month",
                format_amount(self.cap_per_month, currency)
            ));
        }
        text
    }
}

/// 2000 → "20%", 1250 → "12.5%".
pub fn format_percent(basis_points: u32) -> String {
    let (whole, part) = (basis_points / 100, basis_points % 100);
    match part {
        0 => format!("{whole}%"),
        p if p % 10 == 0 => format!("{whole}.{}%", p / 10),
        p => format!("{whole}.{p:02}%"),
    }
}

/// "20", "20%", "12.5", "12,5 %" → hundredths of a percent, more than 0 and at most 100%.
pub fn parse_percent(text: &str) -> Option<u32> {
    let text = text.trim().trim_end_matches('%').trim().replace(',', ".");
    let (whole, part) = text.split_once('.').unwrap_or((&text, ""));
    if whole.is_empty()
        || part.len() > 2
        || !(whole.chars().chain(part.chars())).all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let whole: u32 = whole.parse().ok()?;
    let part: u32 = format!("{part:0<2}").parse().ok()?;
    let basis_points = whole.checked_mul(100)?.checked_add(part)?;
    (1..=10_000).contains(&basis_points).then_some(basis_points)
}

/// The commission fields of a rule as typed; `percent` empty for a fixed reward.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CommissionForm {
    pub percent: String,
    pub span: String,
    pub months: String,
    pub cap_per_referral: String,
    pub cap_per_month: String,
}

impl CommissionForm {
    pub fn from_commission(c: Option<&Commission>, currency: &str) -> CommissionForm {
        let Some(c) = c else {
            return CommissionForm::default();
        };
        let cap = |minor: i64| {
            if minor > 0 {
                format_plain(minor, currency)
            } else {
                String::new()
            }
        };
        CommissionForm {
            percent: format_percent(c.basis_points)
                .trim_end_matches('%')
                .to_string(),
            span: c.span.key().into(),
            months: if c.span == CommissionSpan::Months {
                c.months.to_string()
            } else {
                String::new()
            },
            cap_per_referral: cap(c.cap_per_referral),
            cap_per_month: cap(c.cap_per_month),
        }
    }

    /// Whether the rule is a commission (a percentage or a span chosen), not a fixed reward.
    pub fn is_set(&self) -> bool {
        !self.percent.trim().is_empty() || !self.span.trim().is_empty()
    }

    /// The terms, or each problem as (field, message) with `n` the rule's number; `None`
    /// when the rule is a fixed reward.
    pub fn check(
        &self,
        n: usize,
        currency: &str,
    ) -> Result<Option<Commission>, Vec<(&'static str, String)>> {
        if !self.is_set() {
            return Ok(None);
        }
        let mut errors = Vec::new();
        let basis_points = parse_percent(&self.percent);
        if basis_points.is_none() {
            errors.push((
                "percent",
                format!("Rule {n}: enter the commission as a percentage of each payment, more than 0 and at most 100, such as 20 or 12.5."),
            ));
        }
        let span = CommissionSpan::from_key(self.span.trim());
        if span.is_none() {
            errors.push((
                "span",
                format!("Rule {n}: choose how long the commission earns."),
            ));
        }
        let months = match span {
            Some(CommissionSpan::Months) => {
                let months = self
                    .months
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|m| (1..=120).contains(m));
                if months.is_none() {
                    errors.push((
                        "months",
                        format!("Rule {n}: enter for how many months from the first payment it earns, from 1 to 120."),
                    ));
                }
                months
            }
            _ => Some(0),
        };
        let mut cap = |field: &'static str, text: &str, what: &str| match text.trim() {
            "" => 0,
            t => parse_amount(t, currency).unwrap_or_else(|e: AmountError| {
                errors.push((field, format!("Rule {n}'s {what}: {}.", e.reason(currency))));
                0
            }),
        };
        let cap_per_referral = cap(
            "cap_per_referral",
            &self.cap_per_referral,
            "cap per referral",
        );
        let cap_per_month = cap("cap_per_month", &self.cap_per_month, "cap per month");
        match (basis_points, span, months) {
            (Some(basis_points), Some(span), Some(months)) if errors.is_empty() => {
                Ok(Some(Commission {
                    basis_points,
                    span,
                    months,
                    cap_per_referral,
                    cap_per_month,
                }))
            }
            _ => Err(errors),
        }
    }
}

/// An entry a rule made already for this referral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Earned {
    pub charge_id: String,
    pub amount: i64,
    /// The payment's net the amount was computed on.
    pub base: i64,
    pub paid_at: i64,
    /// Still owed or given (not cancelled, rejected, reversed or failed): it counts toward the
    /// caps, and is undone if its payment is refunded.
    pub standing: bool,
}

/// A new entry: one payment's commission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    pub charge_id: String,
    pub paid_at: i64,
    pub base: i64,
    pub amount: i64,
    /// "20% of 49.00 USD paid on 3 Mar 2026 by ch_… = 9.80 USD"
    pub description: String,
}

/// What an evaluation does with a referral's entries under one rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub new: Vec<NewEntry>,
    /// Payments refunded or disputed under the net their standing entry was computed on: the
    /// entry is cancelled, or reversed once.
    pub undo: Vec<String>,
}

/// Decides a referral's entries under a commission rule in `currency`: each paid payment since
/// the friend joined, in the currency or settled in it, within the span from their first
/// payment, that has no entry yet, earns the rule's percentage of its net, capped by what the
/// referral (`earned`) and the recipient in the payment's month (`earned` and
/// `elsewhere_by_month`, their other referrals' entries, keyed by `month_of`) have earned.
pub fn plan(
    c: &Commission,
    currency: &str,
    joined_at: i64,
    charges: &[ChargeEntry],
    earned: &[Earned],
    elsewhere_by_month: &BTreeMap<i64, i64>,
) -> Plan {
    let mut payments: Vec<&ChargeEntry> = charges
        .iter()
        .filter(|p| p.paid && p.created >= joined_at && p.in_currency(currency).is_some())
        .collect();
    payments.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
    payments.dedup_by(|a, b| a.id == b.id);
    let mut plan = Plan::default();
    let Some(first) = payments.first() else {
        return plan;
    };
    let (first_id, first_at) = (first.id.clone(), first.created);
    let within = |p: &ChargeEntry| match c.span {
        CommissionSpan::First => p.id == first_id,
        CommissionSpan::Months => p.created < add_months(first_at, c.months),
        CommissionSpan::Always => true,
    };
    let mut per_referral: i64 = 0;
    let mut per_month = elsewhere_by_month.clone();
    for e in earned.iter().filter(|e| e.standing) {
        per_referral += e.amount;
        *per_month.entry(month_of(e.paid_at)).or_default() += e.amount;
    }
    for p in payments {
        let net = p.in_currency(currency).map(|a| a.net()).unwrap_or_default();
        if let Some(e) = earned.iter().find(|e| e.charge_id == p.id) {
            if e.standing && net < e.base {
                plan.undo.push(p.id.clone());
                per_referral -= e.amount;
                *per_month.entry(month_of(e.paid_at)).or_default() -= e.amount;
            }
            continue;
        }
        if !within(p) || net == 0 {
            continue;
        }
        let full = round_share(net, c.basis_points);
        let mut amount = full;
        if c.cap_per_referral > 0 {
            amount = amount.min(c.cap_per_referral - per_referral);
        }
        let month = per_month.entry(month_of(p.created)).or_default();
        if c.cap_per_month > 0 {
            amount = amount.min(c.cap_per_month - *month);
        }
        if amount <= 0 {
            continue;
        }
        per_referral += amount;
        *month += amount;
        let paid = match &p.settled {
            Some(s) if p.currency != currency => format!(
                "{} (paid in {} at Stripe's rate {})",
                format_amount(net, currency),
                p.currency.to_uppercase(),
                s.rate
            ),
            _ => format_amount(net, currency),
        };
        let mut description = format!(
            "{} of {paid} paid on {} by {} = {}",
            format_percent(c.basis_points),
            format_date(p.created),
            p.id,
            format_amount(amount, currency)
        );
        if amount < full {
            description.push_str(&format!(" (capped from {})", format_amount(full, currency)));
        }
        plan.new.push(NewEntry {
            charge_id: p.id.clone(),
            paid_at: p.created,
            base: net,
            amount,
            description,
        });
    }
    plan
}

/// `basis_points` of `amount`, rounded half away from zero.
fn round_share(amount: i64, basis_points: u32) -> i64 {
    let exact = i128::from(amount) * i128::from(basis_points);
    i64::try_from((exact + 5_000) / 10_000).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::parse_date;

    fn terms(span: CommissionSpan, months: u32) -> Commission {
        Commission {
            basis_points: 2000,
            span,
            months,
            cap_per_referral: 0,
            cap_per_month: 0,
        }
    }

    fn paid(id: &str, amount: i64, at: i64) -> ChargeEntry {
        ChargeEntry {
            id: id.into(),
            amount,
            currency: "usd".into(),
            created: at,
            paid: true,
            refunded: 0,
            disputed: 0,
            settled: None,
        }
    }

    /// A monthly payment of 49.00 USD on the 3rd of each month from March 2026.
    fn monthly(n: u32) -> Vec<ChargeEntry> {
        let start = parse_date("2026-03-03").unwrap() + 3_600;
        (0..n)
            .map(|i| paid(&format!("ch_{i:02}"), 4_900, add_months(start, i)))
            .collect()
    }

    fn made(plan: &Plan) -> Vec<Earned> {
        plan.new
            .iter()
            .map(|e| Earned {
                charge_id: e.charge_id.clone(),
                amount: e.amount,
                base: e.base,
                paid_at: e.paid_at,
                standing: true,
            })
            .collect()
    }

    const JOINED: i64 = 1_700_000_000;

    #[test]
    fn percentages_are_read_and_written_as_people_do() {
        assert_eq!(parse_percent("20"), Some(2000));
        assert_eq!(parse_percent(" 12,5 % "), Some(1250));
        assert_eq!(parse_percent("0.01"), Some(1));
        assert_eq!(parse_percent("100"), Some(10_000));
        for bad in ["", "0", "100.01", "1.234", "-5", "x", ".5", "5.x"] {
            assert_eq!(parse_percent(bad), None, "{bad}");
        }
        assert_eq!(format_percent(2000), "20%");
        assert_eq!(format_percent(1250), "12.5%");
        assert_eq!(format_percent(1205), "12.05%");
    }

    #[test]
    fn twelve_months_earn_twelve_entries_and_the_thirteenth_none() {
        let c = terms(CommissionSpan::Months, 12);
        let charges = monthly(13);
        let plan = plan(&c, "usd", JOINED, &charges, &[], &BTreeMap::new());
        assert_eq!(plan.new.len(), 12);
        assert!(plan.new.iter().all(|e| e.amount == 980));
        assert_eq!(
            plan.new[0].description,
            "20% of 49.00 USD paid on 3 Mar 2026 by ch_00 = 9.80 USD"
        );
        assert!(!plan.new.iter().any(|e| e.charge_id == "ch_12"));
        // Evaluated again with the entries made, nothing is made twice.
        let again = super::plan(&c, "usd", JOINED, &charges, &made(&plan), &BTreeMap::new());
        assert_eq!(again, Plan::default());
        // The first payment only; for as long as they pay.
        let first = super::plan(
            &terms(CommissionSpan::First, 0),
            "usd",
            JOINED,
            &charges,
            &[],
            &BTreeMap::new(),
        );
        assert_eq!(first.new.len(), 1);
        let always = super::plan(
            &terms(CommissionSpan::Always, 0),
            "usd",
            JOINED,
            &charges,
            &[],
            &BTreeMap::new(),
        );
        assert_eq!(always.new.len(), 13);
    }

    #[test]
    fn a_refunded_payment_undoes_its_own_entry_only() {
        let c = terms(CommissionSpan::Always, 0);
        let mut charges = monthly(4);
        let before = plan(&c, "usd", JOINED, &charges, &[], &BTreeMap::new());
        charges[2].refunded = 4_900;
        let after = plan(
            &c,
            "usd",
            JOINED,
            &charges,
            &made(&before),
            &BTreeMap::new(),
        );
        assert_eq!(after.undo, ["ch_02"]);
        assert!(after.new.is_empty());
        // Once undone, it is not undone again, nor earned again.
        let mut undone = made(&before);
        undone[2].standing = false;
        assert_eq!(
            plan(&c, "usd", JOINED, &charges, &undone, &BTreeMap::new()),
            Plan::default()
        );
        // A payment refunded before its entry was made earns only on what is left.
        let mut partly = monthly(1);
        partly[0].refunded = 900;
        assert_eq!(
            plan(&c, "usd", JOINED, &partly, &[], &BTreeMap::new()).new[0].amount,
            800
        );
    }

    #[test]
    fn caps_hold_per_referral_and_per_month() {
        let mut c = terms(CommissionSpan::Always, 0);
        c.cap_per_referral = 2_500;
        let charges = monthly(4);
        let capped = plan(&c, "usd", JOINED, &charges, &[], &BTreeMap::new());
        let amounts: Vec<i64> = capped.new.iter().map(|e| e.amount).collect();
        assert_eq!(amounts, [980, 980, 540]);
        assert!(capped.new[2]
            .description
            .ends_with("= 5.40 USD (capped from 9.80 USD)"));
        // 15.00 a month, 10.00 of it earned from other referrals in March.
        c.cap_per_referral = 0;
        c.cap_per_month = 1_500;
        let march = month_of(charges[0].created);
        let elsewhere = BTreeMap::from([(march, 1_000)]);
        let capped = plan(&c, "usd", JOINED, &charges, &[], &elsewhere);
        let amounts: Vec<i64> = capped.new.iter().map(|e| e.amount).collect();
        assert_eq!(amounts, [500, 980, 980, 980]);
    }

    #[test]
    fn payments_in_another_currency_earn_as_settled_and_before_joining_nothing() {
        let c = terms(CommissionSpan::Always, 0);
        let mut eur = paid("ch_eur", 4_500, JOINED + 10);
        eur.currency = "eur".into();
        eur.settled = Some(crate::domain::qualification::Settlement {
            amount: 4_860,
            currency: "usd".into(),
            rate: "1.08".into(),
        });
        let early = paid("ch_early", 9_900, JOINED - 10);
        let plan = plan(&c, "usd", JOINED, &[eur, early], &[], &BTreeMap::new());
        assert_eq!(plan.new.len(), 1);
        assert_eq!(plan.new[0].amount, 972);
        assert!(plan.new[0]
            .description
            .starts_with("20% of 48.60 USD (paid in EUR at Stripe's rate 1.08) paid on"));
    }

    #[test]
    fn the_form_is_checked_field_by_field() {
        let form = |percent: &str, span: &str, months: &str, cap: &str| CommissionForm {
            percent: percent.into(),
            span: span.into(),
            months: months.into(),
            cap_per_referral: cap.into(),
            cap_per_month: String::new(),
        };
        assert_eq!(form("", "", "", "").check(1, "usd"), Ok(None));
        let c = form("20", "months", "12", "100")
            .check(1, "usd")
            .unwrap()
            .unwrap();
        assert_eq!(
            (c.basis_points, c.months, c.cap_per_referral),
            (2000, 12, 10_000)
        );
        assert_eq!(
            c.describe("usd"),
            "20% of each payment for 12 months from the first, at most 100.00 USD a referral"
        );
        assert_eq!(
            CommissionForm::from_commission(Some(&c), "usd"),
            form("20", "months", "12", "100.00")
        );
        let fields: Vec<&str> = form("120", "months", "0", "1.234")
            .check(2, "usd")
            .unwrap_err()
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(fields, ["percent", "months", "cap_per_referral"]);
    }
}
