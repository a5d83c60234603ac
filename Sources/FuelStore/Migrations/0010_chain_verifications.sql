-- fuelwarden: compatible
-- The last time each station's chain was recomputed from its stored bodies (by the background
-- verifier, `fuelwarden verify` or an inspection pre-check), how far and what it found: the console
-- shows when a chain was last verified. (Additive: a previous build runs on this schema unchanged.)
CREATE TABLE chain_verifications (
    station     text PRIMARY KEY,
    verified_at timestamptz NOT NULL,
    head_seq    bigint NOT NULL,
    records     bigint NOT NULL,
    intact      boolean NOT NULL,
    break       text
);
