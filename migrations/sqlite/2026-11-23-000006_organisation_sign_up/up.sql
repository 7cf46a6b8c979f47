-- Community groups sign themselves up: their organisation waits (`pending`) until the directory
-- team approves it (`active`) or turns it down (`rejected`, with the reason kept here).
ALTER TABLE organizations ADD COLUMN review_note TEXT;

-- SQLite cannot add a CHECK constraint to an existing table, so triggers hold the statuses.
CREATE TRIGGER organizations_status_insert BEFORE INSERT ON organizations
WHEN NEW.status NOT IN ('active', 'disabled', 'pending', 'rejected')
BEGIN
    SELECT RAISE(ABORT, 'organizations.status must be active, disabled, pending or rejected');
END;
CREATE TRIGGER organizations_status_update BEFORE UPDATE OF status ON organizations
WHEN NEW.status NOT IN ('active', 'disabled', 'pending', 'rejected')
BEGIN
    SELECT RAISE(ABORT, 'organizations.status must be active, disabled, pending or rejected');
END;
