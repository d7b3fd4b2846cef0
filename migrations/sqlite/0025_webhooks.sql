-- Outbound webhooks (issue 28): the merchant's endpoints — each with the events it takes and its signing secret,
-- sealed with the instance's key — and every message sent to one: `id` is the Standard Webhooks `webhook-id`, the
-- same for each attempt and a replay; the payload is the event as it was; the last response is kept (1 KB).
CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    sealed_secret TEXT NOT NULL,
    status TEXT NOT NULL,
    disabled_reason TEXT,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX webhook_endpoints_by_account ON webhook_endpoints (account_id, created_at);

CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id),
    event TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    response_status INTEGER,
    response_body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_attempt_at INTEGER,
    next_attempt_at INTEGER
);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, created_at);
