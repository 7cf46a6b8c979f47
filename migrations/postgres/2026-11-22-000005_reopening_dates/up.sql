-- A temporarily closed activity says when it opens again, so nobody is sent to a locked hall
-- and nobody gives up on a group that is only away for the summer.
ALTER TABLE services ADD COLUMN reopens_on DATE;
