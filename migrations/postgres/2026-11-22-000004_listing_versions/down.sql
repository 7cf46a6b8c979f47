DROP TABLE service_versions;
