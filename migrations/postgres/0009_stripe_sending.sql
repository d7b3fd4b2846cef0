-- Sending participants into Stripe as customers.

-- Where a participant stands with Stripe, in words ("Linked to existing customer cus_… — 2
-- customers share this email; policy: most recent"), and since when they wait for the
-- merchant's own system to create their customer.
ALTER TABLE participants ADD COLUMN stripe_note TEXT NOT NULL DEFAULT '';
ALTER TABLE participants ADD COLUMN stripe_since BIGINT;
CREATE INDEX participants_by_stripe ON participants (account_id, stripe_status, stripe_since);

-- How each audience (referring, invited) of a campaign is sent: mapping and policies, as JSON.
CREATE TABLE stripe_send_settings (
    account_id TEXT NOT NULL,
    campaign_id TEXT NOT NULL REFERENCES campaigns (id),
    audience TEXT NOT NULL,
    settings TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, audience)
);

-- The Stripe customers each participant is linked to (several when the policy links all
-- customers sharing an email), and how.
CREATE TABLE participant_customers (
    account_id TEXT NOT NULL,
    participant_id TEXT NOT NULL REFERENCES participants (id),
    customer_id TEXT NOT NULL,
    how TEXT NOT NULL,
    linked_at BIGINT NOT NULL,
    PRIMARY KEY (participant_id, customer_id)
);
CREATE INDEX participant_customers_by_customer ON participant_customers (account_id, customer_id);

-- A permanent failure talking to Stripe (e.g. the key lost a permission), shown on the
-- Integrations page until the connection is replaced.
ALTER TABLE stripe_connections ADD COLUMN alert TEXT;
ALTER TABLE stripe_connections ADD COLUMN alert_at BIGINT;

-- Watching for customers the merchant's system creates: the last event seen, and the last
-- look-up by email (the safety net).
CREATE TABLE stripe_watch (
    account_id TEXT PRIMARY KEY NOT NULL,
    events_after BIGINT NOT NULL,
    looked_up_at BIGINT NOT NULL
);
