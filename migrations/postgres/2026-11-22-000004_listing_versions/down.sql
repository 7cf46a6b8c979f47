DROP TABLE listing_suggestions;
DROP TABLE service_versions;
