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

-- The next meeting a link worker booked with the person (time as entered, UK time, and
-- place), one a referral: booking again replaces it. reminded_at is set in the transaction
-- that queues the person's day-before reminder (only with their consent, by their channel).
CREATE TABLE referral_meetings (
    referral_id TEXT PRIMARY KEY NOT NULL REFERENCES referrals (id),
    at TIMESTAMP NOT NULL,
    place TEXT NOT NULL,
    booked_by TEXT NOT NULL REFERENCES users (id),
    booked_at TIMESTAMP NOT NULL,
    reminded_at TIMESTAMP
);
CREATE INDEX referral_meetings_at ON referral_meetings (at);

-- Opt-out, honoured at once: an address that followed an e-mail's unsubscribe link (the person
-- referred, a group's contact address) gets nothing more; the delivery worker gives up any
-- message to it, queued before or after. Lower case, trimmed.
CREATE TABLE notification_opt_outs (
    address TEXT PRIMARY KEY NOT NULL,
    at TIMESTAMP NOT NULL
);

-- A user's own preferences: a row is a message they turned off on /account.
CREATE TABLE notification_preferences (
    user_id TEXT NOT NULL REFERENCES users (id),
    template TEXT NOT NULL,
    PRIMARY KEY (user_id, template)
);

-- Notify status look-ups: when Notify says a sent message was delivered.
ALTER TABLE notifications ADD COLUMN delivered_at TIMESTAMP;
