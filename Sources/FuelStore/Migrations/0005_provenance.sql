-- Fuel traceability (Liaoning item 10): the batch mix of every tank from each delivery on. A row
-- holds from the delivery's start until the tank's next row; sales take the mix in force.
CREATE TABLE tank_compositions (
    station         text NOT NULL,
    tank            text NOT NULL,
    valid_from      timestamptz NOT NULL,
    delivery_seq    bigint NOT NULL,
    batch           text NOT NULL,
    supplier        text,
    delivered_l     double precision NOT NULL,
    -- Litres at 20 °C in the tank before the delivery (last gauge reading at or before its start);
    -- null when no reading was known, and the delivery was taken as the whole tank.
    volume_before_l double precision,
    reading_at      timestamptz,
    shares          jsonb NOT NULL,
    PRIMARY KEY (station, tank, valid_from, delivery_seq)
);

-- The same shares one row per batch, for recalls.
CREATE TABLE composition_batches (
    station         text NOT NULL,
    tank            text NOT NULL,
    valid_from      timestamptz NOT NULL,
    delivery_seq    bigint NOT NULL,
    batch           text NOT NULL,
    supplier        text,
    fraction        double precision NOT NULL,
    PRIMARY KEY (station, tank, valid_from, delivery_seq, batch),
    FOREIGN KEY (station, tank, valid_from, delivery_seq)
        REFERENCES tank_compositions (station, tank, valid_from, delivery_seq) ON DELETE CASCADE
);
CREATE INDEX composition_batches_batch ON composition_batches(batch);
