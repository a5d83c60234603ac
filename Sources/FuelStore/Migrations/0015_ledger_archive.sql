-- fuelwarden: compatible
-- What stays of a station's chain once a period is archived (`fuelwarden archive`): the last
-- archived record, where the chain in the database now begins (its successor links to it), and per
-- source the highest sequence archived, so that a resend of an archived record is refused instead
-- of being appended a second time. (Additive: a previous build runs on this schema unchanged.)
CREATE TABLE ledger_anchors (
    station     text PRIMARY KEY,
    seq         bigint NOT NULL,
    hash        bytea NOT NULL,
    period      text NOT NULL,
    archived_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ledger_archived_seqs (
    station        text NOT NULL,
    source         text NOT NULL,
    max_source_seq bigint NOT NULL,
    PRIMARY KEY (station, source)
);
