#!/usr/bin/env python3
"""Checks what `dnd bench` wrote: results.json, results.csv and the SVG plots.

  bench_check.py study DIR --cases a,b --modes strong,weak --ranks 1,2,4 --size N
                 [--steps s1,s2] [--unit GB/s] [--work-per-row W] [--solo-baseline | --rank-baseline]
                 [--launcher in-job]
  bench_check.py compare NEW_DIR OLD.json

Every figure is recomputed from the raw numbers in the same file (times -> median,
median -> speedup, efficiency, value, vs_baseline; the old file -> ratio), so the check
fails if any derived column is wrong. Exit 1 with a message on the first failure.
"""
import argparse
import csv
import json
import math
import os
import sys
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"


def fail(msg):
    print("bench_check: FAIL: " + msg)
    sys.exit(1)


def close(a, b, rel=1e-6):
    return a is not None and b is not None and abs(a - b) <= rel * max(abs(a), abs(b), 1e-300)


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def check_study(a):
    d = json.load(open(os.path.join(a.dir, "results.json")))
    ctx = d["context"]
    for k in ("host", "date", "dnd_version", "threads_per_rank", "world_ranks", "hash", "command", "launcher"):
        if k not in ctx or ctx[k] in (None, ""):
            fail(f"context lacks {k}: {ctx}")
    if ctx["launcher"] != a.launcher:
        fail(f"launcher {ctx['launcher']}, expected {a.launcher}")
    cases, modes = a.cases.split(","), a.modes.split(",")
    ranks = [int(r) for r in a.ranks.split(",")]
    rows = d["rows"]
    want = [(c, m, r) for c in cases for m in modes for r in ranks]
    got = [(r["case"], r["mode"], r["ranks"]) for r in rows]
    if got != want:
        fail(f"rows {got}, expected {want}")
    solo = {c["name"]: c["baseline"] for c in d["cases"]}
    first = {}
    for r in rows:
        key = (r["case"], r["mode"])
        p = r["ranks"]
        size = a.size * p if r["mode"] == "weak" else a.size
        if r["size"] != size:
            fail(f"{key} at {p}: size {r['size']}, expected {size}")
        t = r["times_s"]
        if len(t) != a.repeat:
            fail(f"{key} at {p}: {len(t)} times, expected {a.repeat}")
        if not close(r["median_s"], median(t), 1e-5) or r["min_s"] != min(t) or r["max_s"] != max(t):
            fail(f"{key} at {p}: median/min/max {r['median_s']}/{r['min_s']}/{r['max_s']} do not match {t}")
        if not (r["min_s"] <= r["median_s"] <= r["max_s"]) or r["min_s"] <= 0:
            fail(f"{key} at {p}: bad times {r}")
        if a.steps:
            names = [s["name"] for s in r["steps"]]
            if names != a.steps.split(","):
                fail(f"{key} at {p}: steps {names}, expected {a.steps}")
            for s in r["steps"]:
                if not (0 <= s["min_s"] <= s["median_s"] <= s["max_s"]):
                    fail(f"{key} at {p}: bad step times {s}")
                # A step cannot take longer than the whole run it is part of.
                if s["min_s"] > r["max_s"] * (1 + 1e-9):
                    fail(f"{key} at {p}: step {s['name']} min {s['min_s']} > run max {r['max_s']}")
        f = first.setdefault(key, r)
        k = p / f["ranks"]
        sp = (k if r["mode"] == "weak" else 1) * f["median_s"] / r["median_s"]
        if not close(r["speedup"], sp, 1e-5) or not close(r["efficiency"], sp / k, 1e-5):
            fail(f"{key} at {p}: speedup {r['speedup']} efficiency {r['efficiency']}, expected {sp} {sp / k}")
        if a.unit and r["unit"] != a.unit:
            fail(f"{key}: unit {r['unit']}, expected {a.unit}")
        if a.work_per_row is not None:
            work = a.work_per_row * size
            if a.rank_baseline:
                work *= (p - 1) / p
            if work == 0:
                if r["value"] is not None:
                    fail(f"{key} at {p}: a figure without work: {r['value']}")
            elif not close(r["value"], work / r["median_s"] / 1e9, 1e-5):
                fail(f"{key} at {p}: value {r['value']}, expected {work / r['median_s'] / 1e9}")
        if a.solo_baseline:
            b = solo[r["case"]]
            if not b or not (b["value"] > 0) or r["baseline_value"] != b["value"] or r["baseline"] != b["name"]:
                fail(f"{key} at {p}: baseline {r['baseline']} {r['baseline_value']} vs case baseline {b}")
        if a.rank_baseline:
            if p == 1:
                if r["baseline_value"] is not None:
                    fail(f"{key} at 1 rank: a rank baseline without traffic")
            elif not (r["baseline_value"] and r["baseline_value"] > 0) or "Alltoall" not in r["baseline"]:
                fail(f"{key} at {p}: no MPI_Alltoall baseline: {r['baseline']} {r['baseline_value']}")
        if r["value"] is not None and r["baseline_value"] is not None:
            if not close(r["vs_baseline"], r["value"] / r["baseline_value"], 1e-5):
                fail(f"{key} at {p}: vs_baseline {r['vs_baseline']}")

    # CSV: a total line and one per step for every row, the same numbers as the JSON.
    lines = list(csv.DictReader(open(os.path.join(a.dir, "results.csv"))))
    for k in ("case", "mode", "ranks", "size", "step", "median_s", "min_s", "max_s", "speedup", "efficiency",
              "value", "unit", "baseline_value", "vs_baseline", "ratio", "host", "date", "dnd_version",
              "threads_per_rank", "hash"):
        if k not in lines[0]:
            fail(f"results.csv lacks the column {k}")
    totals = [l for l in lines if l["step"] == "total"]
    if [(l["case"], l["mode"], int(l["ranks"])) for l in totals] != want:
        fail("results.csv total lines do not match the JSON rows")
    if len(lines) != sum(1 + len(r["steps"]) for r in rows):
        fail(f"results.csv has {len(lines)} lines, expected {sum(1 + len(r['steps']) for r in rows)}")
    for l, r in zip(totals, rows):
        if not close(float(l["median_s"]), r["median_s"]) or not close(float(l["speedup"]), r["speedup"]):
            fail(f"results.csv {l} differs from the JSON row {r}")
        if l["hash"] != ctx["hash"] or l["host"] != ctx["host"]:
            fail("results.csv context differs from the JSON's")

    # SVG: one plot per case and mode, three panels, each with a measured and an ideal line
    # of one point per rank count.
    plots = sorted(os.listdir(os.path.join(a.dir, "plots")))
    want_plots = sorted(f"{c.replace('/', '_')}-{m}.svg" for c in cases for m in modes)
    if plots != want_plots:
        fail(f"plots {plots}, expected {want_plots}")
    for name in plots:
        root = ET.parse(os.path.join(a.dir, "plots", name)).getroot()
        if root.tag != SVG + "svg":
            fail(f"{name}: root is {root.tag}")
        panels = root.findall(SVG + "g")
        titles = [p.find(SVG + "text").text for p in panels]
        if titles != ["time", "speedup", "efficiency"]:
            fail(f"{name}: panels {titles}")
        for p in panels:
            for cls in ("measured", "ideal"):
                lines_ = [l for l in p.findall(SVG + "polyline") if l.get("class") == cls]
                if len(lines_) != 1 or len(lines_[0].get("points").split()) != len(ranks):
                    fail(f"{name}: panel {p.find(SVG + 'text').text} lacks a {cls} line of {len(ranks)} points")
            if len(p.findall(SVG + "circle")) != len(ranks):
                fail(f"{name}: panel without one marker per rank count")
    print(f"bench_check: {a.dir}: {len(rows)} rows, {len(lines)} CSV lines, {len(plots)} plots ok")


def check_compare(a):
    new = json.load(open(os.path.join(a.dir, "results.json")))
    old = json.load(open(a.old))
    olds = {(r["case"], r["mode"], r["ranks"]): r["median_s"] for r in old["rows"]}
    n = 0
    for r in new["rows"]:
        o = olds.get((r["case"], r["mode"], r["ranks"]))
        if o is None:
            if r["ratio"] is not None or r["old_median_s"] is not None:
                fail(f"{r['case']} at {r['ranks']}: a ratio without an old row")
            continue
        if not close(r["old_median_s"], o) or not close(r["ratio"], r["median_s"] / o, 1e-5):
            fail(f"{r['case']} at {r['ranks']}: ratio {r['ratio']} old {r['old_median_s']}, expected "
                 f"{r['median_s'] / o} from old {o}")
        n += 1
    if n != a.expect:
        fail(f"{n} rows compared, expected {a.expect}")
    print(f"bench_check: compare ok ({n} ratios)")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("study")
    s.add_argument("dir")
    s.add_argument("--cases", required=True)
    s.add_argument("--modes", required=True)
    s.add_argument("--ranks", required=True)
    s.add_argument("--size", type=int, required=True)
    s.add_argument("--repeat", type=int, required=True)
    s.add_argument("--steps")
    s.add_argument("--unit")
    s.add_argument("--work-per-row", type=float)
    s.add_argument("--solo-baseline", action="store_true")
    s.add_argument("--rank-baseline", action="store_true")
    s.add_argument("--launcher", default="in-job")
    c = sub.add_parser("compare")
    c.add_argument("dir")
    c.add_argument("old")
    c.add_argument("--expect", type=int, required=True)
    a = ap.parse_args()
    check_study(a) if a.cmd == "study" else check_compare(a)


if __name__ == "__main__":
    main()
