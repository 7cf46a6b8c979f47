-- Community groups sign themselves up: their organisation waits (`pending`) until the directory
-- team approves it (`active`) or turns it down (`rejected`, with the reason kept here).
ALTER TABLE organizations ADD COLUMN review_note TEXT;

ALTER TABLE organizations ADD CONSTRAINT organizations_status_known
    CHECK (status IN ('active', 'disabled', 'pending', 'rejected'));
