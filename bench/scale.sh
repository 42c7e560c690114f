#!/usr/bin/env bash
# How `graphcheck check` scales: synthetic traces of 10k, 100k and 1M ops (bench/SyntheticTraces), time
# and peak memory of one run each (GNU time), with --timings' split between reading and analyzing.
# Usage: bench/scale.sh [SIZES…]   (default 10000 100000 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
swift build -c release --product synthetic-traces >/dev/null
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000 1000000)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%10s %10s %10s %12s  %s\n' "ops" "file MB" "seconds" "peak MB" "split"
for n in "${sizes[@]}"; do
    .build/release/synthetic-traces "$n" > "$work/trace.json"
    mb=$(( $(stat -c %s "$work/trace.json") / 1048576 ))
    /usr/bin/time -f "%e %M" -o "$work/time" "$bin" check "$work/trace.json" --timings > /dev/null 2> "$work/err" || true
    read -r seconds kb < "$work/time"
    printf '%10s %10s %10s %12s  %s\n' "$n" "$mb" "$seconds" "$(( kb / 1024 ))" "$(sed -n 's/^graphcheck: //p' "$work/err" | tail -1)"
done
