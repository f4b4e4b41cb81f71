-- Sessions get an id, so an account can list its sign-ins and revoke one without holding its
-- token (SQLite). Keep in step with ../postgres/0006_session_ids.sql. SQLite cannot add a key
-- column in place: the table is rebuilt (nothing refers to it).
CREATE TABLE sessions_new (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    kind TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
INSERT INTO sessions_new (token_hash, account_id, kind, csrf, created_at, expires_at)
    SELECT token_hash, account_id, kind, csrf, created_at, expires_at FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;

-- An account's sessions are revoked together (password change, disabling); expired ones purged.
CREATE INDEX sessions_account ON sessions(account_id, expires_at);
CREATE INDEX sessions_expiry ON sessions(expires_at);
