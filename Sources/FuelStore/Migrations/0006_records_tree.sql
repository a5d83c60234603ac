-- Per-record inclusion proofs: each station's chain also grows an RFC 9162 tree over its records'
-- link hashes. Its right edge (the perfect subtree roots, 32 bytes each, largest first) is kept with
-- the head, so the root that a checkpoint signs never needs the leaves reread. NULL until first
-- needed: the append or the checkpoint builds it from the ledger once.
ALTER TABLE chain_heads ADD COLUMN records_frontier bytea;
