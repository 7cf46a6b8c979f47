-- The person's data rights (UK GDPR) and retention.
-- A restricted referral is frozen: read-only, out of groups' inboxes and named lists, until the
-- restriction is lifted (the row is deleted; the audit trail keeps both).
CREATE TABLE referral_restrictions (
    referral_id TEXT PRIMARY KEY NOT NULL REFERENCES referrals (id),
    at TIMESTAMP NOT NULL,
    by_id TEXT NOT NULL REFERENCES users (id),
    reason TEXT NOT NULL
);

-- Rectification: each correction keeps the value it replaced.
CREATE TABLE referral_corrections (
    id BIGSERIAL PRIMARY KEY,
    referral_id TEXT NOT NULL REFERENCES referrals (id),
    at TIMESTAMP NOT NULL,
    actor_id TEXT NOT NULL REFERENCES users (id),
    field TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT,
    reason TEXT NOT NULL
);
CREATE INDEX referral_corrections_referral_id ON referral_corrections (referral_id);

-- A referral whose personal data has been removed (erasure, or retention), and why. What
-- reports count (dates, statuses, practice, reasons, age band, measures) stays.
CREATE TABLE referral_anonymisations (
    referral_id TEXT PRIMARY KEY NOT NULL REFERENCES referrals (id),
    at TIMESTAMP NOT NULL,
    basis TEXT NOT NULL
);
