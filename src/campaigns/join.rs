//! The public side: the join page, the referral landing, joining, and the personal page.
//! Nobody is signed in here, so every lookup starts from a public slug, code or page token.

use std::collections::HashMap;

use crate::{
    db::{
        campaigns::{self, CampaignRow},
        participants::{self, ParticipantRow},
        unix_now, Db,
    },
    domain::{
        campaigns::{
            open_status, CampaignStatus, FieldKind, JoinRefusal, PersonalPage, PublicCampaign,
        },
        fraud::{self, Finding, Known},
        participants::EventKind,
    },
    error::{AppError, FieldError},
    workflows::admit::{self, Newcomer, Source},
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
    let mut page = page_for(&c, Some(&referrer));
    if !c.landing_url.is_empty() {
        let promo = crate::workflows::offers::offer_and_code(db.pool(), &c, &referrer)
            .await?
            .and_then(|(_, code)| code);
        page.landing = Some(crate::domain::campaigns::landing_for(
            &c.landing_url,
            &referrer.code,
            promo.as_deref(),
        ));
    }
    Ok(page)
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
        landing: None,
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
    /// Where they join from, hashed (see `Sighting::of`).
    pub sighting: Sighting,
}

/// Where someone joins from, as the self-referral checks compare it: their browser's device
/// cookie and their address, each hashed with a key of this instance, so that neither is kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sighting {
    pub device: Option<String>,
    pub network: Option<String>,
}

impl Sighting {
    /// The hashes of a device cookie and an address (an IPv6 address by its /64, which one
    /// household or phone keeps while the rest changes); an unknown address is none.
    pub fn of(sealer: &crate::secrets::Sealer, device: &str, ip: &str) -> Sighting {
        let network = ip.parse::<std::net::IpAddr>().ok().map(|ip| match ip {
            std::net::IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
            std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().expect("mapped").to_string(),
            v4 => v4.to_string(),
        });
        let hash =
            |what: &str, value: &str| sealer.derive(&format!("{what} {value}"))[..32].to_string();
        Sighting {
            device: (!device.is_empty()).then(|| hash("device", device)),
            network: network.map(|n| hash("network", &n)),
        }
    }
}

/// Joins someone to a campaign; returns their personal page's token. Every refusal is
/// recorded (so the team can see why someone is not in the campaign) and explained.
pub async fn join(db: &Db, per_hour: u64, req: JoinRequest) -> Result<String, AppError> {
    match admit_join(db, per_hour, req).await? {
        Ok(person) => Ok(person.page_token),
        Err(refusal) => Err(AppError::Conflict(refusal.message())),
    }
}

/// `join`, answering with the new participant, or why they were refused (recorded).
pub async fn admit_join(
    db: &Db,
    per_hour: u64,
    req: JoinRequest,
) -> Result<Result<ParticipantRow, JoinRefusal>, AppError> {
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
            Ok::<_, AppError>(Err(refusal))
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
    let status = open_status(c.status, c.starts_at, c.ends_at, now);
    if let Err(refusal) = admit::may_admit(&mut tx, &c, status, referrer.as_ref(), &email).await? {
        drop(tx);
        return refuse(refusal).await;
    }
    let flags = match &referrer {
        Some(r) => match fraud_check(&mut tx, &c, r, &email, &req.sighting, now).await? {
            Ok(flags) => flags,
            Err(finding) => {
                drop(tx);
                return refuse(JoinRefusal::Suspected(finding.signal)).await;
            }
        },
        None => Vec::new(),
    };
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
    let Some(person) = admit::admit(&mut tx, &c, referrer.as_ref(), newcomer, now).await? else {
        drop(tx);
        return refuse(JoinRefusal::AlreadyJoined).await;
    };
    if let (Some(r), false) = (&referrer, flags.is_empty()) {
        flag(&mut tx, r, &person, &flags, now).await?;
    }
    let window_days = crate::db::qualification::settings(&mut *tx, &c.account_id, &c.id)
        .await?
        .map_or(DEFAULT_KEEP_DAYS, |s| s.window_days.max(1));
    crate::db::fraud::record_sighting(
        &mut *tx,
        &person,
        req.sighting.device.as_deref(),
        req.sighting.network.as_deref(),
        now,
        now + i64::from(window_days) * 86_400,
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(person))
}

/// How long where someone joined from is kept when their campaign has no qualification
/// window yet.
const DEFAULT_KEEP_DAYS: u32 = 30;

/// The signs that a friend joining with `email` from `sighting` through `referrer` is them, as
/// the campaign's settings answer them: the findings to flag, or the one that refuses the join.
async fn fraud_check(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    c: &CampaignRow,
    referrer: &ParticipantRow,
    email: &str,
    sighting: &Sighting,
    now: i64,
) -> Result<Result<Vec<Finding>, Finding>, AppError> {
    let settings = crate::db::rewards::settings(&mut **tx, &c.account_id, &c.id)
        .await?
        .unwrap_or_default()
        .fraud;
    let friends = participants::referred_by(&mut **tx, &c.account_id, &referrer.id).await?;
    let seen =
        crate::db::fraud::sightings_around(&mut **tx, &c.account_id, &referrer.id, now).await?;
    let seen_of = |id: &str| {
        seen.get(id)
            .map(|(device, network)| (device.as_deref(), network.as_deref()))
            .unwrap_or_default()
    };
    let known: Vec<Known> = friends
        .iter()
        .map(|f| {
            let (device, network) = seen_of(&f.id);
            Known {
                name: &f.first_name,
                email: &f.email,
                joined_at: f.joined_at,
                device,
                network,
            }
        })
        .collect();
    let (device, network) = seen_of(&referrer.id);
    let them = Known {
        name: referrer.first_name_or_email(),
        email: &referrer.email,
        joined_at: referrer.created_at,
        device,
        network,
    };
    let address = match &sighting.network {
        Some(network) => {
            crate::db::fraud::address_use(
                &mut **tx,
                &c.account_id,
                &c.id,
                network,
                &referrer.id,
                now,
            )
            .await?
        }
        None => fraud::AddressUse::default(),
    };
    let joining = fraud::Joining {
        email,
        device: sighting.device.as_deref(),
        network: sighting.network.as_deref(),
        disposable: disposable_emails::is_disposable_email(email),
    };
    Ok(fraud::decide(
        &settings,
        fraud::findings(&joining, &them, &known, address, now),
    ))
}

/// Flags a friend's referral for review, with the evidence on both timelines.
async fn flag(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    referrer: &ParticipantRow,
    friend: &ParticipantRow,
    flags: &[Finding],
    now: i64,
) -> Result<(), AppError> {
    crate::db::fraud::flag(
        &mut **tx,
        &friend.account_id,
        &friend.campaign_id,
        &friend.id,
        flags,
        now,
    )
    .await?;
    let (friend_line, referrer_line) = fraud::flagged_lines(&friend.email, flags);
    participants::add_event(&mut **tx, friend, EventKind::Flagged, &friend_line, now).await?;
    participants::add_event(&mut **tx, referrer, EventKind::Flagged, &referrer_line, now).await?;
    Ok(())
}

/// The personal page of the participant with this page token.
pub async fn personal_page(
    db: &Db,
    public_url: &str,
    token: &str,
) -> Result<PersonalPage, AppError> {
    let p = participants::by_page_token(db.pool(), token)
        .await?
        .ok_or_else(|| AppError::NotFound("This page".into()))?;
    personal_view(db, public_url, p).await
}

/// What someone's personal page (and the merchant's widget) shows them: their link and code,
/// their friends' counts, what they have earned, who invited them.
pub async fn personal_view(
    db: &Db,
    public_url: &str,
    p: ParticipantRow,
) -> Result<PersonalPage, AppError> {
    let not_found = || AppError::NotFound("This page".into());
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
    let friend_offer = crate::workflows::offers::offer_and_code(db.pool(), &c, &p)
        .await?
        .map(|(offer, code)| match code {
            Some(code) => format!(
                "Your friends get {} at checkout with your code {code}.",
                offer.describe()
            ),
            None => format!(
                "Your friends get {} at checkout with your own code, on its way.",
                offer.describe()
            ),
        });
    Ok(PersonalPage {
        friend_offer,
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
