-- Referrals: the person, why, consent, the status history, the work of the link worker
-- (contact attempts, notes, outcome measures, the plan), the connections to community assets,
-- and the searches made inside referrals (without the person) for the unmet-need report.

CREATE TABLE referrals (
    id TEXT PRIMARY KEY NOT NULL,
    practice_id TEXT NOT NULL REFERENCES organizations (id),
    service_id TEXT NOT NULL REFERENCES organizations (id),
    referrer_id TEXT NOT NULL REFERENCES users (id),
    owner_id TEXT REFERENCES users (id),
    status TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    urgency TEXT NOT NULL CHECK (urgency IN ('routine', 'soon', 'urgent')),
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    date_of_birth DATE NOT NULL,
    nhs_number TEXT NOT NULL,
    postcode TEXT NOT NULL,
    outward_code TEXT NOT NULL,
    latitude DOUBLE PRECISION,
    longitude DOUBLE PRECISION,
    phone TEXT,
    email TEXT,
    preferred_contact TEXT NOT NULL,
    contact_times TEXT,
    language TEXT,
    interpreter_needed BOOLEAN NOT NULL DEFAULT FALSE,
    access_needs TEXT,
    do_not_contact_directly BOOLEAN NOT NULL DEFAULT FALSE,
    sex TEXT,
    ethnicity TEXT,
    referrer_words TEXT NOT NULL,
    what_matters TEXT,
    risk_notes TEXT,
    consent_referral BOOLEAN NOT NULL,
    consent_share BOOLEAN NOT NULL,
    first_contact_at TIMESTAMP,
    review_date DATE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX referrals_practice_id ON referrals (practice_id);
CREATE INDEX referrals_service_id ON referrals (service_id, status);

CREATE TABLE referral_reasons (
    referral_id TEXT NOT NULL REFERENCES referrals (id),
    term_id TEXT NOT NULL REFERENCES taxonomy_terms (id),
    PRIMARY KEY (referral_id, term_id)
);

CREATE TABLE referral_events (
    id BIGSERIAL PRIMARY KEY,
    referral_id TEXT NOT NULL REFERENCES referrals (id),
    at TIMESTAMP NOT NULL,
    actor_id TEXT NOT NULL REFERENCES users (id),
    from_status TEXT,
    to_status TEXT NOT NULL,
    reason TEXT,
    note TEXT
);
CREATE INDEX referral_events_referral_id ON referral_events (referral_id);

CREATE TABLE contact_attempts (
    id TEXT PRIMARY KEY NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referrals (id),
    at TIMESTAMP NOT NULL,
    method TEXT NOT NULL CHECK (method IN ('phone', 'text', 'email', 'letter', 'visit')),
    outcome TEXT NOT NULL CHECK (outcome IN ('reached', 'no_answer', 'left_message', 'wrong_number', 'declined_to_talk')),
    note TEXT,
    by_id TEXT NOT NULL REFERENCES users (id)
);
CREATE INDEX contact_attempts_referral_id ON contact_attempts (referral_id);

CREATE TABLE referral_notes (
    id TEXT PRIMARY KEY NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referrals (id),
    at TIMESTAMP NOT NULL,
    author_id TEXT NOT NULL REFERENCES users (id),
    body TEXT NOT NULL
);
CREATE INDEX referral_notes_referral_id ON referral_notes (referral_id);

CREATE TABLE outcome_measures (
    id TEXT PRIMARY KEY NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referrals (id),
    at TIMESTAMP NOT NULL,
    instrument TEXT NOT NULL CHECK (instrument IN ('ons4', 'swemwbs')),
    timepoint TEXT NOT NULL CHECK (timepoint IN ('baseline', 'follow_up')),
    answers TEXT NOT NULL,
    score DOUBLE PRECISION,
    by_id TEXT NOT NULL REFERENCES users (id)
);
CREATE INDEX outcome_measures_referral_id ON outcome_measures (referral_id);

CREATE TABLE referral_plans (
    id TEXT PRIMARY KEY NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referrals (id),
    version INTEGER NOT NULL,
    what_matters TEXT NOT NULL,
    goals TEXT NOT NULL,
    actions TEXT NOT NULL,
    review_date DATE,
    author_id TEXT NOT NULL REFERENCES users (id),
    at TIMESTAMP NOT NULL,
    UNIQUE (referral_id, version)
);

CREATE TABLE connections (
    id TEXT PRIMARY KEY NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referrals (id),
    service_id TEXT NOT NULL REFERENCES services (id),
    status TEXT NOT NULL,
    note TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    introduced_at TIMESTAMP,
    answered_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX connections_referral_id ON connections (referral_id);
CREATE INDEX connections_service_id ON connections (service_id, status);

CREATE TABLE connection_events (
    id BIGSERIAL PRIMARY KEY,
    connection_id TEXT NOT NULL REFERENCES connections (id),
    at TIMESTAMP NOT NULL,
    actor_id TEXT NOT NULL REFERENCES users (id),
    from_status TEXT,
    to_status TEXT NOT NULL,
    reason TEXT
);

CREATE TABLE referral_searches (
    id BIGSERIAL PRIMARY KEY,
    at TIMESTAMP NOT NULL,
    service_org_id TEXT NOT NULL,
    query TEXT NOT NULL,
    categories TEXT NOT NULL,
    outward_code TEXT,
    radius_km DOUBLE PRECISION,
    results INTEGER NOT NULL
);
