//! The dashboard's figures: the period they cover, what invited friends paid, what rewards
//! cost, the funnel from a click to a qualified friend, the top referrers and the time to
//! qualify.

use serde::{Deserialize, Serialize};

use super::{
    rewards::RewardStatus,
    time::{format_date, format_date_input, parse_date},
};

const DAY: i64 = 86_400;

keyed!(
    /// The periods the picker offers; `Custom` reads `from` and `to` from the address.
    PeriodChoice {
        Week => "7d", "Last 7 days",
        Month => "30d", "Last 30 days",
        Quarter => "90d", "Last 90 days",
        All => "all", "All time",
        Custom => "custom", "Custom",
    }
);

/// The days a dashboard covers: `[from, to)` in Unix seconds, whole days in UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub choice: PeriodChoice,
    pub from: i64,
    pub to: i64,
}

impl Period {
    /// The period the address asks for (`period=30d`, or `period=custom&from=2026-11-01&to=2026-11-30`,
    /// both days included), on the day `now` falls in. No `period` means the last 30 days.
    pub fn parse(period: &str, from: &str, to: &str, now: i64) -> Result<Period, String> {
        let tomorrow = (now.div_euclid(DAY) + 1) * DAY;
        let choice = match period.trim() {
            "" => PeriodChoice::Month,
            key => PeriodChoice::from_key(key).ok_or_else(|| {
                format!("Unknown period “{key}”: choose 7d, 30d, 90d, all or custom.")
            })?,
        };
        let (from, to) = match choice {
            PeriodChoice::Week => (tomorrow - 7 * DAY, tomorrow),
            PeriodChoice::Month => (tomorrow - 30 * DAY, tomorrow),
            PeriodChoice::Quarter => (tomorrow - 90 * DAY, tomorrow),
            PeriodChoice::All => (0, tomorrow),
            PeriodChoice::Custom => {
                let day = |text: &str, name: &str| {
                    parse_date(text).ok_or_else(|| {
                        format!("The {name} date “{text}” is not a date: write it as 2026-11-30.")
                    })
                };
                let (from, to) = (day(from, "start")?, day(to, "end")? + DAY);
                if from >= to {
                    return Err("The start date must be on or before the end date.".into());
                }
                (from, to)
            }
        };
        Ok(Period { choice, from, to })
    }

    /// The period of the same length just before, to compare with (none for all time).
    pub fn previous(&self) -> Option<Period> {
        (self.choice != PeriodChoice::All).then(|| Period {
            choice: self.choice,
            from: self.from - (self.to - self.from),
            to: self.from,
        })
    }

    /// The address's query for this period (`period=30d`, with the dates when custom).
    pub fn query(&self) -> String {
        match self.choice {
            PeriodChoice::Custom => format!(
                "period=custom&from={}&to={}",
                format_date_input(self.from),
                format_date_input(self.to - DAY)
            ),
            choice => format!("period={}", choice.key()),
        }
    }

    /// "Last 30 days", or "1 Nov 2026 to 30 Nov 2026" for a custom period.
    pub fn label(&self) -> String {
        match self.choice {
            PeriodChoice::Custom => format!(
                "{} to {}",
                format_date(self.from),
                format_date(self.to - DAY)
            ),
            choice => choice.label().to_string(),
        }
    }
}

/// Money in one currency, minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amount {
    pub currency: String,
    pub amount: i64,
}

/// What invited friends paid in one currency, net of refunds and lost disputes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revenue {
    pub currency: String,
    pub amount: i64,
    /// The same in the period before (none for all time).
    pub previous: Option<i64>,
}

impl Revenue {
    /// The period's revenue per currency beside the period before's (none for all time); a
    /// currency earned before but not now shows at zero, with its fall.
    pub fn compared(now: Vec<Amount>, before: Option<Vec<Amount>>) -> Vec<Revenue> {
        let earlier = |currency: &str| {
            before.as_ref().map(|b| {
                b.iter()
                    .find(|x| x.currency == currency)
                    .map_or(0, |x| x.amount)
            })
        };
        let mut revenue: Vec<Revenue> = now
            .iter()
            .map(|a| Revenue {
                previous: earlier(&a.currency),
                currency: a.currency.clone(),
                amount: a.amount,
            })
            .collect();
        for b in before.iter().flatten() {
            if !now.iter().any(|a| a.currency == b.currency) {
                revenue.push(Revenue {
                    currency: b.currency.clone(),
                    amount: 0,
                    previous: Some(b.amount),
                });
            }
        }
        revenue
    }

    /// "+20%" against the period before; "new" when there was nothing before.
    pub fn change(&self) -> Option<String> {
        let previous = self.previous?;
        Some(if previous == 0 {
            if self.amount == 0 { "no change" } else { "new" }.to_string()
        } else {
            let pct = (self.amount - previous) as f64 * 100.0 / previous.abs() as f64;
            format!("{pct:+.0}%")
        })
    }
}

/// Where a reward stands, for what it costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CostBucket {
    /// Given: issued, fulfilled (or flagged after a refund, but given).
    Issued,
    /// On its way: being issued, waiting for a Stripe customer, to fulfil by hand.
    Held,
    /// Waiting for a teammate's approval.
    PendingApproval,
}

impl CostBucket {
    /// The bucket a reward's cost falls in; none when it will not be given.
    pub fn of(status: RewardStatus) -> Option<CostBucket> {
        if status.given() {
            Some(CostBucket::Issued)
        } else if status == RewardStatus::AwaitingApproval {
            Some(CostBucket::PendingApproval)
        } else if status.outstanding() {
            Some(CostBucket::Held)
        } else {
            None
        }
    }
}

/// What rewards granted in the period cost, in one currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cost {
    pub currency: String,
    pub issued: i64,
    pub held: i64,
    pub pending_approval: i64,
}

impl Cost {
    pub fn total(&self) -> i64 {
        self.issued + self.held + self.pending_approval
    }

    pub fn add(&mut self, bucket: CostBucket, amount: i64) {
        match bucket {
            CostBucket::Issued => self.issued += amount,
            CostBucket::Held => self.held += amount,
            CostBucket::PendingApproval => self.pending_approval += amount,
        }
    }
}

/// Revenue divided by cost in one currency: "4.0×", or why there is none.
pub fn return_on(revenue: i64, cost: i64) -> String {
    if cost <= 0 {
        "no cost yet".to_string()
    } else {
        format!("{:.1}×", revenue as f64 / cost as f64)
    }
}

/// From a click on a referral link to a qualified friend, over a period: clicks and joins in
/// the period, then the friends who joined in it and how far they got.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Funnel {
    pub clicks: i64,
    pub joined: i64,
    pub invited: i64,
    pub paying: i64,
    pub qualified: i64,
}

impl Funnel {
    /// Each step with its count and its rate from the step before ("40%"; none for the first,
    /// or after a step of zero).
    pub fn steps(&self) -> Vec<(&'static str, i64, Option<String>)> {
        let counts = [
            ("Clicks", self.clicks),
            ("Joined", self.joined),
            ("Friends invited", self.invited),
            ("Paying", self.paying),
            ("Qualified", self.qualified),
        ];
        let mut steps = Vec::with_capacity(counts.len());
        for (i, (name, n)) in counts.iter().enumerate() {
            let rate = i
                .checked_sub(1)
                .map(|p| counts[p].1)
                .filter(|before| *before > 0)
                .map(|before| format!("{:.0}%", *n as f64 * 100.0 / before as f64));
            steps.push((*name, *n, rate));
        }
        steps
    }
}

/// A person referring, by what their friends who joined in the period did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopReferrer {
    pub id: String,
    pub campaign_id: String,
    pub email: String,
    pub name: String,
    pub friends: i64,
    pub paying: i64,
    /// What their friends paid in the period, per currency.
    pub revenue: Vec<Amount>,
    /// What their rewards granted in the period cost, per currency.
    pub rewards: Vec<Amount>,
}

/// How long friends took from joining to qualifying (those who qualified in the period).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeToQualify {
    pub friends: i64,
    pub median: i64,
    pub p90: i64,
}

impl TimeToQualify {
    /// From each friend's seconds to qualify, in any order.
    pub fn of(mut seconds: Vec<i64>) -> Option<TimeToQualify> {
        if seconds.is_empty() {
            return None;
        }
        seconds.sort_unstable();
        // The nearest-rank percentile: the smallest value at or above that share of friends.
        let rank = |pct: usize| seconds[(seconds.len() * pct).div_ceil(100).max(1) - 1];
        Some(TimeToQualify {
            friends: seconds.len() as i64,
            median: rank(50),
            p90: rank(90),
        })
    }
}

/// "3 days 4 hours", "5 hours", "12 minutes": a duration as a person reads it.
pub fn format_duration(seconds: i64) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    let (days, hours, minutes) = (seconds / DAY, seconds % DAY / 3600, seconds % 3600 / 60);
    match (days, hours) {
        (0, 0) => plural(minutes.max(if seconds > 0 { 1 } else { 0 }), "minute"),
        (0, h) => plural(h, "hour"),
        (d, 0) => plural(d, "day"),
        (d, h) => format!("{} {}", plural(d, "day"), plural(h, "hour")),
    }
}

/// Revenue on one day in one currency, for the chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevenueDay {
    pub day: i64,
    pub currency: String,
    pub amount: i64,
}

/// The days' revenue summed per currency.
pub fn totals(days: &[RevenueDay]) -> Vec<Amount> {
    let mut sums: Vec<Amount> = Vec::new();
    for d in days {
        match sums.iter_mut().find(|a| a.currency == d.currency) {
            Some(a) => a.amount += d.amount,
            None => sums.push(Amount {
                currency: d.currency.clone(),
                amount: d.amount,
            }),
        }
    }
    sums.sort_by(|a, b| a.currency.cmp(&b.currency));
    sums
}

/// Everything the dashboard shows for a period, for the account or one campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    pub period: Period,
    pub revenue: Vec<Revenue>,
    pub cost: Vec<Cost>,
    pub funnel: Funnel,
    pub top_referrers: Vec<TopReferrer>,
    pub time_to_qualify: Option<TimeToQualify>,
    pub days: Vec<RevenueDay>,
}

impl Dashboard {
    /// Revenue ÷ cost per currency that has either.
    pub fn returns(&self) -> Vec<(String, String)> {
        let mut currencies: Vec<&str> = self
            .revenue
            .iter()
            .map(|r| r.currency.as_str())
            .chain(self.cost.iter().map(|c| c.currency.as_str()))
            .collect();
        currencies.sort_unstable();
        currencies.dedup();
        currencies
            .into_iter()
            .map(|currency| {
                let revenue = self
                    .revenue
                    .iter()
                    .find(|r| r.currency == currency)
                    .map_or(0, |r| r.amount);
                let cost = self
                    .cost
                    .iter()
                    .find(|c| c.currency == currency)
                    .map_or(0, Cost::total);
                (currency.to_string(), return_on(revenue, cost))
            })
            .collect()
    }

    /// Nothing happened in the period: no click, join, payment or reward.
    pub fn is_empty(&self) -> bool {
        self.funnel == Funnel::default()
            && self.revenue.iter().all(|r| r.amount == 0)
            && self.cost.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_547_200 + 12 * 3600; // 2025-12-01 12:00 UTC

    #[test]
    fn periods_end_with_today_and_custom_ones_include_both_days() {
        let p = Period::parse("7d", "", "", NOW).unwrap();
        assert_eq!(p.to, 1_764_547_200 + DAY);
        assert_eq!(p.to - p.from, 7 * DAY);
        assert_eq!(p.previous().unwrap().to, p.from);
        assert_eq!(
            Period::parse("", "", "", NOW).unwrap().choice,
            PeriodChoice::Month
        );
        let all = Period::parse("all", "", "", NOW).unwrap();
        assert_eq!((all.from, all.previous()), (0, None));
        let c = Period::parse("custom", "2025-11-01", "2025-11-30", NOW).unwrap();
        assert_eq!(c.from, 1_761_955_200);
        assert_eq!(c.to - c.from, 30 * DAY);
        assert_eq!(c.query(), "period=custom&from=2025-11-01&to=2025-11-30");
        assert_eq!(
            Period::parse("custom", "2025-11-31", "2025-12-01", NOW).unwrap_err(),
            "The start date “2025-11-31” is not a date: write it as 2026-11-30."
        );
        assert!(Period::parse("custom", "2025-12-02", "2025-12-01", NOW)
            .unwrap_err()
            .contains("on or before"));
        assert!(Period::parse("year", "", "", NOW)
            .unwrap_err()
            .contains("“year”"));
    }

    #[test]
    fn the_funnel_gives_each_step_its_rate_from_the_one_before() {
        let f = Funnel {
            clicks: 10,
            joined: 4,
            invited: 2,
            paying: 1,
            qualified: 0,
        };
        let steps = f.steps();
        assert_eq!(steps[0], ("Clicks", 10, None));
        assert_eq!(steps[1], ("Joined", 4, Some("40%".to_string())));
        assert_eq!(steps[3], ("Paying", 1, Some("50%".to_string())));
        assert_eq!(steps[4], ("Qualified", 0, Some("0%".to_string())));
        let empty = Funnel::default().steps();
        assert!(empty.iter().all(|(_, _, rate)| rate.is_none()));
    }

    #[test]
    fn time_to_qualify_takes_the_nearest_rank() {
        assert_eq!(TimeToQualify::of(Vec::new()), None);
        let t = TimeToQualify::of((1..=10).rev().collect()).unwrap();
        assert_eq!((t.friends, t.median, t.p90), (10, 5, 9));
        let one = TimeToQualify::of(vec![7]).unwrap();
        assert_eq!((one.median, one.p90), (7, 7));
        assert_eq!(format_duration(3 * DAY + 4 * 3600), "3 days 4 hours");
        assert_eq!(format_duration(3600), "1 hour");
        assert_eq!(format_duration(30), "1 minute");
    }

    #[test]
    fn costs_returns_and_changes() {
        assert_eq!(
            CostBucket::of(RewardStatus::Issued),
            Some(CostBucket::Issued)
        );
        assert_eq!(
            CostBucket::of(RewardStatus::Waiting),
            Some(CostBucket::Held)
        );
        assert_eq!(
            CostBucket::of(RewardStatus::AwaitingApproval),
            Some(CostBucket::PendingApproval)
        );
        assert_eq!(CostBucket::of(RewardStatus::Reversed), None);
        assert_eq!(return_on(8000, 2000), "4.0×");
        assert_eq!(return_on(8000, 0), "no cost yet");
        let r = |amount, previous| Revenue {
            currency: "usd".into(),
            amount,
            previous,
        };
        assert_eq!(r(120, Some(100)).change().as_deref(), Some("+20%"));
        assert_eq!(r(50, Some(100)).change().as_deref(), Some("-50%"));
        assert_eq!(r(50, Some(0)).change().as_deref(), Some("new"));
        assert_eq!(r(50, None).change(), None);
    }
}
