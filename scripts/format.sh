#!/usr/bin/env bash
# Formats every C++ source of dnd with clang-format (the .clang-format at the root).
# `scripts/format.sh --check` changes nothing and fails when a file is not formatted.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.h')
if [ "${1:-}" = "--check" ]; then
  clang-format --dry-run --Werror "${files[@]}"
else
  clang-format -i "${files[@]}"
fi
