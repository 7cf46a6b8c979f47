DELETE FROM connection_events WHERE actor_id IS NULL;
ALTER TABLE connection_events ALTER COLUMN actor_id SET NOT NULL;
DROP TABLE notifications;
