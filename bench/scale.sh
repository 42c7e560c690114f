#!/usr/bin/env bash
# How `graphcheck check` scales: synthetic traces of 10k, 100k and 1M ops (bench/SyntheticTraces), time
# and peak memory of one run each (GNU time), with --timings' split between reading and analyzing. Then
# real traces: `graphcheck_torch` exports of a deep decoder on the meta device (bench/real_trace.py; LAYERS
# layers, default 110 and 1110: about 10k and 100k ops), export time, then check time and peak memory
# (median of RUNS runs, default 3), when the Python venv is there.
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

python=${GRAPHCHECK_VENV:-$HOME/.cache/graphcheck-venv}/bin/python
"$python" -c "import torch, transformers" >/dev/null 2>&1 || { echo "scale: no venv with torch and transformers; real traces skipped"; exit 0; }
runs=${RUNS:-3}
echo
printf '%10s %10s %10s %10s %12s  %s\n' "real ops" "file MB" "export s" "check s" "peak MB" "split (median run)"
for layers in ${LAYERS:-110 1110}; do
    start=$(date +%s%N)
    ops=$("$python" bench/real_trace.py "$layers" "$work/real.json" 2>/dev/null | tail -1)
    export_s=$(awk -v ns=$(( $(date +%s%N) - start )) 'BEGIN { printf "%.1f", ns / 1e9 }')
    mb=$(( $(stat -c %s "$work/real.json") / 1048576 ))
    : > "$work/runs"
    for _ in $(seq "$runs"); do
        /usr/bin/time -f "%e %M" -o "$work/time" "$bin" check "$work/real.json" --timings > /dev/null 2> "$work/err" || true
        echo "$(cat "$work/time") $(sed -n 's/^graphcheck: //p' "$work/err" | tail -1)" >> "$work/runs"
    done
    read -r seconds kb split < <(sort -n "$work/runs" | sed -n "$(( (runs + 1) / 2 ))p")
    printf '%10s %10s %10s %10s %12s  %s\n' "$ops" "$mb" "$export_s" "$seconds" "$(( kb / 1024 ))" "$split"
done
