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

-- "This listing is wrong": suggestions from link workers and the public, for the group's
-- editors and the directory team to accept, answer or dismiss.
CREATE TABLE listing_suggestions (
    id TEXT PRIMARY KEY NOT NULL,
    service_id TEXT NOT NULL REFERENCES services (id),
    at TIMESTAMP NOT NULL,
    from_user_id TEXT REFERENCES users (id),
    body TEXT NOT NULL,
    reply_to TEXT,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'answered', 'dismissed')),
    answer TEXT,
    answered_by TEXT REFERENCES users (id),
    answered_at TIMESTAMP
);
CREATE INDEX listing_suggestions_service_id ON listing_suggestions (service_id, status);
