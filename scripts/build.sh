#!/usr/bin/env bash
# Configures (once) and builds dnd in build/ (or $DND_BUILD). Idempotent: a second run
# rebuilds only what changed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
if [ ! -f "$DND_BUILD/build.ninja" ]; then
  cmake -S "$DND_ROOT" -B "$DND_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$DND_BUILD" -j "$(nproc)"
