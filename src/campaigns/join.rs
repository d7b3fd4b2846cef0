//! The public side: the join page, the referral landing, joining, and the personal page.
//! Nobody is signed in here, so every lookup starts from a public slug, code or page token.

use std::collections::{HashMap, HashSet};

use rand::Rng;

use crate::{
    auth::session,
    db::{
        campaigns::{self, CampaignRow},
        new_id,
        participants::{self, ParticipantRow},
        unix_now, Backend, Db,
    },
    domain::{
        campaigns::{
            may_join, open_status, CampaignStatus, FieldKind, JoinContext, JoinRefusal,
            PersonalPage, PublicCampaign,
        },
        participants::{EventKind, ParticipantKind, Qualification, StripeStatus},
    },
    error::{AppError, FieldError},
    workflows::send,
};

/// The name of the cookie that remembers who referred a visitor (their referral code).
pub const REFERRER_COOKIE: &str = "refloop_ref";

/// The join page of the campaign at `/j/{slug}`. A visitor who came through a referral link
/// of this campaign (the cookie's code) joins as that person's friend.
pub async fn public_campaign(
    db: &Db,
    slug: &str,
    cookie_code: Option<&str>,
) -> Result<PublicCampaign, AppError> {
    let c = by_slug(db, slug).await?;
    let referrer = match cookie_code {
        Some(code) => participants::by_code(db.pool(), code)
            .await?
            .filter(|r| r.campaign_id == c.id),
        None => None,
    };
    Ok(page_for(&c, referrer.as_ref()))
}

/// Who opened a referral link: their visitor cookie (a browser that keeps it is one visitor; a
/// client that keeps no cookies is a new visitor each time, as nothing tells it apart).
pub struct Visitor(pub String);

/// The landing of a referral link at `/r/{code}`: counts the click on the referrer's timeline,
/// once per visitor per day. Returns the page and the code to remember in the visitor's cookie.
pub async fn open_referral(
    db: &Db,
    code: &str,
    visitor: &Visitor,
) -> Result<PublicCampaign, AppError> {
    let not_found = || AppError::NotFound("This referral link".into());
    let referrer = participants::by_code(db.pool(), code.trim())
        .await?
        .ok_or_else(not_found)?;
    let c = campaigns::get(db.pool(), &referrer.account_id, &referrer.campaign_id)
        .await?
        .ok_or_else(not_found)?;
    let now = unix_now();
    if participants::note_click(db.pool(), &referrer.id, &visitor.0, now).await? {
        participants::add_event(db.pool(), &referrer, EventKind::Clicked, "", now).await?;
    }
    Ok(page_for(&c, Some(&referrer)))
}

fn page_for(c: &CampaignRow, referrer: Option<&ParticipantRow>) -> PublicCampaign {
    let status = open_status(c.status, c.starts_at, c.ends_at, unix_now());
    PublicCampaign {
        name: c.name.clone(),
        slug: c.slug.clone(),
        form: if referrer.is_some() {
            c.friend_form.clone()
        } else {
            c.referrer_form.clone()
        },
        closed: (status != CampaignStatus::Live).then(|| JoinRefusal::NotOpen(status).message()),
        referrer_name: referrer.map(|r| {
            if r.first_name.is_empty() {
                "A friend".to_string()
            } else {
                r.first_name.clone()
            }
        }),
        referral_code: referrer.map(|r| r.code.clone()),
    }
}

/// A join-form submission.
#[derive(Debug, Clone, Default)]
pub struct JoinRequest {
    pub slug: String,
    /// The form's values by field key.
    pub values: HashMap<String, String>,
    /// The referral code from the form (the landing page) or the visitor's cookie.
    pub referral_code: Option<String>,
    /// The hidden field people never see and bots fill in.
    pub honeypot: String,
    pub ip: String,
}

/// Joins someone to a campaign; returns their personal page's token. Every refusal is
/// recorded (so the team can see why someone is not in the campaign) and explained.
pub async fn join(db: &Db, per_hour: u64, req: JoinRequest) -> Result<String, AppError> {
    let now = unix_now();
    let attempts = participants::note_attempt(db.pool(), &req.ip, now, now - 3600).await?;
    if attempts > per_hour as i64 {
        return Err(AppError::TooManyRequests(
            "Too many sign-ups came from your network in the last hour. Please try again later."
                .into(),
        ));
    }
    let c = by_slug(db, &req.slug).await?;
    let referrer = match req.referral_code.as_deref().filter(|c| !c.is_empty()) {
        Some(code) => participants::by_code(db.pool(), code)
            .await?
            .filter(|r| r.campaign_id == c.id),
        None => None,
    };
    let form = if referrer.is_some() {
        &c.friend_form
    } else {
        &c.referrer_form
    };
    let mut cleaned = Vec::new();
    let mut errors = Vec::new();
    for f in form {
        match f.check(req.values.get(&f.key).map(String::as_str)) {
            Ok(value) => cleaned.push((f, value)),
            Err(message) => errors.push(FieldError {
                field: f.key.clone(),
                message,
            }),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let value_of = |kind: FieldKind| {
        cleaned
            .iter()
            .find(|(f, _)| f.kind == kind)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let email = value_of(FieldKind::Email);
    let refuse = |refusal: JoinRefusal| {
        let (account, campaign, email, ip) = (&c.account_id, &c.id, &email, &req.ip);
        async move {
            participants::record_refusal(
                db.pool(),
                account,
                campaign,
                email,
                refusal.key(),
                ip,
                now,
            )
            .await?;
            Err::<String, _>(AppError::Conflict(refusal.message()))
        }
    };
    if !req.honeypot.trim().is_empty() {
        return refuse(JoinRefusal::Automated).await;
    }

    let mut tx = db.begin().await?;
    crate::db::accounts::lock_admissions(&mut *tx, &c.account_id).await?;
    // The referrer's count as it stands under the lock (their cap).
    let referrer = match &referrer {
        Some(r) => participants::get(&mut *tx, &c.account_id, &r.id).await?,
        None => None,
    };
    let existing = if participants::by_email(&mut *tx, &c.id, &email)
        .await?
        .is_some()
    {
        vec![email.clone()]
    } else {
        Vec::new()
    };
    let account_participants = participants::count_in_account(&mut *tx, &c.account_id).await?;
    let account_limit = campaigns::participant_limit(&mut *tx, &c.account_id).await?;
    let context = JoinContext {
        status: open_status(c.status, c.starts_at, c.ends_at, now),
        existing: &existing,
        referrer: referrer
            .as_ref()
            .map(|r| (r.email.as_str(), r.referrals.max(0) as u32)),
        referral_cap: c.referral_cap.map(|n| n.max(0) as u32),
        account_participants: account_participants.max(0) as u64,
        account_limit: account_limit.max(0) as u64,
    };
    if let Err(refusal) = may_join(&email, &context) {
        drop(tx);
        return refuse(refusal).await;
    }
    let fields = cleaned
        .iter()
        .filter(|(f, v)| !v.is_empty() && !f.kind.is_identity())
        .map(|(f, v)| (f.key.clone(), v.clone()))
        .collect();
    let newcomer = Newcomer {
        email: email.clone(),
        first_name: value_of(FieldKind::FirstName),
        last_name: value_of(FieldKind::LastName),
        fields,
        source: Source::Join,
    };
    let Some(person) = admit(&mut tx, db.backend(), &c, referrer.as_ref(), newcomer, now).await?
    else {
        drop(tx);
        return refuse(JoinRefusal::AlreadyJoined).await;
    };
    tx.commit().await?;
    Ok(person.page_token)
}

/// How someone came into a campaign.
pub(crate) enum Source {
    Join,
    Import {
        by: String,
    },
    /// From a Stripe customer, already theirs: `note` is the first line of their timeline.
    Sync {
        customer: String,
        note: String,
    },
}

/// Someone about to be added to a campaign.
pub(crate) struct Newcomer {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub fields: Vec<(String, String)>,
    pub source: Source,
}

/// Adds a person to a campaign within `tx` (the rules already applied): a fresh referral code
/// and personal page, the first entry of their timeline, and the referrer's count and timeline.
/// `None` when the email is already in the campaign.
pub(crate) async fn admit(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
    c: &CampaignRow,
    referrer: Option<&ParticipantRow>,
    n: Newcomer,
    now: i64,
) -> Result<Option<ParticipantRow>, AppError> {
    Ok(admit_all(tx, backend, c, referrer, vec![n], now)
        .await?
        .pop()
        .flatten())
}

/// [`admit`] for many people at once, in a few statements whatever their number: for each
/// newcomer, in order, who they became (`None`: their email is already in the campaign).
pub(crate) async fn admit_all(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
    c: &CampaignRow,
    referrer: Option<&ParticipantRow>,
    newcomers: Vec<Newcomer>,
    now: i64,
) -> Result<Vec<Option<ParticipantRow>>, AppError> {
    let mut people: Vec<ParticipantRow> = newcomers
        .iter()
        .map(|n| newcomer_row(c, referrer, n, now))
        .collect();
    give_codes(tx, &mut people).await?;
    let added: HashSet<String> = participants::insert_all(tx, &people)
        .await?
        .into_iter()
        .collect();
    let admitted: Vec<Option<ParticipantRow>> = people
        .into_iter()
        .map(|p| added.contains(&p.id).then_some(p))
        .collect();
    let firsts: Vec<(&ParticipantRow, EventKind, String)> = admitted
        .iter()
        .zip(&newcomers)
        .filter_map(|(p, n)| {
            let p = p.as_ref()?;
            let (kind, how) = first_event(c, referrer, &n.source);
            Some((p, kind, how))
        })
        .collect();
    let events: Vec<(&ParticipantRow, EventKind, &str)> = firsts
        .iter()
        .map(|(p, kind, how)| (*p, *kind, how.as_str()))
        .collect();
    participants::add_events(tx, &events, now).await?;
    for (person, n) in admitted.iter().zip(&newcomers) {
        let Some(person) = person else { continue };
        if let Some(r) = referrer {
            participants::add_referral(&mut **tx, &r.id).await?;
            let what = match n.source {
                Source::Import { .. } | Source::Sync { .. } => {
                    format!("{} was imported as their friend", person.email)
                }
                Source::Join => format!("{} joined through their link", person.email),
            };
            participants::add_event(&mut **tx, r, EventKind::Referred, &what, now).await?;
        }
        send::after_arrival(tx, backend, person, referrer).await?;
    }
    Ok(admitted)
}

/// The participant a newcomer becomes (their referral code still to be given).
fn newcomer_row(
    c: &CampaignRow,
    referrer: Option<&ParticipantRow>,
    n: &Newcomer,
    now: i64,
) -> ParticipantRow {
    let source = match (&n.source, referrer) {
        (Source::Import { .. }, _) => "import",
        (Source::Sync { .. }, _) => "stripe_sync",
        (Source::Join, Some(_)) => "referral",
        (Source::Join, None) => "join",
    };
    let audience = if referrer.is_some() {
        ParticipantKind::Invited
    } else {
        ParticipantKind::Referring
    };
    let (stripe_status, stripe_note) = match &n.source {
        Source::Sync { customer, .. } => (
            StripeStatus::Sent,
            format!("Enrolled from Stripe customer {customer}"),
        ),
        _ => send::on_arrival(c, audience),
    };
    ParticipantRow {
        id: new_id("par"),
        account_id: c.account_id.clone(),
        campaign_id: c.id.clone(),
        email: n.email.clone(),
        first_name: n.first_name.chars().take(200).collect(),
        last_name: n.last_name.chars().take(200).collect(),
        fields: n.fields.clone(),
        code: String::new(),
        page_token: session::new_token(),
        referrer_id: referrer.map(|r| r.id.clone()),
        source: source.into(),
        qualification: if referrer.is_some() {
            Qualification::Pending
        } else {
            Qualification::NotApplicable
        },
        stripe_status,
        stripe_customer_id: match &n.source {
            Source::Sync { customer, .. } => Some(customer.clone()),
            _ => None,
        },
        stripe_note,
        stripe_since: None,
        referrals: 0,
        qualified_referrals: 0,
        created_at: now,
        spent: 0,
        qualified_at: None,
        qualification_note: String::new(),
    }
}

/// The first entry of a newcomer's timeline.
fn first_event(
    c: &CampaignRow,
    referrer: Option<&ParticipantRow>,
    source: &Source,
) -> (EventKind, String) {
    match (source, referrer) {
        (Source::Import { by }, _) => (EventKind::Imported, format!("Imported from CSV by {by}")),
        (Source::Sync { note, .. }, _) => (EventKind::Synced, note.clone()),
        (Source::Join, Some(r)) => (
            EventKind::Joined,
            format!(
                "Joined through the referral link of {} ({})",
                r.email, r.code
            ),
        ),
        (Source::Join, None) => (EventKind::Joined, format!("Joined through /j/{}", c.slug)),
    }
}

/// Gives every person a fresh referral code that nobody has, asking the database once per try
/// for the whole batch.
async fn give_codes(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    people: &mut [ParticipantRow],
) -> Result<(), AppError> {
    for _ in 0..5 {
        let mut chosen: HashSet<String> = people.iter().map(|p| p.code.clone()).collect();
        for p in people.iter_mut().filter(|p| p.code.is_empty()) {
            // Two of the batch never share one.
            p.code = std::iter::repeat_with(new_code)
                .find(|code| chosen.insert(code.clone()))
                .expect("codes are endless");
        }
        let candidates: Vec<String> = people.iter().map(|p| p.code.clone()).collect();
        let taken: HashSet<String> = participants::codes_taken(&mut **tx, &candidates)
            .await?
            .into_iter()
            .collect();
        if taken.is_empty() {
            return Ok(());
        }
        for p in people.iter_mut().filter(|p| taken.contains(&p.code)) {
            p.code.clear();
        }
    }
    Err(AppError::internal(
        "join",
        "could not find free referral codes in 5 tries",
    ))
}

/// A referral code: 8 characters that cannot be mistaken for one another.
fn new_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..8)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The personal page of the participant with this page token.
pub async fn personal_page(
    db: &Db,
    public_url: &str,
    token: &str,
) -> Result<PersonalPage, AppError> {
    let not_found = || AppError::NotFound("This page".into());
    let p = participants::by_page_token(db.pool(), token)
        .await?
        .ok_or_else(not_found)?;
    let c = campaigns::get(db.pool(), &p.account_id, &p.campaign_id)
        .await?
        .ok_or_else(not_found)?;
    let invited_by = match &p.referrer_id {
        Some(id) => participants::get(db.pool(), &p.account_id, id)
            .await?
            .map(|r| {
                if r.first_name.is_empty() {
                    r.email
                } else {
                    r.first_name
                }
            }),
        None => None,
    };
    Ok(PersonalPage {
        campaign_name: c.name,
        first_name: p.first_name,
        referral_link: crate::domain::participants::referral_link(public_url, &p.code),
        code: p.code,
        share_text: c.share_text,
        friends_joined: p.referrals,
        friends_qualified: p.qualified_referrals,
        rewards: crate::db::rewards::for_recipient(db.pool(), &p.account_id, &p.id)
            .await?
            .iter()
            .filter_map(|r| {
                crate::domain::rewards::personal_line(&r.description, r.status, r.code.as_deref())
            })
            .collect(),
        invited_by,
    })
}

async fn by_slug(db: &Db, slug: &str) -> Result<CampaignRow, AppError> {
    campaigns::by_slug(db.pool(), &slug.trim().to_lowercase())
        .await?
        .ok_or_else(|| AppError::NotFound("This referral program".into()))
}
