"""Counted bytes equal planned bytes (the plan is a promise).

Runs tests/cli/comm/counts.yaml (every op family that communicates, on uneven shapes) at
1, 2, 3, 4 and 7 ranks with --timings, and checks each step: the bytes the busiest rank
sent, as dnd's MPI layer counted them (sent_bytes), equal the plan's comm_bytes; for a
step whose plan is a bound (comm_bytes_at_most: sort, kmeans, balance, ...), they are at
most the plan. It also checks that `dnd plan --json` gives the run's figures and marks
the bounds, and that the counted bytes are not all zero (the counter counts).

usage: test_comm_counts.py DND [RANKS ...]
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PIPELINE = os.path.join(HERE, "comm", "counts.yaml")
# Ops whose plan is a bound (the values decide what moves); every other step must be
# exact, and must not be marked as a bound.
BOUNDED = {"sort", "argsort", "kmeans", "balance", "median", "topk"}


def counts_for(p, m=37):
    c = [i + 1 for i in range(p)]
    s = sum(c)
    c = [m * x // s for x in c]
    c[-1] += m - sum(c)
    return c


def mpirun(p):
    return ["mpirun", "--oversubscribe", "-n", str(p)]


def main():
    dnd = sys.argv[1]
    ranks = [int(x) for x in sys.argv[2:]] or [1, 2, 3, 4, 7]
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for p in ranks:
            text = open(PIPELINE).read().replace("COUNTS", str(counts_for(p)))
            yml = os.path.join(tmp, f"counts{p}.yaml")
            open(yml, "w").write(text)
            timings = os.path.join(tmp, f"t{p}.json")
            run = subprocess.run(mpirun(p) + [dnd, "run", "-q", yml, "--timings", timings],
                                 capture_output=True, text=True, timeout=300)
            if run.returncode != 0:
                failures.append(f"{p} ranks: dnd run failed ({run.returncode}): {run.stderr[-2000:]}")
                continue
            plan = json.loads(subprocess.run([dnd, "plan", yml, "-n", str(p), "--json"],
                                             capture_output=True, text=True, check=True).stdout)
            planned = {s["id"]: s for s in plan["steps"]}
            steps = json.load(open(timings))["steps"]
            moved = 0
            for s in steps:
                sid, op = s["id"], s["op"]
                sent, want = s["sent_bytes"], s["comm_bytes"]
                moved += sent
                if sid in planned and planned[sid]["comm_bytes_per_rank"] != want:
                    failures.append(f"{p} ranks: step {sid}: dnd plan says "
                                    f"{planned[sid]['comm_bytes_per_rank']}, the run's plan {want}")
                if sid in planned and planned[sid]["comm_bytes_at_most"] != s["comm_bytes_at_most"]:
                    failures.append(f"{p} ranks: step {sid}: plan and run disagree on the bound")
                if p == 1 and (sent or s["received_bytes"] or want):
                    failures.append(f"1 rank: step {sid} ({op}) moved {sent} bytes, planned {want}")
                if op in BOUNDED:
                    if want > 0 and not s["comm_bytes_at_most"]:
                        failures.append(f"{p} ranks: step {sid} ({op}): not marked as a bound")
                    if sent > want:
                        failures.append(f"{p} ranks: step {sid} ({op}): sent {sent} > bound {want}")
                else:
                    if sent != want:
                        failures.append(f"{p} ranks: step {sid} ({op}): sent {sent}, planned {want}")
                    if s["comm_bytes_at_most"]:
                        failures.append(f"{p} ranks: step {sid} ({op}): exact, but marked as a bound")
            if p > 1 and moved == 0:
                failures.append(f"{p} ranks: nothing counted at all")
            print(f"{p} ranks: {len(steps)} steps, {moved} bytes sent by the busiest ranks in all")
    for f in failures:
        print("FAIL:", f)
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
