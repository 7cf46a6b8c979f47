ALTER TABLE services DROP COLUMN reopens_on;
