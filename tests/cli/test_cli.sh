#!/usr/bin/env bash
# End-to-end checks of the dnd executable: exit codes, --version, the demo at 1 and 2
# ranks (through mpirun and through -n), and clear errors for bad command lines.
set -u
DND="$1"
EXAMPLE="${2:-}"
WORK_CLI="$(mktemp -d)"
mkdir "$WORK_CLI/tmp"
trap 'rm -rf "$WORK_CLI"' EXIT
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"

check version 0 '^dnd [0-9]+\.[0-9]+\.[0-9]+$' -- "$DND" --version
check help 0 'demo' -- "$DND" --help
check no-subcommand 2 '^dnd: error: a command is required$' -- "$DND"
check unknown-subcommand 2 "unknown command 'bogus'" -- "$DND" bogus
check did-you-mean 2 "unknown command 'dmeo', did you mean 'demo'\\?" -- "$DND" dmeo
check bad-option 2 "^dnd demo: error: unknown option '--frobnicate'" -- "$DND" demo --frobnicate
# Usage errors read "dnd <command>: error: ...", suggest the option meant, and exit 2.
check usage-version-typo 2 "^dnd: error: unknown option '--verison', did you mean '--version'\\?" -- "$DND" --verison
check usage-set-typo 2 "^dnd run: error: unknown option '--sett', did you mean '--set'\\?" -- "$DND" run x.yaml --sett n=5
check usage-help-hint 2 "^Run 'dnd run --help' for its options\\.$" -- "$DND" run x.yaml --sett n=5
check usage-nranks-zero 2 "^dnd run: error: --nranks: must be a whole number from 1 to 2147483647, got '0'" -- "$DND" run x.yaml -n 0
check usage-nranks-short 0 '^ok$' -- bash -c "'$DND' run x.yaml -n 0 2>&1 | awk 'length > 120 { bad = 1 } END { if (!bad) print \"ok\" }'"
check usage-missing-file 2 "^dnd run: error: pipeline is required" -- "$DND" run
check usage-version-short 0 '^dnd [0-9]' -- "$DND" -V
check usage-help 0 'Subcommands:' -- "$DND" help
check usage-help-command 0 'Options:' -- "$DND" help run
check usage-help-run-set 0 '--set' -- "$DND" help run
check usage-help-unknown 2 "^dnd help: error: unknown command 'rnu', did you mean 'run'\\?" -- "$DND" help rnu
check bad-split 2 '--split 5 is out of bounds for shape \(10, 4\)' -- "$DND" demo --split 5
check bad-shape 2 'negative dimension' -- "$DND" demo --shape 3,-1
check demo-1 0 'split=0\)' -- "$DND" demo
check demo-mpirun-2 0 '   1  \[5, 10\)' -- mpirun -n 2 "$DND" demo
check demo-n-3 0 '   2  \[4, 6\)' -- "$DND" -n 3 demo --shape 6,2
# -q: nothing at all on stdout or stderr (the pattern needs the whole output to be empty).
check demo-quiet 0 '^quiet$' -- bash -c "out=\$(mpirun -n 2 '$DND' -q demo 2>&1); [ -z \"\$out\" ] && echo quiet || printf '%s\\n' \"\$out\""
check demo-same-at-any-rank-count 0 '^same$' -- bash -c \
  "diff <(\"$DND\" demo --shape 5,3 --split 1 | sed -n '3,7p') <(mpirun -n 3 \"$DND\" demo --shape 5,3 --split 1 | sed -n '3,7p') && echo same"
check info 0 'BLAS' -- "$DND" info
check info-2-ranks 0 'ranks     2 \(2 on this node\)' -- mpirun -n 2 "$DND" info
check ranks-mismatch 2 '-n 3 given, but the launcher started 2 ranks' -- mpirun -n 2 "$DND" -n 3 info

# dnd run - reads the pipeline from standard input (rank 0 reads it, the others receive it).
STDIN_PIPE='version: 1
steps:
  - {id: x, op: arange, stop: 10, split: 0}
  - {id: s, op: reduce, input: x, fn: sum}
  - {op: print, input: s}'
check run-stdin-1 0 '^DNDarray\(45, dtype=int64' -- bash -c "printf '%s\n' \"\$0\" | '$DND' run - --quiet" "$STDIN_PIPE"
check run-stdin-3 0 '^DNDarray\(45, dtype=int64' -- bash -c "printf '%s\n' \"\$0\" | '$DND' run - -n 3 --quiet" "$STDIN_PIPE"
check run-stdin-error 2 '^<stdin>:3:[0-9]+: error: unknown op' -- bash -c "printf 'version: 1\nsteps:\n  - {id: x, op: arnge, stop: 3}\n' | mpirun -n 2 '$DND' run -"
# numpy's names point to dnd's spelling (a plain did-you-mean offered `sin` for `sum`).
check numpy-name-mean 2 "unknown op 'mean': mean is \`op: reduce\` with \`fn: mean\`" -- bash -c "printf 'version: 1\nsteps:\n  - {id: x, op: zeros, shape: [3]}\n  - {id: m, op: mean, input: x}\n' | '$DND' validate -"
check numpy-name-sum 2 "sum is \`op: reduce\` with \`fn: sum\`" -- bash -c "printf 'version: 1\nsteps:\n  - {id: x, op: zeros, shape: [3]}\n  - {id: m, op: sum, input: x}\n' | '$DND' validate -"
check numpy-name-dot 2 "^dnd ops: error: unknown op 'dot': dot is \`op: matmul\`" -- "$DND" ops dot
check validate-stdin 0 '^<stdin>: ok \(3 steps\)$' -- bash -c "printf '%s\n' \"\$0\" | '$DND' validate -" "$STDIN_PIPE"
# Under -n, dnd's message is the last thing printed (Open MPI's banners kept out of the way),
# and an invalid pipeline is reported before any rank starts.
check run-failure-last-line 0 '^last$' -- bash -c "printf '%s\n' \"\$0\" | DND_TEST_FAULT=internal-run:s '$DND' run - -n 2 --quiet 2>&1 | tail -1 | grep -q '^dnd run: error on every rank (2): step .s. (reduce, <stdin>:4): internal error' && echo last" "$STDIN_PIPE"
check run-failure-no-banner 0 '^quiet$' -- bash -c "printf '%s\n' \"\$0\" | DND_TEST_FAULT=internal-run:s '$DND' run - -n 2 --quiet 2>&1 | grep -qiE 'MPI_ABORT|Primary job|ORTE_ERROR_LOG' && echo banner || echo quiet" "$STDIN_PIPE"
printf 'version: 1\nsteps:\n  - {id: x, op: arnge, stop: 3}\n' > "$WORK_CLI/bad.yaml"
check run-invalid-before-launch 2 '^ok$' -- bash -c "out=\$(TMPDIR='$WORK_CLI/tmp' '$DND' run '$WORK_CLI/bad.yaml' -n 2 2>&1); rc=\$?; grep -q 'unknown op' <<< \"\$out\" && [ -z \"\$(ls -A '$WORK_CLI/tmp')\" ] && echo ok; exit \$rc"
# --json for scripts: ops lists what the schema lists; validate says valid or why not.
check ops-json 0 '^ok$' -- bash -c "diff <('$DND' ops --json | /usr/bin/python3 -c 'import json,sys; print(sorted(o[\"name\"] for o in json.load(sys.stdin) if o[\"params\"] is not None))') <('$DND' ops --schema | /usr/bin/python3 -c 'import json,sys; print(sorted(json.load(sys.stdin)[\"\$defs\"][\"step\"][\"properties\"][\"op\"][\"enum\"]))') && echo ok"
check ops-json-one 0 '"name": "reduce"' -- "$DND" ops reduce --json
check validate-json 0 '^\{"file":"<stdin>","valid":true,"steps":3\}$' -- bash -c "printf '%s\n' \"\$0\" | '$DND' validate - --json 2>/dev/null" "$STDIN_PIPE"
check validate-json-invalid 2 '"valid":false,"error":".*unknown op' -- bash -c "'$DND' validate '$WORK_CLI/bad.yaml' --json 2>/dev/null"
# --dry-run is dnd plan: no MPI, no run, the plan at -n ranks.
check run-dry-run 0 '^same$' -- bash -c "diff <(printf '%s\n' \"\$0\" | '$DND' run - --dry-run -n 3) <(printf '%s\n' \"\$0\" | '$DND' plan - -n 3) && echo same" "$STDIN_PIPE"
check run-dry-run-runs-nothing 0 '^planned-only$' -- bash -c "printf '%s\n' \"\$0\" | '$DND' run - --dry-run | grep -q 'DNDarray(45' && echo ran || echo planned-only" "$STDIN_PIPE"

if [ -n "$EXAMPLE" ]; then
  # The README's C++ example: the same output at 1 and 2 ranks.
  check readme-example 0 '^DNDarray\(\[' -- mpirun -n 2 "$EXAMPLE"
  check readme-example-ranks 0 '^same$' -- bash -c "diff <(\"$EXAMPLE\") <(mpirun -n 2 \"$EXAMPLE\") && echo same"
fi

# Bash completion offers every command and every option that the --help texts list.
COMPLETION="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/share/dnd-completion.bash"
completes() {  # completes WORD...: the words completing after them offers (current word "")
  bash -c 'source "$1"; shift; COMP_WORDS=(dnd "$@" ""); COMP_CWORD=$(($# + 1)); _dnd; printf "%s\n" "${COMPREPLY[@]}"' \
    _ "$COMPLETION" "$@"
}
help_options() {  # the options of a --help text: -x and --long, one per line
  awk '/^Options:/ { o = 1; next } /^[A-Z][A-Za-z]*:/ { o = 0 } o && /^  -/ { print $1 }' | tr ',' '\n'
}
missing=""
commands="$("$DND" --help | awk '/^Subcommands:/ { s = 1; next } /^[A-Z][A-Za-z]*:/ { s = 0 } s && /^  [a-z]/ { print $1 }')"
[ -n "$commands" ] || missing="(no commands in dnd --help)"
offered="$(completes)"
for c in $commands $("$DND" --help | help_options); do
  grep -qxF -- "$c" <<<"$offered" || missing="$missing dnd:$c"
done
for c in $commands; do
  words=("$c")
  [ "$c" = jobs ] && words=(jobs sbatch)
  offered="$(completes "${words[@]}")"
  for o in $("$DND" "${words[@]}" --help | help_options); do
    grep -qxF -- "$o" <<<"$offered" || missing="$missing ${words[*]}:$o"
  done
done
grep -qxF sbatch <<<"$(completes jobs)" || missing="$missing jobs:sbatch"
if [ -z "$missing" ]; then echo "ok   completion: every command and option of --help"
else echo "FAIL completion: share/dnd-completion.bash lacks$missing"; fail=1; fi

if [ "$fail" -ne 0 ]; then echo "cli: FAILED"; exit 1; fi
echo "cli: all passed"
