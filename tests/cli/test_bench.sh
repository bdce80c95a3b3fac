#!/usr/bin/env bash
# End-to-end checks of `dnd bench` at 4 (oversubscribed) ranks: strong, weak and both
# sweeps of small workloads and of a pipeline, the table, results.json / results.csv /
# SVG plots (checked by bench_check.py, which recomputes every derived figure), --compare,
# --launcher mpirun, -n, and clear errors with exit 2 for bad input.
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
check pipeline 0 'tiny' -- $MPI "$DND" bench "$T/tiny.yaml" --scale n=32 --ranks 1,2,4 --mode both --repeat 2 \
  --out "$T/pipe"
check pipeline-files 0 'ok$' -- $CHECK study "$T/pipe" --cases tiny --modes strong,weak --ranks 1,2,4 --size 32 \
  --repeat 2 --steps X,Y,s

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
{ cat "$T/tiny.yaml"; echo "  - {op: save, input: s, path: $T/out.npy}"; } > "$T/save.yaml"
check save-without-overwrite 2 "save step '.*' needs 'overwrite: true'" -- "$DND" bench "$T/save.yaml" --out "$T/err"
check missing-compare 2 'cannot read .*nope.json' -- $MPI "$DND" bench --workload reduce --compare "$T/nope.json" \
  --out "$T/err"
check err-wrote-nothing 0 '^none$' -- bash -c "test -e '$T/err' && echo exists || echo none"

if [ "$fail" -ne 0 ]; then echo "bench: FAILED"; exit 1; fi
echo "bench: all passed"
