-- fuelwarden: compatible
-- Where a station's chain was last verified up to, with the hash recomputed there, so that the
-- background verifier can go on from it: at years of records, recomputing every chain whole every
-- day reads the whole ledger every day. The verifier checks the records added since each day, and
-- recomputes each chain whole every `checkpoint.verify_whole_every_days` (full_at says when it last
-- did). verified_seq and verified_hash are written together and only by this build: an earlier build
-- updating head_seq leaves the pair as it was, still true. (Additive: earlier builds run unchanged.)
ALTER TABLE chain_verifications
    ADD COLUMN verified_seq  bigint,
    ADD COLUMN verified_hash bytea,
    ADD COLUMN full_at       timestamptz;
