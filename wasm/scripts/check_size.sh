#!/bin/sh
# Fails when the module is bigger than its budget after gzip -9 (what a server sends).
# usage: check_size.sh tracedrop.wasm BUDGET_BYTES
set -eu
wasm=$1 budget=$2
[ -f "$wasm" ] || { echo "check_size: $wasm not found (build the wasm preset first)" >&2; exit 1; }
raw=$(wc -c <"$wasm")
gz=$(gzip -9 -c "$wasm" | wc -c)
echo "$(basename "$wasm"): $raw bytes, $gz bytes gzip -9 (budget $budget)"
if [ "$gz" -gt "$budget" ]; then
  echo "check_size: over budget by $((gz - budget)) bytes" >&2
  exit 1
fi
