#!/usr/bin/env bash
# Set-up command 2: installs every dependency, builds dnd, and runs the whole test suite
# (unit tests, every distributed test at 1, 2, 3 and 4 ranks, the CLI end-to-end tests, the
# fuzzer for a bounded time). The sanitizer build (scripts/sanitize.sh) is run by hand for
# now: it has not yet been measured to fit CI's time.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
bash "$here/install-deps.sh"
bash "$here/build.sh"
source "$here/env.sh"
cd "$DND_BUILD"
ctest --output-on-failure -j "$(nproc)"
