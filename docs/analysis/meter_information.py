#!/usr/bin/env python3
"""How well can a coarse tank gauge tell one nozzle's meter from its neighbours' in three days?

An offline yardstick for issue 13's short-fill target (2 % within 3 days on nozzles with >= 30 fills
a day), independent of the detector's code: per tank and 3-day window, every gauge reading's level
at 20 °C is regressed on each nozzle's cumulative metered litres (at 20 °C, sales split by time),
one offset per epoch (a day, or up to a delivery) and one leak rate — the inventory-variance model
with every nozzle's absolute factor free. The clock offset between the dispensers and the gauge is
fitted per tank first (a grid of shifts), as a detector that learns it over weeks would know it.

It prints, over the sound nozzles' windows, how far the factors scatter against the model's own
standard error, and over the short-filling nozzles (the 3 days after the fault began) how many a
test at a few critical values finds and how many sound windows it flags.

    fuelwarden evaluate --gauge tenth-15m --kinds nozzle_short_fill --stations 40 --days 10 \\
        --seed 21 --write-records DIR
    fuelwarden simulate --print-registry --stations 40 > DIR/registry.yaml
    python3 docs/analysis/meter_information.py DIR

Needs numpy. Not part of the build or the tests.
"""
import collections
import glob
import json
import re
import sys
from datetime import datetime

import numpy as np

DAY = 86_400.0
LEGAL = 0.3  # % a legal meter may be off (JJG 443)
FLAG = 1.0  # % the detector's meter_drift flag


def seconds(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def load(directory):
    """Per station and tank: readings [(t, tc litres, litres)], sales [(from, to, nozzle, litres)], deliveries."""
    nozzle_tank, station = {}, None
    for line in open(f"{directory}/registry.yaml", encoding="utf-8"):
        if m := re.match(r"\s+- id: (\S+)", line):
            station = m.group(1)
        if station and (m := re.search(r"\{id: (\S+), tank: (\S+),", line)):
            nozzle_tank[(station, m.group(1))] = m.group(2)
    data = {}
    for path in glob.glob(f"{directory}/*.ndjson"):
        station = path.rsplit("/", 1)[-1][: -len(".ndjson")]
        tanks = collections.defaultdict(lambda: {"r": [], "s": [], "d": []})
        for line in open(path, encoding="utf-8"):
            r = json.loads(line)
            if r["kind"] == "tank_reading":
                tanks[r["tank"]]["r"].append((seconds(r["at"]), r["tc_volume_l"], r["volume_l"]))
            elif r["kind"] == "sale":
                tank = nozzle_tank[(station, r["nozzle"])]
                tanks[tank]["s"].append((seconds(r["started_at"]), seconds(r["ended_at"]), r["nozzle"], r["volume_l"]))
            elif r["kind"] == "delivery":
                tanks[r["tank"]]["d"].append((seconds(r["started_at"]), seconds(r["ended_at"])))
        data[station] = {t: {"r": np.array(v["r"]), "s": v["s"], "d": v["d"]} for t, v in tanks.items()}
    truth = [json.loads(line) for line in open(f"{directory}/ground-truth.jsonl", encoding="utf-8") if line.strip()]
    return data, truth, nozzle_tank


def fit(tank, t0, t1, shift=0.0, epoch_hours=24.0, flow_skew=15.0, margin=1800.0):
    """Absolute meter factors of the tank's nozzles over [t0, t1]: (nozzles, factors, standard errors, litres)."""
    readings, sales = tank["r"], tank["s"]
    nozzles = sorted({s[2] for s in sales}, key=lambda n: int(re.sub(r"\D", "", n) or 0))
    index = {n: i for i, n in enumerate(nozzles)}
    rr = readings[(readings[:, 0] >= t0) & (readings[:, 0] <= t1)]
    if len(rr) < 20 or not nozzles:
        return None
    ratio = readings[:, 1] / readings[:, 2]  # 20 °C litres per litre at the tank's temperature
    cum = np.zeros((len(rr), len(nozzles)))
    flow_var = np.zeros(len(rr))
    for a, b, n, litres in sales:
        a, b = a + shift, b + shift
        if b < t0 - DAY or a > t1:
            continue
        tc = litres * ratio[min(np.searchsorted(readings[:, 0], b), len(ratio) - 1)]
        cum[:, index[n]] += tc * np.clip((rr[:, 0] - a) / max(1.0, b - a), 0, 1)
        flowing = (rr[:, 0] >= a - flow_skew) & (rr[:, 0] <= b + flow_skew)
        flow_var[flowing] += (tc / max(1.0, b - a) * flow_skew) ** 2 / 3
    keep = np.ones(len(rr), bool)
    epoch = np.zeros(len(rr), int)
    e, start, last = 0, rr[0, 0], None
    for i, t in enumerate(rr[:, 0]):
        if any(a - margin <= t <= b + margin for a, b in tank["d"]):
            keep[i] = False
            continue
        crossed = last is not None and any(last < b + margin and a - margin < t for a, b in tank["d"])
        if crossed or t - start > epoch_hours * 3600:
            e, start = e + 1, t
        epoch[i], last = e, t
    rr, cum, flow_var, epoch = rr[keep], cum[keep], flow_var[keep], epoch[keep]
    if len(rr) < 20:
        return None
    hours = (rr[:, 0] - rr[0, 0]) / 3600
    offsets = np.array([(epoch == k).astype(float) for k in np.unique(epoch)]).T
    x = np.hstack([offsets, cum, hours[:, None]])
    w = np.sqrt(1 / (1 + flow_var / 15**2))
    xw, yw = x * w[:, None], rr[:, 1] * w
    beta, *_ = np.linalg.lstsq(xw, yw, rcond=None)
    residual = yw - xw @ beta
    inverse = np.linalg.pinv(xw.T @ xw)
    sigma2 = residual @ residual / max(1, len(yw) - x.shape[1])
    k = offsets.shape[1]
    factors = -beta[k:k + len(nozzles)]
    se = np.sqrt(np.diag(sigma2 * inverse))[k:k + len(nozzles)]
    return nozzles, factors, se, cum[-1] - cum[0], float(np.sqrt(sigma2))


def clock_shift(tank):
    """The dispensers' clock against the gauge's (s): the shift with the smallest residual over six days."""
    t0 = tank["r"][0, 0] + DAY
    residual = {s: (fit(tank, t0, t0 + 6 * DAY, shift=s) or (0, 0, 0, 0, np.inf))[4] for s in range(-90, 91, 10)}
    return min(residual, key=residual.get)


def main(directory):
    data, truth, nozzle_tank = load(directory)
    short = {(g["station"], g["subject"]): seconds(g["start"]) for g in truth if g["kind"] == "nozzle_short_fill"}
    sound, faulty = [], []
    for station, tanks in sorted(data.items()):
        for tank_id, tank in sorted(tanks.items()):
            shift = clock_shift(tank)
            faults = [(n, t) for (s, n), t in short.items() if s == station and nozzle_tank[(s, n)] == tank_id]
            if faults:
                nozzle, start = faults[0]
                r = fit(tank, start, start + 3 * DAY, shift)
                if r and nozzle in r[0]:
                    j = r[0].index(nozzle)
                    faulty.append(((1 / r[1][j] - 1) * 100, r[2][j] / r[1][j] * 100, r[3][j] / 3))
                continue
            for k in range(3):
                a = tank["r"][0, 0] + DAY * (1 + 3 * k)
                r = fit(tank, a, a + 3 * DAY, shift)
                if r:
                    sound += [((1 / f - 1) * 100, s / f * 100, litres / 3) for f, s, litres in zip(r[1], r[2], r[3])]
    sound, faulty = np.array(sound), np.array(faulty)
    print(f"sound nozzle-windows: {len(sound)}; registration error sd {sound[:, 0].std():.3f} %, "
          f"model standard error median {np.median(sound[:, 1]):.3f} % (the sd includes the legal meter errors, ~0.14 %)")
    if len(faulty):
        print(f"short-filling nozzles: {len(faulty)}; error mean {faulty[:, 0].mean():.2f} % sd {faulty[:, 0].std():.3f} %")
    for allowance in (0.15, 0.2):
        for critical in (2.75, 3.0, 3.5):
            def flagged(x):
                se = np.sqrt(x[:, 1] ** 2 + allowance**2)
                return ((np.abs(x[:, 0]) - LEGAL) / se > critical) & (np.abs(x[:, 0]) > FLAG)
            found = flagged(faulty).mean() if len(faulty) else float("nan")
            print(f"tank allowance {allowance} %, critical {critical}: short-fill found {found:.2f}, "
                  f"sound windows flagged {flagged(sound).sum()} of {len(sound)}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
