#!/usr/bin/env bash
# `dnd jobs` from the command line, without Slurm: exit codes, clear errors for malformed
# requests, scripts that bash parses and whose --set values survive quoting, and no MPI.
# tests/slurm/test_slurm.sh submits the scripts to a real Slurm.
set -u
DND="$1"
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
printf 'version: 1\nname: tiny\nparams: {n: 10}\nsteps: []\n' > tiny.yaml
S=("$DND" jobs sbatch tiny.yaml --no-check)

check jobs-needs-subcommand 2 'subcommand' -- "$DND" jobs
check templates 0 '^gpu +a pipeline with one rank per GPU' -- "$DND" jobs templates
check script 0 '^#SBATCH --ntasks-per-node=3$' -- "${S[@]}" --nodes 2 --ntasks-per-node 3
check no-such-template 2 "no template 'arary', did you mean 'array'\\?" -- "${S[@]}" -N 1 --ntasks-per-node 1 --template arary
check nodes-required 2 'error: --nodes N is required' -- "${S[@]}" --ntasks-per-node 2
check zero-ranks 2 'error: --ntasks-per-node 0: must be at least 1|--ntasks-per-node M is required' -- \
  "${S[@]}" -N 1 --ntasks-per-node 0
check negative-nodes 2 'error: --nodes -2: must be at least 1' -- "${S[@]}" -N -2 --ntasks-per-node 1
check ranks-per-gpu 2 'one rank per GPU: --ntasks-per-node 8 differs from --gpus-per-node 4' -- \
  "${S[@]}" -N 1 --ntasks-per-node 8 --gpus-per-node 4
check bench-too-many-ranks 2 '--ranks 1,8: 8 ranks exceed the allocation.s 4' -- \
  "$DND" jobs sbatch --workload matmul -N 2 --ntasks-per-node 2 --ranks 1,8 --no-check
check no-pipeline-file 2 'nope.yaml: no such pipeline file' -- "$DND" jobs sbatch nope.yaml -N 1 --ntasks-per-node 1
check array-beyond-values 2 'task 3 has no value' -- "${S[@]}" -N 1 --ntasks-per-node 1 --sweep n=1,2 --array 0-3
check bad-time 2 '--time 90min' -- "${S[@]}" -N 1 --ntasks-per-node 1 --time 90min
check bad-option 2 'frobnicate' -- "${S[@]}" -N 1 --ntasks-per-node 1 --frobnicate

# The checks plan with the --set values, and a pipeline that does not plan is refused
# (exit 2) instead of becoming a script that fails on the cluster after the queue.
printf 'version: 1\nparams: {n: 10}\nsteps:\n  - {id: x, op: zeros, shape: [${n}], split: 0}\n' > sized.yaml
check sbatch-set-refused 2 "^dnd jobs: error: the pipeline does not plan at 2 ranks with its --set values, so the job would fail; no script written" -- \
  "$DND" jobs sbatch sized.yaml -N 1 --ntasks-per-node 2 --set n=-5
check sbatch-set-refused-why 2 "^sized.yaml:4:[0-9]+: error: " -- \
  "$DND" jobs sbatch sized.yaml -N 1 --ntasks-per-node 2 --set n=-5
check sbatch-sweep-refused 2 "^dnd jobs: error: .* and --set n=-5, so the job would fail" -- \
  "$DND" jobs sbatch sized.yaml -N 1 --ntasks-per-node 2 --sweep n=4,-5
check sbatch-set-planned 0 'dnd plan: about 1\.9 MiB per rank at 2 ranks' -- \
  "$DND" jobs sbatch sized.yaml -N 1 --ntasks-per-node 2 --set n=1e6
check sbatch-validate-gets-sets 0 '^"\$DND" validate "\$PIPELINE" "\$\{SETS\[@\]\}"$' -- \
  "$DND" jobs sbatch sized.yaml -N 1 --ntasks-per-node 2 --set n=1e6

# Every template renders to a script bash parses.
for args in "--template pipeline" "--sweep n=1,2,3" "--gpus-per-node 2" "--launcher mpirun"; do
  # shellcheck disable=SC2086
  check "bash-parses:$args" 0 '^parsed$' -- bash -c \
    "\"\$@\" > s.sh && bash -n s.sh && echo parsed" _ "${S[@]}" -N 1 --ntasks-per-node 2 $args
done
check bash-parses:bench 0 '^parsed$' -- bash -c \
  "\"\$@\" > s.sh && bash -n s.sh && echo parsed" _ "$DND" jobs sbatch --workload w -N 1 --ntasks-per-node 2 --no-check

# --set and --sweep values reach `dnd run` exactly as given, whatever the shell would do to them.
check set-quoting 0 '^same$' -- bash -c '
  "$@" > s.sh || exit 1
  eval "$(grep -E "^(SETS|SWEEP_VALUES)=" s.sh)"
  printf "%s\n" "${SETS[@]}" "${SWEEP_VALUES[@]}" > got
  printf "%s\n" --set "a=x y" --set "b=it'"'"'s \$HOME" "1 2" "\"q\"" > want
  diff want got && echo same' _ "${S[@]}" -N 1 --ntasks-per-node 1 --set 'a=x y' --set "b=it's \$HOME" \
  --sweep 'n=1 2,"q"'

# A command that needs no MPI never starts it: Open MPI would leave its session
# directory under TMPDIR.
mkdir tmp
check no-mpi 0 '^untouched$' -- bash -c \
  'TMPDIR="$PWD/tmp" "$@" > /dev/null && [ -z "$(ls -A tmp)" ] && echo untouched' _ "${S[@]}" -N 1 --ntasks-per-node 1

if [ "$fail" -ne 0 ]; then echo "cli_jobs: FAILED"; exit 1; fi
echo "cli_jobs: all passed"
