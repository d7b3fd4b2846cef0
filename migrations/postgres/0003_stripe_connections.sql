-- The one Stripe account connected to a Refloop account. The key is sealed (see src/secrets.rs).
CREATE TABLE stripe_connections (
    account_id TEXT PRIMARY KEY NOT NULL REFERENCES accounts (id),
    mode TEXT NOT NULL,
    sealed_key TEXT,
    key_hint TEXT,
    livemode BIGINT NOT NULL,
    connected_by TEXT NOT NULL,
    connected_at BIGINT NOT NULL
);
