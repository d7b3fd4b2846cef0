-- Referral campaigns. The slug is public (/j/{slug}), so it is unique across accounts.
CREATE TABLE campaigns (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    starts_at BIGINT,
    ends_at BIGINT,
    -- The join forms' fields, as JSON (see domain::campaigns::FormField).
    referrer_form TEXT NOT NULL,
    friend_form TEXT NOT NULL,
    referral_cap BIGINT,
    send_referrers_to_stripe BIGINT NOT NULL DEFAULT 0,
    send_friends_to_stripe BIGINT NOT NULL DEFAULT 0,
    ongoing_stripe_sync BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX campaigns_by_account ON campaigns (account_id, created_at);

-- How many participants an account may have (set by the Owner).
ALTER TABLE accounts ADD COLUMN participant_limit BIGINT NOT NULL DEFAULT 5000;
