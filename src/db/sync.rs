//! Syncs of Stripe customers into campaigns: each campaign's settings, the runs with their
//! checkpoint and counts, and what became of every customer a run read. Every statement is
//! scoped to the account.

use sqlx::{any::AnyRow, Any, AnyConnection, Executor, FromRow, Row};

use crate::domain::sync::{RunKind, RunStatus, SkipReason, SkippedCustomer, SyncSettings};

pub async fn settings<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    campaign_id: &str,
) -> Result<Option<SyncSettings>, sqlx::Error> {
    super::campaign_json::load(ex, "sync_settings", account_id, campaign_id).await
}

pub async fn save_settings<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    campaign_id: &str,
    settings: &SyncSettings,
    now: i64,
) -> Result<(), sqlx::Error> {
    super::campaign_json::save(ex, "sync_settings", account_id, campaign_id, settings, now).await
}

/// One sync, with the settings it runs with (as they were when it started).
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    pub id: String,
    pub account_id: String,
    pub campaign_id: String,
    pub kind: RunKind,
    pub status: RunStatus,
    pub settings: SyncSettings,
    pub started_by: String,
    pub started_at: i64,
    pub started_ms: i64,
    pub finished_at: Option<i64>,
    /// The last customer whose outcome is recorded (one-time runs).
    pub cursor: Option<String>,
    /// The newest customer creation time seen (ongoing syncs).
    pub watermark: i64,
    pub tally: Tally,
    pub written: i64,
    pub write_failed: i64,
    pub note: String,
}

/// Counts a page of outcomes adds to its run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub read: i64,
    pub enrolled: i64,
    pub blank: i64,
    pub existing: i64,
    pub deleted: i64,
    pub limit: i64,
    pub to_write: i64,
}

impl Tally {
    pub fn skip(&mut self, reason: SkipReason) {
        match reason {
            SkipReason::BlankField => self.blank += 1,
            SkipReason::AlreadyParticipant => self.existing += 1,
            SkipReason::Deleted => self.deleted += 1,
            SkipReason::UserLimit => self.limit += 1,
        }
    }

    pub fn skipped(&self) -> Vec<(SkipReason, i64)> {
        [
            (SkipReason::BlankField, self.blank),
            (SkipReason::AlreadyParticipant, self.existing),
            (SkipReason::Deleted, self.deleted),
            (SkipReason::UserLimit, self.limit),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect()
    }
}

impl FromRow<'_, AnyRow> for RunRow {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let text = |c: &str| row.try_get::<String, _>(c);
        let bad = |c: &str, v: String| sqlx::Error::ColumnDecode {
            index: c.into(),
            source: format!("unknown value {v}").into(),
        };
        let kind = text("kind")?;
        let status = text("status")?;
        Ok(RunRow {
            id: text("id")?,
            account_id: text("account_id")?,
            campaign_id: text("campaign_id")?,
            kind: RunKind::from_key(&kind).ok_or_else(|| bad("kind", kind))?,
            status: RunStatus::from_key(&status).ok_or_else(|| bad("status", status))?,
            settings: serde_json::from_str(&text("settings")?).unwrap_or_default(),
            started_by: text("started_by")?,
            started_at: row.try_get("started_at")?,
            started_ms: row.try_get("started_ms")?,
            finished_at: row.try_get("finished_at")?,
            cursor: row.try_get("cursor")?,
            watermark: row.try_get("watermark")?,
            tally: Tally {
                read: row.try_get("customers_read")?,
                enrolled: row.try_get("enrolled")?,
                blank: row.try_get("skipped_blank")?,
                existing: row.try_get("skipped_existing")?,
                deleted: row.try_get("skipped_deleted")?,
                limit: row.try_get("skipped_limit")?,
                to_write: row.try_get("to_write")?,
            },
            written: row.try_get("written")?,
            write_failed: row.try_get("write_failed")?,
            note: text("note")?,
        })
    }
}

const RUN_COLUMNS: &str = "id, account_id, campaign_id, kind, status, settings, started_by, started_at, started_ms, \
     finished_at, cursor, watermark, customers_read, enrolled, skipped_blank, skipped_existing, skipped_deleted, \
     skipped_limit, to_write, written, write_failed, note";

pub async fn insert_run<'c>(
    ex: impl Executor<'c, Database = Any>,
    r: &RunRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sync_runs (id, account_id, campaign_id, kind, status, settings, started_by, started_at, \
         started_ms, watermark, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&r.id)
    .bind(&r.account_id)
    .bind(&r.campaign_id)
    .bind(r.kind.key())
    .bind(r.status.key())
    .bind(serde_json::to_string(&r.settings).expect("settings serialize"))
    .bind(&r.started_by)
    .bind(r.started_at)
    .bind(r.started_ms)
    .bind(r.watermark)
    .bind(&r.note)
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn run<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    id: &str,
) -> Result<Option<RunRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {RUN_COLUMNS} FROM sync_runs WHERE account_id = $1 AND id = $2"
    ))
    .bind(account_id)
    .bind(id)
    .fetch_optional(ex)
    .await
}

/// A campaign's syncs, newest first.
pub async fn runs_of<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    campaign_id: &str,
    limit: i64,
) -> Result<Vec<RunRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {RUN_COLUMNS} FROM sync_runs WHERE account_id = $1 AND campaign_id = $2 \
         ORDER BY started_ms DESC, id DESC LIMIT $3"
    ))
    .bind(account_id)
    .bind(campaign_id)
    .bind(limit)
    .fetch_all(ex)
    .await
}

/// The campaign's sync in `status` of `kind`, if there is one.
pub async fn current<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    campaign_id: &str,
    kind: RunKind,
    statuses: &[RunStatus],
) -> Result<Option<RunRow>, sqlx::Error> {
    let list: Vec<String> = statuses.iter().map(|s| format!("'{}'", s.key())).collect();
    sqlx::query_as(&format!(
        "SELECT {RUN_COLUMNS} FROM sync_runs WHERE account_id = $1 AND campaign_id = $2 AND kind = $3 \
         AND status IN ({}) ORDER BY started_ms DESC LIMIT 1",
        list.join(", ")
    ))
    .bind(account_id)
    .bind(campaign_id)
    .bind(kind.key())
    .fetch_optional(ex)
    .await
}

/// The ongoing syncs that are on in an account (with a campaign that has the switch on).
pub async fn watching<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
) -> Result<Vec<RunRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {RUN_COLUMNS} FROM sync_runs WHERE account_id = $1 AND kind = 'ongoing' AND status = 'watching' \
         AND campaign_id IN (SELECT id FROM campaigns WHERE account_id = $1 AND ongoing_stripe_sync = 1) \
         ORDER BY started_ms"
    ))
    .bind(account_id)
    .fetch_all(ex)
    .await
}

/// Accounts with at least one ongoing sync on.
pub async fn accounts_watching<'c>(
    ex: impl Executor<'c, Database = Any>,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT account_id FROM sync_runs WHERE kind = 'ongoing' AND status = 'watching'",
    )
    .fetch_all(ex)
    .await
}

/// Takes the run's row lock until the transaction ends (every change to a run's outcomes and
/// counts holds it, so the write-back never misses outcomes committed meanwhile).
pub async fn lock_run<'c>(
    ex: impl Executor<'c, Database = Any>,
    run_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sync_runs SET written = written WHERE id = $1")
        .bind(run_id)
        .execute(ex)
        .await?;
    Ok(())
}

/// Adds a page's counts, and moves the checkpoint and the watermark.
pub async fn add_tally<'c>(
    ex: impl Executor<'c, Database = Any>,
    run_id: &str,
    t: &Tally,
    cursor: Option<&str>,
    watermark: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE sync_runs SET customers_read = customers_read + $1, enrolled = enrolled + $2, \
         skipped_blank = skipped_blank + $3, skipped_existing = skipped_existing + $4, \
         skipped_deleted = skipped_deleted + $5, skipped_limit = skipped_limit + $6, to_write = to_write + $7, \
         cursor = COALESCE($8, cursor), watermark = CASE WHEN watermark > $9 THEN watermark ELSE $9 END \
         WHERE id = $10",
    )
    .bind(t.read)
    .bind(t.enrolled)
    .bind(t.blank)
    .bind(t.existing)
    .bind(t.deleted)
    .bind(t.limit)
    .bind(t.to_write)
    .bind(cursor)
    .bind(watermark)
    .bind(run_id)
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn set_status<'c>(
    ex: impl Executor<'c, Database = Any>,
    run_id: &str,
    status: RunStatus,
    note: &str,
    finished_at: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sync_runs SET status = $1, note = $2, finished_at = $3 WHERE id = $4")
        .bind(status.key())
        .bind(note)
        .bind(finished_at)
        .bind(run_id)
        .execute(ex)
        .await?;
    Ok(())
}

/// What became of one customer in a run.
pub struct NewOutcome<'a> {
    pub run_id: &'a str,
    pub customer_id: &'a str,
    pub email: &'a str,
    /// `enrolled` or a skip reason's key.
    pub outcome: &'a str,
    pub detail: String,
    /// Whom an enrolled customer became, and whether their referral link is to be written.
    pub participant_id: Option<String>,
    pub write_pending: bool,
    pub at: i64,
}

/// Which of these customers the run has recorded already.
pub async fn recorded<'c>(
    ex: impl Executor<'c, Database = Any>,
    run_id: &str,
    customer_ids: &[&str],
) -> Result<Vec<String>, sqlx::Error> {
    if customer_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT customer_id FROM sync_outcomes WHERE run_id = $1 AND customer_id IN {}",
        super::in_list(2, customer_ids.len())
    );
    let mut q = sqlx::query_scalar(&sql).bind(run_id);
    for c in customer_ids {
        q = q.bind(*c);
    }
    q.fetch_all(ex).await
}

/// Records outcomes, many a statement (a customer the run recorded already keeps theirs).
pub async fn record_outcomes(
    conn: &mut AnyConnection,
    outcomes: &[NewOutcome<'_>],
) -> Result<(), sqlx::Error> {
    for chunk in outcomes.chunks(super::rows_per_statement(8)) {
        let sql = format!(
            "INSERT INTO sync_outcomes (run_id, customer_id, email, outcome, detail, participant_id, write_pending, at) \
             VALUES {} ON CONFLICT (run_id, customer_id) DO NOTHING",
            super::value_rows(conn, chunk.len(), 8)
        );
        let mut q = sqlx::query(&sql);
        for o in chunk {
            q = q
                .bind(o.run_id)
                .bind(o.customer_id)
                .bind(o.email)
                .bind(o.outcome)
                .bind(&o.detail)
                .bind(&o.participant_id)
                .bind(i64::from(o.write_pending))
                .bind(o.at);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Enrolled customers whose referral link is still to be written: (customer, participant).
pub async fn pending_writes<'c>(
    ex: impl Executor<'c, Database = Any>,
    run_id: &str,
    limit: i64,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT customer_id, participant_id FROM sync_outcomes WHERE run_id = $1 AND write_pending = 1 \
         ORDER BY at, customer_id LIMIT $2",
    )
    .bind(run_id)
    .bind(limit)
    .fetch_all(ex)
    .await
}

/// Marks a write-back done (or given up), once; true when it was pending.
pub async fn finish_write<'c>(
    ex: impl Executor<'c, Database = Any>,
    run_id: &str,
    customer_id: &str,
    failure: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE sync_outcomes SET write_pending = 0, detail = COALESCE($1, detail) \
         WHERE run_id = $2 AND customer_id = $3 AND write_pending = 1",
    )
    .bind(failure)
    .bind(run_id)
    .bind(customer_id)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn add_written<'c>(
    ex: impl Executor<'c, Database = Any>,
    run_id: &str,
    written: i64,
    failed: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE sync_runs SET written = written + $1, write_failed = write_failed + $2 WHERE id = $3",
    )
    .bind(written)
    .bind(failed)
    .bind(run_id)
    .execute(ex)
    .await?;
    Ok(())
}

/// Every customer a run skipped, oldest outcome first.
pub async fn skipped<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    run_id: &str,
    limit: i64,
) -> Result<Vec<SkippedCustomer>, sqlx::Error> {
    let rows: Vec<(String, String, String, String, i64)> = sqlx::query_as(
        "SELECT o.customer_id, o.email, o.outcome, o.detail, o.at FROM sync_outcomes o \
         JOIN sync_runs r ON r.id = o.run_id WHERE r.account_id = $1 AND o.run_id = $2 \
         AND o.outcome <> 'enrolled' ORDER BY o.at, o.customer_id LIMIT $3",
    )
    .bind(account_id)
    .bind(run_id)
    .bind(limit)
    .fetch_all(ex)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(customer_id, email, outcome, detail, at)| {
            Some(SkippedCustomer {
                customer_id,
                email,
                reason: SkipReason::from_key(&outcome)?,
                detail,
                at,
            })
        })
        .collect())
}
