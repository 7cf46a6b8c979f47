-- A person's own page: a link the link worker makes (with the person's consent) and sends by
-- their chosen channel or prints on their plan. The code in the link is derived from the row's
-- id with the server's key and only its SHA-256 is kept, so no usable link sits in the database.
-- It expires, can be revoked, and locks after five wrong dates of birth.
CREATE TABLE person_links (
    id TEXT PRIMARY KEY NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referrals (id),
    code_hash TEXT NOT NULL UNIQUE,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    failed_birth_dates INTEGER NOT NULL DEFAULT 0,
    locked_at TIMESTAMP
);
CREATE INDEX person_links_referral ON person_links (referral_id);

-- The link worker's note to the person about a suggestion (the `note` is for the group).
ALTER TABLE connections ADD COLUMN note_for_person TEXT;
-- The person's answer to each suggestion: 'try' or 'not_for_me', a reason from a short list
-- (for the reports) and their own words.
ALTER TABLE connections ADD COLUMN person_choice TEXT;
ALTER TABLE connections ADD COLUMN person_reason TEXT;
ALTER TABLE connections ADD COLUMN person_words TEXT;
ALTER TABLE connections ADD COLUMN person_answered_at TIMESTAMP;

-- The person asked not to be contacted any more (from their page): no message goes to them.
ALTER TABLE referrals ADD COLUMN contact_stopped_at TIMESTAMP;
