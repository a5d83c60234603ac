-- Fuelwarden schema, version 1: registry, ledger, quarantine, alerts, audit chain, tokens,
-- detector state. Applied once by `fuelwarden migrate` (recorded in schema_migrations).

CREATE TABLE cities (
    code        text PRIMARY KEY,
    name        text NOT NULL,
    quota       integer,
    contacts    jsonb NOT NULL DEFAULT '[]'
);

CREATE TABLE suppliers (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    licence     jsonb
);

CREATE TABLE stations (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    city        text NOT NULL REFERENCES cities(code),
    address     text,
    hours       text NOT NULL,
    timezone    text NOT NULL,
    status      text NOT NULL CHECK (status IN ('active', 'suspended', 'revoked')),
    licences    jsonb NOT NULL DEFAULT '{}',
    approvals   jsonb NOT NULL DEFAULT '{}',
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stations_city ON stations(city);

CREATE TABLE tanks (
    station     text NOT NULL REFERENCES stations(id) ON DELETE CASCADE,
    id          text NOT NULL,
    grade       text NOT NULL,
    capacity_l  double precision NOT NULL CHECK (capacity_l > 0),
    PRIMARY KEY (station, id)
);

CREATE TABLE nozzles (
    station      text NOT NULL,
    id           text NOT NULL,
    tank         text NOT NULL,
    max_flow_lpm double precision NOT NULL CHECK (max_flow_lpm > 0),
    PRIMARY KEY (station, id),
    FOREIGN KEY (station, tank) REFERENCES tanks(station, id) ON DELETE CASCADE
);

CREATE TABLE price_ceilings (
    region      text NOT NULL,
    grade       text NOT NULL,
    unit_price  double precision NOT NULL CHECK (unit_price > 0),
    valid_from  date NOT NULL,
    PRIMARY KEY (region, grade, valid_from)
);

-- One row per station: the head of its chain. Appends lock this row, so a station's chain has
-- one writer at a time across every daemon replica.
CREATE TABLE chain_heads (
    station          text PRIMARY KEY REFERENCES stations(id),
    head_seq         bigint NOT NULL DEFAULT 0,
    head_hash        bytea NOT NULL,
    max_push_seq     bigint,
    last_record_at   timestamptz,
    last_received_at timestamptz
);

-- The ledger: every accepted record of every station, hash-chained per station.
-- hash = SHA-256(prev_hash || be64(chain_seq) || body); content_hash = SHA-256(body).
CREATE TABLE ledger (
    station      text NOT NULL,
    chain_seq    bigint NOT NULL,
    source       text NOT NULL,
    source_seq   bigint NOT NULL,
    kind         text NOT NULL,
    at           timestamptz NOT NULL,
    body         text NOT NULL,
    content_hash bytea NOT NULL,
    prev_hash    bytea NOT NULL,
    hash         bytea NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (station, chain_seq),
    UNIQUE (station, source, source_seq)
);
CREATE INDEX ledger_station_kind_at ON ledger(station, kind, at);

-- The ledger refuses UPDATE, DELETE and TRUNCATE: evidence is append-only.
CREATE FUNCTION fuelwarden_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger
    FOR EACH ROW EXECUTE FUNCTION fuelwarden_append_only();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger
    FOR EACH STATEMENT EXECUTE FUNCTION fuelwarden_append_only();

-- Rejected input, kept with the reason.
CREATE TABLE quarantine (
    id          bigserial PRIMARY KEY,
    station     text,
    source      text NOT NULL,
    line        integer,
    seq         bigint,
    raw         text NOT NULL,
    reason      text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX quarantine_station ON quarantine(station, received_at);

-- The audit chain: regulator actions and registry edits, hash-chained like a station's records.
CREATE TABLE audit_log (
    seq         bigint PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,
    action      text NOT NULL,
    body        text NOT NULL,
    prev_hash   bytea NOT NULL,
    hash        bytea NOT NULL
);
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION fuelwarden_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION fuelwarden_append_only();

CREATE TABLE audit_head (
    id          integer PRIMARY KEY CHECK (id = 1),
    head_seq    bigint NOT NULL,
    head_hash   bytea NOT NULL
);
INSERT INTO audit_head VALUES (1, 0, decode(repeat('00', 32), 'hex'));

CREATE TABLE alerts (
    id              bigserial PRIMARY KEY,
    fingerprint     text NOT NULL,
    rule            text NOT NULL,
    station         text NOT NULL,
    subject         text NOT NULL,
    severity        text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    status          text NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
    opened_at       timestamptz NOT NULL,
    raised_at       timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    occurrences     integer NOT NULL DEFAULT 1,
    evidence        jsonb NOT NULL,
    seq_from        bigint,
    seq_to          bigint,
    acknowledged_at timestamptz,
    acknowledged_by text,
    ack_note        text,
    resolved_at     timestamptz,
    resolved_by     text,
    resolution_note text
);
-- At most one unresolved alert per fingerprint: raising again updates it.
CREATE UNIQUE INDEX alerts_active_fingerprint ON alerts(fingerprint) WHERE status <> 'resolved';
CREATE INDEX alerts_station ON alerts(station, status);
CREATE INDEX alerts_rule ON alerts(rule, status);

-- Station keys and regulator tokens; only SHA-256 of the secret is stored.
CREATE TABLE api_tokens (
    id          bigserial PRIMARY KEY,
    token_hash  bytea NOT NULL UNIQUE,
    role        text NOT NULL CHECK (role IN ('station', 'viewer', 'inspector', 'admin')),
    station     text REFERENCES stations(id),
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    CHECK ((role = 'station') = (station IS NOT NULL))
);

-- Detection: per-station state machine snapshot and the last chain position it has seen.
CREATE TABLE detector_state (
    station     text PRIMARY KEY REFERENCES stations(id),
    cursor      bigint NOT NULL,
    state       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
