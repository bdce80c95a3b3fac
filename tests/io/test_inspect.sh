#!/usr/bin/env bash
# End-to-end checks of `dnd inspect` on the I/O fixtures: listing, distribution map as
# table, JSON (checked against the balanced-block rule recomputed here) and SVG, errors
# and exit codes, and that it never initialises MPI.
#   test_inspect.sh DND FIXTURES_DIR PYTHON
set -euo pipefail
DND=$1 FX=$2 PY=$3
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# A broken MPI set-up makes MPI_Init fail: inspect must not care.
export OMPI_MCA_pml=no_such_component

out=$("$DND" inspect "$FX/types.h5")
# Without --dataset, every supported dataset is mapped; the 0-d one cannot be split.
for want in "/group/sub/deep" "(6, 2)" "int32" "gzip(4)" "shuffle+gzip(4)" "(3, 2)" "string (unsupported)" \
            "distribution of /group/sub/deep (6, 2) int32 over 4 ranks" "/scalar: not mapped"; do
  grep -qF -- "$want" <<<"$out" || fail "listing lacks '$want': $out"
done

out=$("$DND" inspect "$FX/types.h5" --dataset group/sub/deep -n 3 --split 0)
grep -qE '^ +0 +\[0, 2\) +\(2, 2\) +16 B +\|#' <<<"$out" || fail "rank 0 row: $out"
grep -qE '^ +2 +\[4, 6\) +\(2, 2\) +16 B +\|\.+\*+\|' <<<"$out" || fail "rank 2 row: $out"

# Default rank count: the launcher's, else 4.
[ "$("$DND" inspect "$FX/float32.npy" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["distribution"]["nranks"])')" = 4 ] \
  || fail "default -n is not 4"
[ "$(OMPI_COMM_WORLD_SIZE=6 "$DND" inspect "$FX/float32.npy" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["distribution"]["nranks"])')" = 6 ] \
  || fail "default -n does not follow the launcher"

for file in "types.h5 --dataset cube" "single.h5"; do
  for n in 1 5; do
    for split in 0 -1 none; do
      # shellcheck disable=SC2086
      "$DND" inspect $FX/$file -n $n --split $split --json --svg "$OUT/m.svg" > "$OUT/m.json"
      "$PY" - "$OUT/m.json" "$OUT/m.svg" "$n" "$split" <<'PY'
import json, sys
import xml.etree.ElementTree as ET
d = json.load(open(sys.argv[1]))["distribution"]
n, split = int(sys.argv[3]), sys.argv[4]
shape = d["shape"]
assert d["nranks"] == n and len(d["ranks"]) == n, d
if split == "none":
    assert d["split"] is None
    for r in d["ranks"]:
        assert r["lshape"] == shape, r
else:
    ax = int(split) % len(shape)
    assert d["split"] == ax, d
    ext, start = shape[ax], 0
    for q, r in enumerate(d["ranks"]):
        cnt = ext // n + (1 if q < ext % n else 0)
        want = list(shape); want[ax] = cnt
        assert (r["rank"], r["start"], r["stop"], r["lshape"]) == (q, start, start + cnt, want), (q, r)
        start += cnt
    assert start == ext
itemsize = {"float32": 4, "float64": 8}[d["dtype"]]
for r in d["ranks"]:
    size = itemsize
    for x in r["lshape"]:
        size *= x
    assert r["bytes"] == size, r
svg = ET.parse(sys.argv[2]).getroot()
rects = [e for e in svg.iter() if e.tag.endswith("rect") and e.get("fill") not in (None, "none")]
nonempty = sum(1 for r in d["ranks"] if split == "none" or r["stop"] > r["start"])
assert len(rects) == nonempty, (len(rects), nonempty)
PY
    done
  done
done

# Errors: a bad file is a failure (1), a bad option a usage error (2); one clear line.
set +e
msg=$("$DND" inspect "$FX/missing.h5" 2>&1); rc=$?
[ $rc = 2 ] && grep -q "No such file" <<<"$msg" || fail "missing file: rc=$rc $msg"
msg=$("$DND" inspect "$FX/types.h5" --dataset nope 2>&1); rc=$?
[ $rc = 2 ] && grep -q "no dataset '/nope'" <<<"$msg" || fail "missing dataset: rc=$rc $msg"
msg=$("$DND" inspect "$FX/absurd.npy" 2>&1); rc=$?
[ $rc = 2 ] && grep -q "absurdly large" <<<"$msg" || fail "absurd header: rc=$rc $msg"
msg=$("$DND" inspect "$FX/types.h5" --dataset cube --split 3 2>&1); rc=$?
[ $rc = 2 ] && grep -q "axis" <<<"$msg" || fail "bad split: rc=$rc $msg"
msg=$("$DND" inspect "$FX/types.h5" --dataset cube --split x 2>&1); rc=$?
[ $rc = 2 ] || fail "bad split word: rc=$rc $msg"
msg=$("$DND" inspect "$FX/types.h5" --svg "$OUT/x.svg" 2>&1); rc=$?
[ $rc = 2 ] && grep -q "name it with --dataset" <<<"$msg" || fail "svg without dataset: rc=$rc $msg"
set -e
echo "inspect: all checks passed"
