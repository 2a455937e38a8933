#!/usr/bin/env bash
# Sets everything up and runs every test: the native tests (plain release build and under
# AddressSanitizer + UndefinedBehaviorSanitizer). This is what CI runs (.ci/run).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/setup.sh

jobs=$(nproc 2>/dev/null || echo 2)
step() { printf '\n=== %s\n' "$*"; }

step "native tests (release build)"
cmake --preset release >/dev/null
cmake --build --preset release -j"$jobs"
ctest --preset release

step "native tests under ASan + UBSan"
cmake --preset asan >/dev/null
cmake --build --preset asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --preset asan

step "all tests passed"
