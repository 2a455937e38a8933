#!/usr/bin/env bash
# Builds the release benchmark, generates the databases it needs (once, into bench/data/,
# which git ignores) and prints our figures next to the old trace_viewer.py's.
#
#   bash bench/run.sh                 the 10,000-trace database (~200k spans)
#   bash bench/run.sh --big           also the ~1 GB database (generating it takes a while)
#   bash bench/run.sh --repeat 3      runs per side (median reported; default 5)
#   bash bench/run.sh --json          JSON summaries instead of tables
#   bash bench/run.sh --export        the export benchmark instead (per format vs the old exporter)
#   bash bench/run.sh --export --sample 20   traces the export baseline runs on (extrapolated)
#   bash bench/run.sh --wasm          the WebAssembly module vs sql.js (and native) under Node and
#                                     in headless Chromium instead (bench/wasm/; --repeat applies)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="$root/bench/data"
big=0
wasm=0
repeat=""
bench_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --big) big=1 ;;
    --json) bench_args+=(--json) ;;
    --export) bench_args+=(--export) ;;
    --wasm) wasm=1 ;;
    --sample) bench_args+=(--sample "${2:?--sample needs a number}"); shift ;;
    --repeat) repeat="${2:?--repeat needs a number}"; bench_args+=(--repeat "$repeat"); shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

cd "$root"
cmake --preset release >/dev/null
cmake --build --preset release --target tracedrop-bench tracedrop-gen >/dev/null
gen="$root/build/release/tests/data/tracedrop-gen"
bench="$root/build/release/bench/tracedrop-bench"

# Generates bench/data/NAME with the given tracedrop-gen options unless it is already there.
# Written under a temporary name first, so an interrupted run never leaves a partial file.
ensure_db() {
  local name="$1"; shift
  local path="$data/$name"
  if [ ! -f "$path" ]; then
    mkdir -p "$data"
    echo "generating $path ($*) ..." >&2
    "$gen" --out "$path.partial" "$@"
    mv "$path.partial" "$path"
  fi
  echo "$path"
}

dbs=("$(ensure_db traces-10k-seed1.db --traces 10000 --seed 1)")
if [ "$big" = 1 ]; then
  dbs+=("$(ensure_db traces-1gb-seed1.db --target-mb 1024 --seed 1)")
fi

if [ "$wasm" = 1 ]; then
  # The module (build/wasm) is built only when missing: it takes several minutes.
  if [ ! -f "$root/build/wasm/wasm/tracedrop.js" ]; then
    export NODE_PATH="${NODE_PATH:-/usr/share/nodejs}"
    cmake --preset wasm >/dev/null
    cmake --build --preset wasm >/dev/null
  fi
  cmake --build --preset release --target tracedrop >/dev/null
  wasm_args=()
  for a in ${bench_args[@]+"${bench_args[@]}"}; do
    case "$a" in --json) wasm_args+=(--json) ;; esac
  done
  for db in "${dbs[@]}"; do
    node bench/wasm/wasm_bench.mjs --db "$db" --repeat "${repeat:-3}" ${wasm_args[@]+"${wasm_args[@]}"}
    echo
    if [ -d "$root/node_modules/playwright-core" ]; then
      # One pass per browser on the big file: its VFS session alone takes minutes in Chromium.
      passes=2
      [ "$db" = "${dbs[0]}" ] || passes=1
      node bench/wasm/chromium_bench.mjs --db "$db" --repeat "${repeat:-1}" --passes "$passes" ${wasm_args[@]+"${wasm_args[@]}"}
    else
      echo "bench/run.sh: node_modules/playwright-core is missing (npm ci): Chromium side skipped" >&2
    fi
    echo
  done
  exit 0
fi

for db in "${dbs[@]}"; do
  "$bench" --db "$db" ${bench_args[@]+"${bench_args[@]}"}
  echo
done
