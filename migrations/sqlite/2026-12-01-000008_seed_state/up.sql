-- The first start's seed is done. The row is written in the same transaction as the seed
-- itself, so a start killed half-way leaves no row and the next start seeds again (the seed
-- is idempotent); counting the vocabulary could not tell a half-seeded database from a full one.
CREATE TABLE seed_state (
    step TEXT PRIMARY KEY NOT NULL,
    done_at TIMESTAMP NOT NULL
);

-- Databases seeded before this table existed: reference data in every seeded table means done.
-- One with a vocabulary but no postcodes or places (a first start killed half-way) gets no row,
-- so its next start completes the seed.
INSERT INTO seed_state (step, done_at)
SELECT 'complete', CURRENT_TIMESTAMP
WHERE EXISTS (SELECT 1 FROM taxonomy_terms)
  AND EXISTS (SELECT 1 FROM postcodes)
  AND EXISTS (SELECT 1 FROM places);
