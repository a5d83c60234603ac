-- fuelwarden: compatible
-- When a closed month of the ledger was rewritten in (station, chain_seq) order
-- (LedgerPeriods.compactClosed): appended in arrival order, a month's pages each hold rows of many
-- stations, so one station's day is read from ~one page per record; sorted, from a few pages.
-- (Additive: an earlier build reads the rewritten month as any other.)
ALTER TABLE ledger_periods ADD COLUMN compacted_at timestamptz;
