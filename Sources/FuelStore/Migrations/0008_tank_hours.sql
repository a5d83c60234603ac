-- fuelwarden: compatible
-- Tank readings rolled up by hour (lowest, highest and last volume at 20 °C, reading count), kept by
-- the append in the same transaction as the readings: the console's charts over weeks and years
-- read an hour a row instead of every reading's JSON body. (Additive: a previous build runs on
-- this schema unchanged; its appends do not fill it, and the next append of a build that does
-- only adds the hours it touches.)
CREATE TABLE tank_hours (
    station  text NOT NULL,
    tank     text NOT NULL,
    hour     timestamptz NOT NULL,
    min_l    double precision NOT NULL,
    max_l    double precision NOT NULL,
    last_l   double precision NOT NULL,
    last_at  timestamptz NOT NULL,
    readings integer NOT NULL,
    PRIMARY KEY (station, tank, hour)
);

-- The hours of the readings already in the ledger.
INSERT INTO tank_hours (station, tank, hour, min_l, max_l, last_l, last_at, readings)
SELECT station, tank, date_trunc('hour', at), min(v), max(v), (array_agg(v ORDER BY at DESC))[1], max(at), count(*)
FROM (SELECT station, at, body::jsonb->>'tank' AS tank,
             COALESCE((body::jsonb->>'tc_volume_l')::float8, (body::jsonb->>'volume_l')::float8) AS v
      FROM ledger WHERE kind = 'tank_reading') r
WHERE v IS NOT NULL AND tank IS NOT NULL
GROUP BY station, tank, date_trunc('hour', at);
