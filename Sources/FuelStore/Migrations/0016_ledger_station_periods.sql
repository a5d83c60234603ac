-- fuelwarden: compatible
-- Where each station's chain enters a new period (partition) of the ledger, and the data times of
-- what it holds before, so that reads of a stretch of chain positions or of a time window read only
-- the months that can hold it (partition pruning on received_at) instead of looking into every
-- month: at 50 M rows the detector's read past its frontier and the export of an old day cost 1.3×
-- and 2.7× what they cost at 10 M, index descents in every month that holds any of the station's records.
--
-- A row is written by the append when a station's records first reach a period (never changed
-- after): first_seq is the station's lowest chain position in that period (looked up in the period
-- itself, so records an earlier build wrote there count), span_min_at/span_max_at the least and
-- greatest data time of the station's records received from the previous row's period on (from the
-- beginning, for its first row) up to this one. The append stamps a transaction's rows with one
-- received_at never earlier than the station's previous one (chain_heads.last_received_at), so a
-- chain never goes back to an earlier period and these lookups are exact:
--   records at chain positions >= s are all received at or after fuelwarden_ledger_floor(station, s);
--   records at chain positions <= s are all received before fuelwarden_ledger_ceiling(station, s);
--   all records are received before fuelwarden_ledger_end(station);
--   records with data time in [f, t) are all received in [fuelwarden_ledger_open(station),
--   fuelwarden_ledger_end(station)) (the station's newest period, still filling) or in
--   [fuelwarden_ledger_span_from(station, f, t), fuelwarden_ledger_span_until(station, f, t)) (the
--   closed spans that can hold such times).
-- The reads ask these first and then read with the answers as parameters, so that PostgreSQL plans
-- the months they name only (bounds from a subquery prune at run time, after every month was planned).
-- (Additive: a previous build runs on this schema unchanged; periods it alone wrote have no row,
-- which only widens the bounds.)
CREATE TABLE ledger_station_periods (
    station     text NOT NULL,
    starts_at   timestamptz NOT NULL,
    first_seq   bigint NOT NULL,
    span_min_at timestamptz,
    span_max_at timestamptz,
    PRIMARY KEY (station, starts_at)
);
CREATE INDEX ledger_station_periods_seq ON ledger_station_periods (station, first_seq);

CREATE FUNCTION fuelwarden_ledger_floor(st text, seq bigint) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(max(starts_at), '-infinity') FROM ledger_station_periods WHERE station = st AND first_seq <= seq
$$;

-- After the station's last record: the append moves last_received_at to the stamp of its rows (an
-- earlier build, to the start of its transaction: its rows came within the hour, the margin).
CREATE FUNCTION fuelwarden_ledger_end(st text) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce((SELECT last_received_at + interval '1 hour' FROM chain_heads WHERE station = st), 'infinity')
$$;

CREATE FUNCTION fuelwarden_ledger_ceiling(st text, seq bigint) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(min(starts_at), fuelwarden_ledger_end(st)) FROM ledger_station_periods WHERE station = st AND first_seq > seq
$$;

CREATE FUNCTION fuelwarden_ledger_open(st text) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(max(starts_at), '-infinity') FROM ledger_station_periods WHERE station = st
$$;

-- The closed spans of the station's chain (each row's, from the previous row's starts_at to its own)
-- whose data times overlap [from_at, to_at): where the first begins ('infinity' when none) …
CREATE FUNCTION fuelwarden_ledger_span_from(st text, from_at timestamptz, to_at timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(min(span_start), 'infinity') FROM (
        SELECT lag(starts_at, 1, '-infinity') OVER (ORDER BY starts_at) AS span_start, span_min_at, span_max_at
        FROM ledger_station_periods WHERE station = st) s
    WHERE span_min_at < to_at AND span_max_at >= from_at
$$;

-- … and where the last ends ('-infinity' when none).
CREATE FUNCTION fuelwarden_ledger_span_until(st text, from_at timestamptz, to_at timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(max(starts_at), '-infinity') FROM ledger_station_periods
    WHERE station = st AND span_min_at < to_at AND span_max_at >= from_at
$$;

-- The station's lowest chain position received in [a, b). (The append asks through these functions:
-- a query inside the append's statement would be planned over every month at every append.)
CREATE FUNCTION fuelwarden_ledger_first_seq(st text, a timestamptz, b timestamptz) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT min(chain_seq) FROM ledger WHERE station = st AND received_at >= a AND received_at < b
$$;

-- The least and greatest data time of a station's records received in [a, b), one index descent per
-- kind and period (the (station, kind, at) index), not a scan of the span.
CREATE FUNCTION fuelwarden_ledger_span_times(st text, a timestamptz, b timestamptz, kinds text[],
                                             OUT min_at timestamptz, OUT max_at timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT min(lo.at), max(hi.at) FROM unnest(kinds) AS k(kind)
    LEFT JOIN LATERAL (SELECT at FROM ledger WHERE station = st AND kind = k.kind AND received_at >= a AND received_at < b
                       ORDER BY at LIMIT 1) lo ON true
    LEFT JOIN LATERAL (SELECT at FROM ledger WHERE station = st AND kind = k.kind AND received_at >= a AND received_at < b
                       ORDER BY at DESC LIMIT 1) hi ON true
$$;
