-- The people in a campaign: those referring (no referrer) and those they invited.
CREATE TABLE participants (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    campaign_id TEXT NOT NULL REFERENCES campaigns (id),
    -- Normalised (trimmed, lower case): one person per email in a campaign.
    email TEXT NOT NULL,
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    -- The other form fields, as a JSON object of key to value.
    fields TEXT NOT NULL,
    -- The public referral code (/r/{code}) and the secret of the personal page (/p/{token}).
    code TEXT NOT NULL UNIQUE,
    page_token TEXT NOT NULL UNIQUE,
    referrer_id TEXT REFERENCES participants (id),
    -- How they arrived: join, referral or import.
    source TEXT NOT NULL,
    -- none (people referring), pending or qualified (people invited).
    qualification TEXT NOT NULL,
    -- not_sent, sent or failed.
    stripe_status TEXT NOT NULL DEFAULT 'not_sent',
    stripe_customer_id TEXT,
    referrals BIGINT NOT NULL DEFAULT 0,
    qualified_referrals BIGINT NOT NULL DEFAULT 0,
    -- Lower-case email, names and code, for the Users tab's search.
    search TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (campaign_id, email)
);
-- The Users tab's orders (every query is scoped to the account and the campaign).
CREATE INDEX participants_by_campaign ON participants (account_id, campaign_id, created_at, id);
CREATE INDEX participants_by_name ON participants (account_id, campaign_id, last_name, first_name, id);
CREATE INDEX participants_by_referrals ON participants (account_id, campaign_id, referrals, created_at, id);
CREATE INDEX participants_by_status ON participants (account_id, campaign_id, qualification, stripe_status, referrer_id);
CREATE INDEX participants_by_referrer ON participants (referrer_id);

-- The Users tab's search for any part of a name, email or code, through a trigram index.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX participants_search_trigrams ON participants USING gin (search gin_trgm_ops);

-- Everything that happened to a participant: their timeline, and the campaign's numbers.
CREATE TABLE participant_events (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL,
    campaign_id TEXT NOT NULL REFERENCES campaigns (id),
    participant_id TEXT NOT NULL REFERENCES participants (id),
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX participant_events_by_participant ON participant_events (participant_id, at);
CREATE INDEX participant_events_by_campaign ON participant_events (campaign_id, kind, at);

-- People who could not join, and why: the answer to "why is this person not in my campaign?"
CREATE TABLE join_refusals (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL,
    campaign_id TEXT NOT NULL REFERENCES campaigns (id),
    email TEXT NOT NULL,
    reason TEXT NOT NULL,
    ip TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX join_refusals_by_campaign ON join_refusals (campaign_id, at);

-- Join-form submissions per address, for the public forms' rate limit.
CREATE TABLE join_attempts (
    id TEXT PRIMARY KEY NOT NULL,
    ip TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX join_attempts_by_ip ON join_attempts (ip, at);

ALTER TABLE campaigns ADD COLUMN share_text TEXT NOT NULL DEFAULT '';
