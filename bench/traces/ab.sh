#!/bin/bash
# Tracing off vs on, interleaved, with the e2e harness (Ferry reads FERRY_* from the environment
# the harness passes through). Prints one line per run and, at the end, the median msg/s of each
# mode and its ratio to "off".
#
# Usage: bench/traces/ab.sh [pairs=4] [scenario=qos1_1to1_64b] [seconds=5] [FERRY_X=Y ...]
#   e.g. bench/traces/ab.sh 4 qos1_1to1_64b 5 FERRY_TRACE_WRITER_CPU_PERCENT=50
# CLI=path/to/dist/src/cli/main.js runs that Ferry build (default: this checkout's dist). On a tree
# others rebuild, use a snapshot: bench/e2e/snapshot.sh /tmp/after HEAD [--with-patch my.patch].
# BEFORE=path/to/other/dist/src/cli/main.js adds a third mode to every round: tracing on with that
# build ("before"), so before and after are measured in the same run, e.g.
#   bench/e2e/snapshot.sh /tmp/before HEAD~1 && BEFORE=/tmp/before/dist/src/cli/main.js bench/traces/ab.sh 5
# NICE="nice -n -10" runs the harness (and the broker) ahead of other work on a shared machine;
# WAIT_QUIET=S waits up to S seconds before each run for the machine to be < 10% busy.
# Besides msg/s, the summary gives broker CPU per delivered message (broker process CPU ÷ msg/s,
# µs), which other work on the machine disturbs less than throughput.
# Needs a build (npx tsc -p .). The harness writes no result files (--no-save).
set -euo pipefail
cd "$(dirname "$0")/../.."
PAIRS=${1:-4}; SCENARIO=${2:-qos1_1to1_64b}; DURATION=${3:-5}
shift $(( $# < 3 ? $# : 3 ))
modes="off on"
[ -n "${BEFORE:-}" ] && modes="off on before"
out=$(mktemp)
for i in $(seq 1 "$PAIRS"); do
  for mode in $modes; do
    cli=${CLI:-dist/src/cli/main.js}; tracing=true
    case $mode in
      off) tracing=false ;;
      before) cli=$BEFORE ;;
    esac
    line=$(env "$@" FERRY_TRACING=$tracing ${NICE:-} node dist/bench/e2e/run.js --scenarios "$SCENARIO" --brokers ferry \
      --ferry-cli "$cli" --rounds 1 --duration "$DURATION" --warmup 1 --no-save ${WAIT_QUIET:+--wait-quiet $WAIT_QUIET} 2>&1 | grep -E "^\s+r1 ferry" | head -1 || true)
    echo "pair=$i mode=$mode $line" | tee -a "$out"
  done
done
echo
echo "medians: msg/s delivered, broker CPU µs per message"
for mode in $modes; do
  grep " mode=$mode " "$out" | sed -nE 's/.*r1 ferry +[^0-9]*([0-9.]+)(k?) .*broker ([0-9.]+)%.*/\1 \2 \3/p' \
    | awk '{ v = $1 * ($2 == "k" ? 1000 : 1); print v, $3 / 100 / v * 1e6 }' > "$out.$mode"
  med() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) print 0; else print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
  printf '%s %d runs, median %.0f msg/s, %.2f µs/msg\n' "$mode" "$(wc -l < "$out.$mode")" \
    "$(cut -d' ' -f1 "$out.$mode" | med)" "$(cut -d' ' -f2 "$out.$mode" | med)"
  rm -f "$out.$mode"
done | tee "$out.med"
awk '$1 == "off" { off = $5; cpu = $7 } $1 != "off" && off > 0 { printf "%s ÷ off: throughput %.3f, CPU per message %.3f\n", $1, $5 / off, $7 / cpu }' "$out.med"
rm -f "$out" "$out.med"
