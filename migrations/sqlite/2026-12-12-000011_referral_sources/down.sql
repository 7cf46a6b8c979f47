DELETE FROM users WHERE id = '5e1f0000-0000-4000-8000-000000000002';
DELETE FROM organizations WHERE id = '5e1f0000-0000-4000-8000-000000000001';
DROP TABLE service_coverage;
DROP INDEX referrals_date_of_birth;
DROP INDEX referrals_case_id;
ALTER TABLE referrals DROP COLUMN case_id;
DROP INDEX referrals_source_kind;
ALTER TABLE referrals DROP COLUMN source_kind;
