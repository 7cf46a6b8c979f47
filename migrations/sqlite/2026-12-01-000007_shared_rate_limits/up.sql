-- Sign-in, sign-up and suggestion allowances, shared by every instance on this database.
-- One row per limiter key (a SHA-256, so no e-mail or address is stored) and fixed window.
CREATE TABLE rate_limits (
    key TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
);
CREATE INDEX rate_limits_window_start ON rate_limits (window_start);
