//! Admitting a person into a campaign: the rules that may refuse them (under the account's
//! admission lock), and the admission itself: a fresh referral code and personal page, the
//! first entry of their timeline, the referrer's count and timeline, and their way to Stripe.
//! Joining, importing and syncing all admit through here.

use std::collections::HashSet;

use rand::Rng;

use super::sending;
use crate::{
    auth::session,
    db::{
        campaigns::{self, CampaignRow},
        new_id,
        participants::{self, ParticipantRow},
    },
    domain::{
        campaigns::{may_join, CampaignStatus, JoinContext, JoinRefusal},
        participants::{EventKind, ParticipantKind, Qualification, StripeStatus},
        webhooks::WebhookEvent,
    },
    error::AppError,
    notifications,
};

/// Whether `email` may come into the campaign (in the state `status`), through `referrer`:
/// read inside `tx`, after `db::accounts::lock_admissions`, so that the account's participant
/// limit and the referrer's cap hold against concurrent admissions.
pub async fn may_admit(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    c: &CampaignRow,
    status: CampaignStatus,
    referrer: Option<&ParticipantRow>,
    email: &str,
) -> Result<Result<(), JoinRefusal>, AppError> {
    let existing = if participants::by_email(&mut **tx, &c.id, email)
        .await?
        .is_some()
    {
        vec![email.to_string()]
    } else {
        Vec::new()
    };
    let account_participants = participants::count_in_account(&mut **tx, &c.account_id).await?;
    let participant_limit = campaigns::participant_limit(&mut **tx, &c.account_id).await?;
    let context = JoinContext {
        status,
        existing: &existing,
        referrer: referrer.map(|r| (r.email.as_str(), r.referrals.max(0) as u32)),
        referral_cap: c.referral_cap.map(|n| n.max(0) as u32),
        account_participants: account_participants.max(0) as u64,
        participant_limit: participant_limit.max(0) as u64,
    };
    Ok(may_join(email, &context))
}

/// How someone came into a campaign.
pub enum Source {
    Join,
    Import {
        by: String,
    },
    /// From a Stripe customer, already theirs: `note` is the first line of their timeline.
    Sync {
        customer: String,
        note: String,
    },
    /// From a payment at checkout attributed to their referrer (the customer Stripe made, if
    /// it made one): `note` is the first line of their timeline.
    Checkout {
        customer: Option<String>,
        note: String,
    },
}

/// Someone about to be added to a campaign.
pub struct Newcomer {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub fields: Vec<(String, String)>,
    pub source: Source,
}

/// Adds a person to a campaign within `tx` (the rules already applied): a fresh referral code
/// and personal page, the first entry of their timeline, and the referrer's count and timeline.
/// `None` when the email is already in the campaign.
pub async fn admit(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    c: &CampaignRow,
    referrer: Option<&ParticipantRow>,
    n: Newcomer,
    now: i64,
) -> Result<Option<ParticipantRow>, AppError> {
    Ok(admit_all(tx, c, referrer, vec![n], now)
        .await?
        .pop()
        .flatten())
}

/// [`admit`] for many people at once, in a few statements whatever their number: for each
/// newcomer, in order, who they became (`None`: their email is already in the campaign).
pub async fn admit_all(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
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
    let emails = if admitted.iter().any(Option::is_some) {
        Some(notifications::settings_of(tx, c).await?)
    } else {
        None
    };
    // Read once for the batch (a sync admits thousands): people referring get their code.
    let offer = referrer.is_none()
        && admitted.iter().any(Option::is_some)
        && super::offers::has_offer(tx, c).await?;
    for (person, n) in admitted.iter().zip(&newcomers) {
        let Some(person) = person else { continue };
        if let Some(r) = referrer {
            participants::add_referral(&mut **tx, &r.id).await?;
            let what = match n.source {
                Source::Import { .. } | Source::Sync { .. } => {
                    format!("{} was imported as their friend", person.email)
                }
                Source::Checkout { .. } => {
                    format!("{} paid at checkout as their friend", person.email)
                }
                Source::Join => format!("{} joined through their link", person.email),
            };
            participants::add_event(&mut **tx, r, EventKind::Referred, &what, now).await?;
        }
        sending::after_arrival(tx, person, referrer).await?;
        if offer {
            crate::jobs::queue::enqueue(tx, &super::offers::code_job(&c.account_id, &person.id))
                .await?;
        }
        if let Some(settings) = &emails {
            notifications::after_arrival(tx, settings, person, referrer).await?;
        }
        super::outbound::about_participant(tx, WebhookEvent::ParticipantJoined, person).await?;
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
        (Source::Checkout { .. }, _) => "checkout",
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
        Source::Checkout {
            customer: Some(customer),
            ..
        } => (
            StripeStatus::Sent,
            format!("Paid at checkout as Stripe customer {customer}"),
        ),
        _ => sending::on_arrival(c, audience),
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
            Source::Checkout { customer, .. } => customer.clone(),
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
        (Source::Checkout { note, .. }, _) => (EventKind::Joined, note.clone()),
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
