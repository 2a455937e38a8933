#!/usr/bin/env bash
# Sets everything up and runs every test: the native tests (plain release build and under
# AddressSanitizer + UndefinedBehaviorSanitizer), then the WebAssembly module under Node (its
# size budget, the shared behaviour cases compared with the release build's answers, the file
# VFS) and the viewer's worker in headless Chromium. This is what CI runs (.ci/run).
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

step "wasm module: size budget, shared cases and VFS under Node; the worker in headless Chromium"
# emcc loads acorn from Debian's node modules. The cases compare with build/release/cases,
# written by the release tests above.
export NODE_PATH=/usr/share/nodejs
cmake --preset wasm >/dev/null
cmake --build --preset wasm -j"$jobs"
ctest --preset wasm

step "all tests passed"
