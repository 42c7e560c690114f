#!/usr/bin/env bash
# Times `graphcheck render` on the seed sample with a release build: SVG at the default depth and at full
# depth, median of RUNS runs each (default 5; full depth takes seconds per run).
# Usage: bench/render-speed.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
. bench/lib.sh
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT


printf '%-62s %8s  %s\n' "render samples/densenet121_multihead.json (median of $runs)" "ms" "drawn"
for depth in auto full; do
    for format in svg png; do
        drawn=$("$bin" render samples/densenet121_multihead.json --depth "$depth" --no-focus -o "$out/seed.$format" 2>&1 | sed 's/^graphcheck: drew [^ ]* at //')
        printf '%-62s %8s  %s\n' "--depth $depth -o seed.$format" "$(median_ms "$bin" render samples/densenet121_multihead.json --depth "$depth" --no-focus -o "$out/seed.$format")" "$drawn"
    done
done
