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
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="$root/bench/data"
big=0
bench_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --big) big=1 ;;
    --json) bench_args+=(--json) ;;
    --export) bench_args+=(--export) ;;
    --sample) bench_args+=(--sample "${2:?--sample needs a number}"); shift ;;
    --repeat) bench_args+=(--repeat "${2:?--repeat needs a number}"); shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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

for db in "${dbs[@]}"; do
  "$bench" --db "$db" ${bench_args[@]+"${bench_args[@]}"}
  echo
done
