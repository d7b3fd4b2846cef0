-- Attribution at checkout (issue 23): the payment a charge belongs to, and what each completed
-- Checkout Session said about who referred the payer.
ALTER TABLE stripe_charges ADD COLUMN payment_intent TEXT;
CREATE INDEX stripe_charges_by_payment_intent ON stripe_charges (account_id, payment_intent);

-- One row per completed Checkout Session that carried Refloop evidence (a client_reference_id
-- or a promotion code of a person referring), attributed or not: participant_id is the friend
-- the payment counts for, or NULL with the reason in outcome.
CREATE TABLE checkout_attributions (
    account_id TEXT NOT NULL,
    stripe_account TEXT NOT NULL,
    session_id TEXT NOT NULL,
    campaign_id TEXT,
    participant_id TEXT REFERENCES participants (id),
    payment_intent TEXT,
    customer_id TEXT,
    email TEXT,
    -- client_reference_id or promotion_code: the evidence that decided.
    evidence TEXT NOT NULL,
    -- The value it carried (the referral code, participant id or promotion code).
    reference TEXT NOT NULL,
    -- What Refloop made of it, in words (on the timeline, in Why? and in the health check).
    outcome TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, session_id)
);
CREATE INDEX checkout_attributions_by_payment_intent ON checkout_attributions (account_id, payment_intent);
CREATE INDEX checkout_attributions_by_participant ON checkout_attributions (participant_id);
CREATE INDEX checkout_attributions_unattributed ON checkout_attributions (account_id, created_at) WHERE participant_id IS NULL;

-- Where a campaign's referral links (/r/{code}) lead: Refloop's join page when empty, else the
-- merchant's own page (with ?ref={code}), where the snippet keeps the code for checkout.
ALTER TABLE campaigns ADD COLUMN landing_url TEXT NOT NULL DEFAULT '';
