ALTER TABLE organizations DROP CONSTRAINT organizations_status_known;
ALTER TABLE organizations DROP COLUMN review_note;
