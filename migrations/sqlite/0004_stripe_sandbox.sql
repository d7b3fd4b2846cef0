-- The built-in Stripe sandbox's own state: its accounts and keys, the objects it holds (as
-- JSON, with the columns lists and searches filter on), its events, and idempotent replies.
CREATE TABLE sandbox_accounts (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    created INTEGER NOT NULL
);

CREATE TABLE sandbox_keys (
    key TEXT PRIMARY KEY NOT NULL,
    account TEXT NOT NULL REFERENCES sandbox_accounts (id),
    -- empty for a secret key; a restricted key lists its permissions, e.g. rak_customer_write
    permissions TEXT NOT NULL,
    created INTEGER NOT NULL
);

CREATE TABLE sandbox_objects (
    id TEXT PRIMARY KEY NOT NULL,
    account TEXT NOT NULL,
    kind TEXT NOT NULL,
    created INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    email TEXT,
    customer TEXT,
    event_type TEXT,
    deleted INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL
);
CREATE INDEX sandbox_objects_list ON sandbox_objects (account, kind, created, seq);
CREATE INDEX sandbox_objects_email ON sandbox_objects (account, kind, email);
CREATE INDEX sandbox_objects_customer ON sandbox_objects (account, kind, customer);
CREATE INDEX sandbox_objects_event_type ON sandbox_objects (account, kind, event_type);

CREATE TABLE sandbox_idempotency (
    account TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created INTEGER NOT NULL,
    PRIMARY KEY (account, key)
);

-- Webhook deliveries: one row per (event, endpoint) attempt series, with the delivery log.
CREATE TABLE sandbox_deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    account TEXT NOT NULL,
    event_id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    last_status_code INTEGER,
    last_error TEXT,
    created_ms INTEGER NOT NULL,
    delivered_ms INTEGER
);
CREATE INDEX sandbox_deliveries_due ON sandbox_deliveries (status, next_attempt_ms);
CREATE INDEX sandbox_deliveries_by_account ON sandbox_deliveries (account, created_ms);
