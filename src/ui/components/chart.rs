//! Charts drawn as SVG on the server (no script needed): a campaign's days as lines, referred
//! revenue by day as bars, and the dashboard's funnel.

use leptos::prelude::*;

use crate::domain::{
    dashboard::{Funnel, RevenueDay},
    money::format_amount,
    participants::DayCounts,
    time::format_date,
};

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 200.0;
const PAD: f64 = 24.0;

/// A series the chart draws: its name, its CSS class, and how to read it from a day.
type Series = (&'static str, &'static str, fn(&DayCounts) -> i64);

const SERIES: [Series; 5] = [
    ("Clicks", "clicks", |d| d.clicks),
    ("Joined", "joins", |d| d.joins),
    ("Friends invited", "invited", |d| d.invited),
    ("Qualified", "qualified", |d| d.qualified),
    ("Rewards", "rewards", |d| d.rewards),
];

/// The points of one series as an SVG `points` attribute.
pub fn polyline(days: &[DayCounts], value: fn(&DayCounts) -> i64, max: i64) -> String {
    let step = if days.len() > 1 {
        (WIDTH - 2.0 * PAD) / (days.len() - 1) as f64
    } else {
        0.0
    };
    days.iter()
        .enumerate()
        .map(|(i, d)| {
            let x = PAD + step * i as f64;
            let y = HEIGHT - PAD - (HEIGHT - 2.0 * PAD) * value(d) as f64 / max.max(1) as f64;
            format!("{x:.1},{y:.1}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[component]
pub fn DailyChart(days: Vec<DayCounts>) -> impl IntoView {
    let max = days
        .iter()
        .flat_map(|d| SERIES.iter().map(move |(_, _, v)| v(d)))
        .max()
        .unwrap_or(0);
    let lines = SERIES
        .iter()
        .map(|(_, class, value)| {
            view! { <polyline class=format!("series series-{class}") fill="none" points=polyline(&days, *value, max) /> }
        })
        .collect_view();
    let legend = SERIES
        .iter()
        .map(|(name, class, _)| view! { <li class=format!("legend-{class}")>{*name}</li> })
        .collect_view();
    let first = days.first().map(|d| format_date(d.day)).unwrap_or_default();
    let last = days.last().map(|d| format_date(d.day)).unwrap_or_default();
    let summary = format!("Daily counts from {first} to {last}; the highest is {max}.");
    view! {
        <figure class="chart">
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=summary.clone()>
                <line class="axis" x1=PAD y1=HEIGHT - PAD x2=WIDTH - PAD y2=HEIGHT - PAD />
                <text class="axis-label" x=PAD y=PAD - 8.0>{max}</text>
                {lines}
                <text class="axis-label" x=PAD y=HEIGHT - 6.0>{first}</text>
                <text class="axis-label" x=WIDTH - PAD y=HEIGHT - 6.0 text-anchor="end">{last}</text>
            </svg>
            <figcaption><ul class="legend">{legend}</ul></figcaption>
        </figure>
    }
}

/// The currency with the most revenue, and its amount on each day of `[from, to)` (from the
/// first day with any when the period is all time).
pub fn revenue_bars(days: &[RevenueDay], from: i64, to: i64) -> Option<(String, Vec<(i64, i64)>)> {
    let mut totals: Vec<(&str, i64)> = Vec::new();
    for d in days {
        match totals.iter_mut().find(|(c, _)| *c == d.currency) {
            Some((_, n)) => *n += d.amount,
            None => totals.push((&d.currency, d.amount)),
        }
    }
    let currency = totals.iter().max_by_key(|(_, n)| *n)?.0.to_string();
    // All time (from the epoch) starts where the revenue does.
    let start = if from == 0 {
        days.iter().map(|d| d.day).min().unwrap_or(0)
    } else {
        from
    };
    let bars = (start..to)
        .step_by(86_400)
        .map(|day| {
            let amount = days
                .iter()
                .filter(|d| d.day == day && d.currency == currency)
                .map(|d| d.amount)
                .sum();
            (day, amount)
        })
        .collect();
    Some((currency, bars))
}

/// Referred revenue per day as bars, each naming its day and amount on hover.
#[component]
pub fn RevenueChart(days: Vec<RevenueDay>, from: i64, to: i64) -> impl IntoView {
    let Some((currency, bars)) = revenue_bars(&days, from, to) else {
        return view! { <p class="muted">"No referred revenue in this period."</p> }.into_any();
    };
    let max = bars.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let width = (WIDTH - 2.0 * PAD) / bars.len().max(1) as f64;
    let rects = bars
        .iter()
        .enumerate()
        .map(|(i, (day, amount))| {
            let h = (HEIGHT - 2.0 * PAD) * *amount as f64 / max as f64;
            let label = format!("{}: {}", format_date(*day), format_amount(*amount, &currency));
            view! {
                <rect class="bar" x=format!("{:.1}", PAD + width * i as f64) y=format!("{:.1}", HEIGHT - PAD - h)
                    width=format!("{:.1}", (width - 1.0).max(0.5)) height=format!("{h:.1}")>
                    <title>{label}</title>
                </rect>
            }
        })
        .collect_view();
    let total: i64 = bars.iter().map(|(_, n)| n).sum();
    let first = bars.first().map(|b| format_date(b.0)).unwrap_or_default();
    let last = bars.last().map(|b| format_date(b.0)).unwrap_or_default();
    let summary = format!(
        "Referred revenue in {} by day from {first} to {last}: {} in all, at most {} a day.",
        currency.to_uppercase(),
        format_amount(total, &currency),
        format_amount(max, &currency)
    );
    view! {
        <figure class="chart">
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=summary>
                <line class="axis" x1=PAD y1=HEIGHT - PAD x2=WIDTH - PAD y2=HEIGHT - PAD />
                <text class="axis-label" x=PAD y=PAD - 8.0>{format_amount(max, &currency)}</text>
                {rects}
                <text class="axis-label" x=PAD y=HEIGHT - 6.0>{first}</text>
                <text class="axis-label" x=WIDTH - PAD y=HEIGHT - 6.0 text-anchor="end">{last}</text>
            </svg>
        </figure>
    }
    .into_any()
}

/// The funnel's steps as bars as long as their count, each with its number.
#[component]
pub fn FunnelChart(funnel: Funnel) -> impl IntoView {
    const ROW: f64 = 32.0;
    const LABEL: f64 = 130.0;
    let steps = funnel.steps();
    let max = steps.iter().map(|(_, n, _)| *n).max().unwrap_or(0).max(1);
    let height = ROW * steps.len() as f64;
    let rows = steps
        .iter()
        .enumerate()
        .map(|(i, (step, n, rate))| {
            let y = ROW * i as f64;
            let w = (WIDTH - LABEL - 80.0) * *n as f64 / max as f64;
            let text = match rate {
                Some(r) => format!("{n} ({r})"),
                None => n.to_string(),
            };
            view! {
                <g>
                    <title>{format!("{step}: {text}")}</title>
                    <text class="axis-label" x=0 y=y + 20.0>{*step}</text>
                    <rect class="bar" x=LABEL y=y + 6.0 width=format!("{:.1}", w.max(1.0)) height=ROW - 12.0 />
                    <text class="axis-label" x=format!("{:.1}", LABEL + w.max(1.0) + 6.0) y=y + 20.0>{text}</text>
                </g>
            }
        })
        .collect_view();
    let summary = steps
        .iter()
        .map(|(step, n, _)| format!("{step} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    view! {
        <figure class="chart funnel-chart">
            <svg viewBox=format!("0 0 {WIDTH} {height}") role="img" aria-label=format!("Funnel: {summary}.")>
                {rows}
            </svg>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_span_the_chart_and_scale_to_the_highest_day() {
        let days = [
            DayCounts {
                joins: 0,
                ..DayCounts::default()
            },
            DayCounts {
                joins: 4,
                ..DayCounts::default()
            },
        ];
        assert_eq!(polyline(&days, |d| d.joins, 4), "24.0,176.0 616.0,24.0");
        assert_eq!(polyline(&days[..1], |d| d.joins, 0), "24.0,176.0");
    }

    #[test]
    fn revenue_bars_fill_every_day_of_the_period_in_the_main_currency() {
        const D: i64 = 86_400;
        let day = |day, currency: &str, amount| RevenueDay {
            day: day * D,
            currency: currency.into(),
            amount,
        };
        let days = [
            day(11, "usd", 6000),
            day(12, "eur", 1000),
            day(13, "usd", 500),
        ];
        let (currency, bars) = revenue_bars(&days, 10 * D, 14 * D).unwrap();
        assert_eq!(currency, "usd");
        assert_eq!(
            bars,
            vec![(10 * D, 0), (11 * D, 6000), (12 * D, 0), (13 * D, 500)]
        );
        // All time starts at the first day with revenue.
        let (_, bars) = revenue_bars(&days, 0, 14 * D).unwrap();
        assert_eq!(bars.first(), Some(&(11 * D, 6000)));
        assert_eq!(revenue_bars(&[], 0, 14 * D), None);
    }
}
