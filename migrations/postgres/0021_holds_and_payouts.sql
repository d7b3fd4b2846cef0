-- Holds and manual payouts (issue 26): a reward held until held_until, after the payment held_for that earned it,
-- is given then unless that payment was refunded or disputed meanwhile.
ALTER TABLE rewards ADD COLUMN held_until BIGINT;
ALTER TABLE rewards ADD COLUMN held_for TEXT;
-- What a teammate wrote when marking a manual reward fulfilled: the payout's reference.
ALTER TABLE rewards ADD COLUMN payout_ref TEXT;
