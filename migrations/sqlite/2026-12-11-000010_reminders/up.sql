-- Time-driven messages about an introduction the group has not answered: after
-- COMMONGROUND_INTRODUCTION_DAYS one reminder to the group (reminded_at), after twice that the
-- link worker is told and the introduction is marked (link_worker_told_at). Each is set in the
-- transaction that queues its message; the messages' idempotency keys keep two instances (or a
-- run repeated after a crash) from queuing either twice.
ALTER TABLE connections ADD COLUMN reminded_at TIMESTAMP;
ALTER TABLE connections ADD COLUMN link_worker_told_at TIMESTAMP;
CREATE INDEX connections_unanswered ON connections (status, introduced_at);

-- Keeping listings true: the reminders sent to a listing's editors for one verification
-- (verified_at is the listing's last_verified when each was sent), numbered from 1. "Still
-- accurate" moves last_verified on, which starts a new cycle. Number 0 marks a cycle in which
-- nobody is reminded (the demo's listings). The primary key is the claim: of two instances
-- sending the same reminder, one inserts it.
CREATE TABLE listing_reminders (
    service_id TEXT NOT NULL REFERENCES services (id),
    verified_at TIMESTAMP NOT NULL,
    number INTEGER NOT NULL,
    sent_at TIMESTAMP NOT NULL,
    PRIMARY KEY (service_id, verified_at, number)
);
