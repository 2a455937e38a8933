#!/usr/bin/env bash
# Sets everything up, builds tracedrop, generates the demo database and runs the CLI on it.
#   bash scripts/run.sh            # overview of the demo database
#   bash scripts/run.sh list       # any tracedrop command, run against the demo database
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/setup.sh

jobs=$(nproc 2>/dev/null || echo 2)
cmake --preset release >/dev/null
cmake --build --preset release -j"$jobs" --target tracedrop tracedrop-gen

demo=build/demo/trace_store.db
if [ ! -f "$demo" ]; then
  mkdir -p build/demo
  ./build/release/tests/data/tracedrop-gen --out "$demo" --traces 300 --seed 7 >/dev/null
fi
cli=./build/release/cli/tracedrop
if [ "$#" -gt 0 ]; then
  exec "$cli" --db "$demo" "$@"
fi
printf '\n$ tracedrop --db %s stats\n' "$demo"
"$cli" --db "$demo" stats
printf '\n$ tracedrop --db %s list --limit 10\n' "$demo"
"$cli" --db "$demo" list --limit 10
first=$("$cli" --db "$demo" list --limit 1 --json | sed -n 's/.*"trace_id": *"\([0-9a-f]*\)".*/\1/p' | head -n 1)
if [ -n "$first" ]; then
  printf '\n$ tracedrop --db %s show %s\n' "$demo" "$first"
  "$cli" --db "$demo" show "$first"
fi
printf '\nTry: bash scripts/run.sh search Zürich   |   bash scripts/run.sh conversation <trace id>\n'
