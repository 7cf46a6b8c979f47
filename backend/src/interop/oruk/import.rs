//! Merging an Open Referral UK file into the directory (written next).
