-- Each sandbox account belongs to the Refloop account that opened it: only that account's
-- members see it in the sandbox's dashboard and controls. (Accounts opened through the test
-- controls belong to nobody.)
ALTER TABLE sandbox_accounts ADD COLUMN owner TEXT;
CREATE INDEX sandbox_accounts_by_owner ON sandbox_accounts (owner);
