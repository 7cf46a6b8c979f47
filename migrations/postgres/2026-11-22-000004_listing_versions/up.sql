-- Every change to a listing, kept: who, when, what changed (before and after), so admins can
-- see the history and revert, and a stale edit can be shown what the other person changed.
CREATE TABLE service_versions (
    id BIGSERIAL PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES services (id),
    version INTEGER NOT NULL,
    at TIMESTAMP NOT NULL,
    actor_id TEXT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL CHECK (kind IN ('edit', 'verify', 'revert')),
    changes TEXT NOT NULL
);
CREATE INDEX service_versions_service_id ON service_versions (service_id, version);
