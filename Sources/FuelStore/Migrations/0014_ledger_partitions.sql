-- fuelwarden: compatible
-- fuelwarden: no-transaction
-- The ledger partitioned by the month its records were appended in (README "Years of records"):
-- a month's partition holds a stretch of every station's chain and never changes once the month
-- is over, so it can be archived and dropped whole, and a partition's indexes stay the size of a
-- month. The records already stored stay where they are: the current table becomes the first
-- partition, for everything appended before the cut (the start of a month at least a day ahead),
-- and months from the cut on get partitions of their own, kept ahead by the daemon.
--
-- Done without stopping the append: the new key's index is built CONCURRENTLY, the cut is proven
-- by a CHECK validated while writes go on, and the swap itself (rename, new parent, attach) is
-- metadata only. Every statement is safe to run again. (Compatible: the previous build appends
-- and reads through `ledger` unchanged; its dedupe never relied on the unique index alone.)
--
-- Should `migrate` stop after the CHECK and before the swap, run it again before the cut: from the
-- cut on, the unpartitioned table refuses rows (a rerun moves a cut that has come too near).

-- The parent's key (a partitioned table's key must hold the partition column).
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ledger_station_seq_received ON ledger (station, chain_seq, received_at);

-- Every partition of the ledger, its range and whether it is live or archived.
CREATE TABLE IF NOT EXISTS ledger_periods (
    name        text PRIMARY KEY,
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL CHECK (ends_at > starts_at),
    state       text NOT NULL DEFAULT 'live' CHECK (state IN ('live', 'archived')),
    archived_at timestamptz,
    archive     jsonb
);

-- A month's partition: a table like the ledger with its own unique (station, source, source_seq)
-- (a key across partitions would have to hold received_at, so exactness across months is the
-- append's: it looks every resent seq up in all of them under the station's head lock), its own
-- TRUNCATE guard (statement triggers are not inherited), attached without blocking the append.
CREATE OR REPLACE FUNCTION fuelwarden_ledger_partition(starts timestamptz, ends timestamptz) RETURNS text
LANGUAGE plpgsql SET TimeZone = 'UTC' AS $$
DECLARE
    part text := 'ledger_' || to_char(starts AT TIME ZONE 'UTC', 'YYYY_MM');
BEGIN
    IF EXISTS (SELECT 1 FROM ledger_periods p WHERE p.name = part) THEN
        RETURN part;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE ledger INCLUDING DEFAULTS)', part);
    EXECUTE format('CREATE UNIQUE INDEX %I ON %I (station, source, source_seq)', part || '_source_key', part);
    EXECUTE format('CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION fuelwarden_append_only()', part);
    EXECUTE format('ALTER TABLE ledger ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', part, starts, ends);
    INSERT INTO ledger_periods (name, starts_at, ends_at) VALUES (part, starts, ends);
    RETURN part;
END
$$;

-- The cut, proven by a CHECK (NOT VALID now, validated next without blocking writes). A cut that
-- has come within a day (a migrate that stopped here long ago) is moved.
DO $$
DECLARE
    cut timestamptz;
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = 'ledger'::regclass) = 'p' THEN
        RETURN;
    END IF;
    PERFORM set_config('TimeZone', 'UTC', true);  -- months are UTC months
    SELECT ends_at INTO cut FROM ledger_periods WHERE starts_at = '-infinity';
    IF cut IS NOT NULL AND cut > now() + interval '1 day' THEN
        RETURN;
    END IF;
    ALTER TABLE ledger DROP CONSTRAINT IF EXISTS ledger_before_cut;
    DELETE FROM ledger_periods WHERE starts_at = '-infinity';
    cut := date_trunc('month', now() + interval '1 day', 'UTC') + interval '1 month';
    EXECUTE format('ALTER TABLE ledger ADD CONSTRAINT ledger_before_cut CHECK (received_at < %L) NOT VALID', cut);
    INSERT INTO ledger_periods (name, starts_at, ends_at)
    VALUES ('ledger_before_' || to_char(cut AT TIME ZONE 'UTC', 'YYYY_MM'), '-infinity', cut);
END
$$;

DO $$
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = 'ledger'::regclass) = 'r' THEN
        ALTER TABLE ledger VALIDATE CONSTRAINT ledger_before_cut;
    END IF;
END
$$;

-- The swap: the table becomes the first partition of a new parent; three months get partitions.
DO $$
DECLARE
    cut timestamptz;
    legacy text;
    month timestamptz;
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = 'ledger'::regclass) = 'p' THEN
        RETURN;
    END IF;
    SELECT name, ends_at INTO legacy, cut FROM ledger_periods WHERE starts_at = '-infinity';
    PERFORM set_config('TimeZone', 'UTC', true);
    IF cut < now() + interval '1 hour' THEN
        RAISE EXCEPTION 'the ledger cut % has come too near; run fuelwarden migrate again', cut;
    END IF;
    LOCK TABLE ledger IN ACCESS EXCLUSIVE MODE;
    EXECUTE format('ALTER TABLE ledger RENAME TO %I', legacy);
    EXECUTE format('ALTER INDEX ledger_pkey RENAME TO %I', legacy || '_pkey');
    EXECUTE format('ALTER INDEX ledger_station_source_source_seq_key RENAME TO %I', legacy || '_source_key');
    EXECUTE format('ALTER INDEX ledger_station_kind_at RENAME TO %I', legacy || '_station_kind_at');
    -- The parent's row trigger is cloned onto every partition, under the same name.
    EXECUTE format('DROP TRIGGER ledger_append_only ON %I', legacy);
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I UNIQUE USING INDEX ledger_station_seq_received', legacy, legacy || '_key');

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
        -- When the row was written, under the station's head lock: later in the chain is never
        -- earlier here, so a month's partition holds a contiguous stretch of every chain.
        received_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (station, chain_seq, received_at)
    ) PARTITION BY RANGE (received_at);
    CREATE INDEX ledger_station_kind_at ON ledger (station, kind, at);
    CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger
        FOR EACH ROW EXECUTE FUNCTION fuelwarden_append_only();
    CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger
        FOR EACH STATEMENT EXECUTE FUNCTION fuelwarden_append_only();
    EXECUTE format('ALTER TABLE ledger ATTACH PARTITION %I FOR VALUES FROM (MINVALUE) TO (%L)', legacy, cut);
    month := cut;
    WHILE month < cut + interval '3 months' LOOP
        PERFORM fuelwarden_ledger_partition(month, month + interval '1 month');
        month := month + interval '1 month';
    END LOOP;
END
$$;
