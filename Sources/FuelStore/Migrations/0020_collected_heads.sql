-- fuelwarden: compatible
-- Per station and collected source (the ATG poller's `atg`, the HJ 212 listener's `hj212`), the
-- highest source seq the daemon has handed out and the batch stamp it did so under. Numbering a
-- collected record asked the ledger for max(source_seq): an index descent in every month kept (30
-- and more after a few years) for every station in every batch, and a value that went back when a
-- period holding a station's last records of a source was archived and dropped.
--
-- (Additive: an earlier build numbers from the ledger and never writes here. So that this build stays
-- exact beside one, a row stamped within the append's recent months is checked against the ledger's
-- recent months, where anything an earlier build appended since would be; an older row, or none,
-- against the whole ledger and the archived seqs — CollectedNumbering.)
CREATE TABLE collected_heads (
    station    text NOT NULL,
    source     text NOT NULL,
    top_seq    bigint NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (station, source)
);

-- The top seq from the whole ledger and the archived seqs: for a station and source with no row above
-- (or an old one). A function, so that the numbering statement is not planned over every month kept
-- each time (PL/pgSQL plans its query once per connection); it runs only for the rows that need it.
CREATE FUNCTION fuelwarden_collected_top(p_station text, p_source text) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN greatest((SELECT max(l.source_seq) FROM ledger l WHERE l.station = p_station AND l.source = p_source),
                    (SELECT a.max_source_seq FROM ledger_archived_seqs a WHERE a.station = p_station AND a.source = p_source),
                    0);
END
$$;
