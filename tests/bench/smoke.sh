#!/usr/bin/env bash
# The workloads behind the README's "Benchmarks" section, at tiny sizes on 2 ranks
# (`dnd bench --ranks 1,2`): every case must print its rows, its figure next to its
# baseline at 2 ranks, and its extra figures, so that a broken workload fails here.
# Timings are never checked.
#   smoke.sh DND core|map [MPIEXEC]
set -u
DND="$1"
GROUP="$2"
MPI="${3:-mpirun} -n 2"
source "$(dirname "$0")/../cli/check.sh"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT

# run NAME ARGS...: one study at 1 and 2 ranks, its stdout in $T/NAME.log and its
# stderr in $T/NAME.err (apart, so that mpirun's forwarding cannot cut a table line).
run() {
  local name="$1"
  shift
  check "$name" 0 'dnd bench: wrote' -- bash -c "$MPI '$DND' bench --ranks 1,2 --repeat 2 --warmup 1 \
    --out '$T/$name' $* > '$T/$name.log' 2> '$T/$name.err'; rc=\$?; cat '$T/$name.log' '$T/$name.err'; exit \$rc"
}
# The table's block of one case: its heading ("CASE  (...)") to the next blank line.
block() { awk -v c="$2  (" 'index($0, c) == 1 {f = 1} /^$/ {f = 0} f' "$T/$1.log"; }
# has LOG CASE PATTERN: the case's block matches PATTERN (extended regex).
has() { check "$2: /$3/" 0 "$3" -- block "$1" "$2"; }
# A row at 2 ranks with a figure and its ratio to the baseline.
FIG='strong +2 +[0-9]+ .*[0-9] +[0-9.]+x$'

if [ "$GROUP" = core ]; then
  run stream --workload stream,allreduce --size 4096
  for c in 'stream-a*b+c' stream-multiply_add stream-system-allocator stream-sum allreduce; do
    has stream "$c" "$FIG"
  done
  has stream 'stream-a*b+c' "baseline: torch a\*b\+c, 1 process, torch's allocator"
  has stream stream-sum 'baseline at each rank count: STREAM triad'

  run random --workload random --size 4096
  for c in uniform normal integers; do
    has random "random-$c" 'strong +2 +[0-9]+ .*[0-9]'
  done
  has random random-uniform 'baseline: torch rand, 1 process'
  has random random-integers 'baseline: torch randint, 1 process'

  run movement --workload movement --size 64
  for c in resplit-0to1 resplit-1to0 reshape flatten; do
    has movement "movement-$c" "$FIG"
    has movement "movement-$c" 'peak memory / local block: [0-9.]+'
  done
  has movement movement-transpose 'peak memory / local block: [0-9.]+'

  run overhead --workload pipeline-overhead --size 100
  has overhead pipeline-overhead 'direct C\+\+ ms: [0-9.e-]+; overhead ms: -?[0-9.e-]+; parse \+ plan ms: [0-9.e-]+'

  run matmul --workload matmul --split-pair 0x0 --size 64
  has matmul matmul-0x0 "$FIG"
  has matmul matmul-0x0 'MiB sent per rank \(ring_b\): [0-9.]+'

  run selection --workload selection --size 4096
  has selection selection-sort "$FIG"
  has selection selection-sort 'baseline: torch.sort, 1 process'
  has selection selection-unique "$FIG"
  has selection selection-unique 'baseline: torch.unique \(sorted\), 1 process'

  run statistics --workload statistics --size 256
  has statistics statistics-cov "$FIG"
  has statistics statistics-cov 'baseline: torch.mm X\^T X, 1 process'
  has statistics statistics-standardize "$FIG"
  has statistics statistics-standardize 'baseline at each rank count: STREAM triad'

  run factor --workload qr,svd --size 256 --cols 8
  has factor qr "$FIG"
  has factor qr '\|A-QR\|/\|A\|: [0-9.e-]+; \|QtQ-I\|: [0-9.e-]+'
  has factor svd "$FIG"
  has factor svd '\|A-USVt\|/\|A\|: [0-9.e-]+; \|UtU-I\|: [0-9.e-]+'
  has factor qr 'baseline: torch.linalg.qr, 1 process: .*; \|A-QR\|/\|A\|: [0-9.e-]+; \|QtQ-I\|: [0-9.e-]+'
  has factor svd 'baseline: torch.linalg.svd, 1 process: .*; \|A-USVt\|/\|A\|: [0-9.e-]+'

  run kmeans --workload kmeans --size 256
  has kmeans kmeans "$FIG"
  has kmeans kmeans 'peak memory beyond X / local block: [0-9.e-]+; kmeans\|\| init s: [0-9.e-]+'

  run io --workload io-save,io-save-sync,io-load-warm,io-load --io-format h5,npy --size 256
  for f in h5 npy; do
    for c in io-save io-save-sync io-load-warm io-load; do
      has io "$c-$f" "$FIG"
    done
  done
  has io io-save-sync-h5 'baseline: write\(\) \+ fsync\(\) of the same bytes'
  has io io-load-warm-npy 'baseline: read\(\) of the same bytes, warm'
  check cols-not-for-stream 2 "--cols is for the qr and svd workloads, not 'stream'" -- "$DND" bench \
    --workload stream --cols 8 --out "$T/err"
  check io-scratch-removed 0 '^gone$' -- bash -c "test -e '$T/io/scratch' && ls -R '$T/io/scratch' || echo gone"
elif [ "$GROUP" = map ]; then
  run map --workload map,halo --size 1024
  has map map "$FIG"
  has map halo-h1 "$FIG"
  has map halo-h128 "$FIG"
  run compile --workload map-compile --size 100
  has compile map-compile 'plan without it ms: [0-9.e-]+; compile and infer ms: -?[0-9.e-]+'
else
  echo "smoke.sh: unknown group '$GROUP' (core or map)"
  exit 2
fi

if [ "$fail" -ne 0 ]; then echo "bench smoke ($GROUP): FAILED"; exit 1; fi
echo "bench smoke ($GROUP): all passed"
