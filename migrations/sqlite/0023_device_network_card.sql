-- Referral fraud (issue 27): the card a charge was paid with (Stripe's fingerprint, the same for one card
-- within an account), to tell a friend paying with the referrer's card.
ALTER TABLE stripe_charges ADD COLUMN card_fingerprint TEXT;
ALTER TABLE stripe_charges ADD COLUMN card_last4 TEXT;
ALTER TABLE stripe_charges ADD COLUMN card_brand TEXT;

-- Where each person joined from: their browser's device cookie and their address, each hashed with a key
-- of this instance (never the cookie or the address), kept until keep_until (their campaign's
-- qualification window after they joined), then deleted by housekeeping.
CREATE TABLE join_sightings (
    participant_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    device TEXT,
    network TEXT,
    at INTEGER NOT NULL,
    keep_until INTEGER NOT NULL
);
CREATE INDEX join_sightings_by_network ON join_sightings (campaign_id, network, at);
CREATE INDEX join_sightings_by_expiry ON join_sightings (keep_until);
