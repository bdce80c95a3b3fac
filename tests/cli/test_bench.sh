#!/usr/bin/env bash
# End-to-end checks of `dnd bench` at 4 (oversubscribed) ranks: strong, weak and both
# sweeps of small workloads and of a pipeline, the table, results.json / results.csv /
# SVG plots (checked by bench_check.py, which recomputes every derived figure), per-step
# times and --time, the machine and the oversubscription warning, a reused --out, --log,
# --compare, --launcher mpirun, -n, and clear errors with exit 2 for bad input.
set -u
DND="$1"
HERE="$(cd "$(dirname "$0")" && pwd)"
CHECK="python3 $HERE/bench_check.py"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
MPI="mpirun -n 4 --oversubscribe"
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"

# Strong scaling: the table has a line per rank count; progress names size and repeat.
check strong-table 0 'strong +4 +64 ' -- bash -c "$MPI '$DND' bench --workload elementwise --size 64 --ranks 1,2,4 \
  --repeat 3 --warmup 1 --out '$T/strong' > '$T/strong.log' 2>&1; rc=\$?; cat '$T/strong.log'; exit \$rc"
check strong-progress 0 'elementwise strong \[1/3\] 1 rank: (warm-up|repeat) .*elapsed .*left' -- cat "$T/strong.log"
check strong-files 0 'ok$' -- $CHECK study "$T/strong" --cases elementwise --modes strong --ranks 1,2,4 --size 64 \
  --repeat 3 --steps 'a*b,+c' --unit GB/s --work-per-row 4096 --solo-baseline
# The machine heads the table; under each row its steps. 4 ranks of 1 thread on fewer than
# 4 cores share them: a warning in the table, results.json (bench_check) and the plots.
check strong-machine 0 '^machine: .*: [0-9]+ cores? \(.*\); 1 thread per rank; 1 node$' -- cat "$T/strong.log"
check strong-step-lines 0 '^ +[0-9.e-]+ +[0-9.e-]+ +[0-9.e-]+  \+c$' -- cat "$T/strong.log"
if [ "$(nproc)" -lt 4 ]; then
  check oversubscribed-table 0 \
    '^WARNING: oversubscribed at 4 ranks: 4 ranks x 1 thread per rank on a node with [0-9]+ cores? for them' -- \
    cat "$T/strong.log"
  check oversubscribed-early 0 '^dnd bench: WARNING: oversubscribed at 4 ranks' -- cat "$T/strong.log"
  check oversubscribed-plot 0 'class="warning".*WARNING: oversubscribed at 4 ranks' -- \
    cat "$T/strong/plots/elementwise-strong.svg"
fi

# Weak scaling of a movement: the rows grow with the ranks; MPI_Alltoall baseline per size.
check weak-table 0 'weak +4 +256 ' -- $MPI "$DND" bench --workload resplit --size 64 --ranks 1,2,4 --mode weak \
  --repeat 2 --warmup 0 --out "$T/weak"
check weak-files 0 'ok$' -- $CHECK study "$T/weak" --cases resplit --modes weak --ranks 1,2,4 --size 64 --repeat 2 \
  --steps 'resplit 0 -> 1,resplit 1 -> 0' --unit GB/s --work-per-row 512 --rank-baseline

# Both modes, one matmul split pair (4 ranks in the job, 2 used: the others wait).
check both 0 'matmul-0x1' -- $MPI "$DND" bench --workload matmul --split-pair 0x1 --size 32 --ranks 1,2 --mode both \
  --repeat 2 --out "$T/both"
check both-files 0 'ok$' -- $CHECK study "$T/both" --cases matmul-0x1 --modes strong,weak --ranks 1,2 --size 32 \
  --repeat 2 --steps matmul --unit GFLOP/s --work-per-row 2048 --solo-baseline

# k-means (its steps come from the kernel's own timers) and file I/O (a list of workloads).
check kmeans 0 'kmeans' -- $MPI "$DND" bench --workload kmeans --size 64 --ranks 1,2,4 --repeat 2 --out "$T/kmeans"
check kmeans-files 0 'ok$' -- $CHECK study "$T/kmeans" --cases kmeans --modes strong --ranks 1,2,4 --size 64 \
  --repeat 2 --steps 'checks and init,Lloyd iterations,final labels' --unit Mrows/s --solo-baseline
check io 0 'io-load' -- $MPI "$DND" bench --workload io-save,io-load --size 64 --ranks 1,2,4 --repeat 2 --mode weak \
  --out "$T/io"
check io-files 0 'ok$' -- $CHECK study "$T/io" --cases io-save,io-load --modes weak --ranks 1,2,4 --size 64 \
  --repeat 2 --unit GB/s --work-per-row 1024 --solo-baseline
check io-scratch-removed 0 '^gone$' -- bash -c "test -e '$T/io/scratch' && ls -R '$T/io/scratch' || echo gone"

# A pipeline, weak scaling of its param n.
cat > "$T/tiny.yaml" <<'EOF'
version: 1
name: tiny
params: {n: 64}
steps:
  - id: X
    op: random.uniform
    shape: [${n}, 16]
    split: 0
    seed: 1
  - id: Y
    op: multiply
    inputs: [X, 2.0]
  - id: s
    op: reduce
    input: Y
    fn: sum
    axis: 0
EOF
check pipeline 0 'tiny' -- bash -c "$MPI '$DND' bench '$T/tiny.yaml' --scale n=32 --ranks 1,2,4 --mode both \
  --repeat 2 --out '$T/pipe' > '$T/pipe.log' 2>&1; rc=\$?; cat '$T/pipe.log'; exit \$rc"
# Each repeat's steps, with the time outside them, add up to its run (bench_check).
check pipeline-files 0 'ok$' -- $CHECK study "$T/pipe" --cases tiny --modes strong,weak --ranks 1,2,4 --size 32 \
  --repeat 2 --steps 'X,Y,s,(outside steps)'
check pipeline-step-lines 0 '^ +-?[0-9.e-]+ +-?[0-9.e-]+ +-?[0-9.e-]+  \(outside steps\)$' -- cat "$T/pipe.log"

# --time: the times count the chosen steps only (their sum in every repeat), the whole
# run beside them; the table marks the steps.
check timed 0 'times of Y \+ s only' -- bash -c "$MPI '$DND' bench '$T/tiny.yaml' --time Y,s --ranks 1,2,4 \
  --repeat 3 --out '$T/timed' > '$T/timed.log' 2>&1; rc=\$?; cat '$T/timed.log'; exit \$rc"
check timed-files 0 'ok$' -- $CHECK study "$T/timed" --cases tiny --modes strong --ranks 1,2,4 --size 0 --repeat 3 \
  --steps 'X,Y,s,(outside steps)' --timed Y,s
check timed-marks 0 '  \* Y$' -- cat "$T/timed.log"
check timed-run-column 0 'run s' -- cat "$T/timed.log"

# `timed:` in the pipeline does what --time does (--time wins); its ids are checked when
# the file loads, in validate too.
{ sed 's/^params: {n: 64}$/params: {n: 64}\ntimed: [Y, s]/' "$T/tiny.yaml"; } > "$T/timed-key.yaml"
check timed-key 0 'times of Y \+ s only' -- $MPI "$DND" bench "$T/timed-key.yaml" --ranks 1,2 --repeat 2 --out "$T/timed-key"
check timed-key-files 0 'ok$' -- $CHECK study "$T/timed-key" --cases tiny --modes strong --ranks 1,2 --size 0 --repeat 2 \
  --steps 'X,Y,s,(outside steps)' --timed Y,s
check timed-key-overridden 0 'times of s only' -- $MPI "$DND" bench "$T/timed-key.yaml" --time s --ranks 1 --repeat 1 \
  --out "$T/timed-key2"
sed 's/^timed: \[Y, s\]$/timed: [Y, Yy]/' "$T/timed-key.yaml" > "$T/timed-bad.yaml"
check timed-key-unknown 2 "timed-bad.yaml:[0-9]+:[0-9]+: error: 'timed' names no step 'Yy', did you mean 'Y'\\?" -- "$DND" validate "$T/timed-bad.yaml"

# A reused --out: the plots of the earlier study (weak) go, a user's files stay; --log
# draws log-log time and speedup panels.
echo '<svg xmlns="http://www.w3.org/2000/svg"><text>mine</text></svg>' > "$T/pipe/plots/mine-weak.svg"
echo 'notes' > "$T/pipe/plots/notes.svg"
check reuse-out 0 'removed 2 plots of an earlier study' -- $MPI "$DND" bench "$T/tiny.yaml" --scale n=32 \
  --ranks 1,2,4 --repeat 2 --log --out "$T/pipe"
check reuse-out-files 0 'ok$' -- $CHECK study "$T/pipe" --cases tiny --modes strong --ranks 1,2,4 --size 32 \
  --repeat 2 --steps 'X,Y,s,(outside steps)' --log --other-plots mine-weak.svg,notes.svg
check reuse-out-kept 0 '^kept$' -- bash -c "grep -q mine '$T/pipe/plots/mine-weak.svg' && \
  test -f '$T/pipe/plots/notes.svg' && echo kept"
check log-axis 0 'data-y-scale="log"' -- cat "$T/pipe/plots/tiny-strong.svg"

# --compare: against the strong study itself, and against an edited copy (other medians,
# one row missing) so that the ratios must come from the old file.
check compare-table 0 'time/old' -- $MPI "$DND" bench --workload elementwise --size 64 --ranks 1,2,4 --repeat 3 \
  --out "$T/again" --compare "$T/strong/results.json"
check compare-ratios 0 'ok' -- $CHECK compare "$T/again" "$T/strong/results.json" --expect 3
python3 - "$T/strong/results.json" "$T/edited.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["rows"] = [r for r in d["rows"] if r["ranks"] != 4]
for r in d["rows"]:
    r["median_s"] = 0.5 * r["ranks"]
json.dump(d, open(sys.argv[2], "w"))
EOF
check compare-edited 0 'elementwise' -- $MPI "$DND" bench --workload elementwise --size 64 --ranks 1,2,4 --repeat 1 \
  --out "$T/edited" --compare "$T/edited.json"
check compare-edited-ratios 0 'ok' -- $CHECK compare "$T/edited" "$T/edited.json" --expect 2

# One launch per rank count, and -n re-launching under mpirun.
check launcher 0 'launch: mpirun -n 2' -- "$DND" bench --workload reduce --size 64 --ranks 1,2 --repeat 2 \
  --launcher mpirun --out "$T/launch"
check launcher-files 0 'ok$' -- $CHECK study "$T/launch" --cases reduce --modes strong --ranks 1,2 --size 64 \
  --repeat 2 --steps 'sum axis 0 (split),sum axis 1' --unit GB/s --work-per-row 2048 --solo-baseline --launcher mpirun
check dash-n 0 'strong +2 ' -- "$DND" -n 2 bench --workload reduce --size 64 --repeat 1 --out "$T/n2"

# Bad input: a clear message, exit 2, nothing written.
check bad-workload 2 "unknown workload 'elementwse', did you mean 'elementwise'\\?" -- $MPI "$DND" bench \
  --workload elementwse --out "$T/err"
check non-dividing 2 'elementwise: --size 100 does not divide evenly over 3 ranks.*try --size 96 or 102' -- $MPI \
  "$DND" bench --workload elementwise --size 100 --ranks 1,2,3 --out "$T/err"
check odd-reshape 2 'reshape: --size 6 does not divide evenly over 4 ranks \(and an even number.*try --size 4 or 8' -- $MPI "$DND" \
  bench --workload reshape --size 6 --ranks 1,2,4 --out "$T/err"
check too-many-ranks 2 '--ranks 1,8 needs 8 ranks, but the job has 4' -- $MPI "$DND" bench --workload reduce \
  --ranks 1,8 --out "$T/err"
check bad-ranks 2 '--ranks 2,1: rank counts must increase' -- $MPI "$DND" bench --workload reduce --ranks 2,1 \
  --out "$T/err"
check bad-split-pair 2 "--split-pair '0y1'" -- $MPI "$DND" bench --workload matmul --split-pair 0y1 --out "$T/err"
check no-workload 2 'give either a pipeline file or --workload' -- $MPI "$DND" bench --out "$T/err"
check weak-without-scale 2 '--mode weak needs --scale PARAM' -- $MPI "$DND" bench "$T/tiny.yaml" --mode weak \
  --out "$T/err"
check bad-scale 2 "--scale m: .* has no param 'm'" -- $MPI "$DND" bench "$T/tiny.yaml" --scale m --out "$T/err"
check bad-time 2 "--time: .* has no step 'Yy', did you mean 'Y'\? \(its steps: X, Y, s\)" -- "$DND" bench \
  "$T/tiny.yaml" --time X,Yy --out "$T/err"
check empty-time 2 '--time X,: expected the ids of pipeline steps' -- "$DND" bench "$T/tiny.yaml" --time X, \
  --out "$T/err"
check time-twice 2 "--time: the step 'X' is given twice" -- "$DND" bench "$T/tiny.yaml" --time X,X --out "$T/err"
check time-workload 2 '--time is for pipelines' -- "$DND" bench --workload reduce --time sum --out "$T/err"
{ cat "$T/tiny.yaml"; echo "  - {op: save, input: s, path: $T/out.npy}"; } > "$T/save.yaml"
check save-without-overwrite 2 "save step '.*' needs 'overwrite: true'" -- "$DND" bench "$T/save.yaml" --out "$T/err"
check missing-compare 2 'cannot read .*nope.json' -- $MPI "$DND" bench --workload reduce --compare "$T/nope.json" \
  --out "$T/err"
check err-wrote-nothing 0 '^none$' -- bash -c "test -e '$T/err' && echo exists || echo none"

if [ "$fail" -ne 0 ]; then echo "bench: FAILED"; exit 1; fi
echo "bench: all passed"
