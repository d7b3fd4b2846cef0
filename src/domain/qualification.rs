//! Qualification by spend: a campaign's settings, the ledger of a person's charges, and the
//! rule that decides — from the same records every time, whatever order Stripe's events came
//! in — whether an invited friend qualified, when, by which charge, or how far they are.

use serde::{Deserialize, Serialize};

use super::{
    money::{format_amount, format_plain, parse_amount},
    participants::Qualification,
    time::format_date,
};

keyed!(
    /// Which Stripe customers count for a person.
    CustomerScope {
        Linked => "linked", "The customers linked to them",
        SameEmail => "same_email", "Every customer with their email",
    }
);

impl CustomerScope {
    pub fn explain(self) -> &'static str {
        match self {
            CustomerScope::Linked => "Only payments by the Stripe customers Refloop created for them or linked to them (the Stripe tab's policies decide which) count.",
            CustomerScope::SameEmail => "Payments by any Stripe customer with their email count, including customers your system creates later or that share the email.",
        }
    }
}

/// A campaign's qualification settings, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QualificationSettings {
    /// Minor units of `currency`.
    pub target: i64,
    /// Lower case, e.g. `usd`.
    pub currency: String,
    pub window_days: u32,
    /// A payment below this does not count (0: every payment counts).
    pub min_payment: i64,
    pub refunds_reduce: bool,
    pub disputes_reduce: bool,
    /// A qualified referral whose spend falls below the target returns to pending (only while
    /// its reward is not issued).
    pub back_to_pending: bool,
    pub scope: CustomerScope,
}

/// The settings as typed in the Qualification step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QualificationForm {
    pub target: String,
    pub currency: String,
    pub window_days: String,
    pub min_payment: String,
    pub refunds_reduce: bool,
    pub disputes_reduce: bool,
    pub back_to_pending: bool,
    pub scope: String,
}

impl QualificationSettings {
    pub fn to_form(&self) -> QualificationForm {
        QualificationForm {
            target: format_plain(self.target, &self.currency),
            currency: self.currency.clone(),
            window_days: self.window_days.to_string(),
            min_payment: if self.min_payment > 0 {
                format_plain(self.min_payment, &self.currency)
            } else {
                String::new()
            },
            refunds_reduce: self.refunds_reduce,
            disputes_reduce: self.disputes_reduce,
            back_to_pending: self.back_to_pending,
            scope: self.scope.key().to_string(),
        }
    }

    /// "Spend 50.00 USD within 30 days of joining"
    pub fn describe(&self) -> String {
        format!(
            "Spend {} within {} days of joining",
            format_amount(self.target, &self.currency),
            self.window_days
        )
    }
}

/// Checks what was typed; every problem with its field.
pub fn check_form(f: &QualificationForm) -> Result<QualificationSettings, Vec<(String, String)>> {
    let mut errors = Vec::new();
    let currency = f.currency.trim().to_lowercase();
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_lowercase()) {
        errors.push((
            "currency".into(),
            "Choose the currency as its three-letter code, such as USD or EUR.".into(),
        ));
    }
    let target = parse_amount(&f.target, &currency)
        .map_err(|e| {
            errors.push((
                "target".into(),
                format!("The amount a friend must spend: {}.", e.reason(&currency)),
            ))
        })
        .ok();
    let window_days = f
        .window_days
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|d| (1..=3650).contains(d));
    if window_days.is_none() {
        errors.push((
            "window_days".into(),
            "Enter the number of days after joining that count, from 1 to 3650.".into(),
        ));
    }
    let min_payment = if f.min_payment.trim().is_empty() {
        Ok(0)
    } else {
        parse_amount(&f.min_payment, &currency)
    };
    match (&min_payment, target) {
        (Err(e), _) => errors.push((
            "min_payment".into(),
            format!(
                "The smallest payment that counts: {}, or leave it empty.",
                e.reason(&currency)
            ),
        )),
        (Ok(m), Some(t)) if *m > t => errors.push((
            "min_payment".into(),
            "The smallest payment that counts cannot be more than the target.".into(),
        )),
        _ => {}
    }
    let scope = CustomerScope::from_key(&f.scope);
    if scope.is_none() {
        errors.push((
            "scope".into(),
            "Choose which Stripe customers count for a person.".into(),
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(QualificationSettings {
        target: target.expect("checked"),
        currency,
        window_days: window_days.expect("checked"),
        min_payment: min_payment.expect("checked"),
        refunds_reduce: f.refunds_reduce,
        disputes_reduce: f.disputes_reduce,
        back_to_pending: f.back_to_pending && (f.refunds_reduce || f.disputes_reduce),
        scope: scope.expect("checked"),
    })
}

/// One charge in a person's ledger, as its latest state says (keyed by charge id, so a
/// duplicated or late event changes nothing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeEntry {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    /// When the charge was made (Stripe's `created`): windows are measured on it.
    pub created: i64,
    /// Succeeded and captured.
    pub paid: bool,
    pub refunded: i64,
    /// Lost in a dispute.
    pub disputed: i64,
    /// What it settled as in the merchant's balance, when Refloop read it (a payment in
    /// another currency than some campaign's target).
    pub settled: Option<Settlement>,
}

/// A payment as Stripe settled it in the merchant's balance: its balance transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settlement {
    pub amount: i64,
    pub currency: String,
    /// Stripe's `exchange_rate` as it wrote it: settlement units per unit paid.
    pub rate: String,
}

/// A payment's amount, refunds and disputes lost, in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amounts {
    pub amount: i64,
    pub refunded: i64,
    pub disputed: i64,
}

impl Amounts {
    /// What is left of the payment after refunds and lost disputes.
    pub fn net(&self) -> i64 {
        (self.amount - self.refunded - self.disputed).max(0)
    }
}

impl ChargeEntry {
    /// What the payment brought in: nothing unless paid, less refunds and disputes lost.
    pub fn net(&self) -> i64 {
        if self.paid {
            (self.amount - self.refunded - self.disputed).max(0)
        } else {
            0
        }
    }

    /// Its amounts in `currency`: as paid, or as Stripe settled them (refunds and disputes
    /// at the payment's rate, as Stripe settles a refund); `None` when neither is in it.
    pub fn in_currency(&self, currency: &str) -> Option<Amounts> {
        if self.currency == currency {
            return Some(Amounts {
                amount: self.amount,
                refunded: self.refunded,
                disputed: self.disputed,
            });
        }
        let settled = self.settled.as_ref().filter(|s| s.currency == currency)?;
        let convert = |part: i64| {
            if self.amount == 0 {
                return 0;
            }
            let exact = i128::from(part) * i128::from(settled.amount);
            let whole = i128::from(self.amount);
            // Rounded half away from zero, as Stripe rounds a conversion.
            i64::try_from((2 * exact + exact.signum() * whole) / (2 * whole)).unwrap_or(i64::MAX)
        };
        Some(Amounts {
            amount: settled.amount,
            refunded: convert(self.refunded),
            disputed: convert(self.disputed),
        })
    }

    /// "45.00 EUR counted as 48.60 USD at Stripe's rate 1.08", for a payment counted at its
    /// settled amount.
    fn conversion(&self, currency: &str) -> Option<String> {
        let settled = self.settled.as_ref()?;
        (self.currency != currency && settled.currency == currency).then(|| {
            format!(
                "{} counted as {} at Stripe's rate {}",
                format_amount(self.amount, &self.currency),
                format_amount(settled.amount, &settled.currency),
                settled.rate
            )
        })
    }
}

/// What a person's ledger adds up to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spend {
    /// Counted within the window, in the target's currency.
    pub counted: i64,
    pub payments: u32,
    /// The charge with which the counted spend first reached the target, and its time.
    pub reached: Option<(String, i64)>,
    /// Payments that did not count, and why ("below the minimum", "after the window", …).
    pub ignored: Vec<(String, &'static str)>,
    /// "45.00 EUR counted as 48.60 USD at Stripe's rate 1.08", one per payment counted at the
    /// amount Stripe settled.
    pub conversions: Vec<String>,
}

/// Adds up the charges that count, in the order they were made.
pub fn spend(s: &QualificationSettings, joined_at: i64, charges: &[ChargeEntry]) -> Spend {
    let window_end = joined_at + i64::from(s.window_days) * 86_400;
    let mut ordered: Vec<&ChargeEntry> = charges.iter().collect();
    ordered.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
    let mut total = Spend {
        counted: 0,
        payments: 0,
        reached: None,
        ignored: Vec::new(),
        conversions: Vec::new(),
    };
    for c in ordered {
        let counts = match c.in_currency(&s.currency) {
            _ if !c.paid => Err("not paid"),
            None => Err("another currency, not settled in the target's"),
            Some(_) if c.created < joined_at => Err("before they joined"),
            Some(_) if c.created >= window_end => Err("after the window"),
            Some(a) if a.amount < s.min_payment => Err("below the smallest payment that counts"),
            Some(a) => Ok(a),
        };
        let a = match counts {
            Ok(a) => a,
            Err(why) => {
                total.ignored.push((c.id.clone(), why));
                continue;
            }
        };
        let mut counted = a.amount;
        if s.refunds_reduce {
            counted -= a.refunded;
        }
        if s.disputes_reduce {
            counted -= a.disputed;
        }
        total.counted += counted.max(0);
        total.payments += 1;
        total.conversions.extend(c.conversion(&s.currency));
        if total.reached.is_none() && total.counted >= s.target {
            total.reached = Some((c.id.clone(), c.created));
        }
    }
    // A later refund can bring the total back under the target.
    if total.counted < s.target {
        total.reached = None;
    }
    total
}

/// Where an invited friend stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    Qualified {
        at: i64,
        by: String,
    },
    /// Still pending; `open` while the window has not closed.
    Pending {
        open: bool,
    },
    /// Qualified before, now under the target, and kept qualified (the settings say so, or
    /// its reward was issued): flagged for the team.
    KeptDespiteRefund,
}

/// Decides a friend's standing from their spend, given whether they had qualified before and
/// whether their reward was issued.
pub fn standing(
    s: &QualificationSettings,
    joined_at: i64,
    now: i64,
    spend: &Spend,
    was_qualified: bool,
    reward_issued: bool,
) -> Standing {
    match &spend.reached {
        Some((by, at)) => Standing::Qualified {
            at: *at,
            by: by.clone(),
        },
        None if was_qualified && (!s.back_to_pending || reward_issued) => {
            Standing::KeptDespiteRefund
        }
        None => Standing::Pending {
            open: now < joined_at + i64::from(s.window_days) * 86_400,
        },
    }
}

/// The conversions a spend's words name; the rest are counted.
const CONVERSIONS_NAMED: usize = 3;

/// "Spent 20.00 USD of 50.00 USD within 30 days (2 payments)", and the payments counted in
/// another currency: "…; 45.00 EUR counted as 48.60 USD at Stripe's rate 1.08".
pub fn explain_spend(s: &QualificationSettings, spend: &Spend) -> String {
    let mut text = format!(
        "Spent {} of {} within {} days ({} payment{})",
        format_amount(spend.counted, &s.currency),
        format_amount(s.target, &s.currency),
        s.window_days,
        spend.payments,
        if spend.payments == 1 { "" } else { "s" }
    );
    let named = &spend.conversions[..spend.conversions.len().min(CONVERSIONS_NAMED)];
    if !named.is_empty() {
        text.push_str("; ");
        text.push_str(&named.join("; "));
    }
    let more = spend.conversions.len() - named.len();
    if more > 0 {
        text.push_str(&format!(
            "; {more} more payment{} at Stripe's rates",
            if more == 1 { "" } else { "s" }
        ));
    }
    text
}

/// A friend's standing as it was recorded before this evaluation.
pub struct Recorded<'a> {
    pub qualification: Qualification,
    pub qualified_at: Option<i64>,
    pub note: &'a str,
    pub joined_at: i64,
}

/// What a change of standing sets off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StandingChange {
    None,
    /// Newly qualified, with the timeline's words.
    Qualified(String),
    BackToPending,
    /// Kept qualified under the target with rewards given: they are flagged.
    FlagRewards,
}

/// A friend's standing to record: their qualification, since when, the note the team reads,
/// and what the change from `before` sets off. `spent`: what `explain_spend` says of their
/// spend; `spent_changed`: whether it differs from the recorded spend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStanding {
    pub qualification: Qualification,
    pub qualified_at: Option<i64>,
    pub note: String,
    pub change: StandingChange,
}

/// Words and consequences of `standing` for a friend recorded as `before`.
pub fn new_standing(
    s: &QualificationSettings,
    standing: Standing,
    before: &Recorded,
    spent: &str,
    spent_changed: bool,
    now: i64,
) -> NewStanding {
    let was_qualified = before.qualification == Qualification::Qualified;
    let (qualification, qualified_at, note, change) = match standing {
        Standing::Qualified { at, by } if !was_qualified => {
            let text = format!("Qualified on {} (target reached by {by})", format_date(at));
            let note = format!("{text}; {spent}");
            (
                Qualification::Qualified,
                Some(at),
                note,
                StandingChange::Qualified(text),
            )
        }
        Standing::Qualified { .. } => {
            let note = if spent_changed {
                format!(
                    "Qualified on {}; {spent}",
                    format_date(before.qualified_at.unwrap_or(now))
                )
            } else {
                before.note.to_string()
            };
            (
                Qualification::Qualified,
                before.qualified_at,
                note,
                StandingChange::None,
            )
        }
        Standing::Pending { open } => {
            let note = if open {
                spent.to_string()
            } else {
                format!(
                    "Not qualified: {spent}; the window closed on {}",
                    format_date(before.joined_at + i64::from(s.window_days) * 86_400)
                )
            };
            let change = if was_qualified {
                StandingChange::BackToPending
            } else {
                StandingChange::None
            };
            (Qualification::Pending, None, note, change)
        }
        Standing::KeptDespiteRefund => {
            let why = if s.back_to_pending {
                "kept qualified because a reward was already given"
            } else {
                "kept qualified, as the settings say"
            };
            let note =
                format!("Qualified; {spent}: under the target after a refund or dispute, {why}");
            let change = if s.back_to_pending && note != before.note {
                StandingChange::FlagRewards
            } else {
                StandingChange::None
            };
            (Qualification::Qualified, before.qualified_at, note, change)
        }
    };
    NewStanding {
        qualification,
        qualified_at,
        note,
        change,
    }
}

impl Default for QualificationForm {
    /// What a new campaign's Qualification step starts with.
    fn default() -> Self {
        QualificationForm {
            target: "50.00".into(),
            currency: "usd".into(),
            window_days: "30".into(),
            min_payment: String::new(),
            refunds_reduce: true,
            disputes_reduce: true,
            back_to_pending: true,
            scope: CustomerScope::Linked.key().into(),
        }
    }
}

keyed!(
    /// Refloop's webhook endpoint, as Stripe last said.
    EndpointHealth {
        Enabled => "enabled", "Enabled",
        Disabled => "disabled", "Disabled in Stripe",
        Deleted => "deleted", "Missing in Stripe",
        Unchecked => "unchecked", "Could not be checked",
    }
);

/// Refloop's webhook endpoint in the connected Stripe, and what it has received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookStatus {
    pub url: String,
    pub endpoint_id: String,
    pub health: EndpointHealth,
    /// What is wrong, and what Repair does about it.
    pub problem: Option<String>,
    pub last_event_at: Option<i64>,
    pub events_received: i64,
    pub signature_failures: i64,
    pub last_failure_at: Option<i64>,
    pub reconciled_at: Option<i64>,
}

/// The Qualification step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignQualification {
    pub campaign_id: String,
    pub campaign_name: String,
    pub form: QualificationForm,
    /// The saved rule in words; `None` until saved.
    pub saved: Option<String>,
    /// Why the viewer cannot change it, if they cannot.
    pub read_only: Option<String>,
    pub stripe_connected: bool,
    pub webhook: Option<WebhookStatus>,
    pub pending: i64,
    pub qualified: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;
    const JOINED: i64 = 1_000 * DAY;

    #[test]
    fn a_new_standing_says_why_and_what_it_sets_off() {
        let s = QualificationSettings {
            back_to_pending: true,
            ..settings()
        };
        let pending = Recorded {
            qualification: Qualification::Pending,
            qualified_at: None,
            note: "",
            joined_at: JOINED,
        };
        let spent = "Spent $60.00 of $50.00 within 30 days (1 payment)";
        let reached = Standing::Qualified {
            at: JOINED + DAY,
            by: "ch_1".into(),
        };
        let new = new_standing(&s, reached.clone(), &pending, spent, true, JOINED + DAY);
        assert_eq!(new.qualification, Qualification::Qualified);
        assert_eq!(new.qualified_at, Some(JOINED + DAY));
        assert!(new.note.ends_with(spent), "{}", new.note);
        assert!(matches!(&new.change, StandingChange::Qualified(t) if t.contains("ch_1")));

        // Already qualified: nothing set off, the note kept while the spend is the same.
        let qualified = Recorded {
            qualification: Qualification::Qualified,
            qualified_at: Some(JOINED + DAY),
            note: &new.note,
            joined_at: JOINED,
        };
        let again = new_standing(&s, reached, &qualified, spent, false, JOINED + 2 * DAY);
        assert_eq!(again.change, StandingChange::None);
        assert_eq!(again.note, new.note);

        // Under the target after a refund: back to pending.
        let back = new_standing(
            &s,
            Standing::Pending { open: true },
            &qualified,
            "Spent $0.00",
            true,
            JOINED + 3 * DAY,
        );
        assert_eq!(back.qualification, Qualification::Pending);
        assert_eq!(back.change, StandingChange::BackToPending);

        // Kept despite the refund (a reward was given): the rewards are flagged once.
        let kept = new_standing(
            &s,
            Standing::KeptDespiteRefund,
            &qualified,
            "Spent $0.00",
            true,
            JOINED + 3 * DAY,
        );
        assert_eq!(kept.change, StandingChange::FlagRewards);
        let flagged = Recorded {
            note: &kept.note,
            ..qualified
        };
        let quiet = new_standing(
            &s,
            Standing::KeptDespiteRefund,
            &flagged,
            "Spent $0.00",
            false,
            JOINED + 4 * DAY,
        );
        assert_eq!(quiet.change, StandingChange::None);

        // The window closed without reaching the target.
        let closed = new_standing(
            &s,
            Standing::Pending { open: false },
            &pending,
            "Spent $10.00",
            false,
            JOINED + 40 * DAY,
        );
        assert!(
            closed.note.contains("the window closed on"),
            "{}",
            closed.note
        );
    }

    fn settings() -> QualificationSettings {
        check_form(&QualificationForm {
            target: "50.00".into(),
            currency: "USD".into(),
            window_days: "30".into(),
            min_payment: "5".into(),
            refunds_reduce: true,
            disputes_reduce: true,
            back_to_pending: true,
            scope: "linked".into(),
        })
        .unwrap()
    }

    fn charge(id: &str, amount: i64, day: i64) -> ChargeEntry {
        ChargeEntry {
            id: id.into(),
            amount,
            currency: "usd".into(),
            created: JOINED + day * DAY,
            paid: true,
            refunded: 0,
            disputed: 0,
            settled: None,
        }
    }

    #[test]
    fn the_form_is_checked_field_by_field() {
        let s = settings();
        assert_eq!(
            (s.target, s.min_payment, s.currency.as_str()),
            (5000, 500, "usd")
        );
        assert_eq!(s.describe(), "Spend 50.00 USD within 30 days of joining");
        assert_eq!(check_form(&s.to_form()), Ok(s.clone()));
        let errors = check_form(&QualificationForm {
            target: "0".into(),
            currency: "dollars".into(),
            window_days: "0".into(),
            min_payment: "x".into(),
            scope: "?".into(),
            ..Default::default()
        })
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            ["currency", "target", "window_days", "min_payment", "scope"]
        );
        let mut f = s.to_form();
        f.min_payment = "60".into();
        assert_eq!(check_form(&f).unwrap_err()[0].0, "min_payment");
    }

    #[test]
    fn the_target_is_kept_in_its_currency_s_own_units() {
        let target = |target: &str, currency: &str| {
            check_form(&QualificationForm {
                target: target.into(),
                currency: currency.into(),
                min_payment: String::new(),
                ..settings().to_form()
            })
            .map(|s| (s.target, s.describe()))
            .map_err(|e| e[0].1.clone())
        };
        assert_eq!(
            target("500", "XPF"),
            Ok((500, "Spend 500 XPF within 30 days of joining".into()))
        );
        assert_eq!(
            target("12.5", "KWD"),
            Ok((12_500, "Spend 12.500 KWD within 30 days of joining".into()))
        );
        assert_eq!(
            target("49,90", "EUR"),
            Ok((4990, "Spend 49.90 EUR within 30 days of joining".into()))
        );
        assert_eq!(
            target("5.5", "JPY"),
            Err("The amount a friend must spend: JPY has no decimals: enter a whole amount, such as 1000.".into())
        );
        assert_eq!(
            target("12,500", "KWD"),
            Err("The amount a friend must spend: it could mean 12500.000 KWD or 12.500 KWD: write 12500.000 or 12.500.".into())
        );
    }

    #[test]
    fn the_target_is_reached_by_the_charge_that_crosses_it_within_the_window() {
        let s = settings();
        let charges = [
            charge("ch_b", 3000, 5),
            charge("ch_a", 2000, 2),
            charge("ch_c", 1000, 9),
        ];
        let total = spend(&s, JOINED, &charges);
        assert_eq!(total.counted, 6000);
        assert_eq!(total.payments, 3);
        assert_eq!(total.reached, Some(("ch_b".into(), JOINED + 5 * DAY)));
        assert_eq!(
            explain_spend(&s, &total),
            "Spent 60.00 USD of 50.00 USD within 30 days (3 payments)"
        );
        // The order events arrived in does not matter, nor does a duplicate.
        let mut shuffled = vec![charges[2].clone(), charges[0].clone(), charges[1].clone()];
        assert_eq!(spend(&s, JOINED, &shuffled), total);
        shuffled.dedup_by(|a, b| a.id == b.id);
        assert_eq!(spend(&s, JOINED, &shuffled).counted, 6000);
    }

    #[test]
    fn what_does_not_count_says_why() {
        let s = settings();
        let mut eur = charge("ch_eur", 9000, 1);
        eur.currency = "eur".into();
        let mut failed = charge("ch_failed", 9000, 1);
        failed.paid = false;
        let charges = [
            charge("ch_before", 9000, -1),
            charge("ch_after", 9000, 30),
            charge("ch_small", 400, 3),
            eur,
            failed,
            charge("ch_ok", 2000, 4),
        ];
        let total = spend(&s, JOINED, &charges);
        assert_eq!(total.counted, 2000);
        assert_eq!(total.reached, None);
        let why: Vec<&str> = total.ignored.iter().map(|(_, w)| *w).collect();
        assert_eq!(
            why,
            [
                "before they joined",
                "another currency, not settled in the target's",
                "not paid",
                "below the smallest payment that counts",
                "after the window"
            ]
        );
        assert_eq!(
            standing(&s, JOINED, JOINED + 10 * DAY, &total, false, false),
            Standing::Pending { open: true }
        );
        assert_eq!(
            standing(&s, JOINED, JOINED + 31 * DAY, &total, false, false),
            Standing::Pending { open: false }
        );
    }

    #[test]
    fn a_payment_in_another_currency_counts_at_the_amount_stripe_settled() {
        let s = settings();
        let settled = |amount: i64, currency: &str, rate: &str| {
            Some(Settlement {
                amount,
                currency: currency.into(),
                rate: rate.into(),
            })
        };
        let mut eur = charge("ch_eur", 4500, 1);
        eur.currency = "eur".into();
        eur.refunded = 1000;
        let unread = spend(&s, JOINED, std::slice::from_ref(&eur));
        assert_eq!(unread.counted, 0);
        assert_eq!(
            unread.ignored,
            [(
                "ch_eur".to_string(),
                "another currency, not settled in the target's"
            )]
        );
        eur.settled = settled(4860, "usd", "1.08");
        // 45.00 EUR settled as 48.60 USD, less its 10.00 EUR refund at the same rate.
        let total = spend(&s, JOINED, std::slice::from_ref(&eur));
        assert_eq!((total.counted, total.payments), (3780, 1));
        assert_eq!(
            explain_spend(&s, &total),
            "Spent 37.80 USD of 50.00 USD within 30 days (1 payment); 45.00 EUR counted as 48.60 USD at Stripe's rate 1.08"
        );
        // The smallest payment that counts is measured as settled; a payment settled in a
        // third currency does not count.
        let mut small = charge("ch_small", 450, 2);
        small.currency = "eur".into();
        small.settled = settled(486, "usd", "1.08");
        let mut gbp = charge("ch_gbp", 9000, 3);
        gbp.currency = "gbp".into();
        gbp.settled = settled(10_530, "eur", "1.17");
        let total = spend(&s, JOINED, &[small, gbp]);
        assert_eq!(total.counted, 0);
        let why: Vec<&str> = total.ignored.iter().map(|(_, w)| *w).collect();
        assert_eq!(
            why,
            [
                "below the smallest payment that counts",
                "another currency, not settled in the target's"
            ]
        );
        // A yen payment settles in whole cents: a third of it refunded rounds to the nearest.
        let mut jpy = charge("ch_jpy", 10_000, 4);
        jpy.currency = "jpy".into();
        jpy.refunded = 3_333;
        jpy.settled = settled(6_700, "usd", "0.0067");
        assert_eq!(spend(&s, JOINED, &[jpy]).counted, 6_700 - 2_233);
        // Five payments: three named, the rest counted.
        let many: Vec<ChargeEntry> = (0..5)
            .map(|i| {
                let mut c = charge(&format!("ch_{i}"), 1000, 5 + i);
                c.currency = "eur".into();
                c.settled = settled(1080, "usd", "1.08");
                c
            })
            .collect();
        assert!(explain_spend(&s, &spend(&s, JOINED, &many))
            .ends_with("at Stripe's rate 1.08; 2 more payments at Stripe's rates"));
    }

    #[test]
    fn refunds_and_lost_disputes_reduce_the_spend_as_the_settings_say() {
        let mut s = settings();
        let mut refunded = charge("ch_1", 6000, 1);
        refunded.refunded = 2000;
        let total = spend(&s, JOINED, std::slice::from_ref(&refunded));
        assert_eq!((total.counted, total.reached.clone()), (4000, None));
        // Back to pending while the reward is not issued; kept (and flagged) once it is.
        assert_eq!(
            standing(&s, JOINED, JOINED + DAY, &total, true, false),
            Standing::Pending { open: true }
        );
        assert_eq!(
            standing(&s, JOINED, JOINED + DAY, &total, true, true),
            Standing::KeptDespiteRefund
        );
        s.refunds_reduce = false;
        assert!(spend(&s, JOINED, &[refunded.clone()]).reached.is_some());
        let mut disputed = charge("ch_2", 6000, 1);
        disputed.disputed = 6000;
        assert_eq!(spend(&s, JOINED, &[disputed.clone()]).counted, 0);
        s.disputes_reduce = false;
        assert_eq!(spend(&s, JOINED, &[disputed]).counted, 6000);
    }
}
