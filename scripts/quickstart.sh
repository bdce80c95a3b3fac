#!/usr/bin/env bash
# Set-up command 1: installs every dependency, builds dnd, and runs the quickstart:
# the version, then a split array on 2 ranks printed with its distribution map.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
bash "$here/install-deps.sh"
bash "$here/build.sh"
source "$here/env.sh"
echo
echo "\$ dnd --version"
"$DND_BUILD/dnd" --version
echo
echo "\$ mpirun -n 2 dnd demo --shape 10,4 --split 0"
mpirun -n 2 "$DND_BUILD/dnd" demo --shape 10,4 --split 0
