-- Sign-in attempts are now counted per account and address, per address and per account, under
-- fixed-size hashed subjects; rows whose window has ended are deleted as attempts are counted, which
-- this index keeps cheap. Earlier rows were keyed by the typed e-mail address and are dropped.
DELETE FROM sign_in_failures;
CREATE INDEX ix_sign_in_failures_window_start ON sign_in_failures (window_start);
