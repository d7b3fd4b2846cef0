//! Placing customers in a campaign: what becomes of each (enrolled, linked to someone already
//! there, or skipped and why), decided for a batch at once and carried out in a few statements.

use std::collections::{HashMap, HashSet};

use sqlx::AnyConnection;

use super::write_job;
use crate::workflows::admit::{admit_all, Newcomer, Source};
use crate::{
    db::{
        self,
        campaigns::{self, CampaignRow},
        participants,
        sending::{self, Outcome},
        sync::{NewOutcome, RunRow, Tally},
    },
    domain::{
        participants::{EventKind, StripeStatus},
        sending::KEY_PARTICIPANT,
        sync::{map_customer, CustomerFacts, MappedPerson, RunKind, SkipReason, SyncMapping},
        time::format_date,
    },
    error::AppError,
    jobs::queue,
    stripe::types::Customer,
};

pub fn facts(c: &Customer) -> CustomerFacts {
    CustomerFacts {
        id: c.id.clone(),
        email: c.email.clone(),
        name: c.name.clone(),
        phone: c.phone.clone(),
        metadata: c.metadata.clone(),
        deleted: c.deleted,
    }
}

/// What would happen to a customer, decided without changing anything.
pub enum Decision {
    Enrol(MappedPerson),
    /// Already in the campaign: link this customer to them (unless it is theirs already).
    Link {
        participant: Box<participants::ParticipantRow>,
        already_linked: bool,
    },
    Skip(SkipReason, String),
}

/// Decides what becomes of each customer in campaign `c` (`room`: how many more people the
/// account's participant limit lets in), asking the database once for the lot.
pub async fn decide_all(
    conn: &mut AnyConnection,
    c: &CampaignRow,
    mapping: &SyncMapping,
    customers: &[CustomerFacts],
    mut room: i64,
) -> Result<Vec<Decision>, sqlx::Error> {
    let mapped: Vec<_> = customers
        .iter()
        .map(|customer| map_customer(mapping, &c.referrer_form, customer))
        .collect();
    let emails: Vec<&str> = mapped
        .iter()
        .filter_map(|m| m.as_ref().ok())
        .map(|p| p.email.as_str())
        .collect();
    let existing: HashMap<String, participants::ParticipantRow> =
        participants::by_emails(&mut *conn, &c.id, &emails)
            .await?
            .into_iter()
            .map(|p| (p.email.clone(), p))
            .collect();
    let mut decisions = Vec::with_capacity(customers.len());
    for (customer, mapped) in customers.iter().zip(mapped) {
        let person = match mapped {
            Ok(p) => p,
            Err((reason, detail)) => {
                decisions.push(Decision::Skip(reason, detail));
                continue;
            }
        };
        if let Some(p) = existing.get(&person.email).cloned() {
            let ours = customer.metadata.get(KEY_PARTICIPANT) == Some(&p.id);
            let already_linked = ours
                || p.stripe_customer_id.as_deref() == Some(customer.id.as_str())
                || sending::customers_of(&mut *conn, &c.account_id, &p.id)
                    .await?
                    .contains(&customer.id);
            decisions.push(Decision::Link {
                participant: Box::new(p),
                already_linked,
            });
        } else if room <= 0 {
            decisions.push(Decision::Skip(
                SkipReason::UserLimit,
                "Not added: the account's participant limit was reached".into(),
            ));
        } else {
            room -= 1;
            decisions.push(Decision::Enrol(person));
        }
    }
    Ok(decisions)
}

/// Where customers are being placed: a sync of a campaign, as of `now`.
pub(super) struct Target<'a> {
    c: &'a CampaignRow,
    run: &'a RunRow,
    now: i64,
}

impl Target<'_> {
    fn how(&self) -> &'static str {
        match self.run.kind {
            RunKind::Once => "sync",
            RunKind::Ongoing => "ongoing sync",
        }
    }

    fn outcome<'a>(
        &'a self,
        customer: &'a CustomerFacts,
        outcome: &'a str,
        detail: String,
    ) -> NewOutcome<'a> {
        NewOutcome {
            run_id: &self.run.id,
            customer_id: &customer.id,
            email: customer.email.as_deref().unwrap_or_default().trim(),
            outcome,
            detail,
            participant_id: None,
            write_pending: false,
            at: self.now,
        }
    }
}

/// Why a customer who is someone already in the campaign was not enrolled.
pub(super) fn already_there(p: &participants::ParticipantRow, already_linked: bool) -> String {
    format!(
        "Already in the campaign ({}, joined {}); {}",
        p.email,
        format_date(p.created_at),
        if already_linked {
            "already linked to this customer"
        } else {
            "linked to this customer instead"
        }
    )
}

/// Carries out the decisions for customers none of whom the run has recorded and no two of
/// whom share an email, within the run's transaction, in a few statements; counts them.
pub(super) async fn place(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    to: &Target<'_>,
    customers: &[CustomerFacts],
    decisions: Vec<Decision>,
    tally: &mut Tally,
) -> Result<(), AppError> {
    let (c, run, now, how) = (to.c, to.run, to.now, to.how());
    let mut outcomes = Vec::new();
    let mut linked = Vec::new();
    let mut newcomers = Vec::new();
    let mut enrolling = Vec::new();
    for (customer, decision) in customers.iter().zip(decisions) {
        match decision {
            Decision::Skip(reason, detail) => {
                tally.skip(reason);
                outcomes.push(to.outcome(customer, reason.key(), detail));
            }
            Decision::Link {
                participant,
                already_linked,
            } => {
                if already_linked && run.kind == RunKind::Ongoing {
                    // Refloop's own customer for someone already here (sending to Stripe).
                    continue;
                }
                tally.skip(SkipReason::AlreadyParticipant);
                let detail = already_there(&participant, already_linked);
                outcomes.push(to.outcome(customer, SkipReason::AlreadyParticipant.key(), detail));
                if !already_linked {
                    linked.push((participant, customer.id.as_str()));
                }
            }
            Decision::Enrol(person) => {
                let note = format!(
                    "Enrolled from Stripe customer {} by {how} on {}; {}",
                    customer.id,
                    format_date(now),
                    run.settings.describe_write_back()
                );
                newcomers.push(Newcomer {
                    email: person.email,
                    first_name: person.first_name,
                    last_name: person.last_name,
                    fields: person.fields,
                    source: Source::Sync {
                        customer: customer.id.clone(),
                        note,
                    },
                });
                enrolling.push(customer);
            }
        }
    }
    let admitted = admit_all(tx, c, None, newcomers, now).await?;
    let write = run.settings.writes_back();
    let mut links = Vec::new();
    for (customer, person) in enrolling.into_iter().zip(&admitted) {
        match person {
            Some(p) => {
                tally.enrolled += 1;
                tally.to_write += i64::from(write);
                let mut o = to.outcome(customer, "enrolled", String::new());
                o.participant_id = Some(p.id.clone());
                o.write_pending = write;
                outcomes.push(o);
                links.push((p.id.as_str(), customer.id.as_str()));
            }
            None => {
                // They joined by themselves while the sync ran.
                tally.skip(SkipReason::AlreadyParticipant);
                let detail = "Already in the campaign (joined while the sync ran)".to_string();
                outcomes.push(to.outcome(customer, SkipReason::AlreadyParticipant.key(), detail));
            }
        }
    }
    sending::link_customers(tx, &c.account_id, &links, how, now).await?;
    for (participant, customer) in linked {
        link_existing(tx, &participant, customer, how, now).await?;
    }
    tally.read += outcomes.len() as i64;
    db::sync::record_outcomes(tx, &outcomes).await?;
    Ok(())
}

/// Links a customer to someone already in the campaign (who is then in Stripe).
pub(crate) async fn link_existing(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    p: &participants::ParticipantRow,
    customer: &str,
    how: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sending::link_customer(tx, &p.account_id, &p.id, customer, how, now).await?;
    let text = format!("Linked to Stripe customer {customer} by {how}");
    if p.stripe_status != StripeStatus::Sent {
        let outcome = Outcome {
            status: StripeStatus::Sent,
            customer: Some(customer.to_string()),
            note: text.clone(),
            since: None,
        };
        sending::set_outcome(&mut **tx, &p.account_id, &p.id, &outcome).await?;
        let sent = participants::ParticipantRow {
            stripe_status: StripeStatus::Sent,
            stripe_customer_id: Some(customer.to_string()),
            ..p.clone()
        };
        crate::workflows::outbound::about_participant(
            tx,
            crate::domain::webhooks::WebhookEvent::ParticipantSentToStripe,
            &sent,
        )
        .await?;
    }
    participants::add_event(&mut **tx, p, EventKind::SentToStripe, &text, now).await?;
    Ok(())
}

/// How many more people the account may hold.
pub(super) async fn room(conn: &mut AnyConnection, account_id: &str) -> Result<i64, sqlx::Error> {
    let limit = campaigns::participant_limit(&mut *conn, account_id).await?;
    let count = participants::count_in_account(&mut *conn, account_id).await?;
    Ok(limit - count)
}

/// Splits customers where an email comes again, so that each part can be decided at once: a
/// customer whose email an earlier customer of the same batch brought is then seen as
/// someone already in the campaign.
pub(super) fn distinct_runs(customers: &[CustomerFacts]) -> Vec<&[CustomerFacts]> {
    let mut parts = Vec::new();
    let (mut start, mut seen) = (0, HashSet::new());
    for (i, customer) in customers.iter().enumerate() {
        let email = customer.normalised_email();
        if !email.is_empty() && !seen.insert(email.clone()) {
            parts.push(&customers[start..i]);
            start = i;
            seen = HashSet::from([email]);
        }
    }
    parts.push(&customers[start..]);
    parts
}

/// Places a batch of customers in one run, within `tx` (which holds the run's lock): the
/// counts, and the write-back's job when links are to be written. A customer the run has
/// recorded already (a retry, or the webhook and the sweep both seeing them) is left as is.
pub(super) async fn place_all(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    c: &CampaignRow,
    run: &RunRow,
    customers: &[CustomerFacts],
    now: i64,
) -> Result<Tally, AppError> {
    let mut tally = Tally::default();
    let ids: Vec<&str> = customers.iter().map(|c| c.id.as_str()).collect();
    let recorded: HashSet<String> = db::sync::recorded(&mut **tx, &run.id, &ids)
        .await?
        .into_iter()
        .collect();
    let mut once = HashSet::new();
    let fresh: Vec<CustomerFacts> = customers
        .iter()
        .filter(|c| !recorded.contains(&c.id) && once.insert(c.id.as_str()))
        .cloned()
        .collect();
    if fresh.is_empty() {
        return Ok(tally);
    }
    crate::db::accounts::lock_admissions(&mut **tx, &c.account_id).await?;
    let mut left = room(tx, &c.account_id).await?;
    let to = Target { c, run, now };
    for part in distinct_runs(&fresh) {
        let decisions = decide_all(tx, c, &run.settings.mapping, part, left).await?;
        let before = tally.enrolled;
        place(tx, &to, part, decisions, &mut tally).await?;
        left -= tally.enrolled - before;
    }
    if tally.to_write > 0 {
        queue::enqueue(tx, &write_job(&run.account_id, &run.id)).await?;
    }
    Ok(tally)
}
