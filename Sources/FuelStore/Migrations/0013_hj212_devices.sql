-- fuelwarden: compatible
-- HJ 212 devices as the listener sees them, one row each: when it was last heard from (any packet,
-- heartbeats included), the data time of its newest live upload, and per kind of upload (CN) its
-- interval and the stretch of data it still owes after an outage, filled by resent (补传) packets.
-- (Additive: a previous build runs on this schema unchanged.)
CREATE TABLE hj212_devices (
    mn            text PRIMARY KEY,
    station       text NOT NULL,
    edition       text NOT NULL,
    first_seen_at timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    last_data_at  timestamptz,
    packets       int8 NOT NULL DEFAULT 0,
    resent        int8 NOT NULL DEFAULT 0,
    series        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX hj212_devices_station ON hj212_devices (station);

-- SM4 keys a device was given or announced with CN 1014 (HJ 212-2025 §6.4), and keys from the
-- configuration with the time the daemon first saw them (for their age). The newest active key is
-- in force; a pending one was offered to the device and not yet confirmed. Readable only by the
-- daemon's role: a key is needed in the clear to decrypt, so it cannot be stored hashed.
CREATE TABLE hj212_device_keys (
    mn      text NOT NULL,
    key     bytea NOT NULL CHECK (octet_length(key) = 16),
    since   timestamptz NOT NULL,
    origin  text NOT NULL CHECK (origin IN ('feeds_file', 'key_file', 'device', 'platform')),
    state   text NOT NULL CHECK (state IN ('active', 'pending')),
    PRIMARY KEY (mn, key)
);
