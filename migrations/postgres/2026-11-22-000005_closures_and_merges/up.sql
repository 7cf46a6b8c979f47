-- A temporarily closed activity says when it opens again, so nobody is sent to a locked hall
-- and nobody gives up on a group that is only away for the summer.
ALTER TABLE services ADD COLUMN reopens_on DATE;

-- A duplicate listing merged into the one kept: it stops being shown, and its old address
-- (bookmarked, printed on a leaflet) leads to the one kept. Its history and connections stay.
ALTER TABLE services ADD COLUMN merged_into TEXT REFERENCES services (id);

-- One row per listing version: two saves of the same version can never both be recorded.
CREATE UNIQUE INDEX service_versions_one_per_version ON service_versions (service_id, version);
