DROP TRIGGER organizations_status_update;
DROP TRIGGER organizations_status_insert;
ALTER TABLE organizations DROP COLUMN review_note;
