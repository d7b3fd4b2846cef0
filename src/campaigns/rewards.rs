//! A campaign's Rewards step: the rules, and the ledger where teammates with "Manage rewards"
//! approve, reject and mark rewards fulfilled (a payout with its reference), and download what
//! is to pay out.

use super::load;
use crate::{
    accounts,
    auth::Ctx,
    db::{new_id, rewards, unix_now, Db},
    domain::{
        activity::ActivityKind,
        money::format_plain,
        participants::csv_field,
        permissions::Permission,
        rewards::{check_rewards, CampaignRewards, RewardDecision, RewardForm, RewardSettings},
        time::format_utc,
    },
    error::AppError,
    jobs::Queue,
    workflows,
};

/// Rewards the step lists (what waits for a teammate first).
const LEDGER_ROWS: i64 = 200;

pub async fn overview(db: &Db, ctx: &Ctx, id: &str) -> Result<CampaignRewards, AppError> {
    let c = load(db, ctx, id).await?;
    Ok(CampaignRewards {
        settings: rewards::settings(db.pool(), &ctx.account_id, &c.id)
            .await?
            .unwrap_or_default(),
        rewards: rewards::in_campaign(db.pool(), &ctx.account_id, &c.id, LEDGER_ROWS).await?,
        read_only: ctx.read_only(Permission::EditCampaigns, "change the rules"),
        can_manage: ctx.can(Permission::ManageRewards),
        campaign_id: c.id,
        campaign_name: c.name,
    })
}

pub async fn save(
    db: &Db,
    ctx: &Ctx,
    id: &str,
    form: RewardForm,
) -> Result<RewardSettings, AppError> {
    let c = load(db, ctx, id).await?;
    let settings = check_rewards(&form, || new_id("rule")).map_err(AppError::fields)?;
    let mut tx = db.begin().await?;
    rewards::save_settings(&mut *tx, &ctx.account_id, &c.id, &settings, unix_now()).await?;
    if settings.friend_offer.is_some() {
        // Everyone referring gets their code for the (new) offer.
        crate::jobs::queue::enqueue(
            &mut tx,
            &workflows::offers::campaign_job(&ctx.account_id, &c.id),
        )
        .await?;
    }
    let mut described: Vec<String> = settings
        .rules
        .iter()
        .map(|r| format!("{} {}", r.describe(), r.describe_when()))
        .collect();
    if let Some(offer) = &settings.friend_offer {
        described.push(format!(
            "friends get {} with their referrer's code",
            offer.describe()
        ));
    }
    accounts::record(
        &mut *tx,
        ctx,
        ActivityKind::CampaignEdited,
        format!(
            "Set the rewards of “{}”: {}",
            c.name,
            if described.is_empty() {
                "none".to_string()
            } else {
                described.join("; ")
            }
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(settings)
}

pub async fn decide(
    db: &Db,
    queue: &Queue,
    ctx: &Ctx,
    reward_id: &str,
    decision: RewardDecision,
    reference: &str,
) -> Result<(), AppError> {
    let row = workflows::rewards::decide(
        db,
        &ctx.account_id,
        reward_id,
        decision,
        &ctx.name,
        reference,
    )
    .await?;
    accounts::record(
        db.pool(),
        ctx,
        ActivityKind::RewardDecided,
        format!("{}: {}", row.description, row.note),
    )
    .await?;
    queue.wake();
    Ok(())
}

/// The campaign's manual rewards to pay out, as CSV for the payout run, and a file name for
/// it (the caller checked "Manage rewards").
pub async fn payouts_csv(db: &Db, ctx: &Ctx, id: &str) -> Result<(String, String), AppError> {
    let c = load(db, ctx, id).await?;
    let mut out = String::from(
        "reward_id,recipient_email,recipient_first_name,amount,currency,description,earned_at,friend_email\n",
    );
    for p in rewards::to_pay_out(db.pool(), &ctx.account_id, &c.id).await? {
        let amount = if p.currency.is_empty() {
            String::new()
        } else {
            format_plain(p.amount, &p.currency)
        };
        let fields = [
            p.id,
            p.recipient_email,
            p.recipient_first_name,
            amount,
            p.currency.to_uppercase(),
            p.description,
            format_utc(p.created_at),
            p.referral_email,
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    Ok((format!("payouts-{}.csv", c.slug), out))
}
