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

# --json for scripts on info and run: run's summary is the last line of standard output.
check info-json 0 '^ok$' -- bash -c "mpirun -n 2 '$DND' info --json | /usr/bin/python3 -c 'import json,sys; j=json.load(sys.stdin); assert j[\"ranks\"] == 2 and j[\"threads_per_rank\"] >= 1 and j[\"gpus\"] == 0 and j[\"torch\"], j; print(\"ok\")'"
SAVE_PIPE="version: 1
params: {n: 10}
steps:
  - {id: x, op: arange, stop: \${n}, split: 0}
  - {id: s, op: reduce, input: x, fn: sum}
  - {op: print, input: s}
  - {op: save, input: x, path: $WORK_CLI/x.npy, overwrite: true}"
check run-json 0 '^ok$' -- bash -c "printf '%s\n' \"\$0\" | '$DND' run - -n 2 --quiet --json --set n=12 | tail -1 | /usr/bin/python3 -c '
import json, sys
j = json.loads(sys.stdin.read())
assert j[\"ranks\"] == 2 and j[\"params\"] == {\"n\": \"12\"}, j
assert [s[\"op\"] for s in j[\"steps\"]] == [\"arange\", \"reduce\", \"print\", \"save\"], j[\"steps\"]
assert j[\"outputs\"] == [{\"path\": \"$WORK_CLI/x.npy\", \"format\": \"npy\", \"step\": j[\"steps\"][3][\"id\"]}], j[\"outputs\"]
assert j[\"pipeline_hash\"].startswith(\"fnv1a64:\") and j[\"seconds\"] >= 0
print(\"ok\")'" "$SAVE_PIPE"
check run-json-print-first 0 '^DNDarray\(66, dtype=int64' -- bash -c "printf '%s\n' \"\$0\" | '$DND' run - --quiet --json --set n=12 | head -2" "$SAVE_PIPE"
check run-dry-run-json 0 '"peak_bytes_per_rank"' -- bash -c "printf '%s\n' \"\$0\" | '$DND' run - --dry-run --json -n 2" "$SAVE_PIPE"

# The README: its quickstart listing is pipelines/quickstart.yaml; its commands work top
# to bottom (no file is inspected or loaded before a command makes it); it names the torch
# version dnd runs on; it and docs/ never point outside the repository.
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
check readme-quickstart-listing 0 '^same$' -- bash -c "diff <(awk '/The quickstart \(.pipelines\/quickstart.yaml.\):/ { q = 1; next } q && /^\`\`\`yaml/ { s = 1; next } s && /^\`\`\`/ { exit } s' '$REPO/README.md') '$REPO/pipelines/quickstart.yaml' && echo same"
check readme-order 0 '^ok$' -- bash -c "awk '/^build\/dnd run pipelines\/make-data.yaml/ && !made { made = NR } /^build\/dnd (inspect|run) .*data\/points.h5/ && !/make-data/ && !used { used = NR } END { if (made && used && made < used) print \"ok\"; else print \"make-data at line \" made \", data/points.h5 first used at \" used }' '$REPO/README.md'"
check readme-files-exist 0 '^ok$' -- bash -c "cd '$REPO' && for f in \$(grep -oE '(^|[^/A-Za-z0-9_.-])(pipelines|scripts|examples|jobs|docs|share)/[A-Za-z0-9_./-]+\.(yaml|sh|cpp|sbatch|md|json)' README.md | sed 's/^[^a-z]//' | sort -u); do [ -f \"\$f\" ] || echo \"README names \$f, which is not in the repository\"; done | grep . || echo ok"
check readme-no-outside 0 '^ok$' -- bash -c "grep -nE '\.\./shared|DESIGN\.md|STYLE\.md' '$REPO/README.md' '$REPO'/docs/*.md '$REPO'/pipelines/*.yaml || echo ok"
check readme-torch-version 0 '^ok$' -- bash -c "v=\$('$DND' info --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[\"torch\"])'); grep -qF \"libtorch-dev\\\` (\$v\" '$REPO/README.md' && echo ok || echo \"README does not name torch \$v\""

# cmake --install puts the executable, the manual page, the completions, the job templates
# and the schema under a prefix; the installed dnd runs from there.
PREFIX="$WORK_CLI/prefix"
check install 0 '^ok$' -- bash -c "cmake --install '$(dirname "$DND")' --prefix '$PREFIX' >/dev/null && cd '$PREFIX' && for f in bin/dnd share/man/man1/dnd.1 share/bash-completion/completions/dnd share/zsh/site-functions/_dnd share/dnd/jobs/pipeline.sbatch share/dnd/jobs/gpu.sbatch share/dnd/dnd-pipeline.schema.json; do [ -f \"\$f\" ] || echo \"missing \$f\"; done | grep . || echo ok"
check install-runs 0 '^dnd [0-9]+\.[0-9]+\.[0-9]+$' -- "$PREFIX/bin/dnd" --version
check install-man 0 'dnd run' -- bash -c "MANPATH='$PREFIX/share/man' man dnd 2>/dev/null | col -b"

if [ -n "$EXAMPLE" ]; then
  # The README's C++ example: the same output at 1 and 2 ranks.
  check readme-example 0 '^DNDarray\(\[' -- mpirun -n 2 "$EXAMPLE"
  check readme-example-ranks 0 '^same$' -- bash -c "diff <(\"$EXAMPLE\") <(mpirun -n 2 \"$EXAMPLE\") && echo same"
fi

# The completions and the manual page come from the executable (dnd completion, dnd man);
# the build writes them under build/share. Bash completion offers every command and every
# option that the --help texts list, the op names of `dnd ops`, the workloads of `dnd bench
# --list` and the params of the pipeline on the line after --set.
BUILT_SHARE="$(dirname "$DND")/share"
COMPLETION="$WORK_CLI/dnd.bash"
"$DND" completion bash > "$COMPLETION"
check completion-built-same 0 '^same$' -- bash -c "cmp -s '$COMPLETION' '$BUILT_SHARE/bash-completion/completions/dnd' && echo same"
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
# Each --help, the op names and the workloads, read once (every dnd start costs a second).
declare -A HELP_OPTS
HELP_OPTS[dnd]="$("$DND" --help | help_options)"
for c in $commands "jobs sbatch" "jobs templates"; do HELP_OPTS[$c]="$("$DND" $c --help | help_options)"; done
OP_NAMES="$("$DND" ops | awk '/^  [a-z]/ { print $1 }')"
WORKLOADS="$("$DND" bench --list | awk '/^  [a-z]/ { print $1 }')"
offered="$(completes)"
for c in $commands help ${HELP_OPTS[dnd]}; do
  grep -qxF -- "$c" <<<"$offered" || missing="$missing dnd:$c"
done
for c in $commands; do
  words=("$c")
  [ "$c" = jobs ] && words=(jobs sbatch)
  offered="$(completes "${words[@]}")"
  for o in ${HELP_OPTS[${words[*]}]}; do
    grep -qxF -- "$o" <<<"$offered" || missing="$missing ${words[*]}:$o"
  done
done
offered="$(completes jobs templates)"
for o in ${HELP_OPTS[jobs templates]}; do
  grep -qxF -- "$o" <<<"$offered" || missing="$missing jobs templates:$o"
done
grep -qxF sbatch <<<"$(completes jobs)" || missing="$missing jobs:sbatch"
offered="$(completes ops)"
for op in $OP_NAMES; do
  grep -qxF -- "$op" <<<"$offered" || missing="$missing ops:$op"
done
offered="$(completes bench --workload)"
for w in $WORKLOADS; do
  grep -qxF -- "$w" <<<"$offered" || missing="$missing workload:$w"
done
if [ -z "$missing" ]; then echo "ok   completion: every command, option, op and workload"
else echo "FAIL completion: dnd completion bash lacks$missing"; fail=1; fi
printf 'version: 1\nparams:\n  n: 5\n  seed_value: 1\n  # a comment\nsteps:\n  - {id: x, op: arange, stop: "${n}"}\n' > "$WORK_CLI/params.yaml"
printf 'version: 1\nparams: {rows: 3, cols: 2}\nsteps:\n  - {id: x, op: zeros, shape: ["${rows}", "${cols}"]}\n' > "$WORK_CLI/flow.yaml"
check completion-set-keys 0 '^n= seed_value=$' -- bash -c "$(declare -f completes); COMPLETION='$COMPLETION'; completes run '$WORK_CLI/params.yaml' --set | tr '\n' ' ' | sed 's/ \$//'"
check completion-set-flow 0 '^rows= cols=$' -- bash -c "$(declare -f completes); COMPLETION='$COMPLETION'; completes plan '$WORK_CLI/flow.yaml' --set | tr '\n' ' ' | sed 's/ \$//'"
# zsh: the generated script parses, holds every command, option, op and workload, and is
# the one the build wrote.
"$DND" completion zsh > "$WORK_CLI/_dnd"
check completion-zsh-parses 0 '^ok$' -- bash -c "zsh -n '$WORK_CLI/_dnd' && echo ok"
check completion-zsh-built-same 0 '^same$' -- bash -c "cmp -s '$WORK_CLI/_dnd' '$BUILT_SHARE/zsh/site-functions/_dnd' && echo same"
zmissing=""
for w in $commands $OP_NAMES $WORKLOADS; do
  grep -qw -- "$w" "$WORK_CLI/_dnd" || zmissing="$zmissing $w"
done
for c in $commands; do
  words=("$c")
  [ "$c" = jobs ] && words=(jobs sbatch)
  for o in ${HELP_OPTS[${words[*]}]}; do
    grep -qF -- "'$o[" "$WORK_CLI/_dnd" || zmissing="$zmissing ${words[*]}:$o"
  done
done
if [ -z "$zmissing" ]; then echo "ok   completion-zsh: every command, option, op and workload"
else echo "FAIL completion-zsh: dnd completion zsh lacks$zmissing"; fail=1; fi
check completion-bad-shell 2 "^dnd completion: error: shell: fish not in \\{bash,zsh\\}" -- "$DND" completion fish

# The manual page: generated by `dnd man` (the build's copy is the same), renders without
# a warning, and has a section per command holding every option of its --help.
MAN="$WORK_CLI/dnd.1"
"$DND" man > "$MAN"
check man-built-same 0 '^same$' -- bash -c "cmp -s '$MAN' '$BUILT_SHARE/man/man1/dnd.1' && echo same"
check man-renders 0 '^clean$' -- bash -c "w=\$(groff -man -Tutf8 -ww -z '$MAN' 2>&1); [ -z \"\$w\" ] && echo clean || echo \"\$w\""
check man-page 0 'dnd run' -- bash -c "MANWIDTH=100 man -l '$MAN' 2>/dev/null | col -b"
mmissing=""
rendered="$(MANWIDTH=200 man -l "$MAN" 2>/dev/null | col -b)"
for c in $commands; do
  words=("$c")
  [ "$c" = jobs ] && words=(jobs sbatch)
  section="$(awk -v h="   dnd ${words[*]}" 'index($0, h) == 1 && length($0) == length(h) { s = 1; next } /^   dnd / { s = 0 } /^[A-Z]/ { s = 0 } s' <<<"$rendered")"
  [ -n "$section" ] || mmissing="$mmissing (no section 'dnd ${words[*]}')"
  for o in ${HELP_OPTS[${words[*]}]}; do
    [ "$o" = -h ] || [ "$o" = --help ] && continue
    grep -qF -- "$o" <<<"$section" || mmissing="$mmissing ${words[*]}:$o"
  done
done
for op in $OP_NAMES; do
  grep -qF -- "$op" <<<"$rendered" || mmissing="$mmissing op:$op"
done
if [ -z "$mmissing" ]; then echo "ok   man: a section per command with every option, every op"
else echo "FAIL man: dnd man lacks$mmissing"; fail=1; fi

if [ "$fail" -ne 0 ]; then echo "cli: FAILED"; exit 1; fi
echo "cli: all passed"
