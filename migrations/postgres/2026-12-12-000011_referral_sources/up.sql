-- Referrals from other agencies and from the person, routed by area.
-- Where a referral came from: the kind of organisation that referred (a GP practice, an agency,
-- or the person themselves); the organisation is practice_id.
ALTER TABLE referrals ADD COLUMN source_kind TEXT NOT NULL DEFAULT 'gp_practice';
CREATE INDEX referrals_source_kind ON referrals (source_kind);

-- One person, one case: a referral for a person who already has an open case joins it (the
-- case's id here) instead of starting a second one; a link worker's merge does the same.
ALTER TABLE referrals ADD COLUMN case_id TEXT REFERENCES referrals (id);
CREATE INDEX referrals_case_id ON referrals (case_id);
CREATE INDEX referrals_date_of_birth ON referrals (date_of_birth);

-- The postcode districts ("GL7") and sectors ("GL7 1") a link worker service covers. The
-- practices it serves are practice_services.
CREATE TABLE service_coverage (
    service_id TEXT NOT NULL REFERENCES organizations (id),
    area TEXT NOT NULL,
    PRIMARY KEY (service_id, area)
);
-- One service per district or sector, so routing never has to choose between two.
CREATE UNIQUE INDEX service_coverage_area ON service_coverage (area);

-- Self-referrals are made by "the person themselves": one organisation and one account that
-- never signs in (disabled, no password) stand for them, so a referral always has a referrer.
INSERT INTO organizations (id, name, description, kind, created_at, updated_at, status)
VALUES ('5e1f0000-0000-4000-8000-000000000001', 'Self-referral', 'People who referred themselves', 'the_public',
        '2026-12-12 00:00:00', '2026-12-12 00:00:00', 'active');
INSERT INTO users (id, organization_id, email, name, role, password_hash, totp_enabled, status, token_version,
                   created_at, updated_at)
VALUES ('5e1f0000-0000-4000-8000-000000000002', '5e1f0000-0000-4000-8000-000000000001',
        'self-referral@commonground.invalid', 'The person (self-referral)', 'referrer', NULL, FALSE, 'disabled', 0,
        '2026-12-12 00:00:00', '2026-12-12 00:00:00');

-- Risk and safeguarding flags on the person (kept on their case), each with who set it, when
-- and why; never shown to community groups or put in any message.
CREATE TABLE risk_flags (
    id TEXT PRIMARY KEY NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referrals (id),
    kind TEXT NOT NULL CHECK (kind IN ('risk_to_self', 'risk_to_others', 'lone_working', 'safeguarding_open',
                                       'interpreter_needed', 'do_not_contact')),
    reason TEXT NOT NULL,
    set_by TEXT NOT NULL REFERENCES users (id),
    set_at TIMESTAMP NOT NULL
);
CREATE INDEX risk_flags_referral_id ON risk_flags (referral_id);

-- The safeguarding log: a concern raised, with whom, their reference and the outcome.
CREATE TABLE safeguarding_log (
    id TEXT PRIMARY KEY NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referrals (id),
    at TIMESTAMP NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users (id),
    concern TEXT NOT NULL,
    raised_with TEXT NOT NULL,
    reference TEXT,
    outcome TEXT
);
CREATE INDEX safeguarding_log_referral_id ON safeguarding_log (referral_id);
