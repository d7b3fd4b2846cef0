//! A line chart of a campaign's days, drawn as SVG on the server (no script needed).

use leptos::prelude::*;

use crate::domain::{participants::DayCounts, time::format_date};

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
}
