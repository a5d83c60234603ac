-- Annual inspection (Liaoning item 9): what an inspection checks beyond the station's licences and
-- approvals, the verdicts recorded, the days each station sent data, and the notification outbox.

CREATE TABLE safety_hazards (
    station     text NOT NULL REFERENCES stations(id) ON DELETE CASCADE,
    id          text NOT NULL,
    description text NOT NULL DEFAULT '',
    opened      date NOT NULL,
    remedied    date CHECK (remedied IS NULL OR remedied >= opened),
    PRIMARY KEY (station, id)
);

CREATE TABLE violation_cases (
    station     text NOT NULL REFERENCES stations(id) ON DELETE CASCADE,
    id          text NOT NULL,
    description text NOT NULL DEFAULT '',
    serious     boolean NOT NULL,
    opened      date NOT NULL,
    closed      date CHECK (closed IS NULL OR closed >= opened),
    PRIMARY KEY (station, id)
);

-- Recorded pre-check verdicts (each also in the audit chain).
CREATE TABLE inspections (
    id          bigserial PRIMARY KEY,
    station     text NOT NULL REFERENCES stations(id),
    year        integer NOT NULL,
    as_of       date NOT NULL,
    verdict     text NOT NULL CHECK (verdict IN ('pass', 'fail', 'needs_attention')),
    report      jsonb NOT NULL,
    recorded_by text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inspections_station ON inspections(station, recorded_at);

-- Local days on which a station's ledger received data, kept by the append so that "days with
-- data in the year" never scans the ledger.
CREATE TABLE station_days (
    station     text NOT NULL,
    day         date NOT NULL,
    records     bigint NOT NULL,
    PRIMARY KEY (station, day)
);
INSERT INTO station_days (station, day, records)
SELECT l.station, (l.at AT TIME ZONE s.timezone)::date, count(*)
FROM ledger l JOIN stations s ON s.id = l.station
GROUP BY 1, 2;

-- Notifications waiting for, or done with, delivery to a webhook. A row is written in the same
-- transaction as what it reports; the notifier delivers it, retrying recoverable failures.
CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    topic           text NOT NULL,
    -- Who it is for: `department:emergency_management`, `city:210100:responsible`, …
    recipient       text NOT NULL,
    subject         text NOT NULL,
    payload         jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    last_error      text
);
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE status = 'pending';

-- One row per delivery attempt.
CREATE TABLE outbox_deliveries (
    id          bigserial PRIMARY KEY,
    outbox_id   bigint NOT NULL REFERENCES outbox(id),
    attempt     integer NOT NULL,
    at          timestamptz NOT NULL DEFAULT now(),
    url         text,
    http_status integer,
    error       text,
    millis      integer NOT NULL
);
CREATE INDEX outbox_deliveries_item ON outbox_deliveries(outbox_id);
