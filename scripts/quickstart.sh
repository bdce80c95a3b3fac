#!/usr/bin/env bash
# Set-up command 1: installs every dependency, builds dnd, and runs the quickstart:
# the version, a split array on 2 ranks with its distribution map, and the quickstart
# pipeline (pipelines/quickstart.yaml) planned and run on 2 ranks.
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
echo
echo "\$ dnd plan pipelines/quickstart.yaml -n 2"
"$DND_BUILD/dnd" plan "$DND_ROOT/pipelines/quickstart.yaml" -n 2
echo
echo "\$ dnd run pipelines/quickstart.yaml -n 2"
"$DND_BUILD/dnd" run "$DND_ROOT/pipelines/quickstart.yaml" -n 2
