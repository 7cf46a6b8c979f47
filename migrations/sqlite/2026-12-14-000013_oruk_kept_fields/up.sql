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
