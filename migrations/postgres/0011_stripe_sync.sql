-- Syncing the merchant's Stripe customers into campaigns as people referring.

-- Each campaign's sync settings (domain::sync::SyncSettings, JSON): which customers, how their
-- fields map, what is written back. The ongoing switch is campaigns.ongoing_stripe_sync.
CREATE TABLE sync_settings (
    campaign_id TEXT PRIMARY KEY NOT NULL REFERENCES campaigns (id),
    account_id TEXT NOT NULL,
    settings TEXT NOT NULL,
    updated_at BIGINT NOT NULL
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
    started_at BIGINT NOT NULL,
    started_ms BIGINT NOT NULL,
    finished_at BIGINT,
    cursor TEXT,
    watermark BIGINT NOT NULL DEFAULT 0,
    customers_read BIGINT NOT NULL DEFAULT 0,
    enrolled BIGINT NOT NULL DEFAULT 0,
    skipped_blank BIGINT NOT NULL DEFAULT 0,
    skipped_existing BIGINT NOT NULL DEFAULT 0,
    skipped_deleted BIGINT NOT NULL DEFAULT 0,
    skipped_limit BIGINT NOT NULL DEFAULT 0,
    to_write BIGINT NOT NULL DEFAULT 0,
    written BIGINT NOT NULL DEFAULT 0,
    write_failed BIGINT NOT NULL DEFAULT 0,
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
    write_pending BIGINT NOT NULL DEFAULT 0,
    at BIGINT NOT NULL,
    PRIMARY KEY (run_id, customer_id)
);
CREATE INDEX sync_outcomes_to_write ON sync_outcomes (run_id, write_pending);
