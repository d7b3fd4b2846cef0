-- Qualification by spend in Stripe, the events Stripe sends, and rewards.

-- Each campaign's qualification settings (domain::qualification::QualificationSettings, JSON).
CREATE TABLE qualification_settings (
    campaign_id TEXT PRIMARY KEY NOT NULL REFERENCES campaigns (id),
    account_id TEXT NOT NULL,
    settings TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Refloop's webhook endpoint in each account's connected Stripe. `id` is the public part of
-- its address (/webhooks/stripe/{id}); the signing secret is sealed like the Stripe key.
CREATE TABLE stripe_webhooks (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL UNIQUE,
    endpoint_id TEXT NOT NULL,
    sealed_secret TEXT NOT NULL,
    url TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_event_at INTEGER,
    events_received INTEGER NOT NULL DEFAULT 0,
    signature_failures INTEGER NOT NULL DEFAULT 0,
    last_failure_at INTEGER,
    -- Reconciliation: events created after this were read from the Events API.
    reconciled_after INTEGER NOT NULL DEFAULT 0,
    reconciled_at INTEGER
);

-- Every Stripe event received, once: the permanent ledger of event ids (a duplicate delivery
-- finds its id here and is acknowledged without effect).
CREATE TABLE stripe_events (
    account_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    type TEXT NOT NULL,
    created INTEGER NOT NULL,
    payload TEXT NOT NULL,
    source TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, event_id)
);

-- The charges of the connected account, keyed by charge id. Each column only ever grows
-- (paid, refunded, lost in disputes), so duplicated and out-of-order events end the same.
CREATE TABLE stripe_charges (
    account_id TEXT NOT NULL,
    charge_id TEXT NOT NULL,
    customer_id TEXT,
    email TEXT,
    amount INTEGER NOT NULL DEFAULT 0,
    currency TEXT NOT NULL DEFAULT '',
    created INTEGER NOT NULL DEFAULT 0,
    paid INTEGER NOT NULL DEFAULT 0,
    refunded INTEGER NOT NULL DEFAULT 0,
    disputed INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, charge_id)
);
CREATE INDEX stripe_charges_by_customer ON stripe_charges (account_id, customer_id);
CREATE INDEX stripe_charges_by_email ON stripe_charges (account_id, email);

-- Where an invited friend stands: counted spend, when they qualified, and why, in words.
ALTER TABLE participants ADD COLUMN spent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE participants ADD COLUMN qualified_at INTEGER;
ALTER TABLE participants ADD COLUMN qualification_note TEXT NOT NULL DEFAULT '';

-- Each campaign's reward rules (domain::rewards::RewardSettings, JSON).
CREATE TABLE reward_settings (
    campaign_id TEXT PRIMARY KEY NOT NULL REFERENCES campaigns (id),
    account_id TEXT NOT NULL,
    settings TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- The reward ledger: one row per (qualified referral, rule, recipient), whatever happens.
CREATE TABLE rewards (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL,
    campaign_id TEXT NOT NULL REFERENCES campaigns (id),
    rule_id TEXT NOT NULL,
    referral_id TEXT NOT NULL REFERENCES participants (id),
    recipient_id TEXT NOT NULL REFERENCES participants (id),
    kind TEXT NOT NULL,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL,
    note TEXT NOT NULL,
    customer_id TEXT,
    stripe_ref TEXT,
    code TEXT,
    reversal_ref TEXT,
    decided_by TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (referral_id, rule_id, recipient_id)
);
CREATE INDEX rewards_by_recipient ON rewards (recipient_id, created_at);
CREATE INDEX rewards_by_campaign ON rewards (account_id, campaign_id, status, created_at);
