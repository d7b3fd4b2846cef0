-- Every Stripe ledger and link names the Stripe account it came from, so that after a switch
-- to another account what came from the old one counts for nothing (and comes back if the
-- account is connected again). Rows from before are the connected account's.
ALTER TABLE stripe_webhooks ADD COLUMN stripe_account TEXT NOT NULL DEFAULT '';
-- Deliveries refused because the endpoint belongs to an account no longer connected.
ALTER TABLE stripe_webhooks ADD COLUMN foreign_events BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stripe_events ADD COLUMN stripe_account TEXT NOT NULL DEFAULT '';
ALTER TABLE stripe_charges ADD COLUMN stripe_account TEXT NOT NULL DEFAULT '';
ALTER TABLE participant_customers ADD COLUMN stripe_account TEXT NOT NULL DEFAULT '';

UPDATE stripe_webhooks SET stripe_account = COALESCE(
    (SELECT c.stripe_account_id FROM stripe_connections c WHERE c.account_id = stripe_webhooks.account_id), '');
UPDATE stripe_events SET stripe_account = COALESCE(
    (SELECT c.stripe_account_id FROM stripe_connections c WHERE c.account_id = stripe_events.account_id), '');
UPDATE stripe_charges SET stripe_account = COALESCE(
    (SELECT c.stripe_account_id FROM stripe_connections c WHERE c.account_id = stripe_charges.account_id), '');
UPDATE participant_customers SET stripe_account = COALESCE(
    (SELECT c.stripe_account_id FROM stripe_connections c WHERE c.account_id = participant_customers.account_id), '');
