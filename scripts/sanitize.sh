#!/usr/bin/env bash
# The sanitizer check of CI (run by scripts/test.sh after the test suite): builds the front
# end (document, ${...} expressions, planner, ops' rules, command line), its unit tests and
# the fuzzer with AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/ (or
# $DND_ASAN_BUILD), then runs under them: the unit tests of the document/planner and of
# `dnd jobs`, `dnd validate` and `dnd plan` on every example, broken and hostile pipeline,
# `dnd inspect` on a few files, and the fuzzer for DND_ASAN_FUZZ_SECONDS (default 20).
# Any sanitizer report fails it (exit codes 99), as does any unexpected exit code.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/env.sh"
B="${DND_ASAN_BUILD:-$DND_ROOT/build-asan}"
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$(dirname "$DND_ROOT")}"
fi
t0=$SECONDS
if [ ! -f "$B/build.ninja" ]; then
  cmake -S "$DND_ROOT" -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDND_SANITIZE=ON \
    "${launcher[@]}" >/dev/null || exit 1
fi
cmake --build "$B" -j "$(nproc)" --target dnd test_document test_jobs dnd-fuzz-frontend || exit 1
echo "sanitize: build took $((SECONDS - t0)) s"

export ASAN_OPTIONS="detect_leaks=0:exitcode=99:abort_on_error=0:alloc_dealloc_mismatch=0"
export UBSAN_OPTIONS="print_stacktrace=1:exitcode=99"
fail=0
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# run NAME ALLOWED_RCS command...: a sanitizer report (exit 99 or its text) or another
# exit code than allowed fails.
run() {
  local name="$1" allowed="$2"; shift 2
  local rc
  "$@" >"$WORK/out" 2>&1; rc=$?
  if [ $rc -eq 99 ] || grep -qE 'ERROR: AddressSanitizer|runtime error:|UndefinedBehaviorSanitizer' "$WORK/out" ||
     ! [[ " $allowed " == *" $rc "* ]]; then
    echo "FAIL sanitize-$name: exit $rc (allowed: $allowed)"; sed 's/^/    /' "$WORK/out" | tail -40; fail=1
    return
  fi
}
t1=$SECONDS
run test_document 0 "$B/tests/pipeline/test_document"
run test_jobs 0 "$B/tests/cli/test_jobs"
cd "$WORK"
cp -r "$DND_ROOT/pipelines" "$DND_ROOT/tests/cli/broken" "$DND_ROOT/tests/cli/hostile" .
for f in pipelines/*.yaml; do
  run "validate-$(basename "$f")" "0 2" "$B/dnd" validate "$f"  # 2: a data file of make-data.yaml not made here
  run "plan-$(basename "$f")" "0 2" "$B/dnd" plan "$f" -n 3
done
for f in broken/*.yaml hostile/*.yaml; do
  run "validate-$f" 2 "$B/dnd" validate "$f"
  run "plan-$f" 2 "$B/dnd" plan "$f" -n 2 --json
done
run ops 0 "$B/dnd" ops
run ops-schema 0 "$B/dnd" ops --schema
python3 -c "
import numpy as np, h5py
np.save('v.npy', np.arange(10, dtype=np.float32))
with h5py.File('o.h5', 'w') as f:
    f['a'] = np.ones((3, 2)); f.create_dataset('n', data=h5py.Empty('f'))
open('c.csv', 'w').write('1,2\n3,4\n')"
run inspect-npy 0 "$B/dnd" inspect v.npy -n 100000
run inspect-h5 0 "$B/dnd" inspect o.h5 --json
run inspect-csv 0 "$B/dnd" inspect c.csv -n 3 --split 1
run jobs 0 "$B/dnd" jobs sbatch pipelines/quickstart.yaml -N 1 --ntasks-per-node 2 --no-check
run fuzz 0 "$B/tests/fuzz/dnd-fuzz-frontend" --seconds "${DND_ASAN_FUZZ_SECONDS:-20}" --seed 2 --limit-ms 20000 \
  --out "$WORK/findings" pipelines broken hostile "$DND_ROOT/tests/fuzz/corpus"
tail -1 "$WORK/out"
echo "sanitize: checks took $((SECONDS - t1)) s"
[ $fail -eq 0 ] && echo "sanitize: ok (no sanitizer reports)"
exit $fail
