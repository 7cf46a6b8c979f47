DROP TABLE referral_anonymisations;
DROP TABLE referral_corrections;
DROP TABLE referral_restrictions;
