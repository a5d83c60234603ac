-- fuelwarden: compatible
-- Figures the detectors measure per tank or nozzle and station day (reconciliation variance, leak
-- rate, meter registration error), each with the band it is judged against, written in the same
-- transaction as the detector's state: the console draws them over time. The latest figure of a
-- day replaces the earlier ones. (Additive: a previous build runs on this schema unchanged.)
CREATE TABLE daily_figures (
    station   text NOT NULL,
    kind      text NOT NULL,
    subject   text NOT NULL,
    day       date NOT NULL,
    at        timestamptz NOT NULL,
    value     double precision NOT NULL,
    low       double precision,
    high      double precision,
    band_low  double precision,
    band_high double precision,
    method    text,
    PRIMARY KEY (station, kind, subject, day)
);
