-- Commissions (issue 26): a rule may earn a percentage of each payment, one ledger entry per
-- (payment, rule). charge_id is the payment an entry was earned on ('' for a reward earned by
-- qualifying), base the payment's net it was computed on, paid_at when the payment was made.
-- SQLite cannot change a table's UNIQUE constraint: the table is made again with the new key.
CREATE TABLE rewards_new (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL,
    campaign_id TEXT NOT NULL REFERENCES campaigns (id),
    rule_id TEXT NOT NULL,
    referral_id TEXT NOT NULL REFERENCES participants (id),
    recipient_id TEXT NOT NULL REFERENCES participants (id),
    kind TEXT NOT NULL,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL,
    note TEXT NOT NULL,
    customer_id TEXT,
    stripe_ref TEXT,
    code TEXT,
    reversal_ref TEXT,
    decided_by TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    charge_id TEXT NOT NULL DEFAULT '',
    base INTEGER NOT NULL DEFAULT 0,
    paid_at INTEGER NOT NULL DEFAULT 0,
    UNIQUE (referral_id, rule_id, recipient_id, charge_id)
);
INSERT INTO rewards_new (id, account_id, campaign_id, rule_id, referral_id, recipient_id, kind, amount,
    currency, description, status, note, customer_id, stripe_ref, code, reversal_ref, decided_by,
    created_at, updated_at)
SELECT id, account_id, campaign_id, rule_id, referral_id, recipient_id, kind, amount, currency,
    description, status, note, customer_id, stripe_ref, code, reversal_ref, decided_by, created_at,
    updated_at
FROM rewards;
DROP TABLE rewards;
ALTER TABLE rewards_new RENAME TO rewards;
CREATE INDEX rewards_by_recipient ON rewards (recipient_id, created_at);
CREATE INDEX rewards_by_campaign ON rewards (account_id, campaign_id, status, created_at);
CREATE INDEX rewards_by_time ON rewards (account_id, created_at, campaign_id, status, currency, amount);
-- A recipient's commission under a rule, by the month of the payment (the monthly cap).
CREATE INDEX rewards_by_payment_month ON rewards (account_id, recipient_id, rule_id, paid_at);
