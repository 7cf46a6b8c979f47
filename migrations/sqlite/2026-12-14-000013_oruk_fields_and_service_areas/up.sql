-- Open Referral UK fields an import is given that the directory does not use itself (service
-- areas, funding, accreditations, an alert, the assurer's e-mail, a schedule's dtstart,
-- interval and attending type, a cost's dates; an organisation's logo, uri, parent and
-- identifiers), kept as checked JSON so that /oruk publishes them back as they came.
CREATE TABLE oruk_service_fields (
    service_id TEXT PRIMARY KEY NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    fields TEXT NOT NULL
);
CREATE TABLE oruk_organization_fields (
    organization_id TEXT PRIMARY KEY NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    fields TEXT NOT NULL
);

-- Where a listing is offered besides (or instead of) its venues, in terms a search can test
-- against where the person is: kind is postcode_district (value GL5), county (value
-- Gloucestershire, as the places list names it), online, national, or home_visits (value the
-- base postcode or venue name, radius_km, and the base point).
CREATE TABLE service_areas (
    id TEXT PRIMARY KEY NOT NULL,
    service_id TEXT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    radius_km DOUBLE,
    latitude DOUBLE,
    longitude DOUBLE
);
CREATE INDEX service_areas_service ON service_areas (service_id);
CREATE INDEX service_areas_kind ON service_areas (kind);
