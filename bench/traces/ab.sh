#!/bin/bash
# Tracing off vs on, interleaved, with the e2e harness (Ferry reads FERRY_* from the environment
# the harness passes through). Prints one line per run; compare the medians of each mode.
#
# Usage: bench/traces/ab.sh [pairs=4] [scenario=qos1_1to1_64b] [seconds=5] [FERRY_X=Y ...]
#   e.g. bench/traces/ab.sh 4 qos1_1to1_64b 5 FERRY_TRACE_WRITER_CPU_PERCENT=50
# NICE="nice -n -10" runs the harness (and the broker) ahead of other work on a shared machine.
# Needs a build (npx tsc -p .). The harness's own result files for these runs are removed.
set -euo pipefail
cd "$(dirname "$0")/../.."
PAIRS=${1:-4}; SCENARIO=${2:-qos1_1to1_64b}; DURATION=${3:-5}
shift $(( $# < 3 ? $# : 3 ))
for i in $(seq 1 "$PAIRS"); do
  for mode in false true; do
    marker=$(mktemp)
    line=$(env "$@" FERRY_TRACING=$mode ${NICE:-} node dist/bench/e2e/run.js --scenarios "$SCENARIO" --brokers ferry \
      --rounds 1 --duration "$DURATION" --warmup 1 2>&1 | grep -E "^\s+r1 ferry" | head -1 || true)
    find bench/results -newer "$marker" -name "*-${SCENARIO}.*" -delete
    rm -f "$marker"
    echo "pair=$i tracing=$mode $line"
  done
done
