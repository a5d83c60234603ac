-- fuelwarden: compatible
-- Per closed month of the ledger, each station's and source's lowest and highest source seq, so that
-- a resend of a record months old is looked up in the months that can hold its seq, not in every
-- month kept: at 100 M rows over 29 months the old resend cost 2.07× what it cost at 10 M over 3,
-- an index descent in every month (README "Years of records").
--
-- A month is summarised once it lies wholly before the months the append's dedupe reads first (the
-- current and the previous one): nothing is appended into it any more (the append stamps its rows
-- with the database clock, never earlier than the station's previous row), so the summary stays
-- true. The daemon's partition service summarises (LedgerPeriods.summariseClosed) and marks the
-- month (sources_summarised_at); the dedupe reads, of a month not marked, every row as before.
-- (Additive: an earlier build runs on this schema unchanged and never writes into a closed month.)
CREATE TABLE ledger_source_ranges (
    station text NOT NULL,
    source  text NOT NULL,
    period  text NOT NULL,
    min_seq bigint NOT NULL,
    max_seq bigint NOT NULL CHECK (max_seq >= min_seq),
    PRIMARY KEY (station, source, period)
);

ALTER TABLE ledger_periods ADD COLUMN sources_summarised_at timestamptz;
