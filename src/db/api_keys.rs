//! Keys for the developer API, kept as their SHA-256, and the answers kept under POSTs'
//! Idempotency-Keys. Every statement about keys is scoped to the account, but the look-up of a
//! key by its hash (which is how a request finds its account).

use sqlx::{Any, Executor};

use crate::domain::api_keys::ApiScope;

/// A key as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRow {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub prefix: String,
    pub scope: ApiScope,
    /// Campaign ids it is limited to; empty: every campaign.
    pub campaigns: Vec<String>,
    pub created_by: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

const COLUMNS: &str =
    "id, account_id, name, prefix, scope, campaigns, created_by, created_at, last_used_at, revoked_at";

type Row = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
);

fn decode(r: Row) -> ApiKeyRow {
    ApiKeyRow {
        id: r.0,
        account_id: r.1,
        name: r.2,
        prefix: r.3,
        scope: ApiScope::from_key(&r.4).unwrap_or(ApiScope::Read),
        campaigns: serde_json::from_str(&r.5).unwrap_or_default(),
        created_by: r.6,
        created_at: r.7,
        last_used_at: r.8,
        revoked_at: r.9,
    }
}

pub async fn insert<'c>(
    ex: impl Executor<'c, Database = Any>,
    key: &ApiKeyRow,
    secret_hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO api_keys ({COLUMNS}, secret_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(&key.id)
    .bind(&key.account_id)
    .bind(&key.name)
    .bind(&key.prefix)
    .bind(key.scope.key())
    .bind(serde_json::to_string(&key.campaigns).expect("ids serialize"))
    .bind(&key.created_by)
    .bind(key.created_at)
    .bind(key.last_used_at)
    .bind(key.revoked_at)
    .bind(secret_hash)
    .execute(ex)
    .await?;
    Ok(())
}

/// The account's keys, the newest first (revoked ones too, as the record of what existed).
pub async fn list<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
) -> Result<Vec<ApiKeyRow>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM api_keys WHERE account_id = $1 ORDER BY created_at DESC, id DESC"
    ))
    .bind(account_id)
    .fetch_all(ex)
    .await?;
    Ok(rows.into_iter().map(decode).collect())
}

/// Revokes the account's key `id`; the key if it was live.
pub async fn revoke<'c>(
    ex: impl Executor<'c, Database = Any>,
    account_id: &str,
    id: &str,
    now: i64,
) -> Result<Option<ApiKeyRow>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "UPDATE api_keys SET revoked_at = $1 WHERE account_id = $2 AND id = $3 AND revoked_at IS NULL \
         RETURNING {COLUMNS}"
    ))
    .bind(now)
    .bind(account_id)
    .bind(id)
    .fetch_optional(ex)
    .await?;
    Ok(row.map(decode))
}

/// The live key with this hash, its last use noted (at most once a minute, to spare writes).
pub async fn use_key<'c>(
    ex: impl Executor<'c, Database = Any>,
    secret_hash: &str,
    now: i64,
) -> Result<Option<ApiKeyRow>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "UPDATE api_keys SET last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < $1 \
         THEN $2 ELSE last_used_at END WHERE secret_hash = $3 AND revoked_at IS NULL RETURNING {COLUMNS}"
    ))
    .bind(now - 60)
    .bind(now)
    .bind(secret_hash)
    .fetch_optional(ex)
    .await?;
    Ok(row.map(decode))
}

/// A kept answer: the hash of the request it answered, its status (0 while the request is
/// still being answered) and body.
pub type KeptAnswer = (String, i64, String);

/// Claims `idempotency_key` of the key `key_id` for a request with `request_hash`: `None` when
/// it is this request's to answer, else what is kept under it (answered within the last day, or
/// still being answered).
pub async fn claim(
    conn: &mut sqlx::AnyConnection,
    key_id: &str,
    idempotency_key: &str,
    request_hash: &str,
    now: i64,
) -> Result<Option<KeptAnswer>, sqlx::Error> {
    sqlx::query("DELETE FROM api_idempotency WHERE key_id = $1 AND idempotency_key = $2 AND created_at < $3")
        .bind(key_id)
        .bind(idempotency_key)
        .bind(now - 86_400)
        .execute(&mut *conn)
        .await?;
    let claimed = sqlx::query(
        "INSERT INTO api_idempotency (key_id, idempotency_key, request_hash, status, body, created_at) \
         VALUES ($1, $2, $3, 0, '', $4) ON CONFLICT (key_id, idempotency_key) DO NOTHING",
    )
    .bind(key_id)
    .bind(idempotency_key)
    .bind(request_hash)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if claimed.rows_affected() == 1 {
        return Ok(None);
    }
    sqlx::query_as(
        "SELECT request_hash, status, body FROM api_idempotency WHERE key_id = $1 AND idempotency_key = $2",
    )
    .bind(key_id)
    .bind(idempotency_key)
    .fetch_optional(&mut *conn)
    .await
}

/// Keeps the answer to a claimed request; `None` lets the key go (the request failed on
/// Refloop's side, and a retry should be tried afresh).
pub async fn settle<'c>(
    ex: impl Executor<'c, Database = Any>,
    key_id: &str,
    idempotency_key: &str,
    answer: Option<(i64, &str)>,
) -> Result<(), sqlx::Error> {
    match answer {
        Some((status, body)) => {
            sqlx::query(
                "UPDATE api_idempotency SET status = $1, body = $2 WHERE key_id = $3 AND idempotency_key = $4",
            )
            .bind(status)
            .bind(body)
            .bind(key_id)
            .bind(idempotency_key)
            .execute(ex)
            .await?
        }
        None => {
            sqlx::query("DELETE FROM api_idempotency WHERE key_id = $1 AND idempotency_key = $2")
                .bind(key_id)
                .bind(idempotency_key)
                .execute(ex)
                .await?
        }
    };
    Ok(())
}
