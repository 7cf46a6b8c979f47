-- The community asset directory (after Open Referral UK / HSDS 3.0), geocoding tables and the
-- search outbox. Ids are UUIDs as text on both engines (ORUK ids are UUIDs).

CREATE TABLE taxonomy_terms (
    id TEXT PRIMARY KEY NOT NULL,
    vocabulary TEXT NOT NULL CHECK (vocabulary IN ('category', 'audience', 'accessibility', 'referral_reason')),
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    parent_id TEXT REFERENCES taxonomy_terms (id),
    position INTEGER NOT NULL DEFAULT 0,
    UNIQUE (vocabulary, slug)
);

CREATE TABLE organizations (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    website TEXT,
    email TEXT,
    phone TEXT,
    charity_number TEXT,
    kind TEXT NOT NULL DEFAULT 'community_org',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE services (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('active', 'inactive', 'defunct', 'temporarily closed')),
    url TEXT,
    email TEXT,
    phone TEXT,
    fees_description TEXT,
    eligibility_description TEXT,
    minimum_age INTEGER,
    maximum_age INTEGER,
    how_to_access TEXT NOT NULL DEFAULT '',
    attending_type TEXT NOT NULL DEFAULT 'in_person',
    capacity TEXT NOT NULL DEFAULT 'accepting' CHECK (capacity IN ('accepting', 'waitlist', 'full', 'paused')),
    languages TEXT NOT NULL DEFAULT '',
    keywords TEXT NOT NULL DEFAULT '',
    approval TEXT NOT NULL DEFAULT 'approved' CHECK (approval IN ('pending', 'approved', 'rejected')),
    last_verified TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX services_organization_id ON services (organization_id);

CREATE TABLE service_taxonomy (
    service_id TEXT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    term_id TEXT NOT NULL REFERENCES taxonomy_terms (id),
    PRIMARY KEY (service_id, term_id)
);
CREATE INDEX service_taxonomy_term_id ON service_taxonomy (term_id);

CREATE TABLE cost_options (
    id TEXT PRIMARY KEY NOT NULL,
    service_id TEXT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    option TEXT NOT NULL DEFAULT '',
    amount DOUBLE PRECISION,
    currency TEXT NOT NULL DEFAULT 'GBP',
    amount_description TEXT
);
CREATE INDEX cost_options_service_id ON cost_options (service_id);

CREATE TABLE contacts (
    id TEXT PRIMARY KEY NOT NULL,
    service_id TEXT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    name TEXT,
    title TEXT,
    email TEXT,
    phone TEXT
);
CREATE INDEX contacts_service_id ON contacts (service_id);

CREATE TABLE locations (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT REFERENCES organizations (id),
    name TEXT NOT NULL,
    address_1 TEXT NOT NULL DEFAULT '',
    city TEXT NOT NULL DEFAULT '',
    postcode TEXT,
    latitude DOUBLE PRECISION,
    longitude DOUBLE PRECISION,
    masked BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE location_accessibility (
    location_id TEXT NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
    term_id TEXT NOT NULL REFERENCES taxonomy_terms (id),
    PRIMARY KEY (location_id, term_id)
);

CREATE TABLE service_at_locations (
    id TEXT PRIMARY KEY NOT NULL,
    service_id TEXT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    location_id TEXT NOT NULL REFERENCES locations (id),
    UNIQUE (service_id, location_id)
);
CREATE INDEX service_at_locations_location_id ON service_at_locations (location_id);

CREATE TABLE schedules (
    id TEXT PRIMARY KEY NOT NULL,
    service_id TEXT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    freq TEXT NOT NULL CHECK (freq IN ('WEEKLY', 'MONTHLY')),
    byday TEXT NOT NULL,
    week_of_month TEXT,
    opens_at TEXT NOT NULL,
    closes_at TEXT NOT NULL,
    valid_from DATE,
    valid_to DATE,
    notes TEXT
);
CREATE INDEX schedules_service_id ON schedules (service_id);

CREATE TABLE postcodes (
    postcode TEXT PRIMARY KEY NOT NULL,
    outward TEXT NOT NULL,
    latitude DOUBLE PRECISION NOT NULL,
    longitude DOUBLE PRECISION NOT NULL
);
CREATE INDEX postcodes_outward ON postcodes (outward);

CREATE TABLE places (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    county TEXT NOT NULL,
    latitude DOUBLE PRECISION NOT NULL,
    longitude DOUBLE PRECISION NOT NULL
);

CREATE TABLE search_outbox (
    id BIGSERIAL PRIMARY KEY,
    service_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
