-- Time-driven messages about an introduction the group has not answered: after
-- COMMONGROUND_INTRODUCTION_DAYS one reminder to the group (reminded_at), after twice that the
-- link worker is told and the introduction is marked (link_worker_told_at). Each is set in the
-- transaction that queues its message; the messages' idempotency keys keep two instances (or a
-- run repeated after a crash) from queuing either twice.
ALTER TABLE connections ADD COLUMN reminded_at TIMESTAMP;
ALTER TABLE connections ADD COLUMN link_worker_told_at TIMESTAMP;
CREATE INDEX connections_unanswered ON connections (status, introduced_at);
