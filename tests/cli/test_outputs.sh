#!/usr/bin/env bash
# Outputs that never lose data, end to end through `dnd run` at 1-4 ranks:
#  - two saves into one HDF5 file (both datasets, values exact), attributes in `dnd inspect`;
#  - mode append to an h5py-written file (its datasets bit for bit unchanged, read by h5py),
#    overwrite of one dataset;
#  - save then load in one run with a stale file of that name present;
#  - a symlinked output (the link stays, its target is replaced); /dev/null and a FIFO refused;
#  - faults injected before and in the middle of a multi-file commit, and a failing later
#    step: no output changed, no temporary left;
#  - SIGKILL of one rank during a save (every rank gone within 30 s, exit non-zero, no output
#    changed), SIGTERM during a run (temporaries removed), leftovers of a killed rank 0
#    removed by the next run, which says so;
#  - syncing checked with strace: fsync of the data before the rename, of the directory after;
#    none with --no-sync or defaults: {sync: false}.
set -u
DND="$1"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"
cd "$WORK"
PY="${2:-/usr/bin/python3}"  # with numpy and h5py

sums() { sha256sum "$@" 2>/dev/null | sort; }
temporaries() { find "${1:-.}" -name '.*.dnd-tmp.*' | wc -l; }

# ---- two saves into one file, at 1-4 ranks ------------------------------------------------
cat > two.yaml <<'Y'
version: 1
steps:
  - {id: c, op: random.normal, shape: [37, 5], seed: 3, split: 0}
  - {id: l, op: arange, stop: 37, dtype: int64, split: 0}
  - {op: save, input: c, path: out/model.h5, dataset: centroids, overwrite: true, attrs: {units: m/s, scale: 2.5, dims: [37, 5]}}
  - {op: save, input: l, path: out/model.h5, dataset: fit/labels, overwrite: true}
Y
for n in 1 2 3 4; do
  check "two-datasets-np$n" 0 'outputs committed and synced' -- mpirun --oversubscribe -n $n "$DND" run two.yaml
  cp out/model.h5 "model_np$n.h5"
done
check two-datasets-values 0 '^ok$' -- $PY -c "
import h5py, numpy as np
ref = h5py.File('model_np1.h5', 'r')
assert sorted(ref.keys()) == ['centroids', 'fit'], list(ref.keys())
assert (ref['fit/labels'][()] == np.arange(37)).all()
assert ref['centroids'].shape == (37, 5) and ref['centroids'].dtype == np.float32
for n in (2, 3, 4):
    f = h5py.File('model_np%d.h5' % n, 'r')
    assert f['centroids'][()].tobytes() == ref['centroids'][()].tobytes(), n
    assert (f['fit/labels'][()] == np.arange(37)).all(), n
a = ref['centroids'].attrs
assert a['units'] == 'm/s' and a['scale'] == 2.5 and list(a['dims']) == [37, 5], dict(a)
print('ok')"
check inspect-attrs 0 '@units = "m/s"' -- "$DND" inspect out/model.h5
check inspect-attrs-json 0 '"attrs":\{"dims":"\[37, 5\]","dnd_split":"0","scale":"2.5","units":"\\"m/s\\""\}' -- "$DND" inspect out/model.h5 --json

# ---- append to an h5py-written file, overwrite of one dataset ------------------------------
for n in 1 2 3 4; do
  $PY -c "
import h5py, numpy as np
with h5py.File('app.h5', 'w') as f:
    f['keep'] = np.arange(1000, dtype='<f8').reshape(100, 10) * 0.5
    f.create_dataset('grp/chunked', data=np.arange(64, dtype='i4').reshape(8, 8), chunks=(2, 2), compression='gzip')
    f['grp/replace'] = np.zeros(3)
    f.attrs['origin'] = 'h5py'
"
  cat > append.yaml <<'Y'
version: 1
steps:
  - {id: x, op: arange, stop: 12, dtype: float32, split: 0}
  - {op: save, input: x, path: app.h5, dataset: new/x, mode: append}
  - {op: save, input: x, path: app.h5, dataset: grp/replace, mode: append, overwrite: true}
Y
  check "append-np$n" 0 'outputs committed' -- mpirun --oversubscribe -n $n "$DND" run append.yaml
  check "append-unchanged-np$n" 0 '^ok$' -- $PY -c "
import h5py, numpy as np
f = h5py.File('app.h5', 'r')
assert f['keep'][()].tobytes() == (np.arange(1000, dtype='<f8').reshape(100, 10) * 0.5).tobytes()
assert f['grp/chunked'][()].tobytes() == np.arange(64, dtype='i4').reshape(8, 8).tobytes()
assert f['grp/chunked'].compression == 'gzip' and f['grp/chunked'].chunks == (2, 2)
assert (f['new/x'][()] == np.arange(12, dtype='f4')).all()
assert (f['grp/replace'][()] == np.arange(12, dtype='f4')).all()
assert f.attrs['origin'] == 'h5py'
print('ok')"
done
# Without overwrite, an existing dataset is refused before anything runs.
cat > append_again.yaml <<'Y'
version: 1
steps:
  - {id: x, op: arange, stop: 12, dtype: float32, split: 0}
  - {op: save, input: x, path: app.h5, dataset: keep, mode: append}
Y
before="$(sums app.h5)"
check append-existing-dataset 2 "append_again.yaml:4:40: error: save: .*/app.h5 already holds a dataset /keep; add 'overwrite: true'" -- \
  mpirun -n 2 "$DND" run append_again.yaml
[ "$(sums app.h5)" = "$before" ] || { echo "FAIL append-existing-dataset: app.h5 changed"; fail=1; }

# ---- save, then load, in one run; a stale file of that name exists --------------------------
$PY -c "
import h5py, numpy as np
with h5py.File('stale.h5', 'w') as f: f['x'] = np.ones((5, 3))
"
cat > roundtrip.yaml <<'Y'
version: 1
steps:
  - {id: a, op: arange, stop: 12, dtype: float64, split: 0}
  - {id: m, op: reshape, input: a, shape: [4, 3]}
  - {op: save, input: m, path: stale.h5, dataset: x, overwrite: true}
  - {id: back, op: load, path: stale.h5, dataset: x, split: 1}
  - {id: total, op: reduce, input: back, fn: sum, axis: 0}
  - {op: print, input: total}
Y
check roundtrip-plan 0 'back +load +\(4, 3\) float64 split=1' -- "$DND" plan roundtrip.yaml
for n in 1 2 3 4; do
  check "roundtrip-np$n" 0 '\[18\., 22\., 26\.\]' -- mpirun --oversubscribe -n $n "$DND" run roundtrip.yaml --quiet
done

# ---- symlinks written through; special files refused ---------------------------------------
mkdir -p real
echo old > real/target.npy
ln -s real/target.npy link.npy
cat > link.yaml <<'Y'
version: 1
steps:
  - {id: a, op: arange, stop: 5, dtype: int64, split: 0}
  - {op: save, input: a, path: link.npy, overwrite: true}
Y
check symlink-run 0 'committed' -- mpirun -n 2 "$DND" run link.yaml
check symlink-kept 0 '^ok$' -- $PY -c "
import os, numpy as np
assert os.path.islink('link.npy') and os.readlink('link.npy') == 'real/target.npy'
assert (np.load('real/target.npy') == np.arange(5)).all()
print('ok')"
mkfifo fifo.npy
for target in /dev/null fifo.npy; do
  sed "s|path: link.npy|path: $target, format: npy|" link.yaml > special.yaml
  kind="$( [ "$target" = /dev/null ] && echo 'character device' || echo FIFO )"
  check "special-validate-$target" 2 "special.yaml:4:26: error: save: .*is a $kind, not a regular file; dnd never replaces it" -- \
    "$DND" validate special.yaml
  check "special-run-$target" 2 "is a $kind, not a regular file" -- timeout 60 mpirun -n 2 "$DND" run special.yaml
done
[ -c /dev/null ] && [ -p fifo.npy ] || { echo "FAIL special: /dev/null or the FIFO was replaced"; fail=1; }

# ---- all or nothing: injected faults, a failing later step ----------------------------------
mkdir -p keep
cat > multi.yaml <<'Y'
version: 1
steps:
  - {id: a, op: arange, stop: 10, dtype: int64, split: 0}
  - {op: save, input: a, path: keep/old.h5, dataset: d, overwrite: true}
  - {op: save, input: a, path: keep/new.npy}
  - {op: save, input: a, path: keep/new.csv}
  - {id: z, op: floor_divide, inputs: [a, "${zero}"]}
  - {op: print, input: z}
params: {zero: 1}
Y
"$DND" run multi.yaml --quiet >/dev/null && rm keep/new.npy keep/new.csv
before="$(sums keep/*)"
for fault in commit-start commit-mid; do
  check "fault-$fault" 1 "committing the outputs: .*injected fault \(DND_TEST_FAULT=$fault\).*no output was changed" -- \
    env DND_TEST_FAULT=$fault mpirun -x DND_TEST_FAULT -n 2 "$DND" run multi.yaml --quiet
  [ "$(sums keep/*)" = "$before" ] && [ ! -e keep/new.npy ] && [ "$(temporaries keep)" = 0 ] ||
    { echo "FAIL fault-$fault: outputs changed"; ls -la keep; fail=1; }
done
check later-step-fails 1 "step 'z' \(floor_divide, multi.yaml:7\)" -- mpirun -n 2 "$DND" run multi.yaml --set zero=0
[ "$(sums keep/*)" = "$before" ] && [ ! -e keep/new.npy ] && [ "$(temporaries keep)" = 0 ] ||
  { echo "FAIL later-step-fails: outputs changed"; ls -la keep; fail=1; }

# ---- killed and terminated runs -------------------------------------------------------------
cat > big.yaml <<'Y'
version: 1
steps:
  - {id: a, op: random.uniform, shape: [4096, 1024], seed: 1, split: 0}
  - {op: save, input: a, path: kill/big.h5, overwrite: true}
  - {op: save, input: a, path: kill/big.npy, overwrite: true}
Y
mkdir -p kill
"$DND" run big.yaml --quiet
before="$(sums kill/big.h5 kill/big.npy)"
start=$SECONDS
env DND_TEST_FAULT=kill-in-save:1 timeout 60 mpirun -x DND_TEST_FAULT -n 2 "$DND" run big.yaml --quiet >/dev/null 2>&1
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || { echo "FAIL kill-rank1: exit $rc"; fail=1; }
[ $((SECONDS - start)) -le 30 ] || { echo "FAIL kill-rank1: took $((SECONDS - start)) s"; fail=1; }
[ "$(sums kill/big.h5 kill/big.npy)" = "$before" ] && echo "ok   kill-rank1 (exit $rc)" ||
  { echo "FAIL kill-rank1: an output changed"; fail=1; }
# Every rank killed (a node lost): nobody removes the temporary; the next run writing there
# does, and says so.
env DND_TEST_FAULT=kill-in-save:0,kill-in-save:1 timeout 60 mpirun -x DND_TEST_FAULT -n 2 "$DND" run big.yaml --quiet >/dev/null 2>&1
[ "$(sums kill/big.h5 kill/big.npy)" = "$before" ] || { echo "FAIL kill-rank0: an output changed"; fail=1; }
left="$(temporaries kill)"
[ "$left" -ge 1 ] || { echo "FAIL kill-rank0: expected its temporary to be left, found $left"; fail=1; }
check stale-removed 0 'removed [0-9]+ temporar(y|ies) of killed runs from .*/kill \([0-9.]+ MB\): \.big\.h5\.dnd-tmp\.' -- \
  mpirun -n 2 "$DND" run big.yaml
[ "$(temporaries kill)" = 0 ] || { echo "FAIL stale-removed: temporaries left"; ls -la kill; fail=1; }
# SIGTERM (scancel, a time limit) while the run holds temporaries: every rank removes them.
before="$(sums kill/big.h5 kill/big.npy)"
DND_TEST_FAULT=pause-after-save mpirun -x DND_TEST_FAULT -n 2 "$DND" run big.yaml --quiet >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do [ "$(temporaries kill)" -ge 1 ] && break; sleep 0.2; done
[ "$(temporaries kill)" -ge 1 ] || { echo "FAIL sigterm: no temporary appeared"; fail=1; }
kill -TERM $pid
for _ in $(seq 150); do kill -0 $pid 2>/dev/null || break; sleep 0.2; done
if kill -0 $pid 2>/dev/null; then echo "FAIL sigterm: the run did not end"; kill -KILL $pid; fail=1; fi
wait $pid 2>/dev/null
if [ "$(temporaries kill)" = 0 ] && [ "$(sums kill/big.h5 kill/big.npy)" = "$before" ]; then
  echo "ok   sigterm"
else
  echo "FAIL sigterm: temporaries left or outputs changed"; ls -la kill; fail=1
fi

# ---- durability: strace sees fsync(data) < rename/link < fsync(directory) --------------------
cat > one.yaml <<'Y'
version: 1
steps:
  - {id: a, op: arange, stop: 5, split: 0}
  - {op: save, input: a, path: synced/one.npy, overwrite: true}
Y
synced_order() {
  strace -f -y -e trace=fsync,fdatasync,rename,renameat,renameat2,link,linkat -o trace.txt "$@" >/dev/null 2>&1
  $PY - <<'PY'
import re
lines = [l for l in open('trace.txt') if re.search(r'(fsync|fdatasync|rename|link)', l) and 'synced' in l]
kinds = []
for l in lines:
    if re.search(r'f(data)?sync\(\d+<[^>]*\.dnd-tmp\.', l): kinds.append('data')
    elif re.search(r'(rename|link)', l) and 'one.npy' in l: kinds.append('name')
    elif re.search(r'f(data)?sync\(\d+<[^>]*/synced>', l): kinds.append('dir')
print(' '.join(kinds) if kinds else 'none')
PY
}
check sync-order 0 '^data (data )*name (name )*dir$' -- synced_order "$DND" run one.yaml --quiet
check no-sync-flag 0 '^name( name)*$' -- synced_order "$DND" run one.yaml --quiet --no-sync
sed 's/^version: 1$/version: 1\ndefaults: {sync: false}/' one.yaml > nosync.yaml
check no-sync-default 0 '^name( name)*$' -- synced_order "$DND" run nosync.yaml --quiet

exit $fail
