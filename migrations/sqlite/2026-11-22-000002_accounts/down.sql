DROP TRIGGER audit_events_no_delete;
DROP TRIGGER audit_events_no_update;
DROP TABLE audit_events;
DROP TABLE account_links;
DROP TABLE users;
DROP TABLE practice_services;
ALTER TABLE organizations DROP COLUMN status;
