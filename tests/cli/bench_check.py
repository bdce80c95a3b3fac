#!/usr/bin/env python3
"""Checks what `dnd bench` wrote: results.json, results.csv and the SVG plots.

  bench_check.py study DIR --cases a,b --modes strong,weak --ranks 1,2,4 --size N
                 [--steps s1,s2] [--unit GB/s] [--work-per-row W] [--solo-baseline | --rank-baseline]
                 [--launcher in-job] [--timed s1,s2] [--log] [--other-plots a.svg,b.svg]
  bench_check.py compare NEW_DIR OLD.json

Every figure is recomputed from the raw numbers in the same file (times -> median,
median -> speedup, efficiency, value, vs_baseline; the old file -> ratio; each repeat's
steps -> its time: their sum with --timed, the whole run with "(outside steps)"; the
ranks and cores of a node -> oversubscribed -> the warning), so the check fails if any
derived column is wrong; the plots' points must sit where their values put them on the
axes, inside the frame. Exit 1 with a message on the first failure.
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


REST = "(outside steps)"


def sums_to(total, parts):
    return abs(total - sum(parts)) <= 1e-9 * max(abs(total), 1e-3) + 1e-12


def check_machine(ctx, rows):
    """The machine in the context, each row's node load, and the warning that follows."""
    for k in ("cpu_model", "cores", "nodes", "hosts"):
        if ctx.get(k) in (None, "", []):
            fail(f"context lacks {k}: {ctx}")
    if not (isinstance(ctx["cores"], int) and ctx["cores"] >= 1) or ctx["nodes"] != len(ctx["hosts"]):
        fail(f"context: cores {ctx['cores']}, nodes {ctx['nodes']}, hosts {ctx['hosts']}")
    threads = ctx["threads_per_rank"]
    over = []
    for r in rows:
        if not (1 <= r["node_ranks"] <= r["ranks"]) or r["node_cores"] < 1:
            fail(f"{r['case']} at {r['ranks']}: node_ranks {r['node_ranks']}, node_cores {r['node_cores']}")
        if r["oversubscribed"] != (r["node_ranks"] * threads > r["node_cores"]):
            fail(f"{r['case']} at {r['ranks']}: oversubscribed {r['oversubscribed']} but {r['node_ranks']} ranks x "
                 f"{threads} threads on {r['node_cores']} cores")
        if r["oversubscribed"] and r["ranks"] not in over:
            over.append(r["ranks"])
    w = ctx.get("warning")
    if bool(over) != bool(w):
        fail(f"warning {w!r}, oversubscribed at {over}")
    if w:
        head = "WARNING: oversubscribed at "
        listed = w[len(head):].split(" rank")[0].replace(" and ", ", ").split(", ")
        if not w.startswith(head) or sorted(int(x) for x in listed) != sorted(over):
            fail(f"warning {w!r} does not name the rank counts {over}")
    return w


def axis_map(panel):
    """The panel's y mapping from its lowest and highest tick: value -> y."""
    ticks = [(float(t.get("data-value")), float(t.get("y")) - 4) for t in panel.findall(SVG + "text")
             if t.get("class") == "tick"]
    if len(ticks) < 2:
        fail("a panel with fewer than two ticks")
    (v0, y0), (v1, y1) = min(ticks), max(ticks)
    log = panel.get("data-y-scale") == "log"
    f = math.log10 if log else (lambda v: v)
    if log and any(v <= 0 for v, _ in ticks):
        fail("a log axis with a tick at or below 0")
    return lambda v: y0 + (f(v) - f(v0)) / (f(v1) - f(v0)) * (y1 - y0), (y1 - y0 if y1 != y0 else 1)


def check_panel_points(name, panel, values):
    """The panel's markers: one per value (in rank order), at the value's height and inside the frame."""
    frame = [r for r in panel.findall(SVG + "rect") if r.get("class") == "frame"][0]
    fx, fy, fw, fh = (float(frame.get(k)) for k in ("x", "y", "width", "height"))
    to_y, _ = axis_map(panel)
    circles = panel.findall(SVG + "circle")
    log = panel.get("data-y-scale") == "log"
    shown = [v for v in values if v is not None and (v > 0 or not log)]
    if len(circles) != len(shown):
        fail(f"{name}: {len(circles)} markers for {len(shown)} values")
    for c, v in zip(circles, shown):
        x, y = float(c.get("cx")), float(c.get("cy"))
        if not (fx + 3.5 <= x <= fx + fw - 3.5 and fy - 0.5 <= y <= fy + fh + 0.5):
            fail(f"{name}: marker at {x},{y} outside the frame {fx},{fy},{fw},{fh}")
        if abs(y - to_y(v)) > 2:
            fail(f"{name}: the marker of {v} at y {y}, its axis puts it at {to_y(v)}")
    for l in panel.findall(SVG + "line"):
        if l.get("class") != "range":
            continue
        x = float(l.get("x1"))
        ys = (float(l.get("y1")), float(l.get("y2")))
        if not (fx + 3.5 <= x <= fx + fw - 3.5) or not all(fy - 0.5 <= y <= fy + fh + 0.5 for y in ys):
            fail(f"{name}: a min-max bar at {x},{ys} outside the frame {fx},{fy},{fw},{fh}")


def check_study(a):
    d = json.load(open(os.path.join(a.dir, "results.json")))
    ctx = d["context"]
    for k in ("host", "date", "dnd_version", "threads_per_rank", "world_ranks", "hash", "command", "launcher"):
        if k not in ctx or ctx[k] in (None, ""):
            fail(f"context lacks {k}: {ctx}")
    if ctx["launcher"] != a.launcher:
        fail(f"launcher {ctx['launcher']}, expected {a.launcher}")
    timed = a.timed.split(",") if a.timed else []
    if (ctx.get("timed") or []) != timed:
        fail(f"context timed {ctx.get('timed')}, expected {timed}")
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
        names = [s["name"] for s in r["steps"]]
        if a.steps and names != a.steps.split(","):
            fail(f"{key} at {p}: steps {names}, expected {a.steps}")
        run = r.get("run")
        if timed:  # the times are the timed steps' sums; "run" is the whole run's
            if not run or len(run["times_s"]) != a.repeat:
                fail(f"{key} at {p}: --time without the whole run's times: {run}")
            rt = run["times_s"]
            if not close(run["median_s"], median(rt), 1e-5) or run["min_s"] != min(rt) or run["max_s"] != max(rt):
                fail(f"{key} at {p}: run median/min/max do not match {rt}")
        elif run is not None:
            fail(f"{key} at {p}: a whole run's times without --time")
        whole = run["max_s"] if run else r["max_s"]
        for s in r["steps"]:
            st = s["times_s"]
            if len(st) != a.repeat or not close(s["median_s"], median(st), 1e-5) or s["min_s"] != min(st) or \
                    s["max_s"] != max(st):
                fail(f"{key} at {p}: step {s['name']} median/min/max do not match its times {st}")
            # The time outside the steps is a difference: it may be a little below 0.
            if not (s["min_s"] <= s["median_s"] <= s["max_s"]) or (s["name"] != REST and s["min_s"] < 0):
                fail(f"{key} at {p}: bad step times {s}")
            # A step cannot take longer than the whole run it is part of.
            if s["min_s"] > whole * (1 + 1e-9):
                fail(f"{key} at {p}: step {s['name']} min {s['min_s']} > run max {whole}")
        for i in range(a.repeat):
            steps_i = {s["name"]: s["times_s"][i] for s in r["steps"]}
            if timed and not sums_to(t[i], [steps_i[n] for n in timed]):
                fail(f"{key} at {p}: repeat {i}: time {t[i]} is not the sum of the timed steps {timed}: {steps_i}")
            if REST in steps_i and not sums_to(run["times_s"][i] if run else t[i], list(steps_i.values())):
                fail(f"{key} at {p}: repeat {i}: the steps {steps_i} do not add up to the run")
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

    warning = check_machine(ctx, rows)

    # CSV: a total line and one per step for every row, the same numbers as the JSON.
    lines = list(csv.DictReader(open(os.path.join(a.dir, "results.csv"))))
    for k in ("case", "mode", "ranks", "size", "step", "median_s", "min_s", "max_s", "speedup", "efficiency",
              "value", "unit", "baseline_value", "vs_baseline", "ratio", "host", "date", "dnd_version",
              "threads_per_rank", "hash", "cores", "cpu_model", "nodes", "oversubscribed"):
        if k not in lines[0]:
            fail(f"results.csv lacks the column {k}")
    totals = [l for l in lines if l["step"] == "total"]
    if [(l["case"], l["mode"], int(l["ranks"])) for l in totals] != want:
        fail("results.csv total lines do not match the JSON rows")
    want_lines = sum(1 + len(r["steps"]) + (1 if r.get("run") else 0) for r in rows)
    if len(lines) != want_lines:
        fail(f"results.csv has {len(lines)} lines, expected {want_lines}")
    for l, r in zip(totals, rows):
        if not close(float(l["median_s"]), r["median_s"]) or not close(float(l["speedup"]), r["speedup"]):
            fail(f"results.csv {l} differs from the JSON row {r}")
        if l["hash"] != ctx["hash"] or l["host"] != ctx["host"] or int(l["cores"]) != ctx["cores"]:
            fail("results.csv context differs from the JSON's")
        if l["oversubscribed"] != ("true" if r["oversubscribed"] else "false"):
            fail(f"results.csv oversubscribed {l['oversubscribed']} differs from the JSON row's")

    # SVG: per case and mode a plot of three panels, each with a measured and an ideal line
    # of one point per rank count; for runs of two or more steps a plot of one line per step.
    # Each names the machine and carries the warning when there is one.
    plots = sorted(f for f in os.listdir(os.path.join(a.dir, "plots"))
                   if f not in (a.other_plots.split(",") if a.other_plots else []))
    many_steps = {r["case"]: len(r["steps"]) >= 2 for r in rows}
    want_plots = sorted([f"{c.replace('/', '_')}-{m}.svg" for c in cases for m in modes] +
                        [f"{c.replace('/', '_')}-{m}-steps.svg" for c in cases for m in modes if many_steps[c]])
    if plots != want_plots:
        fail(f"plots {plots}, expected {want_plots}")
    for name in plots:
        root = ET.parse(os.path.join(a.dir, "plots", name)).getroot()
        if root.tag != SVG + "svg":
            fail(f"{name}: root is {root.tag}")
        texts = {t.get("class"): t.text for t in root.findall(SVG + "text") if t.get("class")}
        shown = " ".join(texts[k] for k in ("warning", "warning-more") if k in texts) or None
        if ctx["cpu_model"] not in (texts.get("machine") or "") or shown != warning:
            fail(f"{name}: machine {texts.get('machine')!r} / warning {shown!r}, expected "
                 f"{ctx['cpu_model']!r} / {warning!r}")
        case, mode = next((c, m) for c in cases for m in modes
                          if name in (f"{c.replace('/', '_')}-{m}.svg", f"{c.replace('/', '_')}-{m}-steps.svg"))
        mine = [r for r in rows if r["case"] == case and r["mode"] == mode]
        panels = root.findall(SVG + "g")
        titles = [p.find(SVG + "text").text for p in panels]
        if name.endswith("-steps.svg"):
            if titles != ["time per step"]:
                fail(f"{name}: panels {titles}")
            p = panels[0]
            if (p.get("data-y-scale") == "log") != a.log:
                fail(f"{name}: y scale {p.get('data-y-scale')}, --log {a.log}")
            step_names = [s["name"] for s in mine[0]["steps"]]
            # One line per step (on a log axis, those with a time above 0), and the total.
            want = [n for k, n in enumerate(step_names)
                    if not a.log or any(r["steps"][k]["median_s"] > 0 for r in mine)]
            got = [l.get("data-name") for l in p.findall(SVG + "polyline") if l.get("class") == "step"]
            totals_ = [l for l in p.findall(SVG + "polyline") if l.get("class") == "total"]
            if got != want or len(totals_) != 1:
                fail(f"{name}: lines {got} (+{len(totals_)} total), expected one per step {want} and the total")
            total = totals_[0].get("points").split()
            if len(total) != len(ranks):
                fail(f"{name}: a total line of {len(total)} points")
            values = []  # the markers: the steps' (the total is dashed, without markers)
            for k in range(len(step_names)):
                values += [r["steps"][k]["median_s"] for r in mine]
            check_panel_points(name, p, values)
            continue
        if titles != ["time", "speedup", "efficiency"]:
            fail(f"{name}: panels {titles}")
        for p in panels:
            title = p.find(SVG + "text").text
            for cls in ("measured", "ideal"):
                lines_ = [l for l in p.findall(SVG + "polyline") if l.get("class") == cls]
                if len(lines_) != 1 or len(lines_[0].get("points").split()) != len(ranks):
                    fail(f"{name}: panel {title} lacks a {cls} line of {len(ranks)} points")
            want_log = a.log and title in ("time", "speedup")
            if (p.get("data-y-scale") == "log") != want_log:
                fail(f"{name}: panel {title}: y scale {p.get('data-y-scale')}, expected log {want_log}")
            if want_log:
                for t in p.findall(SVG + "text"):
                    if t.get("class") == "tick":
                        v = float(t.get("data-value"))
                        m = v / 10 ** math.floor(math.log10(v) + 1e-9)
                        if min(abs(m - x) for x in (1, 2, 5)) > 1e-6:
                            fail(f"{name}: panel {title}: tick {t.text} on a log axis")
            key = {"time": "median_s", "speedup": "speedup", "efficiency": "efficiency"}[title]
            check_panel_points(f"{name} {title}", p, [r[key] for r in mine])
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
    s.add_argument("--timed")
    s.add_argument("--log", action="store_true")
    s.add_argument("--other-plots")
    c = sub.add_parser("compare")
    c.add_argument("dir")
    c.add_argument("old")
    c.add_argument("--expect", type=int, required=True)
    a = ap.parse_args()
    check_study(a) if a.cmd == "study" else check_compare(a)


if __name__ == "__main__":
    main()
