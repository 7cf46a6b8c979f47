-- The notification outbox: every message to send is a row written in the same transaction as
-- the event that causes it, so a rolled-back event sends nothing and a committed one is never
-- forgotten. A delivery worker claims due rows (queued, or failed and due again, or sending
-- with a lapsed lease: the instance that claimed it died), sends, and records the outcome.
-- The idempotency key is unique: an event that is written twice queues one message, and the
-- transports derive their own de-duplication (SMTP Message-ID, Notify reference) from it.
-- personalisation holds the values a template fills in, never clinical content.
CREATE TABLE notifications (
    id TEXT PRIMARY KEY NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL,
    audience TEXT NOT NULL,
    recipient TEXT NOT NULL,
    template TEXT NOT NULL,
    personalisation TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_until TIMESTAMP,
    provider_id TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE INDEX notifications_due ON notifications (status, next_attempt_at);
CREATE INDEX notifications_created ON notifications (created_at);

-- A group answers an introduction from an e-mailed link without signing in; when the link went
-- to the group's contact address rather than to one of its editors, nobody signed in answered.
-- SQLite cannot drop NOT NULL in place: the table is rebuilt (nothing refers to it).
CREATE TABLE connection_events_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    connection_id TEXT NOT NULL REFERENCES connections (id),
    at TIMESTAMP NOT NULL,
    actor_id TEXT REFERENCES users (id),
    from_status TEXT,
    to_status TEXT NOT NULL,
    reason TEXT
);
INSERT INTO connection_events_new (id, connection_id, at, actor_id, from_status, to_status, reason)
SELECT id, connection_id, at, actor_id, from_status, to_status, reason FROM connection_events;
DROP TABLE connection_events;
ALTER TABLE connection_events_new RENAME TO connection_events;
