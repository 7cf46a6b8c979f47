DROP TABLE service_areas;
DROP TABLE oruk_organization_fields;
DROP TABLE oruk_service_fields;
