-- The developer API (issue 28): keys an account's developers call /api/v1 with. Only the key's SHA-256 is
-- kept (it is shown once), with its first characters to tell keys apart; a key is read-only or read-write, and
-- may be limited to some campaigns (a JSON array of ids; empty: every campaign).
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    scope TEXT NOT NULL,
    campaigns TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_keys_by_account ON api_keys (account_id, created_at);

-- A POST's answer kept under its Idempotency-Key for a day, so that a retried request is answered the same
-- without being done twice.
CREATE TABLE api_idempotency (
    key_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (key_id, idempotency_key)
);
CREATE INDEX api_idempotency_by_time ON api_idempotency (created_at);
