//! The team's view of a campaign's people: the Users tab, a participant's page, CSV export
//! and import, changing or removing one person, the account's participant limit, and the
//! campaign's numbers.

use std::collections::BTreeMap;

use crate::{
    accounts,
    auth::Ctx,
    db::{
        campaigns,
        participants::{self, ParticipantRow},
        unix_now, Db,
    },
    domain::{
        activity::ActivityKind,
        campaigns::{limit_warning, CampaignStatus, FieldKind},
        participants::{
            csv_field, fill_days, parse_csv, CampaignStats, EventKind, ImportReport, ImportRow,
            ParticipantDetail, ParticipantPage, ParticipantQuery, PAGE_SIZE,
        },
        permissions::Permission,
        time::format_utc,
        validate,
    },
    error::{AppError, FieldError},
    workflows::{
        admit::{self, Newcomer, Source},
        sending::refresh_metadata,
    },
};

use super::load;

/// One page of the Users tab.
pub async fn list(
    db: &Db,
    ctx: &Ctx,
    campaign_id: &str,
    query: &ParticipantQuery,
) -> Result<ParticipantPage, AppError> {
    let c = load(db, ctx, campaign_id).await?;
    let (rows, total) = participants::search(db, &ctx.account_id, &c.id, query).await?;
    Ok(ParticipantPage {
        rows,
        total,
        page: query.page,
        pages: (total.max(1) as u64).div_ceil(u64::from(PAGE_SIZE)) as u32,
    })
}

/// A participant's page: fields, referrer, referrals and timeline.
pub async fn detail(
    db: &Db,
    ctx: &Ctx,
    public_url: &str,
    campaign_id: &str,
    id: &str,
) -> Result<ParticipantDetail, AppError> {
    let c = load(db, ctx, campaign_id).await?;
    let p = participants::get(db.pool(), &ctx.account_id, id)
        .await?
        .filter(|p| p.campaign_id == c.id)
        .ok_or_else(|| AppError::NotFound("Participant".into()))?;
    let form = if p.referrer_id.is_some() {
        &c.friend_form
    } else {
        &c.referrer_form
    };
    let fields = p
        .fields
        .iter()
        .map(|(key, value)| {
            let label = form
                .iter()
                .chain(&c.referrer_form)
                .chain(&c.friend_form)
                .find(|f| &f.key == key)
                .map(|f| f.label.clone())
                .unwrap_or_else(|| key.clone());
            (label, value.clone())
        })
        .collect();
    let referrer = match &p.referrer_id {
        Some(rid) => participants::get(db.pool(), &ctx.account_id, rid)
            .await?
            .map(|r| r.summary()),
        None => None,
    };
    Ok(ParticipantDetail {
        summary: p.summary(),
        fields,
        referrer,
        referred: participants::referred_by(db.pool(), &ctx.account_id, &p.id).await?,
        timeline: participants::timeline(db.pool(), &ctx.account_id, &p.id).await?,
        referral_link: crate::domain::participants::referral_link(public_url, &p.code),
        stripe_customers: crate::db::sending::customers_of(db.pool(), &ctx.account_id, &p.id)
            .await?,
        qualification_note: p.qualification_note.clone(),
        rewards: crate::db::rewards::of_person(db.pool(), &ctx.account_id, &p.id).await?,
    })
}

/// The campaign's participants as CSV, and a file name for it.
pub async fn export_csv(
    db: &Db,
    ctx: &Ctx,
    campaign_id: &str,
) -> Result<(String, String), AppError> {
    let c = load(db, ctx, campaign_id).await?;
    let people = participants::all_in_campaign(db.pool(), &ctx.account_id, &c.id).await?;
    let mut custom: Vec<&str> = Vec::new();
    for f in c.referrer_form.iter().chain(&c.friend_form) {
        if !f.kind.is_identity() && !custom.contains(&f.key.as_str()) {
            custom.push(&f.key);
        }
    }
    let codes: std::collections::HashMap<&str, &str> = people
        .iter()
        .map(|p| (p.id.as_str(), p.email.as_str()))
        .collect();
    let mut out = String::from(
        "email,first_name,last_name,code,kind,referrer_email,qualification,stripe_status,referrals,qualified_referrals,joined_at",
    );
    for key in &custom {
        out.push(',');
        out.push_str(&csv_field(key));
    }
    out.push('\n');
    for p in &people {
        let s = p.summary();
        let mut line = vec![
            csv_field(&p.email),
            csv_field(&p.first_name),
            csv_field(&p.last_name),
            p.code.clone(),
            s.kind.key().to_string(),
            csv_field(
                p.referrer_id
                    .as_deref()
                    .and_then(|id| codes.get(id).copied())
                    .unwrap_or_default(),
            ),
            p.qualification.key().to_string(),
            p.stripe_status.key().to_string(),
            p.referrals.to_string(),
            p.qualified_referrals.to_string(),
            format_utc(p.created_at),
        ];
        for key in &custom {
            line.push(csv_field(
                p.fields
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.as_str())
                    .unwrap_or_default(),
            ));
        }
        out.push_str(&line.join(","));
        out.push('\n');
    }
    accounts::record(
        db.pool(),
        ctx,
        ActivityKind::ParticipantsExported,
        format!("Exported {} participants of “{}”", people.len(), c.name),
    )
    .await?;
    Ok((format!("{}-participants.csv", c.slug), out))
}

/// Changes a participant's names and other form fields: `values` by the form's keys, each
/// checked as the join form checks it (an empty value clears an optional field). The email
/// stays: it is who they are in the campaign and in Stripe. `by` says who changed them, on
/// their timeline.
pub async fn change_details(
    db: &Db,
    account_id: &str,
    id: &str,
    values: &BTreeMap<String, String>,
    by: &str,
) -> Result<ParticipantRow, AppError> {
    let p = participants::get(db.pool(), account_id, id)
        .await?
        .ok_or_else(|| AppError::NotFound("Participant".into()))?;
    let c = campaigns::get(db.pool(), account_id, &p.campaign_id)
        .await?
        .ok_or_else(|| AppError::NotFound("Campaign".into()))?;
    let form = if p.referrer_id.is_some() {
        &c.friend_form
    } else {
        &c.referrer_form
    };
    let mut next = p.clone();
    let mut errors = Vec::new();
    let mut changed = Vec::new();
    for (key, raw) in values {
        let Some(f) = form.iter().find(|f| &f.key == key) else {
            let keys: Vec<&str> = form.iter().map(|f| f.key.as_str()).collect();
            errors.push(FieldError {
                field: key.clone(),
                message: format!(
                    "The campaign's form has no field “{key}” (it has: {}).",
                    keys.join(", ")
                ),
            });
            continue;
        };
        let value = match (&f.kind, f.check(Some(raw))) {
            (FieldKind::Email, _) => {
                errors.push(FieldError {
                    field: key.clone(),
                    message: "The email cannot be changed: it is who they are in the campaign and in Stripe. Remove them and enrol the new address instead.".into(),
                });
                continue;
            }
            (_, Err(message)) => {
                errors.push(FieldError {
                    field: key.clone(),
                    message,
                });
                continue;
            }
            (_, Ok(value)) => value,
        };
        match f.kind {
            FieldKind::FirstName => next.first_name = value,
            FieldKind::LastName => next.last_name = value,
            _ => {
                next.fields.retain(|(k, _)| k != key);
                if !value.is_empty() {
                    next.fields.push((key.clone(), value));
                }
            }
        }
        changed.push(f.label.clone());
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    next.fields.sort();
    let mut before = p.fields.clone();
    before.sort();
    if next.first_name == p.first_name && next.last_name == p.last_name && next.fields == before {
        return Ok(p);
    }
    let mut tx = db.begin().await?;
    participants::set_details(&mut *tx, &next).await?;
    let text = format!("Details changed by {by}: {}", changed.join(", "));
    participants::add_event(
        &mut *tx,
        &next,
        EventKind::DetailsChanged,
        &text,
        unix_now(),
    )
    .await?;
    tx.commit().await?;
    Ok(next)
}

/// Removes a participant who has no history (no friends joined through them, no rewards, no
/// referred payments): a sign-up made by mistake or to test. Their Stripe customer stays in
/// Stripe. Someone with history is kept, and the error says why.
pub async fn remove(db: &Db, account_id: &str, id: &str) -> Result<ParticipantRow, AppError> {
    let mut tx = db.begin().await?;
    crate::db::accounts::lock_admissions(&mut *tx, account_id).await?;
    let p = participants::get(&mut *tx, account_id, id)
        .await?
        .ok_or_else(|| AppError::NotFound("Participant".into()))?;
    if let Some(why) = participants::has_history(&mut tx, &p).await? {
        return Err(AppError::Conflict(format!(
            "{} cannot be removed: {why}, and Refloop keeps that record.",
            p.email
        )));
    }
    participants::remove(&mut tx, &p).await?;
    if let Some(referrer_id) = &p.referrer_id {
        if let Some(referrer) = participants::get(&mut *tx, account_id, referrer_id).await? {
            refresh_metadata(&mut tx, &referrer).await?;
        }
    }
    tx.commit().await?;
    Ok(p)
}

/// The most rows one import takes.
pub const IMPORT_MAX_ROWS: usize = 10_000;

/// Adds the people of a CSV file (a header row naming `email` and optionally `first_name`,
/// `last_name`, `referrer_email` and custom field keys). Each row is added or refused with a
/// reason; one row's refusal never stops the others.
pub async fn import_csv(
    db: &Db,
    ctx: &Ctx,
    campaign_id: &str,
    text: &str,
) -> Result<ImportReport, AppError> {
    let c = load(db, ctx, campaign_id).await?;
    let rows = parse_csv(text).map_err(|m| AppError::invalid("csv", m))?;
    let Some((header, body)) = rows.split_first() else {
        return Err(AppError::invalid(
            "csv",
            "The file is empty: it needs a header row with an `email` column, then one row per person.",
        ));
    };
    let header: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
    let column = |name: &str| header.iter().position(|h| h == name);
    let Some(email_col) = column("email") else {
        return Err(AppError::invalid(
            "csv",
            format!(
                "The header row has no `email` column (it has: {}).",
                header.join(", ")
            ),
        ));
    };
    if body.len() > IMPORT_MAX_ROWS {
        return Err(AppError::invalid(
            "csv",
            format!(
                "The file has {} rows; import at most {IMPORT_MAX_ROWS} at a time.",
                body.len()
            ),
        ));
    }
    let custom: Vec<(usize, &crate::domain::campaigns::FormField)> = c
        .referrer_form
        .iter()
        .chain(&c.friend_form)
        .filter(|f| !f.kind.is_identity())
        .filter_map(|f| column(&f.key).map(|i| (i, f)))
        .collect();
    let cell = |row: &Vec<String>, i: Option<usize>| {
        i.and_then(|i| row.get(i))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let mut report = ImportReport {
        added: 0,
        refused: 0,
        rows: Vec::new(),
    };
    for (i, row) in body.iter().enumerate() {
        let line = i as u32 + 2;
        let raw_email = cell(row, Some(email_col));
        let outcome = import_row(
            db,
            ctx,
            &c,
            row,
            &raw_email,
            &cell(row, column("first_name")),
            &cell(row, column("last_name")),
            &cell(row, column("referrer_email")),
            &custom,
        )
        .await;
        let refusal = match outcome {
            Ok(()) => {
                report.added += 1;
                None
            }
            Err(ImportError::Refused(reason)) => {
                report.refused += 1;
                Some(reason)
            }
            Err(ImportError::Failed(e)) => return Err(e),
        };
        report.rows.push(ImportRow {
            line,
            email: raw_email,
            refusal,
        });
    }
    accounts::record(
        db.pool(),
        ctx,
        ActivityKind::ParticipantsImported,
        format!(
            "Imported {} participants into “{}” ({} refused)",
            report.added, c.name, report.refused
        ),
    )
    .await?;
    Ok(report)
}

enum ImportError {
    Refused(String),
    Failed(AppError),
}

impl<E: Into<AppError>> From<E> for ImportError {
    fn from(e: E) -> Self {
        ImportError::Failed(e.into())
    }
}

#[allow(clippy::too_many_arguments)]
async fn import_row(
    db: &Db,
    ctx: &Ctx,
    c: &campaigns::CampaignRow,
    row: &[String],
    raw_email: &str,
    first_name: &str,
    last_name: &str,
    referrer_email: &str,
    custom: &[(usize, &crate::domain::campaigns::FormField)],
) -> Result<(), ImportError> {
    let email = validate::email(raw_email).map_err(ImportError::Refused)?;
    let mut fields = Vec::new();
    for (i, f) in custom {
        let raw = row.get(*i).map(String::as_str).unwrap_or_default();
        if raw.trim().is_empty() {
            continue;
        }
        let value = f.check(Some(raw)).map_err(ImportError::Refused)?;
        fields.push((f.key.clone(), value));
    }
    let mut tx = db.begin().await?;
    crate::db::accounts::lock_admissions(&mut *tx, &ctx.account_id).await?;
    let referrer = if referrer_email.is_empty() {
        None
    } else {
        let wanted = validate::email(referrer_email)
            .map_err(|m| ImportError::Refused(format!("referrer_email: {m}")))?;
        match participants::by_email(&mut *tx, &c.id, &wanted).await? {
            Some(r) => Some(r),
            None => {
                return Err(ImportError::Refused(format!(
                    "The referrer {wanted} is not in this campaign (import them first, in an earlier row)."
                )))
            }
        }
    };
    // Imports may fill a campaign before it goes live, so its status is not checked.
    let allowed =
        admit::may_admit(&mut tx, c, CampaignStatus::Live, referrer.as_ref(), &email).await?;
    if let Err(refusal) = allowed {
        participants::record_refusal(
            &mut *tx,
            &ctx.account_id,
            &c.id,
            &email,
            refusal.key(),
            &ctx.ip,
            unix_now(),
        )
        .await?;
        tx.commit().await?;
        return Err(ImportError::Refused(refusal.message()));
    }
    let newcomer = Newcomer {
        email,
        first_name: first_name.to_string(),
        last_name: last_name.to_string(),
        fields,
        source: Source::Import {
            by: ctx.name.clone(),
        },
    };
    if admit::admit(&mut tx, c, referrer.as_ref(), newcomer, unix_now())
        .await?
        .is_none()
    {
        return Err(ImportError::Refused(
            crate::domain::campaigns::JoinRefusal::AlreadyJoined.message(),
        ));
    }
    tx.commit().await?;
    Ok(())
}

/// The account's participants and limit.
pub async fn usage(db: &Db, account_id: &str) -> Result<(i64, i64), AppError> {
    Ok((
        participants::count_in_account(db.pool(), account_id).await?,
        campaigns::participant_limit(db.pool(), account_id).await?,
    ))
}

/// The banner the team sees when the account nears or reaches its limit.
pub async fn limit_banner(db: &Db, account_id: &str) -> Result<Option<String>, AppError> {
    let (count, limit) = usage(db, account_id).await?;
    Ok(limit_warning(count.max(0) as u64, limit.max(0) as u64))
}

/// Sets the account's participant limit (the Owner only).
pub async fn set_limit(db: &Db, ctx: &Ctx, limit: &str) -> Result<(), AppError> {
    if !ctx.can(Permission::ManageAccount) {
        return Err(AppError::Forbidden(
            "Only an account owner can change the participant limit.".into(),
        ));
    }
    let limit: i64 = limit
        .trim()
        .parse()
        .ok()
        .filter(|n| (1..=10_000_000).contains(n))
        .ok_or_else(|| {
            AppError::invalid("limit", "The limit is a whole number from 1 to 10000000.")
        })?;
    let mut tx = db.begin().await?;
    campaigns::set_participant_limit(&mut *tx, &ctx.account_id, limit).await?;
    accounts::record(
        &mut *tx,
        ctx,
        ActivityKind::ParticipantLimitChanged,
        format!("Set the participant limit to {limit}"),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The campaign's numbers: totals, the last 30 days, and refusals by reason.
pub async fn stats(db: &Db, ctx: &Ctx, campaign_id: &str) -> Result<CampaignStats, AppError> {
    const DAYS: i64 = 30;
    let c = load(db, ctx, campaign_id).await?;
    let today = unix_now() / 86_400 * 86_400;
    let first = today - (DAYS - 1) * 86_400;
    let counts = participants::daily_counts(db.pool(), &ctx.account_id, &c.id, first).await?;
    Ok(CampaignStats {
        totals: participants::totals(db.pool(), &ctx.account_id, &c.id).await?,
        days: fill_days(first, DAYS as usize, &counts),
        refusals: participants::refusal_counts(db.pool(), &ctx.account_id, &c.id)
            .await?
            .into_iter()
            .map(|(reason, n)| {
                (
                    crate::domain::campaigns::JoinRefusal::reason_label(&reason).to_string(),
                    n,
                )
            })
            .collect(),
        flags: crate::domain::fraud::count_flags(
            &crate::db::fraud::of_campaign(db.pool(), &ctx.account_id, &c.id).await?,
        ),
    })
}
