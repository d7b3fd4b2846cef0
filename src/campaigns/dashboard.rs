//! The dashboard: what the referral program earned and cost over a period, for the whole
//! account (the page after sign-in) or one campaign (its Overview), and its tables as CSV.

use super::load;
use crate::{
    auth::Ctx,
    db::{dashboard as ledger, Db},
    domain::{
        dashboard::{totals, Amount, Dashboard, Period, Revenue, TimeToQualify},
        money::{format_amount, format_plain},
        participants::csv_field,
        time::format_date_input,
    },
    error::AppError,
};

/// How many people referring the dashboard lists.
const TOP_REFERRERS: i64 = 10;

/// The tables a dashboard offers as CSV.
pub const TABLES: [&str; 3] = ["revenue", "funnel", "referrers"];

/// The dashboard of the account, or of its campaign `campaign` when not empty, over `period`.
pub async fn dashboard(
    db: &Db,
    ctx: &Ctx,
    campaign: &str,
    period: Period,
) -> Result<Dashboard, AppError> {
    if !campaign.is_empty() {
        load(db, ctx, campaign).await?;
    }
    let account = ctx.account_id.as_str();
    let (from, to) = (period.from, period.to);
    let pool = db.pool();
    // The reads are independent: each on a connection of its own, at once.
    let previous = async {
        match period.previous() {
            Some(p) => ledger::revenue_days(pool, account, campaign, p.from, p.to)
                .await
                .map(Some),
            None => Ok(None),
        }
    };
    let (days, before, mut top_referrers, cost, funnel, seconds) = tokio::try_join!(
        ledger::revenue_days(pool, account, campaign, from, to),
        previous,
        ledger::top_referrers(pool, account, campaign, from, to, TOP_REFERRERS),
        ledger::cost(pool, account, campaign, from, to),
        ledger::funnel(pool, account, campaign, from, to),
        ledger::seconds_to_qualify(pool, account, campaign, from, to),
    )?;
    let ids: Vec<String> = top_referrers.iter().map(|r| r.id.clone()).collect();
    let (paid, rewarded) = tokio::try_join!(
        ledger::revenue_by_referrer(pool, account, &ids, from, to),
        ledger::rewards_by_recipient(pool, account, &ids, from, to),
    )?;
    for r in &mut top_referrers {
        let of = |list: &[(String, Amount)]| {
            list.iter()
                .filter(|(who, _)| *who == r.id)
                .map(|(_, a)| a.clone())
                .collect()
        };
        (r.revenue, r.rewards) = (of(&paid), of(&rewarded));
    }
    Ok(Dashboard {
        revenue: Revenue::compared(totals(&days), before.map(|b| totals(&b))),
        cost,
        funnel,
        top_referrers,
        time_to_qualify: TimeToQualify::of(seconds),
        days,
        period,
    })
}

/// One of the dashboard's tables as a CSV file: its name and text.
pub async fn csv_file(
    db: &Db,
    ctx: &Ctx,
    campaign: &str,
    period: Period,
    table: &str,
) -> Result<(String, String), AppError> {
    if !TABLES.contains(&table) {
        return Err(AppError::invalid(
            "table",
            format!("There is no table “{table}”: choose revenue, funnel or referrers."),
        ));
    }
    let d = dashboard(db, ctx, campaign, period).await?;
    let amounts = |list: &[Amount]| {
        list.iter()
            .map(|a| format_amount(a.amount, &a.currency))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mut out = String::new();
    match table {
        "revenue" => {
            out.push_str("day,currency,revenue\n");
            for d in &d.days {
                out.push_str(&format!(
                    "{},{},{}\n",
                    format_date_input(d.day),
                    d.currency,
                    format_plain(d.amount, &d.currency)
                ));
            }
        }
        "funnel" => {
            out.push_str("step,people,rate_from_previous\n");
            for (step, n, rate) in d.funnel.steps() {
                out.push_str(&format!("{step},{n},{}\n", rate.unwrap_or_default()));
            }
        }
        _ => {
            out.push_str("email,name,friends,paying_friends,revenue,rewards\n");
            for r in &d.top_referrers {
                out.push_str(&format!(
                    "{},{},{},{},{},{}\n",
                    csv_field(&r.email),
                    csv_field(&r.name),
                    r.friends,
                    r.paying,
                    csv_field(&amounts(&r.revenue)),
                    csv_field(&amounts(&r.rewards)),
                ));
            }
        }
    }
    let scope = if campaign.is_empty() {
        "account"
    } else {
        campaign
    };
    Ok((
        format!(
            "refloop-{scope}-{table}-{}-{}.csv",
            format_date_input(d.period.from),
            format_date_input(d.period.to - 86_400)
        ),
        out,
    ))
}
