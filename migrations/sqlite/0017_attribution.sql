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
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, session_id)
);
CREATE INDEX checkout_attributions_by_payment_intent ON checkout_attributions (account_id, payment_intent);
CREATE INDEX checkout_attributions_by_participant ON checkout_attributions (participant_id);
CREATE INDEX checkout_attributions_unattributed ON checkout_attributions (account_id, created_at) WHERE participant_id IS NULL;

-- Where a campaign's referral links (/r/{code}) lead: Refloop's join page when empty, else the
-- merchant's own page (with ?ref={code}), where the snippet keeps the code for checkout.
ALTER TABLE campaigns ADD COLUMN landing_url TEXT NOT NULL DEFAULT '';

-- The friend's offer: each person referring's own promotion code for their campaign's coupon,
-- per Stripe account and coupon (new terms make a new coupon, and new codes).
CREATE TABLE offer_codes (
    account_id TEXT NOT NULL,
    participant_id TEXT NOT NULL REFERENCES participants (id),
    stripe_account TEXT NOT NULL,
    coupon_id TEXT NOT NULL,
    promotion_code_id TEXT NOT NULL,
    code TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (participant_id, stripe_account, coupon_id)
);
CREATE INDEX offer_codes_by_promotion_code ON offer_codes (account_id, promotion_code_id);

-- One row per PaymentIntent whose charge or Checkout Session Refloop processed: processing one
-- takes the row's lock first, so that a charge's event and its session's event, processed at
-- once by two workers, run one after the other and the second sees what the first wrote.
CREATE TABLE payment_turns (
    account_id TEXT NOT NULL,
    payment_intent TEXT NOT NULL,
    touched_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, payment_intent)
);
