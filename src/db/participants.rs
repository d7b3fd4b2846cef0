//! Participants, their timelines, and the people who could not join. Always looked up within
//! an account, except by the public referral code and the personal page's secret.

use sqlx::{any::AnyRow, Any, AnyConnection, Executor, FromRow, Row};

use super::{Backend, Db};

use crate::domain::participants::{
    DayCounts, EventKind, ParticipantKind, ParticipantQuery, ParticipantSort, ParticipantSummary,
    Qualification, StripeStatus, TimelineEntry, PAGE_SIZE,
};

#[derive(Debug, Clone, PartialEq)]
pub struct ParticipantRow {
    pub id: String,
    pub account_id: String,
    pub campaign_id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// Other fields, by key.
    pub fields: Vec<(String, String)>,
    pub code: String,
    pub page_token: String,
    pub referrer_id: Option<String>,
    /// join, referral or import.
    pub source: String,
    pub qualification: Qualification,
    pub stripe_status: StripeStatus,
    pub stripe_customer_id: Option<String>,
    /// Why the Stripe status is what it is, in words.
    pub stripe_note: String,
    /// Since when they wait for the merchant's system to create their customer.
    pub stripe_since: Option<i64>,
    pub referrals: i64,
    pub qualified_referrals: i64,
    pub created_at: i64,
    /// Invited friends: the spend counted towards the target, when they qualified, and where
    /// they stand in words ("Spent 20.00 USD of 50.00 USD within 30 days (1 payment)").
    pub spent: i64,
    pub qualified_at: Option<i64>,
    pub qualification_note: String,
}

impl ParticipantRow {
    /// Their first name, or their email when they gave none (as evidence names people).
    pub fn first_name_or_email(&self) -> &str {
        if self.first_name.is_empty() {
            &self.email
        } else {
            &self.first_name
        }
    }

    pub fn kind(&self) -> ParticipantKind {
        if self.referrer_id.is_some() {
            ParticipantKind::Invited
        } else {
            ParticipantKind::Referring
        }
    }

    pub fn summary(&self) -> ParticipantSummary {
        ParticipantSummary {
            id: self.id.clone(),
            email: self.email.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            code: self.code.clone(),
            kind: self.kind(),
            qualification: self.qualification,
            stripe_status: self.stripe_status,
            stripe_note: self.stripe_note.clone(),
            referrals: self.referrals,
            qualified_referrals: self.qualified_referrals,
            joined_at: self.created_at,
        }
    }
}

impl FromRow<'_, AnyRow> for ParticipantRow {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let fields: String = row.try_get("fields")?;
        let qualification: String = row.try_get("qualification")?;
        let stripe: String = row.try_get("stripe_status")?;
        Ok(ParticipantRow {
            id: row.try_get("id")?,
            account_id: row.try_get("account_id")?,
            campaign_id: row.try_get("campaign_id")?,
            email: row.try_get("email")?,
            first_name: row.try_get("first_name")?,
            last_name: row.try_get("last_name")?,
            fields: serde_json::from_str(&fields).map_err(|e| sqlx::Error::ColumnDecode {
                index: "fields".into(),
                source: Box::new(e),
            })?,
            code: row.try_get("code")?,
            page_token: row.try_get("page_token")?,
            referrer_id: row.try_get("referrer_id")?,
            source: row.try_get("source")?,
            qualification: Qualification::from_key(&qualification)
                .unwrap_or(Qualification::NotApplicable),
            stripe_status: StripeStatus::from_key(&stripe).unwrap_or(StripeStatus::NotSent),
            stripe_customer_id: row.try_get("stripe_customer_id")?,
            stripe_note: row.try_get("stripe_note")?,
            stripe_since: row.try_get("stripe_since")?,
            referrals: row.try_get("referrals")?,
            qualified_referrals: row.try_get("qualified_referrals")?,
            created_at: row.try_get("created_at")?,
            spent: row.try_get("spent")?,
            qualified_at: row.try_get("qualified_at")?,
            qualification_note: row.try_get("qualification_note")?,
        })
    }
}

pub(crate) const COLUMNS: &str = "id, account_id, campaign_id, email, first_name, last_name, fields, code, page_token, \
     referrer_id, source, qualification, stripe_status, stripe_customer_id, stripe_note, stripe_since, referrals, \
     qualified_referrals, created_at, spent, qualified_at, qualification_note";

/// The text the Users tab searches: lower-case email, names and code.
fn search_text(p: &ParticipantRow) -> String {
    format!("{} {} {} {}", p.email, p.first_name, p.last_name, p.code).to_lowercase()
}

/// Adds participants in one statement; the ids of those added (a person whose email is already
/// in the campaign is not).
pub async fn insert_all(
    conn: &mut AnyConnection,
    people: &[ParticipantRow],
) -> Result<Vec<String>, sqlx::Error> {
    let mut added = Vec::new();
    for chunk in people.chunks(super::rows_per_statement(23)) {
        let sql = format!(
            "INSERT INTO participants ({COLUMNS}, search) VALUES {} \
             ON CONFLICT (campaign_id, email) DO NOTHING RETURNING id",
            super::value_rows(conn, chunk.len(), 23)
        );
        let mut q = sqlx::query_scalar(&sql);
        for p in chunk {
            q = q
                .bind(&p.id)
                .bind(&p.account_id)
                .bind(&p.campaign_id)
                .bind(&p.email)
                .bind(&p.first_name)
                .bind(&p.last_name)
                .bind(serde_json::to_string(&p.fields).expect("fields serialize"))
                .bind(&p.code)
                .bind(&p.page_token)
                .bind(&p.referrer_id)
                .bind(&p.source)
                .bind(p.qualification.key())
                .bind(p.stripe_status.key())
                .bind(&p.stripe_customer_id)
                .bind(&p.stripe_note)
                .bind(p.stripe_since)
                .bind(p.referrals)
                .bind(p.qualified_referrals)
                .bind(p.created_at)
                .bind(p.spent)
                .bind(p.qualified_at)
                .bind(&p.qualification_note)
                .bind(search_text(p));
        }
        added.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(added)
}

/// Which of these referral codes someone already has.
pub async fn codes_taken<'c>(
    ex: impl Executor<'c, Database = Any>,
    codes: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT code FROM participants WHERE code IN {}",
        super::in_list(1, codes.len())
    );
    let mut q = sqlx::query_scalar(&sql);
    for c in codes {
        q = q.bind(c);
    }
    q.fetch_all(ex).await
}

pub async fn get<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    id: &str,
) -> Result<Option<ParticipantRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM participants WHERE id = $1 AND account_id = $2"
    ))
    .bind(id)
    .bind(account_id)
    .fetch_optional(ex)
    .await
}

/// The participant a public referral link names.
pub async fn by_code<'c>(
    ex: impl Executor<'c, Database = Any>,
    code: &str,
) -> Result<Option<ParticipantRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM participants WHERE code = $1"
    ))
    .bind(code)
    .fetch_optional(ex)
    .await
}

/// The participant whose personal page this is.
pub async fn by_page_token<'c>(
    ex: impl Executor<'c, Database = Any>,
    token: &str,
) -> Result<Option<ParticipantRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM participants WHERE page_token = $1"
    ))
    .bind(token)
    .fetch_optional(ex)
    .await
}

/// The participant with this (normalised) email in a campaign.
pub async fn by_email<'c>(
    ex: impl Executor<'c, Database = Any>,
    campaign_id: &str,
    email: &str,
) -> Result<Option<ParticipantRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM participants WHERE campaign_id = $1 AND email = $2"
    ))
    .bind(campaign_id)
    .bind(email)
    .fetch_optional(ex)
    .await
}

/// The participants with any of these (normalised) emails in a campaign.
pub async fn by_emails<'c>(
    ex: impl Executor<'c, Database = Any>,
    campaign_id: &str,
    emails: &[&str],
) -> Result<Vec<ParticipantRow>, sqlx::Error> {
    if emails.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM participants WHERE campaign_id = $1 AND email IN {}",
        super::in_list(2, emails.len())
    );
    let mut q = sqlx::query_as(&sql).bind(campaign_id);
    for e in emails {
        q = q.bind(*e);
    }
    q.fetch_all(ex).await
}

/// Participants across the account's campaigns (what its limit counts).
pub async fn count_in_account<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM participants WHERE account_id = $1")
        .bind(account_id)
        .fetch_one(ex)
        .await
}

pub async fn count_in_campaign<'c>(
    ex: impl Executor<'c, Database = Any>,
    campaign_id: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM participants WHERE campaign_id = $1")
        .bind(campaign_id)
        .fetch_one(ex)
        .await
}

/// Counts one more friend who joined through this referrer.
pub async fn add_referral<'c>(
    ex: impl Executor<'c, Database = Any>,
    referrer_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE participants SET referrals = referrals + 1 WHERE id = $1")
        .bind(referrer_id)
        .execute(ex)
        .await?;
    Ok(())
}

/// Writes a participant's names and other fields (and the search text they make).
pub async fn set_details<'c>(
    ex: impl Executor<'c, Database = Any>,
    p: &ParticipantRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE participants SET first_name = $1, last_name = $2, fields = $3, search = $4 \
         WHERE id = $5 AND account_id = $6",
    )
    .bind(&p.first_name)
    .bind(&p.last_name)
    .bind(serde_json::to_string(&p.fields).expect("fields serialize"))
    .bind(search_text(p))
    .bind(&p.id)
    .bind(&p.account_id)
    .execute(ex)
    .await?;
    Ok(())
}

/// Whether anything counts on `p` beyond their own sign-up: friends who joined through them,
/// rewards earned by or for them, or payments counted as referred. Such a person is kept.
pub async fn has_history(
    conn: &mut AnyConnection,
    p: &ParticipantRow,
) -> Result<Option<&'static str>, sqlx::Error> {
    let checks: [(&str, &'static str); 3] = [
        (
            "SELECT COUNT(*) FROM participants WHERE referrer_id = $1",
            "friends joined through their link",
        ),
        (
            "SELECT COUNT(*) FROM rewards WHERE referral_id = $1 OR recipient_id = $1",
            "rewards were earned by or for them",
        ),
        (
            "SELECT COUNT(*) FROM referred_payments WHERE participant_id = $1 OR referrer_id = $1",
            "their payments count in the referred revenue",
        ),
    ];
    for (sql, what) in checks {
        let n: i64 = sqlx::query_scalar(sql)
            .bind(&p.id)
            .fetch_one(&mut *conn)
            .await?;
        if n > 0 {
            return Ok(Some(what));
        }
    }
    Ok(None)
}

/// Deletes a participant without history (see `has_history`) and everything that is only
/// theirs; their referrer counts one friend fewer. Records that outlive them (a checkout's
/// attribution, a sync's outcome) keep no link to them.
pub async fn remove(conn: &mut AnyConnection, p: &ParticipantRow) -> Result<(), sqlx::Error> {
    for sql in [
        "DELETE FROM participant_events WHERE participant_id = $1",
        "DELETE FROM participant_customers WHERE participant_id = $1",
        "DELETE FROM participant_emails WHERE participant_id = $1",
        "DELETE FROM email_unsubscribes WHERE participant_id = $1",
        "DELETE FROM offer_codes WHERE participant_id = $1",
        "DELETE FROM referral_reviews WHERE participant_id = $1",
        "DELETE FROM join_sightings WHERE participant_id = $1",
        "DELETE FROM referral_clicks WHERE referrer_id = $1",
        "UPDATE checkout_attributions SET participant_id = NULL WHERE participant_id = $1",
        "UPDATE sync_outcomes SET participant_id = NULL WHERE participant_id = $1",
    ] {
        sqlx::query(sql).bind(&p.id).execute(&mut *conn).await?;
    }
    if let Some(referrer) = &p.referrer_id {
        let qualified = i64::from(p.qualification == Qualification::Qualified);
        sqlx::query(
            "UPDATE participants SET referrals = referrals - 1, \
             qualified_referrals = qualified_referrals - $1 WHERE id = $2",
        )
        .bind(qualified)
        .bind(referrer)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query("DELETE FROM participants WHERE id = $1 AND account_id = $2")
        .bind(&p.id)
        .bind(&p.account_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

const SUMMARY_COLUMNS: &str =
    "id, email, first_name, last_name, code, referrer_id, qualification, \
     stripe_status, stripe_note, referrals, qualified_referrals, created_at";

struct SummaryRow(ParticipantSummary);

impl FromRow<'_, AnyRow> for SummaryRow {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let referrer: Option<String> = row.try_get("referrer_id")?;
        let qualification: String = row.try_get("qualification")?;
        let stripe: String = row.try_get("stripe_status")?;
        Ok(SummaryRow(ParticipantSummary {
            id: row.try_get("id")?,
            email: row.try_get("email")?,
            first_name: row.try_get("first_name")?,
            last_name: row.try_get("last_name")?,
            code: row.try_get("code")?,
            kind: if referrer.is_some() {
                ParticipantKind::Invited
            } else {
                ParticipantKind::Referring
            },
            qualification: Qualification::from_key(&qualification)
                .unwrap_or(Qualification::NotApplicable),
            stripe_status: StripeStatus::from_key(&stripe).unwrap_or(StripeStatus::NotSent),
            stripe_note: row.try_get("stripe_note")?,
            referrals: row.try_get("referrals")?,
            qualified_referrals: row.try_get("qualified_referrals")?,
            joined_at: row.try_get("created_at")?,
        }))
    }
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
fn like_pattern(search: &str) -> String {
    let mut pattern = String::from("%");
    for c in search.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Up to how many trigram matches the Users tab's page is read by sorting the matches rather
/// than by walking the campaign's index in order (at 100,000 people: 10,000 matches sorted took
/// 15 ms, the index walk 3 ms; one match sorted 0.5 ms, the walk 12 ms).
const SORT_MATCHES_UP_TO: i64 = 2_000;

/// One page of a campaign's participants and how many match in all. Only the filters in use
/// go into the statement, so each query can use the index made for it; the search goes through
/// a trigram index (FTS5 on SQLite, pg_trgm on PostgreSQL) when it is long enough to.
pub async fn search(
    db: &Db,
    account_id: &str,
    campaign_id: &str,
    query: &ParticipantQuery,
) -> Result<(Vec<ParticipantSummary>, i64), sqlx::Error> {
    let mut binds: Vec<String> = vec![account_id.into(), campaign_id.into()];
    // The conditions after the campaign's, each starting " AND ".
    let mut filter = String::new();
    // Adds a condition; its `?`, if any, is the next placeholder, bound to `value`.
    let mut and = |condition: &str, value: Option<String>| {
        filter.push_str(" AND ");
        match value {
            Some(value) => {
                binds.push(value);
                filter.push_str(&condition.replace('?', &format!("${}", binds.len())));
            }
            None => filter.push_str(condition),
        }
    };
    match query.kind {
        Some(ParticipantKind::Invited) => and("referrer_id IS NOT NULL", None),
        Some(ParticipantKind::Referring) => and("referrer_id IS NULL", None),
        None => {}
    }
    let term = query.search.trim().to_lowercase();
    let trigram_search = !term.is_empty()
        && db.backend() == Backend::Sqlite
        && term.chars().count() >= 3
        && !term.contains(['"', '%', '_', '\\']);
    if !term.is_empty() {
        if trigram_search {
            and(
                "rowid IN (SELECT rowid FROM participants_search WHERE participants_search MATCH ?)",
                Some(format!("\"{term}\"")),
            );
        } else {
            and("search LIKE ? ESCAPE '\\'", Some(like_pattern(&term)));
        }
    }
    if let Some(q) = query.qualification {
        and("qualification = ?", Some(q.key().into()));
    }
    if let Some(st) = query.stripe {
        and("stripe_status = ?", Some(st.key().into()));
    }
    let order = match query.sort {
        ParticipantSort::Newest => "created_at DESC, id DESC",
        ParticipantSort::Oldest => "created_at ASC, id ASC",
        ParticipantSort::Name => "last_name ASC, first_name ASC, id ASC",
        ParticipantSort::Email => "email ASC",
        ParticipantSort::Referrals => "referrals DESC, created_at DESC, id DESC",
    };
    // Left to itself, SQLite walks the whole campaign's index and tests each row against the
    // trigram matches (12 ms at 100,000 people, even for one match). The unary `+` keeps the
    // campaign's index out, so the matches drive the lookup by rowid: always for the count, and
    // for the page when few enough match that sorting them beats walking the index in order.
    let in_campaign = |driven_by_matches: bool| {
        if trigram_search && driven_by_matches {
            format!("+account_id = $1 AND +campaign_id = $2{filter}")
        } else {
            format!("account_id = $1 AND campaign_id = $2{filter}")
        }
    };
    let count_sql = format!(
        "SELECT COUNT(*) FROM participants WHERE {}",
        in_campaign(true)
    );
    let binds = &binds;
    let count = async {
        let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
        for b in binds {
            count = count.bind(b);
        }
        count.fetch_one(db.pool()).await
    };
    let n = binds.len();
    let offset = i64::from(query.page.saturating_sub(1)) * i64::from(PAGE_SIZE);
    let page = |page_filter: String| async move {
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM participants WHERE {page_filter} ORDER BY {order} LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        );
        let mut page = sqlx::query_as::<_, SummaryRow>(&sql);
        for b in binds {
            page = page.bind(b);
        }
        page.bind(i64::from(PAGE_SIZE))
            .bind(offset)
            .fetch_all(db.pool())
            .await
    };
    let (rows, total) = if trigram_search {
        // How the page is read depends on how many match.
        let total = count.await?;
        if total == 0 {
            return Ok((Vec::new(), 0));
        }
        (page(in_campaign(total <= SORT_MATCHES_UP_TO)).await?, total)
    } else {
        // The count and the page at once, on two connections: a deep page of a large campaign
        // waits for the slower of the two instead of both.
        let (total, rows) = tokio::try_join!(count, page(in_campaign(false)))?;
        (rows, total)
    };
    Ok((rows.into_iter().map(|r| r.0).collect(), total))
}

/// The friends someone referred, newest first.
pub async fn referred_by<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    referrer_id: &str,
) -> Result<Vec<ParticipantSummary>, sqlx::Error> {
    let rows: Vec<SummaryRow> = sqlx::query_as(&format!(
        "SELECT {SUMMARY_COLUMNS} FROM participants WHERE account_id = $1 AND referrer_id = $2 \
         ORDER BY created_at DESC, id DESC LIMIT 500"
    ))
    .bind(account_id)
    .bind(referrer_id)
    .fetch_all(ex)
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// The campaign's newest participant (the Emails step's preview is filled in with theirs).
pub async fn newest_in_campaign<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    campaign_id: &str,
) -> Result<Option<ParticipantRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM participants WHERE account_id = $1 AND campaign_id = $2 \
         ORDER BY created_at DESC, id DESC LIMIT 1"
    ))
    .bind(account_id)
    .bind(campaign_id)
    .fetch_optional(ex)
    .await
}

/// Every participant of a campaign, oldest first (for the CSV export).
pub async fn all_in_campaign<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    campaign_id: &str,
) -> Result<Vec<ParticipantRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM participants WHERE account_id = $1 AND campaign_id = $2 \
         ORDER BY created_at, id"
    ))
    .bind(account_id)
    .bind(campaign_id)
    .fetch_all(ex)
    .await
}

/// Appends to a participant's timeline.
pub async fn add_event<'c>(
    ex: impl Executor<'c, Database = Any>,
    p: &ParticipantRow,
    kind: EventKind,
    detail: &str,
    at: i64,
) -> Result<(), sqlx::Error> {
    let sql = insert_events("($1, $2, $3, $4, $5, $6, $7)");
    bind_event(sqlx::query(&sql), p, kind, detail, at)
        .execute(ex)
        .await?;
    Ok(())
}

/// Timeline entries gathered while one change is worked out, then written together in one
/// statement, in the same transaction as the change.
#[derive(Debug, Default)]
pub struct Timeline {
    entries: Vec<(ParticipantRow, EventKind, String)>,
}

impl Timeline {
    /// An entry on `p`'s timeline.
    pub fn add(&mut self, p: &ParticipantRow, kind: EventKind, text: impl Into<String>) {
        self.entries.push((p.clone(), kind, text.into()));
    }

    /// An entry on `p`'s timeline, and its echo on `other`'s: "{p's email}: {text}".
    pub fn echoed(
        &mut self,
        p: &ParticipantRow,
        kind: EventKind,
        text: &str,
        other: Option<&ParticipantRow>,
        echo: EventKind,
    ) {
        self.add(p, kind, text);
        if let Some(o) = other {
            self.add(o, echo, format!("{}: {text}", p.email));
        }
    }

    /// Writes what was gathered, all at `at`, in the order it was added.
    pub async fn write(self, conn: &mut AnyConnection, at: i64) -> Result<(), sqlx::Error> {
        let events: Vec<_> = self
            .entries
            .iter()
            .map(|(p, kind, text)| (p, *kind, text.as_str()))
            .collect();
        add_events(conn, &events, at).await
    }
}

/// Appends to several timelines, many entries a statement: (whose, what, detail).
pub async fn add_events(
    conn: &mut AnyConnection,
    events: &[(&ParticipantRow, EventKind, &str)],
    at: i64,
) -> Result<(), sqlx::Error> {
    for chunk in events.chunks(super::rows_per_statement(7)) {
        let sql = insert_events(&super::value_rows(conn, chunk.len(), 7));
        let mut q = sqlx::query(&sql);
        for (p, kind, detail) in chunk {
            q = bind_event(q, p, *kind, detail, at);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

fn insert_events(values: &str) -> String {
    format!(
        "INSERT INTO participant_events (id, account_id, campaign_id, participant_id, kind, detail, at) \
         VALUES {values}"
    )
}

fn bind_event<'q>(
    q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    p: &'q ParticipantRow,
    kind: EventKind,
    detail: &'q str,
    at: i64,
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    q.bind(super::new_id("pev"))
        .bind(&p.account_id)
        .bind(&p.campaign_id)
        .bind(&p.id)
        .bind(kind.key())
        .bind(detail)
        .bind(at)
}

/// A participant's timeline, newest first.
pub async fn timeline<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    participant_id: &str,
) -> Result<Vec<TimelineEntry>, sqlx::Error> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT kind, detail, at FROM participant_events WHERE account_id = $1 AND participant_id = $2 \
         ORDER BY at DESC, id DESC LIMIT 1000",
    )
    .bind(account_id)
    .bind(participant_id)
    .fetch_all(ex)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(kind, detail, at)| TimelineEntry {
            label: EventKind::from_key(&kind)
                .map(|k| k.label().to_string())
                .unwrap_or_else(|| kind.clone()),
            kind,
            detail,
            at,
        })
        .collect())
}

/// Events per day and kind of a campaign since `since` (day starts in Unix seconds).
pub async fn daily_counts<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    campaign_id: &str,
    since: i64,
) -> Result<Vec<DayCounts>, sqlx::Error> {
    let rows: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT (at / 86400) * 86400 AS day, kind, COUNT(*) FROM participant_events \
         WHERE account_id = $1 AND campaign_id = $2 AND at >= $3 GROUP BY day, kind ORDER BY day",
    )
    .bind(account_id)
    .bind(campaign_id)
    .bind(since)
    .fetch_all(ex)
    .await?;
    let mut days: Vec<DayCounts> = Vec::new();
    for (day, kind, n) in rows {
        if days.last().is_none_or(|d| d.day != day) {
            days.push(DayCounts {
                day,
                ..DayCounts::default()
            });
        }
        let d = days.last_mut().expect("just pushed");
        add_to(d, &kind, n);
    }
    Ok(days)
}

/// All-time totals per kind of a campaign.
pub async fn totals<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    campaign_id: &str,
) -> Result<DayCounts, sqlx::Error> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT kind, COUNT(*) FROM participant_events WHERE account_id = $1 AND campaign_id = $2 GROUP BY kind",
    )
    .bind(account_id)
    .bind(campaign_id)
    .fetch_all(ex)
    .await?;
    let mut totals = DayCounts::default();
    for (kind, n) in rows {
        add_to(&mut totals, &kind, n);
    }
    Ok(totals)
}

fn add_to(d: &mut DayCounts, kind: &str, n: i64) {
    match EventKind::from_key(kind) {
        Some(EventKind::Clicked) => d.clicks += n,
        Some(EventKind::Joined | EventKind::Imported | EventKind::Synced) => d.joins += n,
        Some(EventKind::Referred) => d.invited += n,
        Some(EventKind::Qualified) => d.qualified += n,
        Some(EventKind::Rewarded) => d.rewards += n,
        Some(
            EventKind::SentToStripe
            | EventKind::StripeWaiting
            | EventKind::NotSentToStripe
            | EventKind::Spent
            | EventKind::Unqualified
            | EventKind::FriendUpdate
            | EventKind::RewardUpdate
            | EventKind::SyncWritten
            | EventKind::StripeAccountChanged
            | EventKind::Emailed
            | EventKind::Attributed
            | EventKind::Flagged
            | EventKind::DetailsChanged,
        )
        | None => {}
    }
}

/// Marks a referral link's visitor for today; true when they had no mark yet (a click to
/// count).
pub async fn note_click<'c>(
    ex: impl Executor<'c, Database = Any>,
    referrer_id: &str,
    visitor: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO referral_clicks (referrer_id, visitor, day) VALUES ($1, $2, $3) \
         ON CONFLICT (referrer_id, visitor, day) DO NOTHING",
    )
    .bind(referrer_id)
    .bind(visitor)
    .bind(now / 86_400)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Someone who could not join, and why (a `JoinRefusal` key).
pub async fn record_refusal<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    campaign_id: &str,
    email: &str,
    reason: &str,
    ip: &str,
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO join_refusals (id, account_id, campaign_id, email, reason, ip, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(super::new_id("jrf"))
    .bind(account_id)
    .bind(campaign_id)
    .bind(email)
    .bind(reason)
    .bind(ip)
    .bind(at)
    .execute(ex)
    .await?;
    Ok(())
}

/// Refusals of a campaign by reason, most frequent first.
pub async fn refusal_counts<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    campaign_id: &str,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT reason, COUNT(*) AS n FROM join_refusals WHERE account_id = $1 AND campaign_id = $2 \
         GROUP BY reason ORDER BY n DESC, reason",
    )
    .bind(account_id)
    .bind(campaign_id)
    .fetch_all(ex)
    .await
}

/// Notes a join-form submission from `ip` and says how many it made since `since`, this one
/// included.
pub async fn note_attempt<'c, E>(ex: E, ip: &str, now: i64, since: i64) -> Result<i64, sqlx::Error>
where
    E: Executor<'c, Database = Any> + Copy,
{
    sqlx::query("INSERT INTO join_attempts (id, ip, at) VALUES ($1, $2, $3)")
        .bind(super::new_id("jat"))
        .bind(ip)
        .bind(now)
        .execute(ex)
        .await?;
    sqlx::query_scalar("SELECT COUNT(*) FROM join_attempts WHERE ip = $1 AND at >= $2")
        .bind(ip)
        .bind(since)
        .fetch_one(ex)
        .await
}

/// What the API's list of participants is filtered by.
#[derive(Debug, Clone, Default)]
pub struct ApiFilter {
    /// Campaign ids; empty: every campaign of the account.
    pub campaigns: Vec<String>,
    pub email: Option<String>,
    pub code: Option<String>,
    /// After this participant (its time and id), newest first.
    pub after: Option<(i64, String)>,
}

/// A page of the account's participants, newest first: up to `limit`, and whether more follow.
pub async fn api_page<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    filter: &ApiFilter,
    limit: i64,
) -> Result<(Vec<ParticipantRow>, bool), sqlx::Error> {
    let mut sql = format!("SELECT {COLUMNS} FROM participants WHERE account_id = $1");
    let mut n = 1;
    let mut next = || {
        n += 1;
        format!("${n}")
    };
    if !filter.campaigns.is_empty() {
        let list: Vec<String> = filter.campaigns.iter().map(|_| next()).collect();
        sql.push_str(&format!(" AND campaign_id IN ({})", list.join(", ")));
    }
    if filter.email.is_some() {
        sql.push_str(&format!(" AND email = {}", next()));
    }
    if filter.code.is_some() {
        sql.push_str(&format!(" AND code = {}", next()));
    }
    if filter.after.is_some() {
        let (at, at_again, id) = (next(), next(), next());
        sql.push_str(&format!(
            " AND (created_at < {at} OR (created_at = {at_again} AND id < {id}))"
        ));
    }
    sql.push_str(&format!(
        " ORDER BY created_at DESC, id DESC LIMIT {}",
        next()
    ));
    let mut q = sqlx::query_as::<_, ParticipantRow>(&sql).bind(account_id);
    for c in &filter.campaigns {
        q = q.bind(c);
    }
    if let Some(e) = &filter.email {
        q = q.bind(e.trim().to_lowercase());
    }
    if let Some(c) = &filter.code {
        q = q.bind(c);
    }
    if let Some((at, id)) = &filter.after {
        q = q.bind(*at).bind(*at).bind(id);
    }
    let mut rows = q.bind(limit + 1).fetch_all(ex).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    Ok((rows, more))
}
