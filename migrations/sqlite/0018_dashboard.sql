-- The dashboard (issue 24): what invited friends paid, kept as the qualification workflow
-- counts it, so that the figures never re-run attribution over every charge.

-- Each payment that counts for an invited friend, net of refunds and lost disputes, as last
-- evaluated. `paid_at` is the charge's creation (Unix seconds), `day` the start of its day (UTC).
CREATE TABLE referred_payments (
    account_id TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    participant_id TEXT NOT NULL REFERENCES participants (id),
    referrer_id TEXT NOT NULL,
    charge_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    net INTEGER NOT NULL,
    paid_at INTEGER NOT NULL,
    day INTEGER NOT NULL,
    PRIMARY KEY (participant_id, charge_id)
);
CREATE INDEX referred_payments_by_referrer ON referred_payments (referrer_id, paid_at);

-- The same payments summed per campaign, day and currency: the revenue figures and chart read
-- this, whatever the number of charges.
CREATE TABLE referred_revenue_days (
    account_id TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    day INTEGER NOT NULL,
    currency TEXT NOT NULL,
    revenue INTEGER NOT NULL,
    PRIMARY KEY (account_id, day, campaign_id, currency)
);

-- Whether an invited friend has paid anything that counts (net of refunds): the funnel's
-- "paying" step.
ALTER TABLE participants ADD COLUMN paying INTEGER NOT NULL DEFAULT 0;

-- The dashboard's reads, each answered from one index: the funnel and the top referrers over
-- the friends who joined in a period, the time to qualify, and the rewards' cost.
CREATE INDEX participants_for_dashboard ON participants (account_id, created_at, campaign_id, referrer_id, paying, qualification);
CREATE INDEX participants_by_referrer_and_time ON participants (account_id, referrer_id, created_at, campaign_id, paying, qualification);
CREATE INDEX participants_by_qualified_at ON participants (account_id, qualified_at, created_at, campaign_id);
CREATE INDEX rewards_by_time ON rewards (account_id, created_at, campaign_id, status, currency, amount);
CREATE INDEX participant_events_by_account ON participant_events (account_id, kind, at, campaign_id);

-- Friends who joined before this release are counted again once, by the evaluation job.
INSERT INTO jobs (id, kind, payload, account_id, status, attempts, max_attempts, run_at_ms, dedupe_key, created_ms)
SELECT 'dashboard-' || p.id, 'referral.evaluate', '{"participant":"' || p.id || '"}', p.account_id,
       'queued', 0, 10, 0, 'referral.evaluate:' || p.id, 0
FROM participants p WHERE p.referrer_id IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM jobs j WHERE j.dedupe_key = 'referral.evaluate:' || p.id AND j.status IN ('queued', 'running')
);
