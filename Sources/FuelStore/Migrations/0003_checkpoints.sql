-- fuelwarden: compatible
-- Signed checkpoints: every few minutes an RFC 9162 tree over all stations' chain heads, signed
-- with Ed25519. The heads are kept with it so that inclusion proofs can be served later; the
-- signature is what makes a later edit of this table (or of the ledger) detectable offline.
CREATE TABLE checkpoints (
    id          bigserial PRIMARY KEY,
    origin      text NOT NULL,
    tree_size   integer NOT NULL,
    root        bytea NOT NULL,
    issued_at   timestamptz NOT NULL,
    signature   bytea NOT NULL,
    public_key  bytea NOT NULL,
    -- [[station, head_seq, head_hash_hex], …] in station order: the tree's leaves.
    heads       jsonb NOT NULL
);
CREATE INDEX checkpoints_issued ON checkpoints(issued_at);
