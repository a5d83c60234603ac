-- fuelwarden: compatible
-- Console sign-in sessions. A person pastes a regulator token once; the daemon answers with a
-- random session id in a cookie and keeps only its SHA-256 here, with the token it stands for, the
-- CSRF token of its forms and the language chosen. Revoking the token, signing out, or idle and
-- absolute expiry end the session. (Additive: a previous build runs on this schema unchanged.)
CREATE TABLE console_sessions (
    id_hash      bytea PRIMARY KEY,
    token_id     bigint NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    csrf         text NOT NULL,
    lang         text NOT NULL DEFAULT 'zh' CHECK (lang IN ('zh', 'en')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX console_sessions_token ON console_sessions (token_id);
CREATE INDEX console_sessions_expires ON console_sessions (expires_at);

-- The alerts board and `GET /v1/alerts` page newest first by (raised_at, id): keyset pagination.
CREATE INDEX alerts_raised ON alerts (raised_at DESC, id DESC);
