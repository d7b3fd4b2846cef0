-- Syncing the merchant's Stripe customers into campaigns as people referring.

-- Each campaign's sync settings (domain::sync::SyncSettings, JSON): which customers, how their
-- fields map, what is written back. The ongoing switch is campaigns.ongoing_stripe_sync.
CREATE TABLE sync_settings (
    campaign_id TEXT PRIMARY KEY NOT NULL REFERENCES campaigns (id),
    account_id TEXT NOT NULL,
    settings TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- A sync: a one-time run through the customer list (its checkpoint is `cursor`, the last
-- customer whose outcome is recorded), or a campaign's ongoing sync (one row per switch-on,
-- `watermark` the newest customer creation time the sweep has seen). Counts only grow, in the
-- transaction that records the outcomes they count.
CREATE TABLE sync_runs (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL,
    campaign_id TEXT NOT NULL REFERENCES campaigns (id),
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    settings TEXT NOT NULL,
    started_by TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    started_ms INTEGER NOT NULL,
    finished_at INTEGER,
    cursor TEXT,
    watermark INTEGER NOT NULL DEFAULT 0,
    customers_read INTEGER NOT NULL DEFAULT 0,
    enrolled INTEGER NOT NULL DEFAULT 0,
    skipped_blank INTEGER NOT NULL DEFAULT 0,
    skipped_existing INTEGER NOT NULL DEFAULT 0,
    skipped_deleted INTEGER NOT NULL DEFAULT 0,
    skipped_limit INTEGER NOT NULL DEFAULT 0,
    to_write INTEGER NOT NULL DEFAULT 0,
    written INTEGER NOT NULL DEFAULT 0,
    write_failed INTEGER NOT NULL DEFAULT 0,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sync_runs_by_campaign ON sync_runs (account_id, campaign_id, started_at);

-- What became of each customer a sync read: enrolled (as `participant_id`) or a skip reason,
-- with the detail; and for the enrolled, whether their referral link is written back yet.
CREATE TABLE sync_outcomes (
    run_id TEXT NOT NULL REFERENCES sync_runs (id),
    customer_id TEXT NOT NULL,
    email TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL,
    participant_id TEXT,
    write_pending INTEGER NOT NULL DEFAULT 0,
    at INTEGER NOT NULL,
    PRIMARY KEY (run_id, customer_id)
);
CREATE INDEX sync_outcomes_to_write ON sync_outcomes (run_id, write_pending);
