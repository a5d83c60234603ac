-- fuelwarden: compatible
-- Every new alert announces its id on channel `fuelwarden_alerts` when its transaction commits
-- (PostgreSQL delivers notifications at commit, in commit order): the daemon's one listener fans
-- them out to every live stream, so a stream neither polls nor misses an alert whose lower id
-- committed after a higher one. (Additive: a previous build ignores the notifications.)
CREATE FUNCTION fuelwarden_alert_raised() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('fuelwarden_alerts', NEW.id::text);
    RETURN NULL;
END $$;

CREATE TRIGGER alerts_notify AFTER INSERT ON alerts FOR EACH ROW EXECUTE FUNCTION fuelwarden_alert_raised();
