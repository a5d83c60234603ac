-- fuelwarden: compatible
-- The cryptographic suite the ledger is sealed with (ledger.suite: international = SHA-256 and
-- Ed25519, guomi = SM3 and SM2), chosen once, when the database is first migrated, and never
-- changed: every link hash, tree and checkpoint depends on it. (Additive: a previous build runs on
-- this schema unchanged.)
CREATE TABLE ledger_suite (
    only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    suite     text NOT NULL CHECK (suite IN ('international', 'guomi')),
    chosen_at timestamptz NOT NULL DEFAULT now()
);
-- A database that already holds records was sealed with the only suite there was.
INSERT INTO ledger_suite (suite)
SELECT 'international' WHERE EXISTS (SELECT 1 FROM ledger) OR EXISTS (SELECT 1 FROM audit_log);
