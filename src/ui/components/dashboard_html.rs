//! The dashboard's figures as HTML, rendered on the server (escaped like every page): revenue,
//! cost and return, the funnel, the top referrers and the time to qualify, with the period
//! picker (links and a GET form) and each table as CSV.

use leptos::prelude::*;

use crate::{
    domain::{
        dashboard::{format_duration, Amount, Dashboard, PeriodChoice},
        money::format_amount,
        time::format_date_input,
    },
    ui::components::chart::{FunnelChart, RevenueChart},
};

/// The figures of `d` for the account's dashboard (`/app`), or for a campaign's Overview when
/// `campaign` is not empty.
pub fn render(d: Dashboard, campaign: &str) -> String {
    let base = if campaign.is_empty() {
        "/app".to_string()
    } else {
        format!("/app/campaigns/{campaign}")
    };
    let campaign = campaign.to_string();
    Owner::new().with(|| view! { <Figures d campaign base /> }.to_html())
}

/// The links to each period and the form for a custom one (plain GET: works without scripts).
#[component]
fn PeriodPicker(base: String, active: (PeriodChoice, String, String)) -> impl IntoView {
    let choice = active.0;
    let links = PeriodChoice::ALL
        .into_iter()
        .filter(|c| *c != PeriodChoice::Custom)
        .map(|c| {
            let current = (choice == c).then_some("page");
            view! {
                <a class="period" href=format!("{base}?period={}", c.key()) aria-current=current>
                    {c.label()}
                </a>
            }
        })
        .collect_view();
    let (_, from, to) = active;
    view! {
        <nav class="period-picker" aria-label="Period">
            {links}
            <form method="get" action=base.clone() class="period-custom">
                <input type="hidden" name="period" value="custom" />
                <label>"From" <input type="date" name="from" value=from required /></label>
                <label>"To" <input type="date" name="to" value=to required /></label>
                <button type="submit" class="secondary small" aria-current=(choice == PeriodChoice::Custom).then_some("page")>
                    "Show"
                </button>
            </form>
        </nav>
    }
}

/// "60.00 USD · 10.00 EUR", or a dash.
fn amounts(list: &[Amount]) -> String {
    if list.is_empty() {
        return "—".to_string();
    }
    list.iter()
        .map(|a| format_amount(a.amount, &a.currency))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// One card's figures (`data-figure=key`): each a value with a note under it, or `none` when
/// there is nothing to show.
fn figure_lines(key: &'static str, lines: Vec<(String, String)>, none: (&str, &str)) -> AnyView {
    let lines = if lines.is_empty() {
        vec![(none.0.to_string(), none.1.to_string())]
    } else {
        lines
    };
    lines
        .into_iter()
        .map(|(value, note)| {
            view! {
                <span class="stat-value" data-figure=key>{value}</span>
                {(!note.is_empty()).then(|| view! { <span class="change">{note}</span> })}
            }
        })
        .collect_view()
        .into_any()
}

/// The address of one table's CSV, for this page's campaign and period.
fn csv_href(table: &str, campaign: &str, d: &Dashboard) -> String {
    let campaign = if campaign.is_empty() {
        String::new()
    } else {
        format!("&campaign={campaign}")
    };
    format!(
        "/export/dashboard.csv?table={table}{campaign}&{}",
        d.period.query()
    )
}

#[component]
fn Figures(d: Dashboard, campaign: String, base: String) -> impl IntoView {
    let active = (
        d.period.choice,
        format_date_input(d.period.from),
        format_date_input(d.period.to - 86_400),
    );
    let revenue = figure_lines(
        "revenue",
        d.revenue
            .iter()
            .map(|r| {
                let change = r.change().map(|c| format!("{c} on the period before"));
                (
                    format_amount(r.amount, &r.currency),
                    change.unwrap_or_default(),
                )
            })
            .collect(),
        ("0.00", ""),
    );
    let cost = figure_lines(
        "cost",
        d.cost
            .iter()
            .map(|c| {
                let money = |n| format_amount(n, &c.currency);
                let split = format!(
                    "{} issued · {} held · {} awaiting approval",
                    money(c.issued),
                    money(c.held),
                    money(c.pending_approval)
                );
                (money(c.total()), split)
            })
            .collect(),
        ("0.00", ""),
    );
    let returns = figure_lines(
        "return",
        d.returns()
            .into_iter()
            .map(|(currency, r)| (r, format!("revenue ÷ cost in {}", currency.to_uppercase())))
            .collect(),
        ("—", ""),
    );
    let time = figure_lines(
        "time-to-qualify",
        d.time_to_qualify
            .map(|t| {
                let note = format!(
                    "median of {} friend{}; 90% within {}",
                    t.friends,
                    if t.friends == 1 { "" } else { "s" },
                    format_duration(t.p90)
                );
                (format_duration(t.median), note)
            })
            .into_iter()
            .collect(),
        ("—", "nobody qualified in this period"),
    );
    let steps = d.funnel.steps();
    let funnel_rows = steps
        .iter()
        .map(|(step, n, rate)| {
            view! {
                <tr data-step=*step>
                    <th scope="row">{*step}</th>
                    <td class="num">{*n}</td>
                    <td class="num">{rate.clone().unwrap_or_else(|| "—".into())}</td>
                </tr>
            }
        })
        .collect_view();
    let referrers = if d.top_referrers.is_empty() {
        view! { <p class="muted">"No friend joined through a referral link in this period."</p> }
            .into_any()
    } else {
        let rows = d
            .top_referrers
            .iter()
            .map(|r| {
                let name = if r.name.is_empty() { r.email.clone() } else { r.name.clone() };
                view! {
                    <tr data-referrer=r.email.clone()>
                        <td>
                            <a href=format!("/app/campaigns/{}/users/{}", r.campaign_id, r.id)>{name}</a>
                            <span class="muted small">{r.email.clone()}</span>
                        </td>
                        <td class="num">{r.friends}</td>
                        <td class="num">{r.paying}</td>
                        <td class="num">{amounts(&r.revenue)}</td>
                        <td class="num">{amounts(&r.rewards)}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <div class="table-wrap">
                <table class="top-referrers">
                    <caption class="visually-hidden">"Top referrers"</caption>
                    <thead><tr>
                        <th scope="col">"Person referring"</th>
                        <th scope="col" class="num">"Friends"</th>
                        <th scope="col" class="num">"Paying"</th>
                        <th scope="col" class="num">"Revenue"</th>
                        <th scope="col" class="num">"Rewards"</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    let revenue_rows = d
        .days
        .iter()
        .map(|day| view! {
            <tr><td>{format_date_input(day.day)}</td><td class="num">{format_amount(day.amount, &day.currency)}</td></tr>
        })
        .collect_view();
    let empty = d.is_empty().then(|| {
        view! {
            <div class="notice empty-state">
                <p>"Nothing happened in this period yet: no click on a referral link, nobody joined, no payment, no reward."</p>
                <p>"Share a campaign's join page to get the first people in, or choose a longer period."</p>
                <a class="button" href="/app/campaigns">"Go to campaigns"</a>
            </div>
        }
    });
    let csv = |table: &str| csv_href(table, &campaign, &d);
    view! {
        <PeriodPicker base active />
        <p class="lead period-label">{d.period.label()}</p>
        {empty}
        <div class="grid stats figures">
            <div class="stat"><span class="stat-label">"Referred revenue"</span>{revenue}</div>
            <div class="stat"><span class="stat-label">"Rewards cost"</span>{cost}</div>
            <div class="stat"><span class="stat-label">"Return"</span>{returns}</div>
            <div class="stat"><span class="stat-label">"Time to qualify"</span>{time}</div>
        </div>
        <section class="card">
            <div class="section-head">
                <h2>"Referred revenue by day"</h2>
                <a class="small" href=csv("revenue") download>"Download CSV"</a>
            </div>
            <RevenueChart days=d.days.clone() from=d.period.from to=d.period.to />
            <details>
                <summary>"Revenue by day as a table"</summary>
                <table>
                    <thead><tr><th scope="col">"Day"</th><th scope="col" class="num">"Revenue"</th></tr></thead>
                    <tbody>{revenue_rows}</tbody>
                </table>
            </details>
        </section>
        <section class="card">
            <div class="section-head">
                <h2>"From a click to a qualified friend"</h2>
                <a class="small" href=csv("funnel") download>"Download CSV"</a>
            </div>
            <FunnelChart funnel=d.funnel.clone() />
            <table class="funnel">
                <thead><tr>
                    <th scope="col">"Step"</th>
                    <th scope="col" class="num">"People"</th>
                    <th scope="col" class="num">"From the step before"</th>
                </tr></thead>
                <tbody>{funnel_rows}</tbody>
            </table>
            <p class="muted small">"Clicks and joins in the period; then the friends who joined in it, how many of them paid and how many qualified."</p>
        </section>
        <section class="card">
            <div class="section-head">
                <h2>"Top referrers"</h2>
                <a class="small" href=csv("referrers") download>"Download CSV"</a>
            </div>
            {referrers}
        </section>
    }
}
