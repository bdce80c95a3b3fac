#!/usr/bin/env bash
# Configures (once) and builds dnd in build/ (or $DND_BUILD). Idempotent: a second run
# rebuilds only what changed. DND_SANITIZE=1 adds the sanitizer twins (tests/sanitize).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# ccache, when installed, makes rebuilds in other clones of the repository cheap.
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$(dirname "$DND_ROOT")}"
fi
if [ ! -f "$DND_BUILD/build.ninja" ]; then
  cmake -S "$DND_ROOT" -B "$DND_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}"
fi
# DND_SANITIZE=1 (scripts/test.sh sets it): also the ASan + UBSan twins of the front end
# and their tests (tests/sanitize).
if [ "${DND_SANITIZE:-0}" = 1 ]; then
  cmake -S "$DND_ROOT" -B "$DND_BUILD" -DDND_SANITIZE=ON >/dev/null
fi
cmake --build "$DND_BUILD" -j "$(nproc)"
