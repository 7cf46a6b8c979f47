ALTER TABLE referrals DROP COLUMN contact_stopped_at;
ALTER TABLE connections DROP COLUMN person_answered_at;
ALTER TABLE connections DROP COLUMN person_words;
ALTER TABLE connections DROP COLUMN person_reason;
ALTER TABLE connections DROP COLUMN person_choice;
ALTER TABLE connections DROP COLUMN note_for_person;
DROP TABLE person_links;
