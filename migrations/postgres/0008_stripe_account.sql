-- The Stripe account a key opens, as Stripe identified it when the key was checked.
ALTER TABLE stripe_connections ADD COLUMN stripe_account_id TEXT;
ALTER TABLE stripe_connections ADD COLUMN stripe_account_name TEXT;
