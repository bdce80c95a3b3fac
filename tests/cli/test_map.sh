#!/usr/bin/env bash
# End-to-end checks of op: map, the window ops and plugins through the dnd executable:
#  - convolve and moving at 3 ranks against numpy.convolve / sliding_window_view;
#  - a run-time error inside fn: exit 1, one message naming the rank, the step and the line;
#  - the example plugin through ops, validate, plan and run (--plugin and `plugins:`),
#    against numpy; a missing file, a library that is no plugin, and one built against
#    another plugin ABI: exit 2 with a clear message.
set -u
DND="$1"
PLUGIN="$2"
OLD_PLUGIN="$3"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3   # Debian's, with numpy
cd "$WORK"

# ---- convolve and moving against numpy ---------------------------------------------------
cat > win.yaml <<'YAML'
version: 1
steps:
  - {id: x, op: random.uniform, shape: [23, 2], split: 0, seed: 5, dtype: float64}
  - {op: save, input: x, path: x.npy}
  - {id: full, op: convolve, input: x, weights: [1, 2, 3, 4, 5]}
  - {op: save, input: full, path: full.npy}
  - {id: same, op: convolve, input: x, weights: [0.25, 0.5, 0.25], mode: same}
  - {op: save, input: same, path: same.npy}
  - {id: valid, op: convolve, input: x, weights: [1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6], mode: valid}
  - {op: save, input: valid, path: valid.npy}
  - {id: mean, op: moving, input: x, window: 4}
  - {op: save, input: mean, path: mean.npy}
  - {id: mx, op: moving, input: x, window: 9, fn: max}
  - {op: save, input: mx, path: mx.npy}
YAML
check "window-run-np3" 0 'steps on 3 ranks' -- mpirun -n 3 "$DND" run win.yaml
check "window-vs-numpy" 0 'numpy ok' -- "$PY" - <<'PY'
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view as sw
x = np.load("x.npy")
col = lambda f: np.stack([f(x[:, j]) for j in range(x.shape[1])], 1)
v = [1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6]
for name, want in [("full", col(lambda c: np.convolve(c, [1, 2, 3, 4, 5]))),
                   ("same", col(lambda c: np.convolve(c, [0.25, 0.5, 0.25], "same"))),
                   ("valid", col(lambda c: np.convolve(c, v, "valid"))),
                   ("mean", sw(x, 4, axis=0).mean(-1)),
                   ("mx", sw(x, 9, axis=0).max(-1))]:
    got = np.load(name + ".npy")
    assert got.shape == want.shape, (name, got.shape, want.shape)
    assert np.allclose(got, want, rtol=1e-12, atol=1e-12), (name, got, want)
print("numpy ok")
PY

# ---- a run-time error inside fn -----------------------------------------------------------
cat > fail.yaml <<'YAML'
version: 1
steps:
  - {id: x, op: random.uniform, shape: [8, 3], split: 0, low: 1, high: 2}
  - id: y
    op: map
    input: x
    fn: |
      def f(x: Tensor) -> Tensor:
          w = torch.ones(2, 2)
          return torch.mm(x, w)
YAML
# The plan's probe block (ones of the same widths) already fails: a plan error, exit 2.
check "map-probe-fails" 2 "fail.yaml:7:5: error: step 'y' \(map\): fn fails on a probe block .*fail.yaml:10 \(return torch.mm\(x, w\)\)" -- "$DND" validate fail.yaml
cat > fail2.yaml <<'YAML'
version: 1
steps:
  - {id: x, op: random.uniform, shape: [8, 3], split: 0, low: 1, high: 2}
  - id: y
    op: map
    input: x
    fn: |
      def f(x: Tensor) -> Tensor:
          if bool((x > 1.5).any()):
              x = x[:, :1] @ torch.ones(3, 3)
          return x
YAML
check "map-runtime-error" 1 "error on (rank [01]|every rank \(2\)): step 'y' \(map, fail2.yaml:4\): fn failed at fail2.yaml:10 \(x = x\[:, :1\] @ torch.ones\(3, 3\)\)" -- mpirun -n 2 "$DND" run fail2.yaml

# ---- plugins ------------------------------------------------------------------------------
check "plugin-ops" 0 'smoothstep: 3t\^2 - 2t\^3' -- "$DND" ops smoothstep --plugin "$PLUGIN"
check "plugin-ops-list" 0 'plugin:' -- "$DND" --plugin "$PLUGIN" ops
check "plugin-unknown-without" 2 "unknown op 'smoothstep'" -- "$DND" ops smoothstep
cat > plug.yaml <<YAML
version: 1
plugins: [$PLUGIN]
steps:
  - {id: x, op: random.uniform, shape: [17, 3], split: 0, seed: 2, low: -1, high: 2, dtype: float64}
  - {op: save, input: x, path: px.npy, overwrite: true}
  - {id: s, op: smoothstep, input: x, edge0: 0, edge1: 1.5}
  - {op: save, input: s, path: ps.npy, overwrite: true}
YAML
check "plugin-validate" 0 'ok \(4 steps\)' -- "$DND" validate plug.yaml
check "plugin-plan" 0 'smoothstep +\(17, 3\) float64 split=0' -- "$DND" plan plug.yaml -n 3
check "plugin-run-np3" 0 'steps on 3 ranks' -- mpirun -n 3 "$DND" run plug.yaml
check "plugin-vs-numpy" 0 'numpy ok' -- "$PY" -c "
import numpy as np
x = np.load('px.npy'); t = np.clip(x / 1.5, 0, 1)
assert np.allclose(np.load('ps.npy'), t * t * (3 - 2 * t), rtol=1e-12, atol=1e-12)
print('numpy ok')"
sed -i '/^plugins:/d' plug.yaml
check "plugin-flag-run-np2" 0 'steps on 2 ranks' -- mpirun -n 2 "$DND" run plug.yaml --plugin "$PLUGIN"
check "plugin-flag-plan" 0 'smoothstep' -- "$DND" plan plug.yaml --plugin "$PLUGIN"
sed 's/edge1: 1.5/edge1: -1/' plug.yaml > bad.yaml
check "plugin-infer-error" 2 "bad.yaml:5:17: error: step 's' \(smoothstep\): smoothstep: edge1 must be greater than edge0" -- \
  "$DND" validate bad.yaml --plugin "$PLUGIN"
check "plugin-missing" 2 "dnd: error: cannot load plugin 'nope.so': No such file or directory" -- "$DND" validate plug.yaml --plugin nope.so
check "plugin-missing-mpi" 2 "cannot load plugin 'nope.so'" -- mpirun -n 2 "$DND" run plug.yaml --plugin nope.so
echo "not a library" > fake.so
check "plugin-not-a-plugin" 2 "'fake.so' is not a dnd plugin: it has no DND_PLUGIN" -- "$DND" ops --plugin fake.so
check "plugin-old-abi" 2 "was built against dnd plugin ABI 0, but this dnd has ABI [0-9]+: rebuild the plugin" -- "$DND" ops --plugin "$OLD_PLUGIN"
printf 'version: 1\nplugins: [%s]\nsteps:\n  - {id: x, op: zeros, shape: [4]}\n' "$OLD_PLUGIN" > old.yaml
check "plugin-old-abi-file" 2 "old.yaml:2:11: error: plugin .* \(oldops\) was built against dnd plugin ABI 0" -- "$DND" validate old.yaml
exit $fail
