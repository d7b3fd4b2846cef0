//! The activity log: who changed what, when, and from where.

use sqlx::{any::AnyRow, Any, Executor, FromRow, Row};

use crate::domain::{activity::ActivityKind, team::ActivityEntry};

/// One change, as recorded.
pub struct NewActivity<'a> {
    pub account_id: &'a str,
    pub actor_id: Option<&'a str>,
    pub actor_name: &'a str,
    pub kind: ActivityKind,
    pub summary: String,
    pub ip: &'a str,
}

pub async fn record<'c>(
    ex: impl Executor<'c, Database = Any>,
    entry: NewActivity<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO activity (id, account_id, actor_id, actor_name, kind, summary, ip, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(super::new_id("act"))
    .bind(entry.account_id)
    .bind(entry.actor_id)
    .bind(entry.actor_name)
    .bind(entry.kind.key())
    .bind(entry.summary)
    .bind(entry.ip)
    .bind(super::unix_now())
    .execute(ex)
    .await?;
    Ok(())
}

struct Row_(ActivityEntry);

impl FromRow<'_, AnyRow> for Row_ {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let kind: String = row.try_get("kind")?;
        Ok(Row_(ActivityEntry {
            id: row.try_get("id")?,
            actor_id: row.try_get("actor_id")?,
            actor_name: row.try_get("actor_name")?,
            kind_label: ActivityKind::from_key(&kind)
                .map(|k| k.label().to_string())
                .unwrap_or_else(|| kind.clone()),
            kind,
            summary: row.try_get("summary")?,
            ip: row.try_get("ip")?,
            at: row.try_get("created_at")?,
        }))
    }
}

/// The newest entries first, optionally only one person's or one kind, older than `before`.
pub async fn list<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    actor_id: Option<&str>,
    kind: Option<ActivityKind>,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<ActivityEntry>, sqlx::Error> {
    let rows: Vec<Row_> = sqlx::query_as(
        "SELECT id, actor_id, actor_name, kind, summary, ip, created_at FROM activity \
         WHERE account_id = $1 AND ($2 = '' OR actor_id = $2) AND ($3 = '' OR kind = $3) \
         AND ($4 = '' OR id < $4) ORDER BY id DESC LIMIT $5",
    )
    .bind(account_id)
    .bind(actor_id.unwrap_or_default())
    .bind(kind.map(|k| k.key()).unwrap_or_default())
    .bind(before.unwrap_or_default())
    .bind(limit)
    .fetch_all(ex)
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}
