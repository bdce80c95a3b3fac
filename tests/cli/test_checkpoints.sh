#!/usr/bin/env bash
# Step checkpoints and `dnd run --resume` end to end:
#  - a run interrupted after its third step (a fault injected in the fourth) resumes at
#    1-4 ranks, each time at another rank count than it was written at: steps 1-2 are
#    skipped, step 3 is read from its checkpoint (from the timings), the results equal an
#    uninterrupted run bit for bit; `dnd plan --resume` says so before anything runs;
#  - without --resume nothing is read; a changed --set recomputes exactly the steps
#    downstream of it; a damaged checkpoint (data or header) is reported and recomputed;
#  - SIGUSR1 to mpirun (what the Slurm templates forward before the time limit) stops every
#    rank at the next step boundary with exit 75, no output written, and --resume completes;
#  - a rank killed with SIGKILL ends the job within 30 s with a message naming that rank and
#    the step; the checkpoints written before stay valid and --resume completes;
#  - kmeans' state every N iterations: a fit stopped at iteration 30 of 60 resumes and equals
#    the uninterrupted fit;
#  - `dnd checkpoints DIR` lists and removes stale checkpoints; bad options exit 2.
set -u
DND="$1"
PY="${2:-/usr/bin/python3}"  # with numpy and h5py
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"
cd "$WORK"
export DND_NUM_THREADS=1 OMP_NUM_THREADS=1

# The source of each step in a --timings file: "a=skipped b=checkpoint ...".
sources() {
  $PY -c "import json, sys; print(' '.join(s['id'] + '=' + s['source'] for s in json.load(open(sys.argv[1]))['steps']))" "$1"
}
# Whether the outputs equal the reference's, bit for bit.
same_outputs() {
  $PY -c "
import h5py, numpy as np, sys
ref = sys.argv[1]
a, b = np.load('out/e.npy'), np.load(ref + '_e.npy')
assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), 'e differs'
c, d = h5py.File('out/c.h5')['c'][()], h5py.File(ref + '_c.h5')['c'][()]
assert c.tobytes() == d.tobytes(), 'c differs'
print('same')" "$1"
}
ckdir=out/ck.checkpoints
count() { find "$1" -name '*.h5' 2>/dev/null | wc -l; }

cat > ck.yaml <<'Y'
version: 1
params: {scale: 2}
steps:
  - {id: a, op: random.normal, shape: [41, 6], seed: 7, split: 0, checkpoint: true}
  - {id: b, op: multiply, inputs: [a, "${scale}"], checkpoint: true}
  - {id: c, op: exp, input: b, checkpoint: true}
  - {id: d, op: reduce, input: c, fn: sum, axis: 1}
  - {id: e, op: add, inputs: [d, 1]}
  - {op: save, input: e, path: out/e.npy, overwrite: true}
  - {op: save, input: c, path: out/c.h5, dataset: c, overwrite: true}
Y
mkdir -p out
check plan-dir 0 "^checkpoints: $WORK/out/ck.checkpoints \(default; --checkpoint-dir DIR\) \(steps: a, b, c\)" -- "$DND" plan ck.yaml
check reference 0 'checkpoint written \([0-9.]+ [KMG]?i?B in [0-9.]+ s, checksum [0-9.]+ s, synced\): .*/ck.checkpoints/c\.[0-9a-f]{16}\.h5' -- \
  mpirun -n 1 "$DND" run ck.yaml
cp out/e.npy ref_e.npy && cp out/c.h5 ref_c.h5
check no-resume-reads-nothing 0 '' -- mpirun -n 2 "$DND" run ck.yaml --quiet --timings t.json
check no-resume-sources 0 '^a=run b=run c=run d=run e=run save#6=run save#7=run$' -- sources t.json

for n in 1 2 3 4; do
  m=$((n % 4 + 1))  # resumed at another rank count
  rm -rf "$ckdir" out/e.npy out/c.h5
  check "interrupted-np$n" 1 "step 'd' .*fault injected by DND_TEST_FAULT" -- \
    env DND_TEST_FAULT=internal-run:d mpirun -x DND_TEST_FAULT -n $n "$DND" run ck.yaml --quiet
  [ "$(count $ckdir)" = 3 ] && [ ! -e out/e.npy ] || { echo "FAIL interrupted-np$n: $(count $ckdir) checkpoints"; fail=1; }
  check "plan-resume-read-np$n" 0 '^  c +read from .*/ck.checkpoints/c\.[0-9a-f]{16}\.h5$' -- "$DND" plan ck.yaml --resume -n $m
  check "plan-resume-skip-np$n" 0 '^  b +skipped' -- "$DND" plan ck.yaml --resume
  [ $n = 1 ] && check plan-resume-json 0 '^c checkpoint True$' -- $PY -c "
import json, subprocess, sys
j = json.loads(subprocess.run([sys.argv[1], 'plan', 'ck.yaml', '--resume', '--json'], capture_output=True, check=True).stdout)
s = j['checkpoints']['steps'][2]
print(s['id'], s['source'], s['write'] and s['file'].endswith('.h5') and len(j['steps']) == 7)" "$DND"
  check "resume-np$n-at-np$m" 0 '\[3/7\] c: exp: from checkpoint .*/c\.[0-9a-f]{16}\.h5' -- \
    mpirun -n $m "$DND" run ck.yaml --resume --timings t.json
  check "resume-sources-np$n-at-np$m" 0 '^a=skipped b=skipped c=checkpoint d=run e=run save#6=run save#7=run$' -- sources t.json
  check "resume-equal-np$n-at-np$m" 0 '^same$' -- same_outputs ref
done

# ---- a changed --set recomputes exactly the steps downstream of it --------------------------
mpirun -n 1 "$DND" run ck.yaml --quiet --set scale=3 --checkpoint-dir other.ck && cp out/e.npy ref3_e.npy && cp out/c.h5 ref3_c.h5
check set-plan 0 '^  b +run$' -- "$DND" plan ck.yaml --resume --set scale=3
check set-resume 0 '' -- mpirun -n 2 "$DND" run ck.yaml --quiet --resume --set scale=3 --timings t.json
check set-sources 0 '^a=checkpoint b=run c=run d=run e=run save#6=run save#7=run$' -- sources t.json
check set-equal 0 '^same$' -- same_outputs ref3
check list 0 '^c +[0-9a-f]{16} +\(41, 6\) float32 split=0 +[0-9.]+ [KM]?i?B +[0-9]+ s +c\.[0-9a-f]{16}\.h5$' -- "$DND" checkpoints $ckdir
check list-json 0 '"step": "b"' -- "$DND" checkpoints $ckdir --json
check remove-stale 0 'removed 2 stale checkpoints' -- "$DND" checkpoints $ckdir --pipeline ck.yaml --remove-stale
[ "$(count $ckdir)" = 3 ] || { echo "FAIL remove-stale: $(count $ckdir) left"; fail=1; }

# ---- damaged checkpoints are reported, ignored and recomputed --------------------------------
cfile="$(ls $ckdir/c.*.h5)"
$PY -c "
import h5py, sys
f = h5py.File(sys.argv[1], 'r'); off = f['result'].id.get_offset(); f.close()
with open(sys.argv[1], 'r+b') as g:
    g.seek(off + 100); b = g.read(1); g.seek(off + 100); g.write(bytes([b[0] ^ 0x40]))
" "$cfile"
check damaged-data 0 "checkpoint of step 'c' is damaged, ignored and recomputed: .*checksum" -- \
  mpirun -n 3 "$DND" run ck.yaml --resume --timings t.json
check damaged-data-sources 0 '^a=skipped b=checkpoint c=run d=run e=run save#6=run save#7=run$' -- sources t.json
check damaged-data-equal 0 '^same$' -- same_outputs ref
check damaged-rewritten 0 '^a=skipped b=skipped c=checkpoint' -- \
  bash -c "mpirun -n 2 '$DND' run ck.yaml --quiet --resume --timings t.json && $(declare -f sources); PY=$PY sources t.json"
head -c 200 "$cfile" > cut.h5 && mv cut.h5 "$cfile"
check damaged-header-plan 0 '^  c +run \(its checkpoint .* cannot be read' -- "$DND" plan ck.yaml --resume
check damaged-header 0 "checkpoint of step 'c' .*cannot be read" -- mpirun -n 2 "$DND" run ck.yaml --resume --timings t.json
check damaged-header-sources 0 '^a=skipped b=checkpoint c=run' -- sources t.json
check damaged-header-equal 0 '^same$' -- same_outputs ref

# ---- SIGUSR1 (Slurm's warning before the time limit) stops every rank at a step boundary -----
for n in 3; do
  rm -rf "$ckdir" out/e.npy out/c.h5
  check "signal-np$n" 75 "stopped on request \(SIGUSR1\) before step 'd': 3 of 7 steps done; no output was changed" -- \
    env DND_TEST_FAULT=signal-launcher-before:d mpirun -x DND_TEST_FAULT -n $n "$DND" run ck.yaml
  [ ! -e out/e.npy ] && [ "$(count $ckdir)" = 3 ] && [ "$(find out -name '.*dnd-tmp*' | wc -l)" = 0 ] ||
    { echo "FAIL signal-np$n: outputs or temporaries"; ls -laR out; fail=1; }
  check "signal-resume-np$n" 0 '' -- mpirun -n $n "$DND" run ck.yaml --quiet --resume --timings t.json
  check "signal-resume-sources-np$n" 0 '^a=skipped b=skipped c=checkpoint d=run' -- sources t.json
  check "signal-resume-equal-np$n" 0 '^same$' -- same_outputs ref
done

# ---- a rank that dies (SIGKILL) ends the others within 30 s, naming it and the step ---------
for n in 2 3; do
  rm -rf "$ckdir" out/e.npy out/c.h5
  t0=$SECONDS
  out="$(env DND_TEST_FAULT=die-before:d timeout 60 mpirun -x DND_TEST_FAULT -n $n "$DND" run ck.yaml 2>&1)"
  rc=$? took=$((SECONDS - t0)) dead=$((n - 1))
  if [ "$rc" = 0 ] || [ "$rc" = 124 ] || [ "$took" -gt 30 ]; then
    echo "FAIL rank-dies-np$n: exit $rc after $took s"; echo "$out" | sed 's/^/    /'; fail=1
  elif ! grep -qE "rank $dead \(pid [0-9]+ on [^)]+\) died during step 'd' \(\[4/7\], reduce\)" <<<"$out"; then
    echo "FAIL rank-dies-np$n: no message naming rank $dead and step d"; echo "$out" | sed 's/^/    /'; fail=1
  elif [ -e out/e.npy ] || [ "$(count $ckdir)" != 3 ]; then
    echo "FAIL rank-dies-np$n: outputs or checkpoints"; ls -laR out; fail=1
  else echo "ok   rank-dies-np$n (exit $rc after $took s)"; fi
  check "rank-dies-resume-np$n" 0 '' -- mpirun -n $n "$DND" run ck.yaml --quiet --resume --timings t.json
  check "rank-dies-resume-sources-np$n" 0 '^a=skipped b=skipped c=checkpoint d=run' -- sources t.json
  check "rank-dies-resume-equal-np$n" 0 '^same$' -- same_outputs ref
done

# ---- kmeans' state every N iterations: stopped at iteration 30 of 60, resumed, equal -------
cat > km.yaml <<'Y'
version: 1
steps:
  - {id: x, op: random.uniform, shape: [4000, 2], seed: 3, split: 0}
  - {id: km, op: kmeans, input: x, k: 60, init: random, seed: 1, max_iter: 60, tol: 0, checkpoint_every: 10}
  - {op: save, input: km.centroids, path: out/km.h5, dataset: centroids, overwrite: true}
  - {op: save, input: km.labels, path: out/km.h5, dataset: labels, overwrite: true}
  - {op: print, input: km.n_iter}
Y
for n in 2; do
  rm -rf out/km.checkpoints out/km.h5
  # More than 30 iterations (tol 0: until the assignment no longer changes, at most 60).
  check "kmeans-reference-np$n" 0 '^DNDarray\(([3-5][0-9]|60),' -- mpirun -n $n "$DND" run km.yaml --quiet
  cp out/km.h5 "km_ref$n.h5"
  rm -rf out/km.checkpoints out/km.h5
  check "kmeans-stopped-np$n" 75 "stopped on request \(SIGUSR1\) in step 'km' after iteration 30 of at most 60 \(its state is kept\)" -- \
    env DND_TEST_FAULT=stop-before:km@30 mpirun -x DND_TEST_FAULT -n $n "$DND" run km.yaml
  [ ! -e out/km.h5 ] && ls out/km.checkpoints/km.*.state.h5 >/dev/null 2>&1 || { echo "FAIL kmeans-stopped-np$n: no state"; fail=1; }
  check "kmeans-resumed-np$n" 0 'continues from its state after iteration 30 \(run 1\)' -- mpirun -n $n "$DND" run km.yaml --resume
  check "kmeans-equal-np$n" 0 '^same$' -- $PY -c "
import h5py, sys
a, b = h5py.File('out/km.h5'), h5py.File('km_ref$n.h5')
for d in ('centroids', 'labels'):
    assert a[d][()].tobytes() == b[d][()].tobytes(), d
print('same')"
done
check kmeans-state-listed 0 '^km +[0-9a-f]{16} +\(60, 2\) float32 .*km\.[0-9a-f]{16}\.state\.h5' -- "$DND" checkpoints out/km.checkpoints

# ---- bad input --------------------------------------------------------------------------
check bad-checkpoint-id 2 "--checkpoint: error: the pipeline has no step 'x'|the pipeline has no step 'x'" -- "$DND" run ck.yaml --checkpoint x
check bad-checkpoint-id-np2 2 "--checkpoint dd: error: the pipeline has no step 'dd', did you mean 'd'\\?" -- mpirun -n 2 "$DND" run ck.yaml --checkpoint dd
check bad-checkpoint-save 2 "has no results to checkpoint" -- "$DND" run ck.yaml --checkpoint save#6
sed 's/seed: 7, split: 0, checkpoint: true/seed: 7, split: 0, checkpoint: maybe/' ck.yaml > bad.yaml
check bad-checkpoint-value 2 "bad.yaml:4:[0-9]+: error: 'checkpoint' must be true or false" -- "$DND" validate bad.yaml
check bad-checkpoints-dir 2 'nowhere: no such directory' -- "$DND" checkpoints nowhere

exit $fail
