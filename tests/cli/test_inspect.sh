#!/usr/bin/env bash
# `dnd inspect` as a cluster tool, and CSV loads that say what to fix (issue 18):
#  - the distribution map of every dataset of a file (two datasets at -n 3, as text and
#    as JSON per dataset, checked against the balanced-block rule), at most 32 of them;
#    a split that does not fit a dataset leaves that one out, named; one that fits none
#    is an error;
#  - the SVG: index ranges, local shapes and bytes as text, axis ticks, a replicated
#    array as a stack of hatched copies labelled "replicated", a 1-D array as a bar;
#  - CSV in inspect: --header and --delimiter, and the hints of a file read without them;
#  - CSV load: a header line hints `header: 1`, a ';' or tab-separated file `delimiter`;
#    `missing: nan` and `missing: 0` read empty fields (values checked at 1 and 2 ranks),
#    an empty field without `missing` is an error, NaN for an integer dtype a plan error;
#    a CSV saved and loaded in one run is planned with the shape the load gives;
#  - exit codes: 2 for anything wrong with what was asked (option, file, dataset), 1 when
#    the SVG cannot be written.
#   test_inspect.sh DND [PYTHON]   (PYTHON with numpy and h5py)
set -u
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"  # check NAME EXPECTED_RC PATTERN -- command...
DND="$1"
PY="${2:-/usr/bin/python3}"
[ -x "$PY" ] || PY=python3
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1


"$PY" - <<'PY'
import h5py, numpy as np
with h5py.File("two.h5", "w") as f:
    f["a"] = np.arange(40, dtype=np.float32).reshape(10, 4)
    f["b/c"] = np.arange(7, dtype=np.int64)
    f["b/c"].attrs["units"] = "m/s"
with h5py.File("many.h5", "w") as f:
    for i in range(40):
        f["d%02d" % i] = np.zeros((i + 1, 2), dtype=np.float64)
with h5py.File("nothing.h5", "w") as f:
    f["strings"] = np.array([b"a", b"bc"])
with h5py.File("scalar.h5", "w") as f:
    f["s"] = np.float64(2.5)
    f["m"] = np.ones((5, 3), dtype=np.float32)
open("t.csv", "w").write("x;y;z\n" + "".join("%d;%d;%d\n" % (3 * i, 3 * i + 1, 3 * i + 2) for i in range(5)))
open("semi.csv", "w").write("1;2;3\n4;5;6\n")
open("tab.csv", "w").write("1\t2\n3\t4\n")
open("head.csv", "w").write("alpha,beta,gamma\n1,2,3\n")
# 9 rows of 3; field (i, j) empty where (3i + j) % 4 == 1, blanks where % 8 == 5.
rows = []
for i in range(9):
    v = [3 * i + j for j in range(3)]
    rows.append(",".join(("  " if x % 8 == 5 else "") if x % 4 == 1 else str(x) for x in v))
open("miss.csv", "w").write("\n".join(rows) + "\n")
# The same, but the first row complete: the empty fields only show at run time.
open("late.csv", "w").write("1,2,3\n4,,6\n")
np.save("v.npy", np.arange(5, dtype=np.float32))
PY

# ---- maps of every dataset ---------------------------------------------------------------
check maps-two-a 0 'distribution of /a \(10, 4\) float32 over 3 ranks, split=0' -- "$DND" inspect two.h5 -n 3
"$DND" inspect two.h5 -n 3 > two.txt 2>&1
check maps-two-bc 0 'distribution of /b/c \(7,\) int64 over 3 ranks, split=0' -- cat two.txt
check maps-two-rows 0 '^ +2 +\[5, 7\) +\(2,\) +16 B +\|' -- cat two.txt
check maps-two-a-rows 0 '^ +0 +\[0, 4\) +\(4, 4\) +64 B +\|#' -- cat two.txt
check maps-attrs-kept 0 '@units = "m/s"' -- cat two.txt
check maps-default-ranks 0 'ok' -- bash -c "[ \$('$DND' inspect two.h5 | grep -c 'over 4 ranks') = 2 ] && echo ok"
check maps-replicated 0 'ok' -- bash -c "'$DND' inspect two.h5 -n 2 --split none | grep -c '^ \+[01] \+all ' | grep -qx 4 && echo ok"
check maps-json 0 '^ok$' -- bash -c "'$DND' inspect two.h5 -n 3 --json | '$PY' -c '
import json, sys
d = json.load(sys.stdin)
assert d[\"distribution\"] is None, d[\"distribution\"]
ms = d[\"distributions\"]
assert [m[\"dataset\"] for m in ms] == [\"/a\", \"/b/c\"], ms
for m in ms:
    n, ext, start = m[\"nranks\"], m[\"shape\"][0], 0
    assert n == 3 and m[\"split\"] == 0 and len(m[\"ranks\"]) == 3, m
    item = {\"float32\": 4, \"int64\": 8}[m[\"dtype\"]]
    for q, r in enumerate(m[\"ranks\"]):
        cnt = ext // n + (q < ext % n)
        assert (r[\"start\"], r[\"stop\"], r[\"lshape\"][0]) == (start, start + cnt, cnt), r
        assert r[\"bytes\"] == item * cnt * (m[\"shape\"][1] if len(m[\"shape\"]) > 1 else 1), r
        start += cnt
assert d[\"unmapped\"] == [] and d[\"distributions_left_out\"] == 0, d
print(\"ok\")'"
check maps-json-named 0 '^ok$' -- bash -c "'$DND' inspect two.h5 -n 2 --dataset b/c --json | '$PY' -c '
import json, sys
d = json.load(sys.stdin)
assert d[\"distribution\"][\"dataset\"] == \"/b/c\" and d[\"distribution\"][\"nranks\"] == 2, d
assert len(d[\"distributions\"]) == 1 and d[\"distributions\"][0] == d[\"distribution\"], d
print(\"ok\")'"
check maps-bounded 0 '^\(8 more datasets not mapped: the first 32 are; name one with --dataset\)$' -- "$DND" inspect many.h5 -n 2
check maps-bounded-count 0 'ok' -- bash -c "[ \$('$DND' inspect many.h5 -n 2 | grep -c '^distribution of') = 32 ] && echo ok"
check maps-bounded-json 0 '^32 8$' -- bash -c "'$DND' inspect many.h5 --json | '$PY' -c '
import json, sys; d = json.load(sys.stdin); print(len(d[\"distributions\"]), d[\"distributions_left_out\"])'"
check maps-unmapped 0 '^/s: not mapped: a 0-d array cannot be split \(split=0\)$' -- "$DND" inspect scalar.h5 -n 2
check maps-unmapped-other 0 'distribution of /m \(5, 3\) float32 over 2 ranks' -- "$DND" inspect scalar.h5 -n 2
check maps-unmapped-json 0 '"unmapped":\[\{"dataset":"/s","reason":"[^"]*0-d' -- "$DND" inspect scalar.h5 --json
check maps-split-fits-none 2 'dnd inspect: error: --split 5 fits none of the datasets' -- "$DND" inspect two.h5 --split 5

# ---- SVG ---------------------------------------------------------------------------------
svg_check() {  # svg_check FILE KIND: the picture's contents for a split, replicated or bar map
  "$PY" - "$@" <<'PY'
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
kind = sys.argv[2]
tag = lambda e: e.tag.split('}')[-1]
texts = " | ".join("".join(e.itertext()) for e in root.iter() if tag(e) == "text")
rects = lambda c: [e for e in root.iter() if tag(e) == "rect" and e.get("class") == c]
ticks = [e for e in root.iter() if tag(e) == "line" and e.get("class") == "tick"]
assert len(ticks) >= 4, ("ticks", len(ticks))
cls = root.get("class").split()
if kind == "split":      # /a (10, 4) float32 split 0 over 3 ranks: bands down
    assert "split" in cls and "bar" not in cls, cls
    blocks = rects("block")
    assert len(blocks) == 3 and not rects("copy"), len(blocks)
    for want in ("[0, 4)", "[4, 7)", "[7, 10)", "(4, 4)", "(3, 4)", "64 B", "48 B", "rank 2"):
        assert want in texts, (want, texts)
    assert len({b.get("fill") for b in blocks}) == 3
    ys = sorted(float(b.get("y")) for b in blocks)
    assert ys[0] < ys[1] < ys[2], ys                       # split 0: rows down
    assert "replicated" not in texts
elif kind == "replicated":  # /a over 3 ranks, split none: three hatched full copies
    assert "replicated" in cls, cls
    copies = rects("copy")
    assert len(copies) == 3 and not rects("block"), len(copies)
    assert all(c.get("fill").startswith("url(#hatch") for c in copies), [c.get("fill") for c in copies]
    assert len({(c.get("x"), c.get("y")) for c in copies}) == 3    # stacked, not on top of each other
    assert len({(c.get("width"), c.get("height")) for c in copies}) == 1  # every copy the whole array
    assert "replicated" in texts and "160 B" in texts and "all" in texts, texts
elif kind == "bar":      # /b/c (7,) int64 over 3 ranks: one bar, blocks across
    assert "bar" in cls, cls
    blocks = rects("block")
    assert len(blocks) == 3
    assert len({(b.get("y"), b.get("height")) for b in blocks}) == 1
    assert float(blocks[0].get("height")) <= 60 < sum(float(b.get("width")) for b in blocks)
    for want in ("[0, 3)", "[3, 5)", "[5, 7)", "(3,)", "24 B", "16 B"):
        assert want in texts, (want, texts)
print("ok")
PY
}
check svg-split-write 0 'wrote a\.svg' -- "$DND" inspect two.h5 --dataset a -n 3 --svg a.svg
check svg-split 0 '^ok$' -- svg_check a.svg split
check svg-replicated-write 0 'split=None' -- "$DND" inspect two.h5 --dataset a -n 3 --split none --svg r.svg
check svg-replicated 0 '^ok$' -- svg_check r.svg replicated
check svg-bar-write 0 'wrote c\.svg' -- "$DND" inspect two.h5 --dataset /b/c -n 3 --svg c.svg
check svg-bar 0 '^ok$' -- svg_check c.svg bar
check svg-only-dataset 0 'wrote v\.svg' -- "$DND" inspect v.npy -n 2 --svg v.svg
check svg-needs-dataset 2 "--svg draws one array's distribution: name it with --dataset \('two.h5' holds 2 datasets\)" -- \
  "$DND" inspect two.h5 --svg x.svg
check svg-nothing-to-draw 2 "--svg: 'nothing.h5' holds no dataset to draw" -- "$DND" inspect nothing.h5 --svg x.svg
check svg-unwritable 1 "cannot write 'no/such/dir/x.svg'" -- "$DND" inspect two.h5 --dataset a --svg no/such/dir/x.svg

# ---- CSV in inspect ----------------------------------------------------------------------
check csv-inspect-options 0 't\.csv +\(5, 3\) +float32 +csv' -- "$DND" inspect t.csv --header 1 --delimiter ';'
check csv-inspect-map 0 'distribution of array \(5, 3\) float32 over 2 ranks' -- "$DND" inspect t.csv --header 1 --delimiter ';' -n 2
check csv-inspect-tab 0 'tab\.csv +\(2, 2\)' -- "$DND" inspect tab.csv --delimiter tab
check csv-inspect-hints 2 "line 1: 'x;y;z' is not a valid float32 \(field 1\); the fields look separated by ';': set --delimiter ';'; if line 1 is a header, skip it with --header 1" -- \
  "$DND" inspect t.csv
check csv-inspect-header-hint 2 "if line 1 is a header, skip it with --header 1" -- "$DND" inspect t.csv --delimiter ';'
check csv-inspect-empty-fields 0 'miss\.csv +\(9, 3\)' -- "$DND" inspect miss.csv
check csv-inspect-bad-delimiter 2 "--delimiter takes one character \(or 'tab'\), not ';;'" -- "$DND" inspect t.csv --delimiter ';;'
check csv-inspect-bad-header 2 "--header takes a line count >= 0, not -1" -- "$DND" inspect t.csv --header -1
check csv-options-not-csv 2 "--header and --delimiter are for CSV files; 'two.h5' is hdf5" -- "$DND" inspect two.h5 --header 1

# ---- exit codes ----------------------------------------------------------------------------
check exit-missing-file 2 "No such file" -- "$DND" inspect nothere.h5
check exit-unknown-dataset 2 "no dataset '/nope'" -- "$DND" inspect two.h5 --dataset nope
check exit-bad-split 2 "--split takes an axis or 'none', not 'x'" -- "$DND" inspect two.h5 --split x
check exit-bad-split-axis 2 "axis 2" -- "$DND" inspect two.h5 --dataset a --split 2
check exit-bad-option 2 "error" -- "$DND" inspect two.h5 --no-such-option
check exit-corrupt 2 "error" -- bash -c "head -c 100 two.h5 > bad.h5; '$DND' inspect bad.h5"
check exit-help-rule 0 'Exit codes: 0 ok; 2 for anything wrong with what was asked' -- "$DND" inspect --help

# ---- CSV load: hints, missing values --------------------------------------------------------
pipe() {  # pipe NAME LOAD-STEP-FIELDS [more steps]: writes NAME.yaml loading into X
  local name="$1" load="$2"; shift 2
  { printf 'version: 1\nsteps:\n  - {id: X, op: load, %s}\n' "$load"; for s in "$@"; do printf '  - %s\n' "$s"; done; } > "$name.yaml"
}
pipe header "path: head.csv" "{op: print, input: X}"
check load-header-hint 2 "load head.csv: line 1: 'alpha' is not a valid float32 \(field 1\); if line 1 is a header, skip it with header: 1" -- \
  "$DND" validate header.yaml
pipe header-ok "path: head.csv, header: 1" "{op: print, input: X}"
check load-header-ok 0 '\[\[1\., 2\., 3\.\]\]' -- "$DND" run header-ok.yaml -n 2 --quiet
pipe semi "path: semi.csv" "{op: print, input: X}"
check load-delimiter-hint 2 "line 1: '1;2;3' is not a valid float32 \(field 1\); the fields look separated by ';': set delimiter: ';'" -- \
  "$DND" validate semi.yaml
pipe semi-ok "path: semi.csv, delimiter: ';'" "{op: print, input: X}"
check load-delimiter-ok 0 '\[4\., 5\., 6\.\]\]' -- "$DND" run semi-ok.yaml --quiet
pipe tab "path: tab.csv" "{op: print, input: X}"
check load-tab-hint 2 "the fields look tab-separated: set delimiter: tab" -- "$DND" validate tab.yaml

# One run: NaN into float64 rows, 0 into int64, -2.5 into float32 split along columns.
pipe missing "path: miss.csv, missing: nan, dtype: float64, split: 0" "{op: save, input: X, path: nan.npy, overwrite: true}" \
  "{id: Z, op: load, path: miss.csv, missing: 0, dtype: int64, split: 0}" "{op: save, input: Z, path: zero.npy, overwrite: true}" \
  "{id: F, op: load, path: miss.csv, missing: -2.5, split: 1}" "{op: save, input: F, path: fill.npy, overwrite: true}"
check load-missing-plan 0 'X +load +\(9, 3\) float64 split=0' -- "$DND" plan missing.yaml -n 2
for n in 1 2; do
  rm -f nan.npy zero.npy fill.npy
  check "load-missing-np$n" 0 'outputs committed' -- "$DND" run missing.yaml -n $n
  check "load-missing-values-np$n" 0 '^ok$' -- "$PY" -c "
import numpy as np
v = np.arange(27, dtype=np.float64).reshape(9, 3)
empty = v % 4 == 1
a = np.load('nan.npy'); assert a.dtype == np.float64 and a.shape == (9, 3), a
assert (np.isnan(a) == empty).all() and (a[~empty] == v[~empty]).all(), a
z = np.load('zero.npy'); assert z.dtype == np.int64, z.dtype
assert (z == np.where(empty, 0, v)).all(), z
f = np.load('fill.npy'); assert f.dtype == np.float32, f.dtype
assert (f == np.where(empty, -2.5, v)).all(), f
print('ok')"
done
pipe nofill "path: miss.csv" "{op: print, input: X}"
check load-empty-field 2 "line 1: field 2 is empty \(missing: nan reads empty fields as NaN\)" -- "$DND" validate nofill.yaml
pipe late "path: late.csv, dtype: int32" "{op: print, input: X}"
check load-empty-field-run 1 "line 2: field 2 is empty \(missing: 0 reads empty fields as 0\)" -- "$DND" run late.yaml -n 2
pipe intnan "path: miss.csv, missing: nan, dtype: int32" "{op: print, input: X}"
check load-missing-int-nan 2 "missing: nan cannot fill int32 values \(NaN is not an integer\)" -- "$DND" validate intnan.yaml
pipe int8big "path: miss.csv, missing: 300, dtype: int8" "{op: print, input: X}"
check load-missing-int8-range 2 "missing: 300 is not a value of int8" -- "$DND" validate int8big.yaml
pipe npymiss "path: v.npy, missing: nan" "{op: print, input: X}"
check load-missing-not-csv 2 "missing fills empty CSV fields; npy files have none" -- "$DND" validate npymiss.yaml
cat > roundtrip.yaml <<'Y'
version: 1
steps:
  - {id: a, op: arange, stop: 5, split: 0}
  - {op: save, input: a, path: rt.csv, overwrite: true}
  - {id: b, op: load, path: rt.csv, missing: nan, split: 0}
  - {id: c, op: reduce, fn: sum, input: b, axis: 1}
  - {op: print, input: c}
Y
check load-csv-planned-shape 0 'b +load +\(5, 1\) float32 split=0' -- "$DND" plan roundtrip.yaml -n 2
check load-csv-planned-run 0 '\[0\., 1\., 2\., 3\., 4\.\]' -- "$DND" run roundtrip.yaml -n 2 --quiet

[ $fail = 0 ] && echo "inspect and CSV load: all checks passed"
exit $fail
