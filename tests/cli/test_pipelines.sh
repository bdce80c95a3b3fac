#!/usr/bin/env bash
# End-to-end checks of pipelines through the dnd executable:
#  - every file in pipelines/ validates, plans and runs at 1, 2, 3 and 4 ranks, and its
#    printed results are the same at every rank count (the ops themselves are checked
#    against torch in test_pipeline_ops);
#  - every file in tests/cli/broken/ fails validate and run with exit 2 and the message
#    (with file:line:column) its first line expects, and writes nothing;
#  - plan --json, ops, ops --schema, --set, --timings, the memory refusal, and failures
#    while running (exit 1, one message naming the step: printed once when every rank
#    failed, by the failing rank when one failed alone).
set -u
DND="$1"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"

# Same text, numbers equal to a relative 1e-4 (sums in a different order round differently).
same_numbers() {
  python3 - "$1" "$2" <<'PY'
import re, sys
num = re.compile(r'-?\d+\.?\d*(?:e[-+]?\d+)?')
a, b = sys.argv[1], sys.argv[2]
if num.sub('#', a) != num.sub('#', b): sys.exit(1)
for x, y in zip(num.findall(a), num.findall(b)):
    x, y = float(x), float(y)
    if abs(x - y) > 1e-4 * max(abs(x), abs(y)) + 1e-3: sys.exit(1)
PY
}

# ---- the example pipelines: make-data.yaml first (the others read its files) ------------
# They run in a scratch directory; files they write go under it.
cd "$WORK"
for p in "$ROOT/pipelines/make-data.yaml" $(ls "$ROOT"/pipelines/*.yaml | grep -v /make-data.yaml | sort); do
  name="$(basename "$p" .yaml)"
  check "validate-$name" 0 'ok \(' -- "$DND" validate "$p"
  check "plan-$name" 0 'peak memory per rank' -- "$DND" plan "$p" -n 3
  ref=""
  for n in 1 2 3 4; do
    out="$(mpirun -n $n "$DND" run "$p" --quiet 2>"$WORK/err")"; rc=$?
    if [ $rc -ne 0 ]; then
      echo "FAIL run-$name-np$n: exit $rc"; sed 's/^/    /' "$WORK/err"; fail=1; continue
    fi
    if [ -z "$ref" ]; then
      ref="$out"
    elif ! same_numbers "$ref" "$out"; then
      echo "FAIL run-$name-np$n: results differ from 1 rank"; diff <(echo "$ref") <(echo "$out") | sed 's/^/    /'
      fail=1; continue
    fi
    echo "ok   run-$name-np$n"
  done
done

# ---- broken pipelines: exit 2, the message with its position, nothing written ----------
for f in "$ROOT"/tests/cli/broken/*.yaml; do
  name="$(basename "$f" .yaml)"
  want="$(head -1 "$f" | sed 's/^# expect: //')"
  # Each in a directory of its own, which must hold nothing but the pipeline afterwards.
  mkdir "$WORK/broken-$name" && cd "$WORK/broken-$name" && cp "$f" "$name.yaml"
  check "broken-validate-$name" 2 "^$want" -- "$DND" validate "$name.yaml"
  check "broken-run-$name" 2 "$want" -- mpirun -n 2 "$DND" run "$name.yaml"
  check "broken-wrote-nothing-$name" 0 "^$name.yaml$" -- bash -c "find . -mindepth 1 | sed 's|^./||' | tr '\\n' ' ' | sed 's/ $//'"
  cd "$WORK"
done

# ---- the commands around run -------------------------------------------------------------
Q="$ROOT/pipelines/quickstart.yaml"
# validate, plan and ops never start MPI: with an MPI transport that cannot load they still work.
check no-mpi-validate 0 'ok \(8 steps\)' -- env OMPI_MCA_pml=no_such_component "$DND" validate "$Q"
check no-mpi-plan 0 'peak memory per rank' -- env OMPI_MCA_pml=no_such_component "$DND" plan "$Q" -n 64
check no-mpi-ops 0 'reduce' -- env OMPI_MCA_pml=no_such_component "$DND" ops
check plan-json 0 '"peak_bytes_per_rank": [0-9]+' -- "$DND" plan "$Q" --json -n 2
check plan-set 0 '\(1000, 4\) float32 split=0' -- "$DND" plan "$Q" --set n=1000
# A bug in dnd (here injected) is an internal error, exit 1, never "invalid pipeline" (exit 2).
check internal-error-plan 1 'internal error \(a bug in dnd, please report it\): .*fault injected' -- env DND_TEST_FAULT=internal-plan:X "$DND" validate "$Q"
check internal-error-plan-run 1 'internal error \(a bug in dnd, please report it\)' -- env DND_TEST_FAULT=internal-plan:X mpirun -n 2 "$DND" run "$Q" --quiet
check internal-error-plan-context 1 "^  in planning step 'X' \(random.normal, .*quickstart.yaml:10\)" -- env DND_TEST_FAULT=internal-plan:X "$DND" validate "$Q"
check internal-error-run 1 'internal error \(a bug in dnd, please report it\): .*fault injected' -- env DND_TEST_FAULT=internal-run:X mpirun -n 2 "$DND" run "$Q" --quiet
check set-unknown 2 "no param 'nn', did you mean 'n'" -- "$DND" run "$Q" --set nn=3
check missing-file 2 'cannot read the pipeline file: No such file or directory' -- "$DND" validate nope.yaml
check ops-list 0 'random.normal +normally distributed' -- "$DND" ops
check ops-one 0 'fn +choice +\(required\) the reduction' -- "$DND" ops reduce
check ops-unknown 2 "unknown op 'redcue', did you mean 'reduce'" -- "$DND" ops redcue
"$DND" ops --schema > schema.json
check ops-schema 0 'ok' -- python3 -c "import json; s = json.load(open('schema.json')); assert 'reduce' in s['\$defs']['step']['properties']['op']['enum']; print('ok')"
check schema-shipped 0 'same' -- bash -c "cmp -s schema.json '$ROOT/share/dnd-pipeline.schema.json' && echo same || echo 'share/dnd-pipeline.schema.json is stale: run dnd ops --schema > share/dnd-pipeline.schema.json'"
check timings 0 'ok' -- bash -c "mpirun -n 2 '$DND' run '$Q' --quiet --set n=1e3 --timings t.json >/dev/null && python3 -c \"
import json; t = json.load(open('t.json')); assert t['ranks'] == 2 and len(t['steps']) == 8
assert t['params'] == {'n': '1e3', 'd': '4', 'seed': '7'}, t['params']
assert t['pipeline_hash'].startswith('fnv1a64:') and len(t['pipeline_hash']) == 24, t['pipeline_hash']
assert all(len(s['peak_rss_bytes']) == 2 and s['seconds'] >= 0 for s in t['steps']); print('ok')\""
check run-log-params 0 '^params: n=1e3 d=4 seed=7$' -- "$DND" run "$Q" --set n=1e3
check run-n 0 'on 2 ranks' -- "$DND" run "$Q" -n 2
# A quick step prints one line: what it runs and its time.
check progress 0 '^\[4/8\] scaled: divide X, col_std: done in [0-9.]+ s$' -- "$DND" run "$Q"
check progress-one-line-per-quick-step 0 '^ok$' -- bash -c "[ \"\$('$DND' run '$Q' 2>&1 | grep -c '^\[[0-9]/8\]')\" = 8 ] && echo ok"
# Progress on a pipe (under -n, stderr is a pipe): kmeans names each restart, its rate and
# the time left, and always ends with its summary; a file step's line gives bytes and rate;
# a long step that reports nothing gets heartbeat lines (DND_PROGRESS_INTERVAL=0.2: announced
# after 0.2 s, a heartbeat every 1 s; slow-in sleeps 3 s inside the step).
cat > progress.yaml <<'Y'
version: 1
steps:
  - {id: b, op: random.blobs, n: 3000, d: 4, k: 3, seed: 1, split: 0}
  - {id: km, op: kmeans, input: b.X, k: 3, n_init: 3, seed: 2, init: random}
  - {id: r, op: resplit, input: b.X, axis: 1}
  - {op: save, input: r, path: prog.npy, overwrite: true}
  - {id: l, op: load, path: prog.npy, split: 0}
Y
check progress-kmeans-restarts 0 '^ok$' -- bash -c "out=\$('$DND' run progress.yaml -n 2 2>&1 >/dev/null); for r in 1 2 3; do grep -qE \"^      restart \$r/3  iteration 1/300  inertia [0-9.e+]+  shift [0-9.e+-]+  [0-9.e+-]+ M rows/s  at most [0-9]+ s left\$\" <<< \"\$out\" || { echo \"no line of restart \$r:\"; echo \"\$out\"; exit; }; done; grep -qE '^      [0-9]+ iterations \(the best of 3 restarts\), inertia' <<< \"\$out\" && echo ok || echo \"\$out\""
check progress-save-bytes 0 '^\[4/5\] save#4: save r: done in [0-9.]+ s \(46\.9 KiB at [0-9.]+ [kMG]B/s\)$' -- bash -c "'$DND' run progress.yaml -n 2 2>&1 >/dev/null"
check progress-load-bytes 0 '^\[5/5\] l: load: done in [0-9.]+ s \(46\.9 KiB at [0-9.]+ [kMG]B/s\)$' -- bash -c "'$DND' run progress.yaml -n 2 2>&1 >/dev/null"
check progress-heartbeat 0 '^ok$' -- bash -c "out=\$(DND_PROGRESS_INTERVAL=0.2 DND_TEST_FAULT=slow-in:r '$DND' run progress.yaml -n 2 2>&1 >/dev/null); grep -qx '\[3/5\] r: resplit b.X' <<< \"\$out\" && grep -qE '^      running for [0-9]+ s; it moves [0-9.]+ [KMG]?i?B per rank \(planned\)\$' <<< \"\$out\" && grep -qE '^\[3/5\] r: done in [3-9]\.[0-9]+ s\$' <<< \"\$out\" && echo ok || echo \"\$out\""
check memory-refusal 2 'the plan needs [0-9.]+ TiB per rank at its peak \(step .[a-z_]+.\).*--force' -- \
  "$DND" run "$Q" --set n=1000000000000
cat > fails.yaml <<'Y'
version: 1
steps:
  - {id: a, op: arange, stop: 8, split: 0}
  - {id: b, op: floor_divide, inputs: [a, 0]}
  - {op: print, input: b}
Y
# A file that only rank 0 sees (each rank in its own directory): every rank stops with exit
# 2 before any collective, the failing rank's message is printed.
mkdir -p only0 only1
cat > only0/one.yaml <<'Y'
version: 1
steps:
  - {id: a, op: arange, stop: 8, split: 0}
  - {op: save, input: a, path: here.npy, overwrite: true}
Y
"$DND" run only0/one.yaml --quiet && (cd only0 && "$DND" run one.yaml --quiet)
cat > two.yaml <<'Y'
version: 1
params: {dir: only0}
steps:
  - {id: a, op: load, path: "${dir}/here.npy", split: 0}
  - {op: print, input: a}
Y
two_dirs=(mpirun -n 1 "$DND" run "$WORK/two.yaml" : -n 1 "$DND" run "$WORK/two.yaml" --set dir=only1)
check rank-dependent-file 2 "^\[rank 1\] .*two.yaml:4:17: error: step 'a' \(load\): cannot open 'only1/here.npy'" -- "${two_dirs[@]}"
check rank-dependent-summary 2 "^dnd run: error: the pipeline is invalid on rank 1 \(its message is above\)" -- "${two_dirs[@]}"
# Ranks started in different directories work in rank 0's: relative paths mean one file.
check rank-working-directory 0 '\[0, 1, 2, 3, 4, 5, 6, 7\]' -- \
  mpirun -n 1 -wdir "$WORK" "$DND" run "$WORK/two.yaml" --quiet : -n 1 -wdir "$WORK/only1" "$DND" run "$WORK/two.yaml" --quiet
check run-failure-1-rank 1 "^dnd run: error on rank 0: step 'b' \(floor_divide, fails.yaml:4\)" -- "$DND" run fails.yaml

# A failure hit by every rank (a division by zero in every block) is printed once, by rank
# 0, after the ranks agreed that every one of them failed (no pause decides it).
printed_once() {  # NAME RANKS PATTERN PIPELINE: exit 1, exactly one error line, matching
  local out n
  out="$(DND_FAILURE_WAIT=600 timeout 300 mpirun -n "$2" --oversubscribe "$DND" run "$4" 2>&1)"
  local rc=$?
  n=$(grep -c 'dnd run: error' <<<"$out")
  if [ "$rc" -ne 1 ] || [ "$n" -ne 1 ] || ! grep -qE -- "$3" <<<"$out"; then
    echo "FAIL $1: exit $rc (expected 1), $n error lines (expected 1)"; echo "$out" | sed 's/^/    /'; fail=1
  else
    echo "ok   $1"
  fi
}
for n in 2 3; do
  printed_once "shared-failure-once-np$n" $n "^dnd run: error on every rank \($n\): step 'b' \(floor_divide, fails.yaml:4\): .*ZeroDivisionError" fails.yaml
done
# A failure on one rank alone (only rank 0's block of the divisor holds a zero): that rank
# prints it, naming itself, after a bounded wait for the others (which wait for it in the
# print's gather), and the job ends; nobody hangs.
cat > fails-on-0.yaml <<'Y'
version: 1
steps:
  - {id: a, op: arange, stop: 8, split: 0}
  - {id: b, op: floor_divide, inputs: [a, a]}
  - {op: print, input: b}
Y
for n in 2 3; do
  check "one-rank-failure-np$n" 1 "^dnd run: error on rank 0: step 'b' \(floor_divide, fails-on-0.yaml:4\)" -- \
    env DND_FAILURE_WAIT=1 timeout 120 mpirun -n $n --oversubscribe "$DND" run fails-on-0.yaml
  check "one-rank-failure-once-np$n" 1 "^1$" -- bash -c \
    "DND_FAILURE_WAIT=1 timeout 120 mpirun -n $n --oversubscribe '$DND' run fails-on-0.yaml 2>&1 | grep -c 'dnd run: error'; exit \${PIPESTATUS[0]}"
done

exit $fail
