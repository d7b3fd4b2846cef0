-- Referral campaigns. The slug is public (/j/{slug}), so it is unique across accounts.
CREATE TABLE campaigns (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    starts_at INTEGER,
    ends_at INTEGER,
    -- The join forms' fields, as JSON (see domain::campaigns::FormField).
    referrer_form TEXT NOT NULL,
    friend_form TEXT NOT NULL,
    referral_cap INTEGER,
    send_referrers_to_stripe INTEGER NOT NULL DEFAULT 0,
    send_friends_to_stripe INTEGER NOT NULL DEFAULT 0,
    ongoing_stripe_sync INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX campaigns_by_account ON campaigns (account_id, created_at);

-- How many participants an account may have (set by the Owner).
ALTER TABLE accounts ADD COLUMN participant_limit INTEGER NOT NULL DEFAULT 5000;
