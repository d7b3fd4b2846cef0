-- Payments in every currency (issue 26): what a charge settled as in the merchant's balance,
-- read from its balance transaction when it was paid in a currency some campaign's target is
-- not in. A charge in another currency than a target counts at this amount.
ALTER TABLE stripe_charges ADD COLUMN settled_amount INTEGER;
ALTER TABLE stripe_charges ADD COLUMN settled_currency TEXT;
-- Stripe's exchange_rate as it wrote it (settlement units per charge unit), for the timeline.
ALTER TABLE stripe_charges ADD COLUMN exchange_rate TEXT;
