ALTER TABLE services DROP COLUMN merged_into;
ALTER TABLE services DROP COLUMN reopens_on;
