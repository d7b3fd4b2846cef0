-- Commissions (issue 26): a rule may earn a percentage of each payment, one ledger entry per
-- (payment, rule). charge_id is the payment an entry was earned on ('' for a reward earned by
-- qualifying), base the payment's net it was computed on, paid_at when the payment was made.
ALTER TABLE rewards ADD COLUMN charge_id TEXT NOT NULL DEFAULT '';
ALTER TABLE rewards ADD COLUMN base BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rewards ADD COLUMN paid_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rewards DROP CONSTRAINT rewards_referral_id_rule_id_recipient_id_key;
ALTER TABLE rewards ADD CONSTRAINT rewards_once UNIQUE (referral_id, rule_id, recipient_id, charge_id);
-- A recipient's commission under a rule, by the month of the payment (the monthly cap).
CREATE INDEX rewards_by_payment_month ON rewards (account_id, recipient_id, rule_id, paid_at);
