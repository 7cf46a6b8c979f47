CREATE TABLE connection_events_old (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    connection_id TEXT NOT NULL REFERENCES connections (id),
    at TIMESTAMP NOT NULL,
    actor_id TEXT NOT NULL REFERENCES users (id),
    from_status TEXT,
    to_status TEXT NOT NULL,
    reason TEXT
);
INSERT INTO connection_events_old (id, connection_id, at, actor_id, from_status, to_status, reason)
SELECT id, connection_id, at, actor_id, from_status, to_status, reason FROM connection_events
WHERE actor_id IS NOT NULL;
DROP TABLE connection_events;
ALTER TABLE connection_events_old RENAME TO connection_events;
DROP TABLE notifications;
