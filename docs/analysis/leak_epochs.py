#!/usr/bin/env python3
"""How much do the inventory-variance method's epochs and the strapping chart cost the leak estimate?

An offline yardstick for issue 13's leak targets on coarse gauges, independent of the detector's
code. Per leak-free tank (no fault on the tank or its nozzles) and the last WINDOW days of the data,
every gauge reading's level at 20 °C is regressed on each nozzle's cumulative metered litres (at
20 °C with the tank's last temperature, sales split by time), on hours (the leak), on one offset per
epoch and, optionally, on the reading's own squared level (the chart's curvature). Variants:

- epochs: cut at deliveries only ("none"), or also every CAP hours (the detector's
  `detect.leak.level_epoch_max_hours`, 24 today);
- curvature: none, or a column of each reading's (level − 15,000 L)² (per reading, not per epoch);
- clusters for the sandwich standard error: blocks of CL hours inside an epoch (the offsets stay
  per epoch; each block's score is taken about its epoch's mean, as the detector's cells are).

For each variant it prints, over the leak-free tanks: the spread of the leak estimate itself (sd of
L: what a detection limit rests on), the estimate over its robust standard error (sd of z: 1 where
the standard error is honest), how many |z| > 3, and how many would be false leaks (L > 0.38 L/h and
z > 3.3). The readings are used unweighted (the detector weights a reading taken while a fill flows
down), so the figures compare variants; they are not the detector's.

    fuelwarden evaluate --gauge mm-15m-24h --stations 40 --days 21 --seed 261 --write-records DIR
    python3 docs/analysis/leak_epochs.py DIR [WINDOW_DAYS=14]

Needs numpy. Not part of the build or the tests. Station layout: the demo registry's (T1…T4, nozzles
N(2k−1) and N(2k) on tank Tk).
"""
import bisect
import collections
import glob
import json
import os
import sys
from datetime import datetime

import numpy as np


def seconds(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def tank_series(records, tank, nozzles):
    readings = sorted((seconds(r["at"]), r["tc_volume_l"], r["tc_volume_l"] / max(r["volume_l"], 1))
                      for r in records if r["kind"] == "tank_reading" and r["tank"] == tank)
    # A delivery's window with the detector's margins: half an hour before, an hour after.
    deliveries = [(seconds(r["started_at"]) - 1800, seconds(r["ended_at"]) + 3600)
                  for r in records if r["kind"] == "delivery" and r["tank"] == tank]
    sales = [(seconds(r["started_at"]), seconds(r["ended_at"]), r["nozzle"], r["volume_l"])
             for r in records if r["kind"] == "sale" and r["nozzle"] in nozzles]
    t = np.array([r[0] for r in readings])
    times = list(t)
    cumulative = np.zeros((len(readings), len(nozzles)))
    for start, end, nozzle, litres in sales:
        # At 20 °C with the tank's temperature at the last reading before the sale (the gauge's own ratio).
        ratio = readings[max(bisect.bisect_right(times, start) - 1, 0)][2]
        cumulative[:, nozzles.index(nozzle)] += litres * ratio * np.clip((t - start) / max(end - start, 1), 0, 1)
    level = np.array([r[1] for r in readings])
    return t, level, cumulative, deliveries


def fit(t, level, cumulative, deliveries, keep, cap, curvature, cluster_hours):
    hours = (t - t[0]) / 3600
    epoch = np.searchsorted(np.array(sorted(end for _, end in deliveries)), t) * 100000
    if cap:
        epoch = epoch + np.floor(hours / cap).astype(int)
    cluster = (epoch * 1000 + np.floor(hours / cluster_hours).astype(int))[keep]
    epoch = epoch[keep]
    epochs = np.unique(epoch)
    columns = [-cumulative[keep], -hours[keep][:, None], (epoch[:, None] == epochs[None, :]).astype(float)]
    if curvature:
        columns.append(1000 * (((level[keep] - 15000) / 10000) ** 2)[:, None])
    a = np.hstack(columns)
    y = level[keep]
    beta = np.linalg.lstsq(a, y, rcond=None)[0]
    residual = y - a @ beta
    bread = np.linalg.pinv(a.T @ a)
    meat = np.zeros((a.shape[1], a.shape[1]))
    clusters = np.unique(cluster)
    for c in clusters:
        score = a[cluster == c].T @ residual[cluster == c]
        meat += np.outer(score, score)
    g = len(clusters)
    covariance = bread @ meat @ bread * (g / (g - 1) if g > 1 else 1)
    leak_column = cumulative.shape[1]
    return beta[leak_column], np.sqrt(covariance[leak_column, leak_column])


def main():
    directory = sys.argv[1]
    window_days = float(sys.argv[2]) if len(sys.argv) > 2 else 14
    faulty = collections.defaultdict(set)
    for line in open(os.path.join(directory, "ground-truth.jsonl")):
        g = json.loads(line)
        faulty[g["station"]].add(g["subject"])
    variants = [(cap, curvature, cl) for cap in (None, 24) for curvature in (False, True) for cl in (24, 12)]
    results = collections.defaultdict(list)
    for path in sorted(glob.glob(os.path.join(directory, "*.ndjson"))):
        station = os.path.basename(path)[: -len(".ndjson")]
        records = [json.loads(line) for line in open(path)]
        for k in range(1, 5):
            tank, nozzles = f"T{k}", [f"N{2 * k - 1}", f"N{2 * k}"]
            if tank in faulty[station] or any(n in faulty[station] for n in nozzles):
                continue
            t, level, cumulative, deliveries = tank_series(records, tank, nozzles)
            if len(t) < 100:
                continue
            keep = t >= t[-1] - window_days * 86400
            for start, end in deliveries:
                keep &= ~((t >= start) & (t <= end))
            for v in variants:
                results[v].append(fit(t, level, cumulative, deliveries, keep, *v))
    print(f"{directory}: leak-free tanks, last {window_days:g} days")
    print("epochs cut          curvature   clusters |  tanks  sd of L (L/h)  median se  sd of z  |z|>3  false leaks")
    for (cap, curvature, cl), values in results.items():
        leak = np.array([v[0] for v in values])
        se = np.array([v[1] for v in values])
        z = leak / se
        cut = "deliveries" + (f" + {cap} h" if cap else "")
        print(f"{cut:<19} {'per reading' if curvature else 'none':<11} {cl:>5} h  | {len(values):>6}  {leak.std():>13.3f}  "
              f"{np.median(se):>9.3f}  {z.std():>7.2f}  {(abs(z) > 3).sum():>5}  {((leak > 0.38) & (z > 3.3)).sum():>11}")


if __name__ == "__main__":
    main()
