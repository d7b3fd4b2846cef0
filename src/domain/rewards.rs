//! Rewards: a campaign's rules (who earns what, for which qualified referrals), their checks,
//! and the ledger's statuses. Issuing them is `workflows::rewards`.

use serde::{Deserialize, Serialize};

use super::{
    commissions::{Commission, CommissionForm},
    fraud::{FraudSettings, Response, Signal},
    money::{format_amount, format_plain, parse_amount},
};

keyed!(
    /// What a reward is.
    RewardKind {
        Credit => "credit", "Stripe customer credit",
        PromotionCode => "promotion_code", "Stripe promotion code",
        Manual => "manual", "Manual (a teammate fulfils it)",
    }
);

impl RewardKind {
    /// Issued through Stripe (credit, promotion code), not by a teammate.
    pub fn in_stripe(self) -> bool {
        self != RewardKind::Manual
    }
}

keyed!(
    /// Who earns it.
    Recipient {
        Referrer => "referrer", "The person referring",
        Friend => "friend", "The friend who qualified",
    }
);

keyed!(
    /// Where a reward in the ledger stands.
    RewardStatus {
        Held => "held", "Held",
        AwaitingApproval => "awaiting_approval", "Awaiting approval",
        Queued => "queued", "Issuing",
        Waiting => "waiting", "Waiting for a Stripe customer",
        Issued => "issued", "Issued",
        ToFulfil => "to_fulfil", "To fulfil",
        Fulfilled => "fulfilled", "Fulfilled",
        Reversed => "reversed", "Reversed",
        Flagged => "flagged", "Flagged",
        Cancelled => "cancelled", "Cancelled",
        Rejected => "rejected", "Rejected",
        Failed => "failed", "Failed",
    }
);

impl RewardStatus {
    /// Given to the person (money or a code went out, or a teammate fulfilled it).
    pub fn given(self) -> bool {
        matches!(
            self,
            RewardStatus::Issued | RewardStatus::Fulfilled | RewardStatus::Flagged
        )
    }

    /// Owed or given: not cancelled, rejected, reversed or failed.
    pub fn standing(self) -> bool {
        self.given() || self.outstanding()
    }

    /// Not given yet, and still to be: cancelled if the referral returns to pending.
    pub fn outstanding(self) -> bool {
        matches!(
            self,
            RewardStatus::Held
                | RewardStatus::AwaitingApproval
                | RewardStatus::Queued
                | RewardStatus::Waiting
                | RewardStatus::ToFulfil
        )
    }
}

/// One reward rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewardRule {
    /// Stable across edits: the ledger is keyed by (referral, rule).
    pub id: String,
    pub recipient: Recipient,
    pub kind: RewardKind,
    /// Minor units (credit, or the promotion code's amount off); 0 for manual rewards.
    pub amount: i64,
    pub currency: String,
    /// 1: every qualified referral; N: every Nth of the person referring (a milestone).
    pub every: u32,
    /// A tier: the rule counts from the referrer's Nth qualified referral (0 or 1: the first)
    /// up to their Mth (0: no end), so "10.00 up to the 4th" and "20.00 from the 5th" step up.
    #[serde(default)]
    pub from: u32,
    #[serde(default)]
    pub up_to: u32,
    /// Manual rewards: what the teammate gives ("A T-shirt").
    pub description: String,
    /// When a refund takes the referral back under the target after the reward was issued
    /// (for a commission: when its payment is refunded): reverse it (credit is debited)
    /// instead of flagging it.
    pub reverse_on_refund: bool,
    /// A commission: a percentage of each payment, one entry per payment (`amount` is 0).
    #[serde(default)]
    pub commission: Option<Commission>,
    /// Days each reward waits after the payment that earned it before it is given (0: none):
    /// cancelled instead if that payment is refunded or disputed meanwhile.
    #[serde(default)]
    pub hold_days: u32,
}

impl RewardRule {
    /// "10.00 USD credit", "Promotion code for 10.00 USD off", "A T-shirt", "20% of each
    /// payment for 12 months from the first, as Stripe customer credit in USD".
    pub fn describe(&self) -> String {
        if let Some(c) = &self.commission {
            let paid = match self.kind {
                RewardKind::Credit => "as Stripe customer credit",
                _ => "paid out by a teammate",
            };
            return format!(
                "{}, {paid} in {}",
                c.describe(&self.currency),
                self.currency.to_uppercase()
            );
        }
        match self.kind {
            RewardKind::Credit => format!("{} credit", format_amount(self.amount, &self.currency)),
            RewardKind::PromotionCode => format!(
                "Promotion code for {} off",
                format_amount(self.amount, &self.currency)
            ),
            RewardKind::Manual => self.description.clone(),
        }
    }

    /// "for the person referring, for every 3rd qualified referral"
    pub fn describe_when(&self) -> String {
        let who = match self.recipient {
            Recipient::Referrer => "for the person referring",
            Recipient::Friend => "for the friend",
        };
        if self.commission.is_some() {
            return self.with_hold(format!("{who}, on every payment of an invited friend"));
        }
        let when = match self.every {
            0 | 1 => format!("{who}, for every qualified referral"),
            n => format!("{who}, for every {} qualified referral", ordinal(n)),
        };
        let when = match (self.from, self.up_to) {
            (0 | 1, 0) => when,
            (0 | 1, m) => format!("{when} up to the {}", ordinal(m)),
            (n, 0) => format!("{when} from the {}", ordinal(n)),
            (n, m) => format!("{when} from the {} to the {}", ordinal(n), ordinal(m)),
        };
        self.with_hold(when)
    }

    /// "…, held 14 days after the payment that earned it"
    fn with_hold(&self, when: String) -> String {
        match self.hold_days {
            0 => when,
            1 => format!("{when}, held 1 day after the payment that earned it"),
            n => format!("{when}, held {n} days after the payment that earned it"),
        }
    }

    /// Whether a referral that brought the referrer to `qualified_count` earns this rule: a
    /// multiple of `every` within the rule's tier.
    pub fn earned_at(&self, qualified_count: i64) -> bool {
        qualified_count >= i64::from(self.from.max(1))
            && (self.up_to == 0 || qualified_count <= i64::from(self.up_to))
            && qualified_count % i64::from(self.every.max(1)) == 0
    }

    pub fn to_form(&self) -> RewardRuleForm {
        RewardRuleForm {
            id: self.id.clone(),
            recipient: self.recipient.key().into(),
            kind: self.kind.key().into(),
            amount: if self.amount > 0 {
                format_plain(self.amount, &self.currency)
            } else {
                String::new()
            },
            currency: self.currency.clone(),
            every: self.every.to_string(),
            from: if self.from > 1 {
                self.from.to_string()
            } else {
                String::new()
            },
            up_to: if self.up_to > 0 {
                self.up_to.to_string()
            } else {
                String::new()
            },
            description: self.description.clone(),
            reverse_on_refund: self.reverse_on_refund,
            commission: CommissionForm::from_commission(self.commission.as_ref(), &self.currency),
            hold_days: if self.hold_days > 0 {
                self.hold_days.to_string()
            } else {
                String::new()
            },
        }
    }

    /// "Held until 17 Mar 2026: 14 days after ch_…, in case it is refunded or disputed"
    pub fn hold_note(&self, until: i64, payment: &str) -> String {
        format!(
            "Held until {}: {} day{} after {payment}, in case it is refunded or disputed",
            super::time::format_date(until),
            self.hold_days,
            if self.hold_days == 1 { "" } else { "s" }
        )
    }
}

/// 2 → "2nd", 3 → "3rd", 11 → "11th".
pub(crate) fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// A campaign's rewards.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RewardSettings {
    /// Issue as soon as a referral qualifies; otherwise each waits for someone with "Manage
    /// rewards" to approve it.
    pub auto_issue: bool,
    pub rules: Vec<RewardRule>,
    /// The discount people invited get at checkout, if any.
    #[serde(default)]
    pub friend_offer: Option<FriendOffer>,
    /// What the campaign does about each sign of a self-referral.
    #[serde(default)]
    pub fraud: FraudSettings,
}

/// The friend's offer: a discount for people invited, as a Stripe coupon; each person
/// referring gets their own promotion code for it ("ANN-7K2Q"), and a payment that redeems it
/// is attributed to a friend of theirs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FriendOffer {
    /// Whole percent off (1–100); 0 when the offer is an amount off.
    pub percent_off: u32,
    /// Minor units off, in `currency`, when `percent_off` is 0.
    pub amount_off: i64,
    pub currency: String,
}

impl FriendOffer {
    /// "20% off", "10.00 USD off".
    pub fn describe(&self) -> String {
        if self.percent_off > 0 {
            format!("{}% off", self.percent_off)
        } else {
            format!("{} off", format_amount(self.amount_off, &self.currency))
        }
    }

    /// What friends get with a person's code: "20% off at checkout with the code ANN-7K2Q".
    pub fn with_code(&self, code: &str) -> String {
        format!("{} at checkout with the code {code}", self.describe())
    }

    /// The coupon's id in Stripe, from the campaign and the terms: the same terms find the same
    /// coupon again, other terms make another (Stripe's coupons cannot change).
    pub fn coupon_id(&self, campaign_id: &str) -> String {
        if self.percent_off > 0 {
            format!("refloop_offer_{campaign_id}_p{}", self.percent_off)
        } else {
            format!(
                "refloop_offer_{campaign_id}_a{}{}",
                self.amount_off, self.currency
            )
        }
    }
}

/// The friend's offer as typed: `kind` is empty (none), "percent" or "amount".
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OfferForm {
    pub kind: String,
    pub value: String,
    pub currency: String,
}

impl OfferForm {
    pub fn from_offer(offer: Option<&FriendOffer>) -> OfferForm {
        match offer {
            None => OfferForm::default(),
            Some(o) if o.percent_off > 0 => OfferForm {
                kind: "percent".into(),
                value: o.percent_off.to_string(),
                currency: String::new(),
            },
            Some(o) => OfferForm {
                kind: "amount".into(),
                value: format_plain(o.amount_off, &o.currency),
                currency: o.currency.to_uppercase(),
            },
        }
    }
}

/// Checks the friend's offer; problems named `offer.{field}`.
fn check_offer(f: &OfferForm, errors: &mut Vec<(String, String)>) -> Option<FriendOffer> {
    match f.kind.trim() {
        "" | "none" => None,
        "percent" => match f.value.trim().trim_end_matches('%').parse::<u32>() {
            Ok(p) if (1..=100).contains(&p) => Some(FriendOffer {
                percent_off: p,
                amount_off: 0,
                currency: String::new(),
            }),
            _ => {
                errors.push((
                    "offer.value".into(),
                    "Enter the friend's discount as a whole percentage from 1 to 100.".into(),
                ));
                None
            }
        },
        "amount" => {
            let currency = f.currency.trim().to_lowercase();
            if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_lowercase()) {
                errors.push((
                    "offer.currency".into(),
                    "Choose the currency of the friend's discount as its three-letter code, such as USD."
                        .into(),
                ));
                return None;
            }
            match parse_amount(&f.value, &currency) {
                Ok(amount_off) => Some(FriendOffer {
                    percent_off: 0,
                    amount_off,
                    currency,
                }),
                Err(e) => {
                    errors.push((
                        "offer.value".into(),
                        format!("The friend's discount: {}.", e.reason(&currency)),
                    ));
                    None
                }
            }
        }
        _ => {
            errors.push((
                "offer.kind".into(),
                "Choose no offer, a percentage off or an amount off.".into(),
            ));
            None
        }
    }
}

/// A person referring's promotion code: their first name (letters and digits, up to 10,
/// "FRIEND" without one), a dash and 4 characters from `seed` and `attempt` ("ANN-7K2Q"), the
/// same each time for the same seed and attempt, so a retried request asks for the same code.
pub fn promotion_code(first_name: &str, seed: &str, attempt: u32) -> String {
    let name: String = first_name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(10)
        .collect::<String>()
        .to_uppercase();
    let name = if name.is_empty() {
        "FRIEND".to_string()
    } else {
        name
    };
    // FNV-1a: small and stable; the code needs no secrecy, only spread.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes().chain(attempt.to_le_bytes()) {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    let suffix: String = (0..4)
        .map(|i| ALPHABET[((hash >> (i * 8)) % ALPHABET.len() as u64) as usize] as char)
        .collect();
    format!("{name}-{suffix}")
}

/// A rule as typed in the Rewards step.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RewardRuleForm {
    /// Empty for a new rule.
    pub id: String,
    pub recipient: String,
    pub kind: String,
    pub amount: String,
    pub currency: String,
    pub every: String,
    /// The tier: from the referrer's Nth qualified referral (empty: the first) up to their Mth
    /// (empty: no end).
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub up_to: String,
    pub description: String,
    pub reverse_on_refund: bool,
    /// Not set: a fixed reward.
    #[serde(default)]
    pub commission: CommissionForm,
    /// Days to hold each reward after its payment (empty: none).
    #[serde(default)]
    pub hold_days: String,
}

/// What the Rewards step sends.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RewardForm {
    pub auto_issue: bool,
    pub rules: Vec<RewardRuleForm>,
    #[serde(default)]
    pub offer: OfferForm,
    #[serde(default)]
    pub fraud: FraudSettings,
}

pub const MAX_RULES: usize = 10;

/// Checks the rules; every problem named by its field (`rules.{i}.{field}`). New rules get
/// their id from `new_id`.
pub fn check_rewards(
    f: &RewardForm,
    mut new_id: impl FnMut() -> String,
) -> Result<RewardSettings, Vec<(String, String)>> {
    let mut errors = Vec::new();
    if f.rules.len() > MAX_RULES {
        errors.push((
            "rules".into(),
            format!("A campaign has at most {MAX_RULES} reward rules."),
        ));
    }
    let mut rules = Vec::new();
    for (i, r) in f.rules.iter().enumerate() {
        let field = |name: &str| format!("rules.{i}.{name}");
        let n = i + 1;
        let recipient = Recipient::from_key(&r.recipient);
        if recipient.is_none() {
            errors.push((
                field("recipient"),
                format!("Rule {n}: choose who earns it."),
            ));
        }
        let kind = RewardKind::from_key(&r.kind);
        if kind.is_none() {
            errors.push((
                field("kind"),
                format!("Rule {n}: choose the kind of reward."),
            ));
        }
        let currency = r.currency.trim().to_lowercase();
        let commission = match r.commission.check(n, &currency) {
            Ok(c) => c,
            Err(problems) => {
                errors.extend(problems.into_iter().map(|(f, m)| (field(f), m)));
                None
            }
        };
        let is_commission = r.commission.is_set();
        let mut amount = 0;
        if is_commission {
            if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_lowercase()) {
                errors.push((
                    field("currency"),
                    format!("Rule {n}: choose the commission's currency as its three-letter code, such as USD."),
                ));
            }
            if kind == Some(RewardKind::PromotionCode) {
                errors.push((
                    field("kind"),
                    format!("Rule {n}: a commission is paid as Stripe customer credit or by a teammate (manual), not as a promotion code."),
                ));
            }
        } else if kind.is_some_and(|k| k != RewardKind::Manual) {
            if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_lowercase()) {
                errors.push((
                    field("currency"),
                    format!("Rule {n}: choose the currency as its three-letter code, such as USD."),
                ));
            }
            match parse_amount(&r.amount, &currency) {
                Ok(a) => amount = a,
                Err(e) => errors.push((
                    field("amount"),
                    format!("Rule {n}'s amount: {}.", e.reason(&currency)),
                )),
            }
        }
        let description = r.description.trim().to_string();
        if kind == Some(RewardKind::Manual) && description.is_empty() && !is_commission {
            errors.push((
                field("description"),
                format!("Rule {n}: say what the teammate gives, such as “A T-shirt”."),
            ));
        }
        if description.chars().count() > 200 {
            errors.push((
                field("description"),
                format!("Rule {n}: keep the description under 200 characters."),
            ));
        }
        let every = r.every.trim();
        let every = if every.is_empty() {
            Some(1)
        } else {
            every.parse::<u32>().ok().filter(|e| (1..=1000).contains(e))
        };
        if every.is_none() {
            errors.push((
                field("every"),
                format!("Rule {n}: enter 1 for every qualified referral, or N (up to 1000) for every Nth."),
            ));
        }
        let count = |text: &str, empty: u32| match text.trim() {
            "" => Some(empty),
            t => t.parse::<u32>().ok().filter(|n| (1..=100_000).contains(n)),
        };
        let (from, up_to) = (count(&r.from, 1), count(&r.up_to, 0));
        if from.is_none() {
            errors.push((
                field("from"),
                format!("Rule {n}: enter the referral its tier starts at, such as 5 for the 5th, or leave it empty for the first."),
            ));
        }
        match (from, up_to) {
            (_, None) => errors.push((
                field("up_to"),
                format!("Rule {n}: enter the referral its tier ends at, such as 4 for the 4th, or leave it empty for no end."),
            )),
            (Some(from), Some(up_to)) if up_to > 0 && up_to < from => errors.push((
                field("up_to"),
                format!("Rule {n}: its tier ends at the {} referral, before it starts at the {}.", ordinal(up_to), ordinal(from)),
            )),
            _ => {}
        }
        if is_commission && (every != Some(1) || from > Some(1) || up_to > Some(0)) {
            errors.push((
                field("every"),
                format!("Rule {n}: a commission earns on every payment; leave “for every” at 1 and the tier empty."),
            ));
        }
        let hold_days = match r.hold_days.trim() {
            "" => Some(0),
            t => t.parse::<u32>().ok().filter(|d| *d <= 365),
        };
        if hold_days.is_none() {
            errors.push((
                field("hold_days"),
                format!("Rule {n}: enter the days to hold each reward after its payment, from 0 to 365, or leave it empty."),
            ));
        }
        if recipient == Some(Recipient::Friend) && (from > Some(1) || up_to > Some(0)) {
            errors.push((
                field("from"),
                format!("Rule {n}: a tier counts the referring person's qualified referrals; give it to the person referring, or leave the tier empty."),
            ));
        }
        if let (
            Some(recipient),
            Some(kind),
            Some(every),
            Some(from),
            Some(up_to),
            Some(hold_days),
        ) = (recipient, kind, every, from, up_to, hold_days)
        {
            rules.push(RewardRule {
                id: if r.id.trim().is_empty() {
                    new_id()
                } else {
                    r.id.trim().to_string()
                },
                recipient,
                kind,
                amount,
                currency: if kind == RewardKind::Manual && commission.is_none() {
                    String::new()
                } else {
                    currency
                },
                every,
                from,
                up_to,
                description,
                reverse_on_refund: r.reverse_on_refund && kind != RewardKind::Manual,
                commission,
                hold_days,
            });
        }
    }
    let friend_offer = check_offer(&f.offer, &mut errors);
    for signal in Signal::ALL {
        if !signal.at_join() && f.fraud.response(signal) == Response::Refuse {
            errors.push((
                signal.key().into(),
                format!(
                    "{} is seen when the friend pays, after they joined: flag it for review or turn it off.",
                    signal.label()
                ),
            ));
        }
    }
    if errors.is_empty() {
        Ok(RewardSettings {
            auto_issue: f.auto_issue,
            rules,
            friend_offer,
            fraud: f.fraud,
        })
    } else {
        Err(errors)
    }
}

/// One reward in the ledger, as teammates and the person see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewardEntry {
    pub id: String,
    pub rule_id: String,
    pub kind: RewardKind,
    /// "10.00 USD credit"
    pub description: String,
    pub status: RewardStatus,
    /// Why it stands where it does, in words.
    pub note: String,
    pub recipient_id: String,
    pub recipient_email: String,
    pub referral_id: String,
    pub referral_email: String,
    pub customer_id: Option<String>,
    /// `cbtxn_…` or `promo_…`.
    pub stripe_ref: Option<String>,
    /// The promotion code, shown on the person's page.
    pub code: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// How a reward reads on the person's own page ("Promotion code for 10.00 USD off: REF-7Q2K"),
/// or `None` for one they will not get.
pub fn personal_line(
    description: &str,
    status: RewardStatus,
    code: Option<&str>,
) -> Option<String> {
    match (status, code) {
        (RewardStatus::Issued | RewardStatus::Flagged, Some(code)) => {
            Some(format!("{description}: {code}"))
        }
        (s, _) if s.given() => Some(description.to_string()),
        (s, _) if s.outstanding() => Some(format!("{description} (on its way)")),
        _ => None,
    }
}

/// The Rewards step: the rules, and the ledger with what waits for a teammate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignRewards {
    pub campaign_id: String,
    pub campaign_name: String,
    pub settings: RewardSettings,
    /// Why the viewer cannot change the rules, if they cannot.
    pub read_only: Option<String>,
    /// Whether the viewer may approve, reject and mark rewards fulfilled.
    pub can_manage: bool,
    pub rewards: Vec<RewardEntry>,
}

/// What a teammate does to a reward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RewardDecision {
    Approve,
    Reject,
    MarkFulfilled,
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_friends_offer_is_a_percentage_or_an_amount_with_its_own_coupon() {
        let offer = |kind: &str, value: &str, currency: &str| {
            let mut errors = Vec::new();
            let o = check_offer(
                &OfferForm {
                    kind: kind.into(),
                    value: value.into(),
                    currency: currency.into(),
                },
                &mut errors,
            );
            (o, errors.into_iter().map(|(f, _)| f).collect::<Vec<_>>())
        };
        assert_eq!(offer("", "", ""), (None, vec![]));
        let (pct, _) = offer("percent", "20%", "");
        let pct = pct.unwrap();
        assert_eq!(pct.describe(), "20% off");
        assert_eq!(pct.coupon_id("cmp_1"), "refloop_offer_cmp_1_p20");
        let (amount, _) = offer("amount", "10", "USD");
        let amount = amount.unwrap();
        assert_eq!(amount.describe(), "10.00 USD off");
        assert_eq!(amount.coupon_id("cmp_1"), "refloop_offer_cmp_1_a1000usd");
        assert_eq!(
            OfferForm::from_offer(Some(&amount)),
            OfferForm {
                kind: "amount".into(),
                value: "10.00".into(),
                currency: "USD".into()
            }
        );
        assert_eq!(offer("percent", "101", "").1, vec!["offer.value"]);
        assert_eq!(offer("amount", "0", "usd").1, vec!["offer.value"]);
        assert_eq!(offer("amount", "5", "dollars").1, vec!["offer.currency"]);
        assert_eq!(offer("free", "", "").1, vec!["offer.kind"]);
    }

    #[test]
    fn promotion_codes_start_with_the_name_and_are_stable_per_attempt() {
        let first = promotion_code("Ann-Marie", "par_1", 0);
        assert!(
            first.starts_with("ANNMARIE-") && first.len() == 13,
            "{first}"
        );
        assert_eq!(promotion_code("Ann-Marie", "par_1", 0), first);
        assert_ne!(promotion_code("Ann-Marie", "par_1", 1), first);
        assert!(promotion_code("", "par_2", 0).starts_with("FRIEND-"));
        assert!(promotion_code("Zoë", "par_3", 0).starts_with("ZO-"));
    }

    use super::*;

    fn rule(kind: &str, amount: &str) -> RewardRuleForm {
        RewardRuleForm {
            recipient: "referrer".into(),
            kind: kind.into(),
            amount: amount.into(),
            currency: "USD".into(),
            every: "1".into(),
            ..Default::default()
        }
    }

    #[test]
    fn rules_are_checked_and_keep_their_ids() {
        let mut n = 0;
        let mut ids = || {
            n += 1;
            format!("rr_{n}")
        };
        let mut kept = rule("credit", "10.00");
        kept.id = "rr_old".into();
        let settings = check_rewards(
            &RewardForm {
                auto_issue: true,
                rules: vec![kept, rule("promotion_code", "5")],
                ..Default::default()
            },
            &mut ids,
        )
        .unwrap();
        assert_eq!(settings.rules[0].id, "rr_old");
        assert_eq!(settings.rules[1].id, "rr_1");
        assert_eq!(settings.rules[0].describe(), "10.00 USD credit");
        assert_eq!(
            settings.rules[1].describe(),
            "Promotion code for 5.00 USD off"
        );
        let mut manual = rule("manual", "");
        manual.every = "0".into();
        let errors = check_rewards(
            &RewardForm {
                auto_issue: false,
                rules: vec![rule("credit", "0"), manual, rule("gift", "1")],
                ..Default::default()
            },
            &mut ids,
        )
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "rules.0.amount",
                "rules.1.description",
                "rules.1.every",
                "rules.2.kind"
            ]
        );
        assert!(errors[1].1.starts_with("Rule 2:"));
    }

    #[test]
    fn commissions_and_holds_are_checked_with_their_rule() {
        let commission = |kind: &str, percent: &str| RewardRuleForm {
            commission: CommissionForm {
                percent: percent.into(),
                span: "always".into(),
                ..Default::default()
            },
            hold_days: "14".into(),
            ..rule(kind, "")
        };
        let settings = check_rewards(
            &RewardForm {
                auto_issue: true,
                rules: vec![commission("credit", "20"), commission("manual", "12.5")],
                ..Default::default()
            },
            || "rr_new".to_string(),
        )
        .unwrap();
        let (credit, manual) = (&settings.rules[0], &settings.rules[1]);
        assert_eq!((credit.amount, credit.hold_days), (0, 14));
        assert_eq!(
            credit.describe(),
            "20% of each payment for as long as they pay, as Stripe customer credit in USD"
        );
        assert_eq!(
            manual.describe(),
            "12.5% of each payment for as long as they pay, paid out by a teammate in USD"
        );
        assert_eq!(
            credit.describe_when(),
            "for the person referring, on every payment of an invited friend, held 14 days after the payment that earned it"
        );
        assert_eq!(credit.to_form().hold_days, "14");
        let mut milestone = commission("promotion_code", "20");
        milestone.every = "3".into();
        milestone.hold_days = "400".into();
        let errors = check_rewards(
            &RewardForm {
                rules: vec![milestone],
                ..Default::default()
            },
            || "rr_new".to_string(),
        )
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            ["rules.0.kind", "rules.0.every", "rules.0.hold_days"]
        );
    }

    #[test]
    fn tiers_step_the_reward_up_with_the_referrer_s_qualified_referrals() {
        let settings = check_rewards(
            &RewardForm {
                auto_issue: true,
                rules: vec![
                    RewardRuleForm {
                        up_to: "4".into(),
                        ..rule("credit", "10.00")
                    },
                    RewardRuleForm {
                        from: "5".into(),
                        ..rule("credit", "20.00")
                    },
                    RewardRuleForm {
                        every: "2".into(),
                        from: "3".into(),
                        up_to: "8".into(),
                        ..rule("credit", "1.00")
                    },
                ],
                ..Default::default()
            },
            || "rr".into(),
        )
        .unwrap();
        let earned = |i: usize| -> Vec<i64> {
            (0..=10)
                .filter(|n| settings.rules[i].earned_at(*n))
                .collect()
        };
        assert_eq!(earned(0), [1, 2, 3, 4]);
        assert_eq!(earned(1), [5, 6, 7, 8, 9, 10]);
        assert_eq!(earned(2), [4, 6, 8]);
        let when: Vec<String> = settings
            .rules
            .iter()
            .map(RewardRule::describe_when)
            .collect();
        assert_eq!(
            when,
            [
                "for the person referring, for every qualified referral up to the 4th",
                "for the person referring, for every qualified referral from the 5th",
                "for the person referring, for every 2nd qualified referral from the 3rd to the 8th",
            ]
        );
        // The form shows a tier as it was typed, and reads back the same.
        let form = RewardForm {
            auto_issue: true,
            rules: settings.rules.iter().map(RewardRule::to_form).collect(),
            ..Default::default()
        };
        assert_eq!(
            (form.rules[0].from.as_str(), form.rules[0].up_to.as_str()),
            ("", "4")
        );
        assert_eq!(check_rewards(&form, || "new".into()), Ok(settings));

        let errors = check_rewards(
            &RewardForm {
                rules: vec![
                    RewardRuleForm {
                        from: "5".into(),
                        up_to: "4".into(),
                        ..rule("credit", "1")
                    },
                    RewardRuleForm {
                        from: "fifth".into(),
                        up_to: "0".into(),
                        ..rule("credit", "1")
                    },
                    RewardRuleForm {
                        recipient: "friend".into(),
                        from: "2".into(),
                        ..rule("credit", "1")
                    },
                ],
                ..Default::default()
            },
            || "rr".into(),
        )
        .unwrap_err();
        assert_eq!(
            errors,
            [
                (
                    "rules.0.up_to".to_string(),
                    "Rule 1: its tier ends at the 4th referral, before it starts at the 5th."
                        .to_string()
                ),
                (
                    "rules.1.from".to_string(),
                    "Rule 2: enter the referral its tier starts at, such as 5 for the 5th, or leave it empty for the first.".to_string()
                ),
                (
                    "rules.1.up_to".to_string(),
                    "Rule 2: enter the referral its tier ends at, such as 4 for the 4th, or leave it empty for no end.".to_string()
                ),
                (
                    "rules.2.from".to_string(),
                    "Rule 3: a tier counts the referring person's qualified referrals; give it to the person referring, or leave the tier empty.".to_string()
                ),
            ]
        );
    }

    #[test]
    fn milestones_are_every_nth_qualified_referral() {
        let mut r = check_rewards(
            &RewardForm {
                auto_issue: true,
                rules: vec![RewardRuleForm {
                    every: "3".into(),
                    ..rule("credit", "30")
                }],
                ..Default::default()
            },
            || "rr".into(),
        )
        .unwrap()
        .rules
        .remove(0);
        let earned: Vec<i64> = (1..=9).filter(|n| r.earned_at(*n)).collect();
        assert_eq!(earned, [3, 6, 9]);
        assert_eq!(
            r.describe_when(),
            "for the person referring, for every 3rd qualified referral"
        );
        r.every = 1;
        assert!((1..=3).all(|n| r.earned_at(n)));
        assert!(!r.earned_at(0));
    }
}
