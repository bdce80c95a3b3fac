#!/usr/bin/env python3
"""Plan against measured memory, op by op: every op runs alone on a 32 MiB input (a
pipeline per op), at 1 and 2 ranks, and each rank's peak resident memory must stay
within 1.25x the plan's peak per rank plus a fixed allowance. The allowance is what a
pipeline of one tiny step peaks at in the same run (libtorch, MPI, the allocator) plus
48 MiB, measured per rank count. A factory or op that hides a full-size float64 or int64
temporary behind a float32 result (as linspace did: 16x its plan) fails here.

usage: test_memory.py DND [ranks ...]   (default ranks: 1 2)
DND_MEM_ONLY=REGEX runs only the cases whose names match (saves always run: loads need them).
"""
import json
import os
import subprocess
import sys
import tempfile

DND = sys.argv[1]
RANKS = [int(r) for r in sys.argv[2:]] or [1, 2]
SLACK, ALLOW = 1.25, 48 << 20
ONLY = os.environ.get("DND_MEM_ONLY", "")
R, D = 131072, 64  # X: R x D float32 = 32 MiB
N = R * D

X = f"{{id: X, op: random.normal, shape: [{R}, {D}], split: 0, seed: 1}}"
XR = f"{{id: X, op: random.normal, shape: [{R}, {D}], seed: 1}}"  # replicated
XI = f"{{id: X, op: random.integers, shape: [{R}, {D}], low: 0, high: 100, dtype: int32, split: 0}}"

def op(step, *before):
    return list(before) + [step]

CASES = {
    # factories: what they make is all the memory they may use
    "zeros": [f"{{id: Y, op: zeros, shape: [{N}], split: 0}}"],
    "ones": [f"{{id: Y, op: ones, shape: [{N}], split: 0}}"],
    "empty": [f"{{id: Y, op: empty, shape: [{N}], split: 0}}"],
    "full": [f"{{id: Y, op: full, shape: [{N}], value: 2.5, split: 0}}"],
    "arange": [f"{{id: Y, op: arange, stop: {N}, dtype: float32, split: 0}}"],
    "arange-step": [f"{{id: Y, op: arange, stop: {N // 2}, step: 0.5, split: 0}}"],
    "arange-int32": [f"{{id: Y, op: arange, stop: {N}, dtype: int32, split: 0}}"],
    "linspace": [f"{{id: Y, op: linspace, start: 0, stop: 1, num: {N}, split: 0}}"],
    "eye": ["{id: Y, op: eye, n: 2896, split: 0}"],
    "random.uniform": [f"{{id: Y, op: random.uniform, shape: [{N}], split: 0}}"],
    "random.normal": [f"{{id: Y, op: random.normal, shape: [{N}], split: 0}}"],
    "random.integers": [f"{{id: Y, op: random.integers, shape: [{N}], low: 0, high: 9, dtype: int32, split: 0}}"],
    "random.blobs": [f"{{id: Y, op: random.blobs, n: {R}, d: {D}, k: 4}}"],
    # distribution
    "split": op("{id: Y, op: split, input: X, axis: 0}", XR),
    "resplit": op("{id: Y, op: resplit, input: X, axis: 1}", X),
    "balance": op("{id: Y, op: balance, input: X}", X),
    # uneven blocks: a quarter of the rows on rank 0 (all of them at 1 rank)
    "redistribute": lambda n: op("{id: Y, op: redistribute, input: X, counts: [%s]}" % ", ".join(
        str(c) for c in ([R] if n == 1 else [R // 4] + [(R - R // 4) // (n - 1)] * (n - 2) +
                         [R - R // 4 - (R - R // 4) // (n - 1) * (n - 2)])), X),
    "gather": op("{id: Y, op: gather, input: X}", X),
    "astype": op("{id: Y, op: astype, input: X, dtype: float64}", X),
    # shapes
    "transpose": op("{id: Y, op: transpose, input: X}", X),
    "reshape": op(f"{{id: Y, op: reshape, input: X, shape: [{R // 2}, {2 * D}]}}", X),
    "flatten": op("{id: Y, op: flatten, input: X}", X),
    "expand_dims": op("{id: Y, op: expand_dims, input: X, axis: 1}", X),
    "squeeze": op("{id: Y, op: squeeze, input: E}", X, "{id: E, op: expand_dims, input: X, axis: 1}"),
    "slice": op("{id: Y, op: slice, input: X, index: '::2'}", X),
    "concatenate": op("{id: Y, op: concatenate, inputs: [X, X], axis: 0}", X),
    "stack": op("{id: Y, op: stack, inputs: [X, X], axis: 0}", X),
    # linear algebra and clustering
    "matmul": op("{id: Y, op: matmul, inputs: [X, W]}", X, f"{{id: W, op: random.normal, shape: [{D}, {D}]}}"),
    "qr": op("{id: Y, op: qr, input: X}", X),
    "svd": op("{id: Y, op: svd, input: X}", X),
    "kmeans": op("{id: Y, op: kmeans, input: X, k: 4, max_iter: 3}", X),
    "predict": op("{id: Y, op: predict, inputs: [X, C]}", X, f"{{id: C, op: random.normal, shape: [4, {D}]}}"),
    "cdist": op("{id: Y, op: cdist, inputs: [X, C]}", X, f"{{id: C, op: random.normal, shape: [16, {D}]}}"),
    "print": op("{op: print, input: X}", X),
    "clip": op("{id: Y, op: clip, input: X, min: 0}", X),
    "clip-int-float": op("{id: Y, op: clip, input: X, max: 2.5}", XI),
    "where": op("{id: Y, op: where, inputs: [Cd, X, 0.0]}", X, "{id: Cd, op: greater, inputs: [X, 0]}"),
    # windows and your own function on every block
    "convolve": op("{id: Y, op: convolve, input: X, weights: [0.25, 0.5, 0.25], mode: same}", X),
    "moving": op("{id: Y, op: moving, input: X, window: 5, fn: mean}", X),
    "map": op('{id: Y, op: map, input: X, fn: "def f(x: Tensor) -> Tensor:\\n    return x * 2.0"}', X),
    "map-halo": op('{id: Y, op: map, input: X, halo: 2, fn: "def f(x: Tensor) -> Tensor:\\n    return x + 1.0"}', X),
}
for b in ["add", "subtract", "multiply", "divide", "floor_divide", "remainder", "equal", "not_equal", "less",
          "less_equal", "greater", "greater_equal", "logical_and", "logical_or", "logical_xor"]:
    CASES[b] = op(f"{{id: Y, op: {b}, inputs: [X, X]}}", X)
CASES["power"] = op("{id: Y, op: power, inputs: [X, 2.0]}", X)
CASES["add-int32-float"] = op("{id: Y, op: add, inputs: [X, 0.5]}", XI)
for u in ["abs", "negative", "exp", "log", "sqrt", "sin", "cos", "tanh", "logical_not"]:
    CASES[u] = op(f"{{id: Y, op: {u}, input: X}}", X)
for fn in ["sum", "prod", "mean", "var", "std", "min", "max", "argmin", "argmax", "any", "all", "norm"]:
    CASES[f"reduce-{fn}"] = op(f"{{id: Y, op: reduce, input: X, fn: {fn}, axis: 1}}", X)
CASES["reduce-sum-0"] = op("{id: Y, op: reduce, input: X, fn: sum, axis: 0}", X)
CASES["reduce-sum-all"] = op("{id: Y, op: reduce, input: X, fn: sum}", X)
CASES["reduce-sum-int32"] = op("{id: Y, op: reduce, input: X, fn: sum, axis: 1}", XI)

# math and NaN ops (issue 20): one case per family, each op a step on X (the steps run one
# after another, so the measured peak is the largest of theirs)
def chain(ops, src="X", fmt="{{id: Y{i}, op: {o}, input: {src}}}"):
    return [fmt.format(i=i, o=o, src=src) for i, o in enumerate(ops)]
MATH_UNARY = ["floor", "ceil", "trunc", "sign", "square", "reciprocal", "log1p", "log2", "log10", "expm1", "exp2",
              "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh", "arctanh", "deg2rad",
              "rad2deg", "real", "imag", "conj", "angle", "isnan", "isinf", "isfinite", "round", "nan_to_num"]
CASES["math-unary"] = [X] + chain(MATH_UNARY)
CASES["math-round-int32"] = [XI, "{id: Y, op: round, input: X, decimals: -1}"]
CASES["math-binary"] = [X] + chain(["maximum", "minimum", "fmax", "fmin", "fmod", "hypot", "arctan2", "isclose"],
                                   fmt="{{id: Y{i}, op: {o}, inputs: [X, X]}}")
CASES["math-bitwise"] = [XI, "{id: Y, op: bitwise_not, input: X}"] + chain(
    ["bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift"], fmt="{{id: Y{i}, op: {o}, inputs: [X, 3]}}")
# (two chains: one of nine steps peaked 50 MiB above its largest step, the allocator's
# leftovers between steps rather than any one step's)
for name, fns in [("reduce-nan", ["nansum", "nanmean", "nanvar", "nanstd", "nanmin"]),
                  ("reduce-nan-arg", ["nanmax", "nanargmin", "nanargmax", "count_nonzero"])]:
    CASES[name] = [X] + [f"{{id: Y{i}, op: reduce, input: X, fn: {fn}, axis: 1}}" for i, fn in enumerate(fns)]
CASES["reduce-nanvar-0"] = op("{id: Y, op: reduce, input: X, fn: nanvar, axis: 0}", X)
# quantiles: along the split axis (resplit first), along another (local), over all (a sort)
CASES["percentile-0"] = op("{id: Y, op: percentile, input: X, q: [5, 50, 95], axis: 0}", X)
CASES["quantile-1"] = op("{id: Y, op: quantile, input: X, q: 0.25, axis: 1}", X)
CASES["median-all"] = op("{id: Y, op: median, input: X}", X)
# statistics, scaling, pca (issue 20)
CASES["standardize"] = op("{id: Y, op: standardize, input: X}", X)
CASES["standardize-int32"] = op("{id: Y, op: standardize, input: X}", XI)
# nan_policy omit: a quarter of the rows hold NaN (the log of their negative column 0)
XN = [X, "{id: C0, op: slice, input: X, index: ':, :1'}", "{id: M, op: less, inputs: [C0, -0.674]}",
      "{id: L, op: log, input: X}", "{id: XN, op: where, inputs: [M, L, X]}"]
CASES["standardize-omit"] = XN + ["{id: Y, op: standardize, input: XN, nan_policy: omit}"]
CASES["kmeans-omit"] = XN + ["{id: Y, op: kmeans, input: XN, k: 4, max_iter: 3, nan_policy: omit}"]
CASES["minmax_scale"] = op("{id: Y, op: minmax_scale, input: X}", X)
CASES["normalize"] = op("{id: Y, op: normalize, input: X}", X)
CASES["normalize-split1"] = op("{id: Y, op: normalize, input: T}", X, "{id: T, op: resplit, input: X, axis: 1}")
CASES["cov"] = op("{id: Y, op: cov, input: X}", X)
CASES["cov-split1"] = op("{id: Y, op: cov, input: T}", X, "{id: T, op: resplit, input: X, axis: 1}")
CASES["corrcoef"] = op("{id: Y, op: corrcoef, input: X}", X)
CASES["average"] = op("{id: Y, op: average, inputs: [X, X], axis: 0}", X)
CASES["ptp"] = op("{id: Y, op: ptp, input: X, axis: 0}", X)
CASES["skew"] = op("{id: Y, op: skew, input: X}", X)
CASES["kurtosis"] = op("{id: Y, op: kurtosis, input: X}", X)
CASES["bincount"] = op("{id: Y, op: bincount, input: L, minlength: 100}", XI, "{id: L, op: flatten, input: X}")
CASES["histogram"] = op("{id: Y, op: histogram, input: X, bins: 50}", X)
CASES["pca"] = op("{id: Y, op: pca, input: X, n_components: 8}", X)
CASES["pca-randomized"] = op("{id: Y, op: pca, input: X, n_components: 4, method: randomized}", X)
# cumulative, sorting, creation (issue 20)
CASES["cumsum"] = op("{id: Y, op: cumsum, input: X, axis: 0}", X)
CASES["cumsum-flat"] = op("{id: Y, op: cumsum, input: X}", X)
CASES["cumsum-int32"] = op("{id: Y, op: cumsum, input: X, axis: 1}", XI)
CASES["cumprod"] = op("{id: Y, op: cumprod, input: X, axis: 1}", X)
CASES["diff"] = op("{id: Y, op: diff, input: X, axis: 0}", X)
CASES["diff-prepend-n2"] = op("{id: Y, op: diff, input: X, axis: 1, n: 2, prepend: 0}", X)
CASES["sort"] = op("{id: Y, op: sort, input: X, axis: 1}", X)
CASES["sort-split-axis"] = op("{id: Y, op: sort, input: X, axis: 0}", X)
CASES["sort-1d"] = op(f"{{id: Y, op: sort, input: F, axis: 0}}", X, "{id: F, op: flatten, input: X}")
CASES["argsort"] = op("{id: Y, op: argsort, input: X, axis: 1}", X)
CASES["array"] = ["{id: Y, op: array, values: [[1, 2.5, 3], [4, 5, 6]], split: 0}"]
CASES["zeros_like"] = op("{id: Y, op: zeros_like, input: X}", X)
CASES["ones_like"] = op("{id: Y, op: ones_like, input: X, dtype: float64}", X)
CASES["full_like"] = op("{id: Y, op: full_like, input: X, value: 2}", X)
CASES["empty_like"] = op("{id: Y, op: empty_like, input: X}", X)
CASES["logspace"] = [f"{{id: Y, op: logspace, start: 0, stop: 3, num: {N}, split: 0}}"]
CASES["meshgrid"] = op("{id: Y, op: meshgrid, inputs: [x, y], split: 0}",
                       f"{{id: x, op: linspace, start: 0, stop: 1, num: 2048, split: 0}}",
                       f"{{id: y, op: linspace, start: 0, stop: 1, num: 2048}}")

# selection (issue 20): a mask of about half the rows, results at most the input's extent
MASK = ["{id: c, op: slice, input: X, index: ':, 0'}", "{id: m, op: greater, inputs: [c, 0.0]}"]
CASES["filter"] = [X] + MASK + ["{id: Y, op: filter, inputs: [X, m]}"]
CASES["filter-balance-axis1"] = [X, "{id: c, op: slice, input: X, index: '0'}", "{id: m, op: greater, inputs: [c, 0.0]}",
                                 "{id: Y, op: filter, inputs: [X, m], axis: 1}",
                                 "{id: Z, op: filter, inputs: [X, M], balance: true}"] + [
    "{id: c0, op: slice, input: X, index: ':, 0'}", "{id: M, op: greater, inputs: [c0, 0.0]}"]
CASES["nonzero"] = op("{id: Y, op: nonzero, input: m}", X, "{id: m, op: greater, inputs: [X, 1.0]}")
CASES["where-1"] = op("{id: Y, op: where, input: m}", X, "{id: m, op: greater, inputs: [X, 1.0]}")
CASES["unique"] = op("{id: Y, op: unique, input: X}", X)
CASES["unique-int32"] = op("{id: Y, op: unique, input: X, return_counts: true, return_inverse: true}", XI)
CASES["topk"] = op("{id: Y, op: topk, input: X, k: 8, axis: 1}", X)
CASES["topk-split-axis"] = op("{id: Y, op: topk, input: X, k: 100, axis: 0}", X)
CASES["take"] = op("{id: Y, op: take, inputs: [X, i], axis: 1}", X, "{id: i, op: arange, start: 0, stop: 64, step: 2}")
CASES["take-split-axis"] = op("{id: Y, op: take, inputs: [X, i], axis: 0}", X,
                              f"{{id: i, op: random.integers, shape: [{R}], low: 0, high: {R}, split: 0}}")

work = tempfile.mkdtemp()
CASES["save-npy"] = op(f"{{op: save, input: X, path: {work}/x.npy, overwrite: true}}", X)
CASES["save-h5"] = op(f"{{op: save, input: X, path: {work}/x.h5, overwrite: true}}", X)
LOADS = {"load-npy": [f"{{id: Y, op: load, path: {work}/x.npy, split: 0}}"],
         "load-h5": [f"{{id: Y, op: load, path: {work}/x.h5, split: 0}}"]}
# CSV text of R x D values, one in 7 fields empty, read with missing: nan (each rank holds
# its share of the text while it parses: the plan counts it).
with open(f"{work}/m.csv", "w") as f:
    f.write((",".join("" if j % 7 == 3 else str((j % 13) * 0.25) for j in range(D)) + "\n") * R)
LOADS["load-csv-missing"] = [f"{{id: Y, op: load, path: {work}/m.csv, missing: nan, split: 0}}"]
EXPECTED = set(CASES) | set(LOADS)


def pipeline(name, steps):
    path = os.path.join(work, name + ".yaml")
    with open(path, "w") as f:
        f.write("version: 1\nsteps:\n" + "".join(f"  - {s}\n" for s in steps))
    return path


def measure(name, steps, n):
    p = pipeline(name, steps)
    plan = subprocess.run([DND, "plan", p, "-n", str(n), "--json"], capture_output=True, text=True)
    if plan.returncode != 0:
        return None, f"plan failed: {plan.stderr.strip()}"
    planned = json.loads(plan.stdout)["peak_bytes_per_rank"]
    t = os.path.join(work, name + ".json")
    env = dict(os.environ, DND_NUM_THREADS="1", OMP_NUM_THREADS="1")
    run = subprocess.run(["mpirun", "--oversubscribe", "-n", str(n), DND, "run", p, "--quiet", "--timings", t],
                         capture_output=True, text=True, env=env)
    if run.returncode != 0:
        return None, f"run failed ({run.returncode}): {run.stderr.strip()[-400:]}"
    with open(t) as f:
        steps_t = json.load(f)["steps"]
    peak = max(max(s["peak_rss_bytes"]) for s in steps_t)
    return (planned, peak), None


# Every registered op has a case (a new op without one fails here).
import re
schema = json.loads(subprocess.run([DND, "ops", "--schema"], capture_output=True, text=True, check=True).stdout)
ops = set(schema["$defs"]["step"]["properties"]["op"]["enum"])
used = {m for steps in list(CASES.values()) + list(LOADS.values()) for st in (steps(2) if callable(steps) else steps)
        for m in re.findall(r"op: ([a-z_.0-9]+)", st)}
fail = 0
if ops - used:
    print(f"FAIL mem-coverage: ops without a memory case: {', '.join(sorted(ops - used))}")
    fail = 1
MiB = 1 << 20
for n in RANKS:
    base, err = measure("baseline", ["{id: Y, op: zeros, shape: [1]}"], n)
    if err:
        print(f"FAIL baseline-np{n}: {err}")
        sys.exit(1)
    allow = base[1] + ALLOW
    print(f"     np{n}: baseline peak {base[1] / MiB:.0f} MiB; limit = {SLACK} x plan + {allow / MiB:.0f} MiB")
    for name, steps in list(CASES.items()) + list(LOADS.items()):
        if ONLY and not re.search(ONLY, name) and not name.startswith("save-"):
            continue
        r, err = measure(name, steps(n) if callable(steps) else steps, n)
        if err:
            print(f"FAIL mem-{name}-np{n}: {err}")
            fail = 1
            continue
        planned, peak = r
        limit = SLACK * planned + allow
        ok = peak <= limit
        print(f"{'ok  ' if ok else 'FAIL'} mem-{name}-np{n}: planned {planned / MiB:.1f} MiB, peak "
              f"{(peak - base[1]) / MiB:+.1f} MiB over the baseline (limit {(limit - base[1]) / MiB:+.1f})")
        fail |= not ok
sys.exit(fail)
