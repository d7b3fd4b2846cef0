//! The sandbox's objects in the database: JSON documents with the few columns that lists,
//! lookups and searches filter on. Newest first is `created DESC, seq DESC`.

use std::sync::atomic::{AtomicI64, Ordering};

use serde_json::Value;
use sqlx::Row;

use crate::db::Db;

/// A tie-breaker that orders objects created in the same second, across restarts.
fn next_seq() -> i64 {
    static SEQ: AtomicI64 = AtomicI64::new(0);
    let now_micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or_default();
    let mut current = SEQ.load(Ordering::Relaxed);
    loop {
        let next = current.max(now_micros - 1) + 1;
        match SEQ.compare_exchange(current, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => current = seen,
        }
    }
}

/// Columns besides the document that an object is found by.
#[derive(Default)]
pub struct Columns<'a> {
    pub email: Option<&'a str>,
    pub customer: Option<&'a str>,
    pub event_type: Option<&'a str>,
}

pub async fn insert(
    db: &Db,
    account: &str,
    kind: &str,
    data: &Value,
    cols: Columns<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sandbox_objects (id, account, kind, created, seq, email, customer, event_type, deleted, data) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9)",
    )
    .bind(data["id"].as_str().unwrap_or_default())
    .bind(account)
    .bind(kind)
    .bind(data["created"].as_i64().unwrap_or_default())
    .bind(next_seq())
    .bind(cols.email)
    .bind(cols.customer)
    .bind(cols.event_type)
    .bind(data.to_string())
    .execute(db.pool())
    .await?;
    Ok(())
}

/// An object and whether it was deleted.
pub async fn get(
    db: &Db,
    account: &str,
    kind: &str,
    id: &str,
) -> Result<Option<(Value, bool)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT data, deleted FROM sandbox_objects WHERE account = $1 AND kind = $2 AND id = $3",
    )
    .bind(account)
    .bind(kind)
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    row.map(|r| {
        let data: String = r.try_get("data")?;
        let deleted: i64 = r.try_get("deleted")?;
        Ok((
            serde_json::from_str(&data).unwrap_or(Value::Null),
            deleted != 0,
        ))
    })
    .transpose()
}

/// An object of any account by its id (ids are unique), with its account: what the hosted
/// pages, which carry no key, find by.
pub async fn find(db: &Db, kind: &str, id: &str) -> Result<Option<(String, Value)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT account, data FROM sandbox_objects WHERE id = $1 AND kind = $2 AND deleted = 0",
    )
    .bind(id)
    .bind(kind)
    .fetch_optional(db.pool())
    .await?;
    row.map(|r| {
        let data: String = r.try_get("data")?;
        Ok((
            r.try_get("account")?,
            serde_json::from_str(&data).unwrap_or(Value::Null),
        ))
    })
    .transpose()
}

/// Every live object of a kind in an account, oldest first (for the few kinds the sandbox
/// walks whole, such as a test clock's subscriptions).
pub async fn all(db: &Db, account: &str, kind: &str) -> Result<Vec<Value>, sqlx::Error> {
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT data FROM sandbox_objects WHERE account = $1 AND kind = $2 AND deleted = 0 \
         ORDER BY created, seq",
    )
    .bind(account)
    .bind(kind)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .iter()
        .map(|d| serde_json::from_str(d).unwrap_or(Value::Null))
        .collect())
}

pub async fn update(
    db: &Db,
    account: &str,
    kind: &str,
    data: &Value,
    email: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sandbox_objects SET data = $1, email = $2 WHERE account = $3 AND kind = $4 AND id = $5")
        .bind(data.to_string())
        .bind(email)
        .bind(account)
        .bind(kind)
        .bind(data["id"].as_str().unwrap_or_default())
        .execute(db.pool())
        .await?;
    Ok(())
}

pub async fn mark_deleted(db: &Db, account: &str, kind: &str, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE sandbox_objects SET deleted = 1 WHERE account = $1 AND kind = $2 AND id = $3",
    )
    .bind(account)
    .bind(kind)
    .bind(id)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Which objects a list returns.
#[derive(Debug, Default, Clone)]
pub struct ListQuery {
    pub limit: i64,
    pub starting_after: Option<(i64, i64)>,
    pub ending_before: Option<(i64, i64)>,
    pub created_gt: Option<i64>,
    pub created_gte: Option<i64>,
    pub created_lt: Option<i64>,
    pub created_lte: Option<i64>,
    pub email: Option<String>,
    pub customer: Option<String>,
    pub event_types: Vec<String>,
    /// Only objects created at or before this time (search's indexing delay).
    pub created_max: Option<i64>,
}

/// The position of an object in its list (for `starting_after` / `ending_before`).
pub async fn cursor(
    db: &Db,
    account: &str,
    kind: &str,
    id: &str,
) -> Result<Option<(i64, i64)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT created, seq FROM sandbox_objects WHERE account = $1 AND kind = $2 AND id = $3",
    )
    .bind(account)
    .bind(kind)
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    row.map(|r| Ok((r.try_get("created")?, r.try_get("seq")?)))
        .transpose()
}

enum Bind {
    Text(String),
    Int(i64),
}

/// A page of a list, newest first, and whether more follow.
pub async fn list(
    db: &Db,
    account: &str,
    kind: &str,
    q: &ListQuery,
) -> Result<(Vec<Value>, bool), sqlx::Error> {
    let mut sql = String::from(
        "SELECT data FROM sandbox_objects WHERE account = $1 AND kind = $2 AND deleted = 0",
    );
    let mut binds = vec![Bind::Text(account.into()), Bind::Text(kind.into())];
    let mut push = |clause: &str, value: Bind, binds: &mut Vec<Bind>| {
        binds.push(value);
        sql.push_str(&clause.replace('#', &format!("${}", binds.len())));
    };
    for (op, v) in [
        (">", q.created_gt),
        (">=", q.created_gte),
        ("<", q.created_lt),
        ("<=", q.created_lte),
        ("<=", q.created_max),
    ] {
        if let Some(v) = v {
            push(&format!(" AND created {op} #"), Bind::Int(v), &mut binds);
        }
    }
    if let Some(e) = &q.email {
        push(" AND email = #", Bind::Text(e.clone()), &mut binds);
    }
    if let Some(c) = &q.customer {
        push(" AND customer = #", Bind::Text(c.clone()), &mut binds);
    }
    if !q.event_types.is_empty() {
        let mut placeholders = Vec::new();
        for t in &q.event_types {
            binds.push(Bind::Text(t.clone()));
            placeholders.push(format!("${}", binds.len()));
        }
        sql.push_str(&format!(" AND event_type IN ({})", placeholders.join(", ")));
    }
    let ascending = q.ending_before.is_some() && q.starting_after.is_none();
    if let Some((c, s)) = q.starting_after {
        binds.push(Bind::Int(c));
        let cp = binds.len();
        binds.push(Bind::Int(s));
        let sp = binds.len();
        sql.push_str(&format!(
            " AND (created < ${cp} OR (created = ${cp} AND seq < ${sp}))"
        ));
    } else if let Some((c, s)) = q.ending_before {
        binds.push(Bind::Int(c));
        let cp = binds.len();
        binds.push(Bind::Int(s));
        let sp = binds.len();
        sql.push_str(&format!(
            " AND (created > ${cp} OR (created = ${cp} AND seq > ${sp}))"
        ));
    }
    let order = if ascending { "ASC" } else { "DESC" };
    binds.push(Bind::Int(q.limit + 1));
    sql.push_str(&format!(
        " ORDER BY created {order}, seq {order} LIMIT ${}",
        binds.len()
    ));

    let mut query = sqlx::query(&sql);
    for b in binds {
        query = match b {
            Bind::Text(t) => query.bind(t),
            Bind::Int(i) => query.bind(i),
        };
    }
    let rows = query.fetch_all(db.pool()).await?;
    let mut items: Vec<Value> = rows
        .iter()
        .map(|r| {
            r.try_get::<String, _>("data")
                .map(|d| serde_json::from_str(&d).unwrap_or(Value::Null))
        })
        .collect::<Result<_, _>>()?;
    let has_more = items.len() as i64 > q.limit;
    items.truncate(q.limit as usize);
    if ascending {
        items.reverse();
    }
    Ok((items, has_more))
}
