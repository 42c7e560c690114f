#!/usr/bin/env bash
# graphcheck on ONNX files against `onnx.load` of the same files, in the same run: medians of RUNS runs
# (default 9). "read" is graphcheck's parse and import into its graph (from --timings), set against
# onnx.load's parse (in-process, no external data); "check" is the whole command, process start included. Needs the venv of scripts/python-venv.sh with onnx installed; without it the
# onnx.load column is left out.
# Usage: bench/onnx-speed.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-9}
. bench/lib.sh
python=${GRAPHCHECK_VENV:-$HOME/.cache/graphcheck-venv}/bin/python
have_onnx=0
"$python" -c "import onnx" >/dev/null 2>&1 && have_onnx=1


onnx_load_ms() {
    "$python" - "$1" "$runs" <<'PY'
import statistics, sys, time
import onnx
path, runs = sys.argv[1], int(sys.argv[2])
times = []
for _ in range(runs):
    start = time.perf_counter()
    onnx.load(path, load_external_data=False)
    times.append((time.perf_counter() - start) * 1000)
print(f"{statistics.median(times):.1f}")
PY
}

read_ms() {
    local times=()
    for _ in $(seq "$runs"); do
        times+=("$("$bin" check "$1" --timings 2>&1 >/dev/null | sed -n 's/.*read [^0-9]* \([0-9.]*\) ms.*/\1/p')")
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.1f", m }'
}

printf '%-46s %6s %9s %9s %12s %12s\n' "file (median of $runs runs, release build)" "ops" "check ms" "read ms" "onnx.load ms" "read/load"
for file in Tests/Fixtures/torch/onnx/densenet121_multihead.torchscript.onnx Tests/Fixtures/torch/onnx/densenet121_multihead_fixed.dynamo.onnx \
    Tests/Fixtures/torch/onnx/transformer192.dynamo.onnx; do
    [ -f "$file" ] || continue
    nodes=$("$bin" trace "$file" 2>/dev/null | grep -c '"op":' || true)
    check=$(median_ms "$bin" check "$file")
    read=$(read_ms "$file")
    if [ "$have_onnx" = 1 ]; then
        theirs=$(onnx_load_ms "$file")
        ratio=$(awk -v a="$read" -v b="$theirs" 'BEGIN { printf "%.1f", a / b }')
    else
        theirs="-"; ratio="-"
    fi
    printf '%-46s %6s %9s %9s %12s %12s\n' "$(basename "$file")" "$nodes" "$check" "$read" "$theirs" "$ratio"
done
