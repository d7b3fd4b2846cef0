-- The emails each campaign sends its participants (the Emails step), as JSON like the other
-- steps' settings.
CREATE TABLE email_settings (
    campaign_id TEXT PRIMARY KEY NOT NULL REFERENCES campaigns (id),
    account_id TEXT NOT NULL,
    settings TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Every email a participant was sent, or not sent and why: one row per (participant, kind,
-- occasion), so a retry or a second worker never sends the same email twice.
CREATE TABLE participant_emails (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL,
    participant_id TEXT NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    occasion TEXT NOT NULL,
    status TEXT NOT NULL,
    detail TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (participant_id, kind, occasion)
);
CREATE INDEX participant_emails_by_account ON participant_emails (account_id, status);

-- Who unsubscribed from their campaign's emails (the link in each email, or one click, RFC 8058).
CREATE TABLE email_unsubscribes (
    participant_id TEXT PRIMARY KEY NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL,
    at BIGINT NOT NULL
);

-- The instance's sending pace (--smtp-rate), shared by every process on this database: the
-- moment (Unix milliseconds) the next email may go.
CREATE TABLE email_pace (
    id INTEGER PRIMARY KEY NOT NULL,
    next_at_ms BIGINT NOT NULL
);
INSERT INTO email_pace (id, next_at_ms) VALUES (1, 0);

-- Emails to teammates (invitations, password resets): the `email.team` job's ledger, so that
-- a retry or a second worker never sends one twice.
CREATE TABLE team_emails (
    id TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    detail TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
