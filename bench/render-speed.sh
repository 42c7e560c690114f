#!/usr/bin/env bash
# Times `graphcheck render` on the seed sample with a release build: SVG at the default depth and at full
# depth, median of RUNS runs each (default 5; full depth takes seconds per run).
# Usage: bench/render-speed.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
bin=.build/release/graphcheck
[ -x "$bin" ] || swift build -c release --product graphcheck >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

median_s() {
    local times=()
    for _ in $(seq "$runs"); do
        local start end
        start=$(date +%s%N)
        "$@" >/dev/null 2>&1
        end=$(date +%s%N)
        times+=($(( (end - start) / 1000000 )))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.2f", m / 1000 }'
}

printf '%-62s %8s  %s\n' "render samples/densenet121_multihead.json (median of $runs)" "s" "drawn"
for depth in auto full; do
    for format in svg png; do
        drawn=$("$bin" render samples/densenet121_multihead.json --depth "$depth" -o "$out/seed.$format" 2>&1 | sed 's/^graphcheck: drew [^ ]* at //')
        printf '%-62s %8s  %s\n' "--depth $depth -o seed.$format" "$(median_s "$bin" render samples/densenet121_multihead.json --depth "$depth" -o "$out/seed.$format")" "$drawn"
    done
done
