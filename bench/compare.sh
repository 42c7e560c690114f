#!/usr/bin/env bash
# graphcheck next to the tools a PyTorch user would pick instead, in one run, on the same models:
# TensorBoard's add_graph, torchviz, torchview (both time-capped) and onnx.load. Writes docs/benchmarks.md.
#
#   bench/compare.sh                    all models, 3 runs each (medians), 300 s cap for torchviz/torchview
#   RUNS=5 CAP=900 MODELS="seed vit_b_16" bench/compare.sh
#
# Models (bench/compare_tools.py builds them, random weights): seed and seed_fixed (the DenseNet-121 with five
# heads, samples/densenet121_multihead.py), densenet201, vit_b_16, transformer200 (200 encoder layers).
# graphcheck's times are whole processes (reading the file included); the Python tools' times are their own
# call, with `import torch` and building the model left out. Peak memory is the whole process either way.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
runs=${RUNS:-3}
cap=${CAP:-300}
models=(${MODELS:-seed seed_fixed densenet201 vit_b_16 transformer200})
out=${OUT:-docs/benchmarks.md}
venv=$(./scripts/python-venv.sh bench)
# torchviz and torchview render through Graphviz's `dot` program (graphcheck links the library instead).
if ! command -v dot >/dev/null 2>&1; then
    echo "compare: installing graphviz (the dot program torchviz and torchview call) with apt-get" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get install -y -qq --no-install-recommends graphviz >&2
fi
py="$venv/bin/python"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
results=$work/results.tsv
: >"$results"

# One run of a command: prints "SECONDS PEAK_MB", or "timeout PEAK" past the cap.
measure_command() {
    local start end status=0
    start=$(date +%s%N)
    timeout "$cap" /usr/bin/time -f %M -o "$work/rss" "$@" >/dev/null 2>"$work/stderr" || status=$?
    end=$(date +%s%N)
    if [ "$status" -eq 124 ]; then echo "timeout 0"; return; fi
    # graphcheck's verdicts are exit codes: 0 independent, 1 not, 3 cannot decide (an ONNX file); 2 is an error.
    if [ "$status" -eq 2 ] || [ "$status" -gt 3 ]; then echo "failed ($status): $*" >&2; tail -3 "$work/stderr" >&2; echo "failed 0"; return; fi
    echo "$(( (end - start) / 1000000 )) $(( $(tail -1 "$work/rss") / 1024 ))" | awk '{ printf "%.3f %d\n", $1 / 1000, $2 }'
}

# One run of a Python tool: "SECONDS PEAK_MB" from its own report, or "timeout 0".
measure_tool() {
    local line status=0
    line=$(timeout "$cap" "$py" bench/compare_tools.py "$1" "$2" "$work" 2>"$work/stderr") || status=$?
    if [ "$status" -eq 124 ]; then echo "timeout 0"; return; fi
    if [ "$status" -ne 0 ]; then echo "$1 failed on $2:" >&2; tail -5 "$work/stderr" >&2; echo "failed 0"; return; fi
    echo "$line" | "$py" -c 'import json, sys; r = json.loads(sys.stdin.read()); print(r["seconds"], r["peak_mb"])'
}

# The run with the median time out of $2 runs of measure_$1 with the rest as arguments; a timeout or
# failure in any run is the result.
median_of() {
    local kind=$1 n=$2 rows
    shift 2
    # Stop at the first timeout or failure: the cap is the answer, and repeating it only costs time.
    rows=$(for _ in $(seq "$n"); do r=$("measure_$kind" "$@"); echo "$r"; grep -qE '^(timeout|failed)' <<<"$r" && break; done)
    if grep -qE '^(timeout|failed)' <<<"$rows"; then grep -E '^(timeout|failed)' <<<"$rows" | head -1; return; fi
    sort -n <<<"$rows" | awk '{ s[NR] = $1; m[NR] = $2 } END { i = int((NR + 1) / 2); printf "%s %s\n", s[i], m[i] }'
}

# record MODEL WHAT "SECONDS PEAK" [NOTE]
record() {
    local seconds peak
    read -r seconds peak <<<"$3"
    printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$seconds" "$peak" "${4:-}" >>"$results"
    echo "  $2: $3 ${4:-}" >&2
}

# What the last render said it drew: "depth 2: 53 nodes, 78 edges".
drawn() { sed -n 's/^graphcheck: drew .* at \(.*\) (\([0-9]* nodes, [0-9]* edges\)\(; [0-9]* edges\)\{0,1\}.*/\1: \2\3/p' "$work/stderr" | tail -1 | sed 's/; \([0-9]*\) edges$/, \1 of them as arcs/'; }

for model in "${models[@]}"; do
    echo "$model" >&2
    record "$model" baseline "$(median_of tool 1 baseline "$model")"
    record "$model" "graphcheck export (PyTorch)" "$(median_of tool "$runs" export "$model")"
    trace="$work/$model.trace.json"
    record "$model" "graphcheck check" "$(median_of command "$runs" "$bin" check "$trace")"
    record "$model" "graphcheck render (default depth)" "$(median_of command "$runs" "$bin" render "$trace" -o "$work/$model.svg")" "$(drawn)"
    record "$model" "graphcheck render (full depth)" "$(median_of command "$runs" "$bin" render "$trace" --depth full --no-focus -o "$work/$model.full.svg")" "$(drawn)"
    record "$model" "TensorBoard add_graph" "$(median_of tool "$runs" add_graph "$model")"
    record "$model" "torchviz (make_dot + SVG)" "$(median_of tool 1 torchviz "$model")"
    record "$model" "torchview (draw_graph + SVG)" "$(median_of tool 1 torchview "$model")"
    record "$model" "torch.onnx.export" "$(median_of tool 1 onnx-export "$model")"
    record "$model" "graphcheck check (ONNX)" "$(median_of command "$runs" "$bin" check "$work/$model.onnx")"
    record "$model" "onnx.load" "$(median_of tool "$runs" onnx.load "$model")"
    printf '%s\tops\t%s\n' "$model" "$(grep -c '"op":' "$trace")" >>"$results"
done

versions=$("$py" -c 'import importlib.metadata as m; print(", ".join(f"{p} {m.version(p)}" for p in ["torch", "torchvision", "tensorboard", "torchviz", "torchview", "onnx", "graphviz"]))')
{
    echo "# Benchmarks: graphcheck next to the alternatives"
    echo
    echo "Written by \`bench/compare.sh\` ($(date -u +%Y-%m-%d)); rerun it to refresh. Medians of $runs runs (torchviz,"
    echo "torchview, the ONNX export and the baseline: one run, capped at $cap s). The HTML view at scale (page size,"
    echo "load time, click latency in headless Chromium) is in [benchmarks-html-view.md](benchmarks-html-view.md)."
    echo
    echo "Machine: $(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p' | head -1)), $(free -g | awk '/Mem:/ { print $2 }') GiB,"
    echo "$(. /etc/os-release && echo "$PRETTY_NAME"), $(swift --version 2>/dev/null | head -1 | sed 's/ (.*//'), graphviz $(pkg-config --modversion libgvc)."
    echo "Python side: $versions."
    echo
    echo "graphcheck's seconds are whole processes, reading the file included. The Python tools' seconds are"
    echo "their own call only (\`import torch\` and building the model excluded: a user who has the model waits"
    echo "for that much). Peak memory is the whole process for both, so the Python rows include torch itself —"
    echo "the *baseline* row is a process that only builds the model. *× check* is the row's time over"
    echo "graphcheck check's on the same model. *drawn* is what graphcheck handed Graphviz: a full-depth request"
    echo "beyond 5,000 nodes is collapsed to the deepest level that fits (render --max-nodes). add_graph runs in eval"
    echo "mode (graphcheck's exporter and the other tools see the model in training mode, as built); with torch 2.15"
    echo "it fails on ViT-B/16 and the transformer in either mode: TorchScript's trace check finds the two traces"
    echo 'differ (the container classes are name-mangled differently, `___torch_mangle_139.Sequential` vs `…_290`).'
    for model in "${models[@]}"; do
        ops=$(awk -F'\t' -v m="$model" '$1 == m && $2 == "ops" { print $3 }' "$results")
        echo
        echo "## $model ($ops ops in the trace)"
        echo
        echo "| what | seconds | peak MB | × check | drawn |"
        echo "|---|---:|---:|---:|---|"
        check=$(awk -F'\t' -v m="$model" '$1 == m && $2 == "graphcheck check" { print $3 }' "$results")
        awk -F'\t' -v m="$model" -v check="$check" -v cap="$cap" '$1 == m && $2 != "ops" {
            if ($3 == "timeout") { printf "| %s | > %s | – | > %.0f× | |\n", $2, cap, cap / check; next }
            if ($3 == "failed") { printf "| %s | failed | – | – | |\n", $2; next }
            ratio = ($2 == "baseline") ? "–" : sprintf("%.1f×", $3 / check)
            printf "| %s | %.3f | %d | %s | %s |\n", $2, $3, $4, ratio, $5
        }' "$results"
    done
} >"$out"
echo "wrote $out" >&2
