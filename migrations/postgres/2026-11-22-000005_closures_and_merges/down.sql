DROP INDEX service_versions_one_per_version;
ALTER TABLE services DROP COLUMN merged_into;
ALTER TABLE services DROP COLUMN reopens_on;
