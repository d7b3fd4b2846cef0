-- Referral fraud (issue 27): a referral flagged as a likely self-referral, with the signs that fired and their
-- evidence (JSON), until someone with Manage rewards approves or rejects it. Its rewards wait for that decision.
CREATE TABLE referral_reviews (
    participant_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    findings TEXT NOT NULL,
    state TEXT NOT NULL,
    decided_by TEXT,
    created_at INTEGER NOT NULL,
    decided_at INTEGER
);
CREATE INDEX referral_reviews_by_campaign ON referral_reviews (account_id, campaign_id, state);
