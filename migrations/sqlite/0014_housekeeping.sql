-- Throttling counters: one per key (signin-email:…, signin-ip:…, signup-ip:…) and window,
-- bumped atomically before the work they guard. They replace the list of failed sign-ins.
CREATE TABLE throttles (
    key TEXT PRIMARY KEY NOT NULL,
    window_start INTEGER NOT NULL,
    count INTEGER NOT NULL
);
CREATE INDEX throttles_by_window ON throttles (window_start);
DROP TABLE sign_in_failures;

-- A referral link's visitor, once a day (day = Unix days): clicks are counted once per
-- visitor per day.
CREATE TABLE referral_clicks (
    referrer_id TEXT NOT NULL,
    visitor TEXT NOT NULL,
    day INTEGER NOT NULL,
    PRIMARY KEY (referrer_id, visitor, day)
);
CREATE INDEX referral_clicks_by_day ON referral_clicks (day);

-- What the recurring prune looks for, and the Operations page's per-account query.
CREATE INDEX jobs_finished ON jobs (status, finished_ms);
CREATE INDEX jobs_by_account ON jobs (account_id, status, kind);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX join_attempts_by_time ON join_attempts (at);
CREATE INDEX sandbox_idempotency_by_time ON sandbox_idempotency (created);
