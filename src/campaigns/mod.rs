//! Campaigns and their people: the builder's use cases, the public join pages, and the
//! Users tab. Plain Rust over the database, called by the thin server functions in `api`.

pub mod attribution;
pub mod dashboard;
pub mod emails;
pub mod join;
pub mod people;
pub mod qualification;
pub mod rewards;
pub mod sending;
pub mod sync;

use crate::{
    accounts,
    auth::Ctx,
    db::{
        campaigns::{self, CampaignRow},
        new_id, participants, stripe_connections, unix_now, Db,
    },
    domain::{
        activity::ActivityKind,
        campaigns::{
            check_form_fields, check_slug, default_form, live_change_warnings, normalise_form,
            toggle_blocker, CampaignDetail, CampaignSetup, CampaignStatus, CampaignSummary,
            FormField, PromoteToggle, ToggleState,
        },
        permissions::Permission,
        sending::check_settings,
        time::parse_date,
        validate,
    },
    error::{AppError, FieldError},
    workflows::{self, webhook, StripeAccess},
};

/// The account's campaigns, newest first, with how many people each has.
pub async fn list(db: &Db, ctx: &Ctx) -> Result<Vec<CampaignSummary>, AppError> {
    let counts = campaigns::participant_counts(db.pool(), &ctx.account_id).await?;
    Ok(campaigns::list(db.pool(), &ctx.account_id)
        .await?
        .into_iter()
        .map(|c| CampaignSummary {
            participants: counts
                .iter()
                .find(|(id, _)| *id == c.id)
                .map(|(_, n)| *n)
                .unwrap_or_default(),
            id: c.id,
            name: c.name,
            slug: c.slug,
            status: c.status,
            created_at: c.created_at,
        })
        .collect())
}

/// Creates a draft campaign with the standard forms; returns its id.
pub async fn create(db: &Db, ctx: &Ctx, name: &str, slug: &str) -> Result<String, AppError> {
    let mut errors = Vec::new();
    let name = validate::name(name, "the campaign's name", 100)
        .map_err(|m| errors.push(field("name", m)))
        .ok();
    let slug = check_slug(slug)
        .map_err(|m| errors.push(field("slug", m)))
        .ok();
    let (Some(name), Some(slug)) = (name, slug) else {
        return Err(AppError::Invalid(errors));
    };
    let now = unix_now();
    let row = CampaignRow {
        id: new_id("cmp"),
        account_id: ctx.account_id.clone(),
        name,
        slug,
        status: CampaignStatus::Draft,
        starts_at: None,
        ends_at: None,
        referrer_form: default_form(),
        friend_form: default_form(),
        referral_cap: None,
        send_referrers_to_stripe: false,
        send_friends_to_stripe: false,
        ongoing_stripe_sync: false,
        share_text: String::new(),
        landing_url: String::new(),
        created_at: now,
        updated_at: now,
    };
    let mut tx = db.begin().await?;
    campaigns::insert(&mut *tx, &row)
        .await
        .map_err(slug_taken(&row.slug))?;
    accounts::record(
        &mut *tx,
        ctx,
        ActivityKind::CampaignCreated,
        format!("Created the campaign “{}” (/j/{})", row.name, row.slug),
    )
    .await?;
    tx.commit().await?;
    Ok(row.id)
}

/// A campaign as the builder shows it to `ctx`.
pub async fn detail(
    db: &Db,
    ctx: &Ctx,
    public_url: &str,
    id: &str,
) -> Result<CampaignDetail, AppError> {
    let c = load(db, ctx, id).await?;
    let connected = stripe_connected(db, ctx).await?;
    let mut toggles = Vec::new();
    for t in PromoteToggle::ALL {
        toggles.push(toggle_state(db, &c, t, ctx, connected).await?);
    }
    let participants = participants::count_in_campaign(db.pool(), &c.id).await?;
    // The snippet keeps a referral code as long as the friend's payments can count.
    let window = crate::db::qualification::settings(db.pool(), &ctx.account_id, &c.id)
        .await?
        .map(|s| s.window_days)
        .unwrap_or(30);
    Ok(to_detail(c, toggles, public_url, participants, window))
}

fn to_detail(
    c: CampaignRow,
    toggles: Vec<ToggleState>,
    public_url: &str,
    participants: i64,
    window_days: u32,
) -> CampaignDetail {
    CampaignDetail {
        join_link: format!("{public_url}/j/{}", c.slug),
        referral_link_format: format!("{public_url}/r/{{code}}"),
        snippet: format!(
            "<script src=\"{public_url}/refloop.js\" data-campaign=\"{}\" data-days=\"{window_days}\" defer></script>",
            c.slug
        ),
        id: c.id,
        name: c.name,
        slug: c.slug,
        status: c.status,
        starts_at: c.starts_at,
        ends_at: c.ends_at,
        referral_cap: c.referral_cap,
        share_text: c.share_text,
        landing_url: c.landing_url,
        referrer_form: c.referrer_form,
        friend_form: c.friend_form,
        toggles,
        participants,
    }
}

/// Whether the caller's account has a Stripe account connected.
pub(crate) async fn stripe_connected(db: &Db, ctx: &Ctx) -> Result<bool, AppError> {
    Ok(stripe_connections::get(db.pool(), &ctx.account_id)
        .await?
        .is_some())
}

/// A toggle as the caller sees it: on or off, and what stops them switching it on.
pub(crate) async fn toggle_state(
    db: &Db,
    c: &CampaignRow,
    t: PromoteToggle,
    ctx: &Ctx,
    connected: bool,
) -> Result<ToggleState, AppError> {
    let permission = ctx.read_only(Permission::EditCampaigns, "change this");
    let mapping_problem = match t.audience() {
        Some(audience) => {
            let settings = workflows::sending::settings_for(db.pool(), c, audience).await?;
            check_settings(&settings, workflows::sending::form_of(c, audience))
                .into_iter()
                .next()
                .map(|(_, message)| message)
        }
        None => crate::db::sync::settings(db.pool(), &c.account_id, &c.id)
            .await?
            .is_none()
            .then(|| "Choose which Stripe customers sync and how their fields map first.".into()),
    };
    Ok(ToggleState {
        toggle: t,
        on: toggle_value(c, t),
        blocker: toggle_blocker(t, &c.id, connected, mapping_problem, permission),
    })
}

fn toggle_value(c: &CampaignRow, t: PromoteToggle) -> bool {
    match t {
        PromoteToggle::SendReferrers => c.send_referrers_to_stripe,
        PromoteToggle::SendFriends => c.send_friends_to_stripe,
        PromoteToggle::OngoingSync => c.ongoing_stripe_sync,
    }
}

/// Saves the Setup step. A live campaign whose link would change needs `confirm`.
pub async fn save_setup(
    db: &Db,
    ctx: &Ctx,
    id: &str,
    setup: CampaignSetup,
    confirm: bool,
) -> Result<(), AppError> {
    let mut errors = Vec::new();
    let name = validate::name(&setup.name, "the campaign's name", 100)
        .map_err(|m| errors.push(field("name", m)))
        .ok();
    let slug = check_slug(&setup.slug)
        .map_err(|m| errors.push(field("slug", m)))
        .ok();
    let date = |text: &str, key: &str, errors: &mut Vec<FieldError>| {
        if text.trim().is_empty() {
            return None;
        }
        let parsed = parse_date(text);
        if parsed.is_none() {
            errors.push(field(key, "Give a date as YYYY-MM-DD, or leave it empty."));
        }
        parsed
    };
    let starts_at = date(&setup.starts_on, "starts_on", &mut errors);
    let ends_at = date(&setup.ends_on, "ends_on", &mut errors).map(|e| e + 86_400);
    if let (Some(s), Some(e)) = (starts_at, ends_at) {
        if e <= s {
            errors.push(field(
                "ends_on",
                "The end date must be on or after the start date.",
            ));
        }
    }
    let referral_cap = match setup.referral_cap.trim() {
        "" => None,
        text => match text.parse::<i64>() {
            Ok(n) if (1..=100_000).contains(&n) => Some(n),
            _ => {
                errors.push(field(
                    "referral_cap",
                    "The cap is a whole number from 1 to 100000, or empty for no cap.",
                ));
                None
            }
        },
    };
    let share_text = setup.share_text.trim().to_string();
    if share_text.chars().count() > 280 {
        errors.push(field(
            "share_text",
            "Keep the share text to 280 characters, so it fits every network.",
        ));
    }
    let landing_url = match crate::domain::campaigns::check_landing_url(&setup.landing_url) {
        Ok(url) => url,
        Err(why) => {
            errors.push(field("landing_url", &why));
            String::new()
        }
    };
    let (Some(name), Some(slug), true) = (name, slug, errors.is_empty()) else {
        return Err(AppError::Invalid(errors));
    };
    let mut c = load(db, ctx, id).await?;
    if c.status == CampaignStatus::Live && !confirm {
        let warnings = live_change_warnings(&c.slug, &slug, &[], &[]);
        if !warnings.is_empty() {
            return Err(live_conflict(warnings));
        }
    }
    c.name = name;
    c.slug = slug;
    c.starts_at = starts_at;
    c.ends_at = ends_at;
    c.referral_cap = referral_cap;
    c.share_text = share_text;
    c.landing_url = landing_url;
    save(db, ctx, &c, ActivityKind::CampaignEdited, "its setup").await
}

/// Saves both join forms. Every field is checked; a live campaign whose change would lose
/// answers needs `confirm`.
pub async fn save_forms(
    db: &Db,
    ctx: &Ctx,
    id: &str,
    referrer_form: Vec<FormField>,
    friend_form: Vec<FormField>,
    confirm: bool,
) -> Result<(), AppError> {
    let referrer_form = normalise_form(referrer_form);
    let friend_form = normalise_form(friend_form);
    let mut errors: Vec<FieldError> = Vec::new();
    for (prefix, form) in [("referrer", &referrer_form), ("friend", &friend_form)] {
        errors.extend(
            check_form_fields(form)
                .into_iter()
                .map(|(k, m)| FieldError {
                    field: format!("{prefix}.{k}"),
                    message: m,
                }),
        );
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let mut c = load(db, ctx, id).await?;
    if c.status == CampaignStatus::Live && !confirm {
        let mut warnings = live_change_warnings(&c.slug, &c.slug, &c.referrer_form, &referrer_form);
        warnings.extend(live_change_warnings(
            &c.slug,
            &c.slug,
            &c.friend_form,
            &friend_form,
        ));
        if !warnings.is_empty() {
            return Err(live_conflict(warnings));
        }
    }
    c.referrer_form = referrer_form;
    c.friend_form = friend_form;
    save(db, ctx, &c, ActivityKind::CampaignEdited, "its forms").await
}

/// Launches, pauses, resumes or ends a campaign.
pub async fn set_status(
    db: &Db,
    ctx: &Ctx,
    id: &str,
    status: CampaignStatus,
) -> Result<(), AppError> {
    let mut c = load(db, ctx, id).await?;
    if c.status == CampaignStatus::Ended && status != CampaignStatus::Ended {
        return Err(AppError::Conflict(
            "This campaign has ended and cannot be reopened: create a new campaign instead.".into(),
        ));
    }
    if status == CampaignStatus::Live {
        if let Some((_, message)) = check_form_fields(&c.referrer_form)
            .into_iter()
            .chain(check_form_fields(&c.friend_form))
            .next()
        {
            return Err(AppError::Conflict(format!(
                "Fix the forms before launching: {message}"
            )));
        }
    }
    let from = c.status;
    c.status = status;
    let mut tx = db.begin().await?;
    c.updated_at = unix_now();
    campaigns::update(&mut *tx, &c).await?;
    accounts::record(
        &mut *tx,
        ctx,
        ActivityKind::CampaignStatusChanged,
        format!("“{}” went from {} to {}", c.name, from.key(), status.key()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Switches one Promote toggle; switching on needs what the toggle depends on.
pub async fn set_toggle(
    db: &Db,
    access: &StripeAccess,
    ctx: &Ctx,
    id: &str,
    toggle: PromoteToggle,
    on: bool,
) -> Result<ToggleState, AppError> {
    let mut c = load(db, ctx, id).await?;
    let connected = stripe_connected(db, ctx).await?;
    if on {
        if let Some(blocker) = toggle_state(db, &c, toggle, ctx, connected).await?.blocker {
            return Err(AppError::Conflict(format!(
                "{} {} first.",
                blocker.reason, blocker.fix_label
            )));
        }
    }
    match toggle {
        PromoteToggle::SendReferrers => c.send_referrers_to_stripe = on,
        PromoteToggle::SendFriends => c.send_friends_to_stripe = on,
        PromoteToggle::OngoingSync => c.ongoing_stripe_sync = on,
    }
    let what = format!(
        "Switched {} “{}” on “{}”",
        if on { "on" } else { "off" },
        toggle.label(),
        c.name
    );
    if toggle == PromoteToggle::OngoingSync && on {
        // New customers are heard of through Refloop's webhook endpoint.
        webhook::ensure(db, access, &ctx.account_id).await?;
    }
    let mut tx = db.begin().await?;
    campaigns::set_toggle(&mut *tx, &ctx.account_id, &c.id, toggle, on, unix_now()).await?;
    if toggle == PromoteToggle::OngoingSync {
        sync::switch_ongoing(&mut tx, ctx, &c, on).await?;
    }
    accounts::record(&mut *tx, ctx, ActivityKind::PromoteToggled, what).await?;
    tx.commit().await?;
    toggle_state(db, &c, toggle, ctx, connected).await
}

/// The campaign `id` of the caller's account, or 404.
pub(crate) async fn load(db: &Db, ctx: &Ctx, id: &str) -> Result<CampaignRow, AppError> {
    campaigns::get(db.pool(), &ctx.account_id, id)
        .await?
        .ok_or_else(|| AppError::NotFound("Campaign".into()))
}

async fn save(
    db: &Db,
    ctx: &Ctx,
    c: &CampaignRow,
    kind: ActivityKind,
    what: &str,
) -> Result<(), AppError> {
    let mut c = c.clone();
    c.updated_at = unix_now();
    let mut tx = db.begin().await?;
    campaigns::update(&mut *tx, &c)
        .await
        .map_err(slug_taken(&c.slug))?;
    accounts::record(
        &mut *tx,
        ctx,
        kind,
        format!("Edited {what} of “{}”", c.name),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

fn field(name: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: name.into(),
        message: message.into(),
    }
}

/// Maps the slug's unique constraint to a message on the slug field.
fn slug_taken(slug: &str) -> impl FnOnce(sqlx::Error) -> AppError + '_ {
    move |e| {
        if crate::db::accounts::is_unique_violation(&e) {
            AppError::invalid(
                "slug",
                format!("The link /j/{slug} is already taken: choose another link name."),
            )
        } else {
            e.into()
        }
    }
}

/// A change to a live campaign that needs confirming, with everything it would break.
fn live_conflict(warnings: Vec<String>) -> AppError {
    AppError::Conflict(format!(
        "This campaign is live. Saving will: {} Save again to confirm.",
        warnings.join(" ")
    ))
}
