#!/usr/bin/env bash
# Set-up command 2: installs every dependency, builds dnd, and runs the whole test suite
# (unit tests, every distributed test at 1, 2, 3 and 4 ranks (one suite at 7), the CLI
# end-to-end tests, the fuzzer for a bounded time, and the front end's unit tests and the
# fuzzer again under AddressSanitizer + UndefinedBehaviorSanitizer: tests/sanitize).
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
bash "$here/install-deps.sh"
DND_SANITIZE=1 bash "$here/build.sh"
source "$here/env.sh"
cd "$DND_BUILD"
ctest --output-on-failure -j "$(nproc)"
