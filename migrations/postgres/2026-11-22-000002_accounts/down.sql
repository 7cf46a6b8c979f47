DROP TRIGGER audit_events_no_change ON audit_events;
DROP FUNCTION audit_events_append_only();
DROP TABLE audit_events;
DROP TABLE account_links;
DROP TABLE users;
DROP TABLE practice_services;
ALTER TABLE organizations DROP COLUMN status;
