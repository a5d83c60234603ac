-- Records the daemon collects itself (ATG poller, HJ 212 listener) have no station sequence:
-- the daemon numbers them as it collects (ledger.source_seq) and remembers each one's natural key
-- (console tank + reading time, device MN + packet QN + item) so that a re-polled reading or a
-- re-sent packet is a duplicate, not a second record.
CREATE TABLE collected_keys (
    station     text NOT NULL,
    source      text NOT NULL,
    natural_key text NOT NULL,
    source_seq  bigint NOT NULL,
    PRIMARY KEY (station, source, natural_key)
);
