#!/usr/bin/env bash
# End-to-end checks of the dnd executable: exit codes, --version, the demo at 1 and 2
# ranks (through mpirun and through -n), and clear errors for bad command lines.
set -u
DND="$1"
EXAMPLE="${2:-}"
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"

check version 0 '^dnd [0-9]+\.[0-9]+\.[0-9]+$' -- "$DND" --version
check help 0 'demo' -- "$DND" --help
check no-subcommand 2 'subcommand is required' -- "$DND"
check unknown-subcommand 2 "unknown command 'bogus'" -- "$DND" bogus
check did-you-mean 2 "unknown command 'dmeo', did you mean 'demo'\\?" -- "$DND" dmeo
check bad-option 2 'frobnicate' -- "$DND" demo --frobnicate
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

if [ -n "$EXAMPLE" ]; then
  # The README's C++ example: the same output at 1 and 2 ranks.
  check readme-example 0 '^DNDarray\(\[' -- mpirun -n 2 "$EXAMPLE"
  check readme-example-ranks 0 '^same$' -- bash -c "diff <(\"$EXAMPLE\") <(mpirun -n 2 \"$EXAMPLE\") && echo same"
fi

if [ "$fail" -ne 0 ]; then echo "cli: FAILED"; exit 1; fi
echo "cli: all passed"
