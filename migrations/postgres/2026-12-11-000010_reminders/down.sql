ALTER TABLE notifications DROP COLUMN delivered_at;
DROP TABLE notification_preferences;
DROP TABLE notification_opt_outs;
DROP TABLE referral_meetings;
DROP TABLE listing_reminders;
DROP INDEX connections_unanswered;
ALTER TABLE connections DROP COLUMN link_worker_told_at;
ALTER TABLE connections DROP COLUMN reminded_at;
