#!/usr/bin/env bash
# Hostile input never crashes, hangs or lies (issue 16's reproductions, each a check):
#  - every file in tests/cli/hostile/ fails `dnd validate` with exit 2, within a time limit,
#    with the message its first line expects (overflowing expressions, nesting, a billion
#    laughs, doubling strings, overflowing shapes, too many axes, NUL bytes, a second
#    document, out-of-range parameters); `plan` and `jobs sbatch` on them end quickly;
#  - special files (FIFOs, devices, directories) as load paths, as inspect's file and as
#    the pipeline file are refused with a message, never waited on;
#  - inspect lists an odd HDF5 dataset as unsupported and goes on, and summarises maps of
#    many ranks; an unreadable file is reported as such; a CSV with a byte order mark loads;
#  - plan-time checks: clip's promoted dtype, too many axes in a .npy, an integer array to
#    a negative power, an unwritable --timings path;
#  - run-time checks: qr of NaN, no C++ backtrace in any message.
set -u
DND="$1"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"
cd "$WORK"
T=30  # seconds any one command may take: longer is a hang

for f in "$ROOT"/tests/cli/hostile/*.yaml; do
  name="$(basename "$f" .yaml)"
  want="$(head -1 "$f" | sed 's/^# expect: //')"
  cp "$f" "$name.yaml"
  check "hostile-validate-$name" 2 "^$want" -- timeout $T "$DND" validate "$name.yaml"
done
check hostile-plan-laughs 2 'more than 100000 YAML values' -- timeout $T "$DND" plan billion_laughs.yaml -n 4
check hostile-plan-doubling 2 'more than 1048576 characters' -- timeout $T "$DND" plan string_doubling.yaml
# No script for a pipeline that does not plan; the plan never stalls it.
check hostile-sbatch-laughs 2 'more than 100000 YAML values' -- \
  timeout $T "$DND" jobs sbatch billion_laughs.yaml -N 1 --ntasks-per-node 2
# A long source line is shown as the part around the caret, not whole.
check hostile-long-line-clipped 0 'ok' -- bash -c "'$DND' validate long_line.yaml 2>&1 | awk 'length > 200 { bad = 1 } END { if (!bad) print \"ok\" }'"
check hostile-long-line-caret 0 'ok' -- bash -c "'$DND' validate long_line.yaml 2>&1 | /usr/bin/python3 -c \"
import sys; l = sys.stdin.read().split('\n'); src, caret = l[1], l[2]
assert src[caret.index('^')] == 'z', (src, caret); print('ok')\""

# ---- special files ------------------------------------------------------------------------
mkfifo fifo.csv fifo.npy fifo.h5 fifo.yaml
mkdir dir.yaml
for ext in csv npy h5; do
  printf 'version: 1\nsteps:\n  - {id: a, op: load, path: fifo.%s}\n  - {op: print, input: a}\n' $ext > load-fifo-$ext.yaml
  check "special-load-fifo-$ext" 2 "cannot open 'fifo.$ext': it is a FIFO \(named pipe\), not a regular file" -- \
    timeout $T "$DND" validate load-fifo-$ext.yaml
  check "special-inspect-fifo-$ext" 2 "cannot open 'fifo.$ext': it is a FIFO" -- timeout $T "$DND" inspect fifo.$ext
done
check special-run-fifo 2 "it is a FIFO" -- timeout $T mpirun -n 2 "$DND" run load-fifo-npy.yaml
printf 'version: 1\nsteps:\n  - {id: a, op: load, path: /dev/urandom, format: csv}\n  - {op: print, input: a}\n' > urandom.yaml
check special-load-urandom 2 "cannot open '/dev/urandom': it is a character device, not a regular file" -- \
  timeout $T "$DND" validate urandom.yaml
printf 'version: 1\nsteps:\n  - {id: a, op: load, path: /dev/zero, format: npy}\n  - {op: print, input: a}\n' > zero.yaml
check special-load-zero 2 "it is a character device" -- timeout $T "$DND" validate zero.yaml
check special-pipeline-fifo 2 "fifo.yaml: error: cannot read the pipeline file: it is a FIFO \(named pipe\), not a regular file" -- \
  timeout $T "$DND" validate fifo.yaml
check special-pipeline-zero 2 "/dev/zero: error: cannot read the pipeline file: it is a character device" -- \
  timeout $T "$DND" validate /dev/zero
check special-pipeline-dir 2 "dir.yaml: error: cannot read the pipeline file: it is a directory" -- \
  timeout $T "$DND" validate dir.yaml
check special-run-pipeline-zero 2 "it is a character device" -- timeout $T mpirun -n 2 "$DND" run /dev/zero

# ---- files: unreadable, odd datasets, long maps, a byte order mark, too many axes -------
PY3=/usr/bin/python3; [ -x $PY3 ] || PY3=python3  # Debian's python3 has h5py and numpy
$PY3 - <<'PY'
import h5py, numpy as np
with h5py.File("odd.h5", "w") as f:
    f["a_good"] = np.arange(6, dtype=np.float32).reshape(2, 3)
    f.create_dataset("b_null", data=h5py.Empty("f"))
    f["c_after"] = np.ones(4, dtype=np.int64)
with h5py.File("secret.h5", "w") as f:
    f["x"] = np.ones(3)
# numpy itself stops at 32 axes: the header by hand, 40 axes of extent 1
hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % ", ".join(["1"] * 40)
hdr += " " * ((64 - (10 + len(hdr) + 1) % 64) % 64) + "\n"
open("many_axes.npy", "wb").write(b"\x93NUMPY\x01\x00" + len(hdr).to_bytes(2, "little") + hdr.encode() + b"\0\0\0\0")
np.save("vec.npy", np.arange(1000, dtype=np.float32))
open("bom.csv", "wb").write(b"\xef\xbb\xbf1.5,2\n3,4\n")
PY
check inspect-odd-dataset 0 'b_null .*null dataspace' -- "$DND" inspect odd.h5
check inspect-odd-goes-on 0 'c_after +\(4,\) +int64' -- "$DND" inspect odd.h5
check inspect-odd-json 0 '"path":"/b_null","kind":"dataset".*"supported":false' -- "$DND" inspect odd.h5 --json
check inspect-many-ranks 0 'ok' -- bash -c "out=\$('$DND' inspect vec.npy -n 100000000); lines=\$(echo \"\$out\" | wc -l)
  echo \"\$out\" | grep -q '99999984 ranks not shown' && echo \"\$out\" | grep -q '^  99999999 ' && [ \$lines -lt 40 ] && echo ok"
check inspect-many-ranks-json 0 '"nranks":100000000' -- "$DND" inspect vec.npy -n 100000000 --json
chmod 000 secret.h5
if [ "$(id -u)" = 0 ]; then as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups); else as_user=(); fi
printf 'version: 1\nsteps:\n  - {id: a, op: load, path: secret.h5}\n  - {op: print, input: a}\n' > secret.yaml
chmod 755 "$WORK"; chmod 644 secret.yaml
check unreadable-h5 2 "cannot open 'secret.h5': Permission denied" -- "${as_user[@]}" "$DND" validate secret.yaml
printf 'version: 1\nsteps:\n  - {id: a, op: load, path: many_axes.npy, split: 0}\n  - {op: print, input: a}\n' > axes.yaml
check npy-many-axes 2 "many_axes.npy: the array has 40 axes; dnd arrays have at most 32" -- "$DND" validate axes.yaml
check inspect-many-axes 2 'many_axes.npy: the array has 40 axes; dnd arrays have at most 32' -- "$DND" inspect many_axes.npy
printf 'version: 1\nsteps:\n  - {id: a, op: load, path: bom.csv}\n  - {op: print, input: a}\n' > bom.yaml
check csv-bom 0 '1\.5000, 2\.0000' -- mpirun -n 2 "$DND" run bom.yaml --quiet

# ---- checked at plan time --------------------------------------------------------------
cat > clip.yaml <<'Y'
version: 1
steps:
  - {id: a, op: arange, stop: 7, split: 0}
  - {id: c, op: clip, input: a, max: 2.5}
  - {op: print, input: c}
Y
check clip-plan 0 'c +clip +\(7,\) float32 split=0' -- "$DND" plan clip.yaml
check clip-run 0 '2\.5000' -- mpirun -n 2 "$DND" run clip.yaml --quiet
cat > negpow.yaml <<'Y'
version: 1
steps:
  - {id: a, op: arange, stop: 7, dtype: int32, split: 0}
  - {id: p, op: power, inputs: [a, -1]}
  - {op: print, input: p}
Y
check power-negative-plan 2 "negpow.yaml:4:17: error: step 'p' \(power\): power: integers to negative integer powers are not allowed" -- \
  "$DND" validate negpow.yaml
cat > negpow-array.yaml <<'Y'
version: 1
steps:
  - {id: a, op: arange, stop: 7, split: 0}
  - {id: e, op: arange, start: -3, stop: 4, split: 0}
  - {id: p, op: power, inputs: [a, e]}
  - {op: print, input: p}
Y
check power-negative-run 1 "power: integers to negative integer powers are not allowed" -- mpirun -n 2 "$DND" run negpow-array.yaml
check timings-unwritable 2 "^--timings /nonexistent/t.json: error: the directory '/nonexistent' does not exist" -- \
  mpirun -n 2 "$DND" run clip.yaml --timings /nonexistent/t.json
check timings-unwritable-nothing-ran 0 'ok' -- bash -c "mpirun -n 2 '$DND' run clip.yaml --timings /nonexistent/t.json 2>&1 | grep -q 'done in' || echo ok"

# ---- checked at run time ---------------------------------------------------------------
cat > qr-nan.yaml <<'Y'
version: 1
steps:
  - {id: x, op: random.normal, shape: [64, 4], split: 0}
  - {id: y, op: log, input: x}
  - {id: f, op: qr, input: y}
  - {op: print, input: f.R}
Y
for n in 1 2; do
  check "qr-nan-np$n" 1 "qr: the matrix holds NaN or infinity" -- mpirun -n $n "$DND" run qr-nan.yaml --quiet
done
cat > intdiv.yaml <<'Y'
version: 1
steps:
  - {id: a, op: arange, stop: 8, split: 0}
  - {id: z, op: zeros, shape: [8], dtype: int64, split: 0}
  - {id: b, op: floor_divide, inputs: [a, z]}
  - {op: print, input: b}
Y
check no-backtrace 0 'ok' -- bash -c "out=\$(mpirun -n 2 '$DND' run intdiv.yaml 2>&1); echo \"\$out\" | grep -q 'step .b.' && ! echo \"\$out\" | grep -qE 'frame #|Exception raised from' && echo ok"

exit $fail
